package inceptionv3_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	inceptionv3 "github.com/inceptionzoo/inception/variants/v3"
	"github.com/stretchr/testify/require"
)

func specOf(t *testing.T) spec.Model {
	t.Helper()
	for _, s := range inceptionv3.Specs() {
		if s.Name == "inception-v3" {
			return s
		}
	}
	t.Fatal("no inception-v3 spec")
	return spec.Model{}
}

func lower(t *testing.T, o nn.Options) *nn.Graph {
	t.Helper()
	s := specOf(t)
	b, err := s.Build(o)
	require.NoError(t, err)
	g, err := nn.Lower(b, s.Input)
	require.NoError(t, err)
	return g
}

// blocks maps each block path to its info; transparent children share their
// parent's path, so the first occurrence wins.
func blocks(g *nn.Graph) map[string]nn.BlockInfo {
	m := map[string]nn.BlockInfo{}
	for _, bi := range g.Blocks {
		if _, ok := m[bi.Path]; !ok {
			m[bi.Path] = bi
		}
	}
	return m
}

func TestTableDepths(t *testing.T) {
	in := 192 // the stem's output depth
	var got []int
	for _, m := range inceptionv3.BlocksA {
		in = m.Out()
		got = append(got, in)
	}
	for _, m := range inceptionv3.BlocksB {
		in = m.Out(in)
		got = append(got, in)
	}
	for _, m := range inceptionv3.BlocksC {
		in = m.Out()
		got = append(got, in)
	}
	for _, m := range inceptionv3.BlocksD {
		in = m.Out(in)
		got = append(got, in)
	}
	for _, m := range inceptionv3.BlocksE {
		in = m.Out()
		got = append(got, in)
	}
	require.Equal(t, []int{256, 288, 288, 768, 768, 768, 768, 768, 1280, 2048, 2048}, got)
}

func TestCounts(t *testing.T) {
	s := specOf(t)
	for _, aux := range []bool{false, true} {
		t.Run(fmt.Sprintf("aux=%v", aux), func(t *testing.T) {
			g := lower(t, nn.Options{Aux: aux})
			params, buffers, macs := g.Totals()
			if aux {
				require.EqualValues(t, s.RefParamsAux, params)
				require.EqualValues(t, 27161264, params)
				require.EqualValues(t, 36224, buffers)
				require.EqualValues(t, 5713216096+5683200, macs) // the aux head adds 5,683,200
				require.Len(t, g.Aux, 1)
				require.Equal(t, "AuxLogits", g.Aux[0].Name)
				require.Equal(t, "1000", g.Nodes[g.Aux[0].Node].Out.String())
			} else {
				require.EqualValues(t, s.RefParams, params)
				require.EqualValues(t, 23834568, params)
				require.EqualValues(t, 34432, buffers)
				require.EqualValues(t, s.RefMACs, macs)
				require.EqualValues(t, 5713216096, macs)
				require.Empty(t, g.Aux)
			}
			require.Equal(t, "1000", g.OutputShape().String())
		})
	}
}

func TestClassesAndTransform(t *testing.T) {
	g := lower(t, nn.Options{Classes: 10, Aux: true, TransformInput: true})
	require.Equal(t, "10", g.OutputShape().String())
	require.Equal(t, "10", g.Nodes[g.Aux[0].Node].Out.String())
	first := g.Nodes[1]
	a, ok := first.Op.(nn.Affine)
	require.True(t, ok, "first op is %T, want the transform_input Affine", first.Op)
	require.Equal(t, "transform_input", a.Name)
	require.InDelta(t, 0.229/0.5, a.Scale[0], 1e-6)
	require.InDelta(t, (0.406-0.5)/0.5, a.Shift[2], 1e-6)
	params, _, macs := g.Totals()
	require.EqualValues(t, 27161264-(2048*1000+1000)-(768*1000+1000)+(2048*10+10)+(768*10+10), params)
	require.EqualValues(t, 5713216096+5683200-2048*1000-768*1000+2048*10+768*10, macs)
}

// TestStageShapes checks every stage's output at 299 (reference §4.1, §4.2).
func TestStageShapes(t *testing.T) {
	want := map[string]string{
		"Conv2d_1a_3x3": "32x149x149", "Conv2d_2a_3x3": "32x147x147", "Conv2d_2b_3x3": "64x147x147",
		"maxpool1": "64x73x73", "Conv2d_3b_1x1": "80x73x73", "Conv2d_4a_3x3": "192x71x71", "maxpool2": "192x35x35",
		"Mixed_5b": "256x35x35", "Mixed_5c": "288x35x35", "Mixed_5d": "288x35x35",
		"Mixed_6a": "768x17x17", "Mixed_6b": "768x17x17", "Mixed_6c": "768x17x17", "Mixed_6d": "768x17x17", "Mixed_6e": "768x17x17",
		"Mixed_7a": "1280x8x8", "Mixed_7b": "2048x8x8", "Mixed_7c": "2048x8x8",
		"avgpool": "2048x1x1", "fc": "1000",
		"AuxLogits": "768x17x17", "AuxLogits.conv0": "128x5x5", "AuxLogits.conv1": "768x1x1", "AuxLogits.fc": "1000",
		"Mixed_7b.branch3x3_2a": "384x8x8", "Mixed_7b.branch3x3_2b": "384x8x8", "Mixed_6b.branch7x7dbl_5": "192x17x17",
	}
	got := blocks(lower(t, nn.Options{Aux: true}))
	for path, w := range want {
		bi, ok := got[path]
		if !ok {
			t.Errorf("no block %q", path)
			continue
		}
		if bi.Out.String() != w {
			t.Errorf("block %q out = %s, want %s", path, bi.Out, w)
		}
	}
}

// TestBlockCounts checks each block's parameters and MACs (reference §4.3).
func TestBlockCounts(t *testing.T) {
	want := map[string][2]int64{
		"Mixed_5b": {255904, 312345600}, "Mixed_5c": {277472, 338688000}, "Mixed_5d": {285152, 348096000},
		"Mixed_6a": {1153280, 401937408},
		"Mixed_6b": {1297408, 374063104}, "Mixed_6c": {1691008, 487702528}, "Mixed_6d": {1691008, 487702528}, "Mixed_6e": {2141952, 617914368},
		"Mixed_7a": {1698304, 291004416},
		"Mixed_7b": {5044608, 322437120}, "Mixed_7c": {6076800, 388497408},
		"AuxLogits": {3326696, 5683200},
	}
	got := blocks(lower(t, nn.Options{Aux: true}))
	for path, w := range want {
		bi := got[path]
		if bi.Params != w[0] || bi.MACs != w[1] {
			t.Errorf("block %q: params %d MACs %d, want %d %d", path, bi.Params, bi.MACs, w[0], w[1])
		}
	}
}

func TestParamPaths(t *testing.T) {
	have := map[string][]int{}
	for _, p := range lower(t, nn.Options{Aux: true}).Params() {
		have[p.Path] = p.Shape
	}
	want := map[string]string{
		"Conv2d_1a_3x3.conv.weight":                "32x3x3x3",
		"Conv2d_1a_3x3.bn.running_var":             "32",
		"Mixed_5b.branch1x1.conv.weight":           "64x192x1x1",
		"Mixed_5b.branch5x5_1.conv.weight":         "48x192x1x1",
		"Mixed_5b.branch5x5_2.conv.weight":         "64x48x5x5",
		"Mixed_5b.branch3x3dbl_3.bn.bias":          "96",
		"Mixed_5b.branch_pool.conv.weight":         "32x192x1x1",
		"Mixed_6a.branch3x3.conv.weight":           "384x288x3x3",
		"Mixed_6b.branch7x7_2.conv.weight":         "128x128x1x7",
		"Mixed_6b.branch7x7_3.conv.weight":         "192x128x7x1",
		"Mixed_6b.branch7x7dbl_2.conv.weight":      "128x128x7x1",
		"Mixed_6e.branch7x7dbl_5.conv.weight":      "192x192x1x7",
		"AuxLogits.conv0.conv.weight":              "128x768x1x1",
		"AuxLogits.conv1.conv.weight":              "768x128x5x5",
		"AuxLogits.fc.weight":                      "1000x768",
		"Mixed_7a.branch3x3_2.conv.weight":         "320x192x3x3",
		"Mixed_7a.branch7x7x3_4.conv.weight":       "192x192x3x3",
		"Mixed_7b.branch3x3_2a.conv.weight":        "384x384x1x3",
		"Mixed_7b.branch3x3_2b.conv.weight":        "384x384x3x1",
		"Mixed_7c.branch3x3dbl_3a.conv.weight":     "384x384x1x3",
		"Mixed_7c.branch3x3dbl_3b.bn.running_mean": "384",
		"fc.weight": "1000x2048",
		"fc.bias":   "1000",
	}
	for path, shape := range want {
		s, ok := have[path]
		if !ok {
			t.Errorf("no parameter %q", path)
			continue
		}
		if got := nn.Shape(s).String(); got != shape {
			t.Errorf("%s: shape %s, want %s", path, got, shape)
		}
	}
	for path := range have {
		if strings.Contains(path, "bias") && strings.Contains(path, ".conv.") {
			t.Errorf("conv %q has a bias; BasicConv2d convs have none", path)
		}
	}
}

// torchvisionKeys is run by /usr/bin/python3: it prints every state-dict
// key of torchvision's inception_v3 (aux head included) with its shape, in
// state-dict order, skipping the num_batches_tracked counters.
const torchvisionKeys = `
import torchvision
m = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
for k, v in m.state_dict().items():
    if not k.endswith("num_batches_tracked"):
        print(k, "x".join(str(d) for d in v.shape))
`

// TestTorchVisionKeys compares our parameter paths and shapes, in order,
// with the state dict of a real torchvision model. It needs Debian's
// python3-torch and python3-torchvision; without them it skips, or fails
// under CI=true.
func TestTorchVisionKeys(t *testing.T) {
	requirePython(t, "torchvision", "apt-get install python3-torch python3-torchvision")
	out, err := python(torchvisionKeys)
	require.NoError(t, err)
	var ours []string
	for _, p := range lower(t, nn.Options{Aux: true}).Params() {
		ours = append(ours, p.Path+" "+nn.Shape(p.Shape).String())
	}
	theirs := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, ours, 484)
	require.Equal(t, theirs, ours)
}

// requirePython skips the test (fails it under CI=true) unless
// /usr/bin/python3 can import module; hint says how to install it.
func requirePython(t *testing.T, module, hint string) {
	t.Helper()
	if _, err := python("import " + module); err != nil {
		msg := fmt.Sprintf("python3 module %s unavailable (%v); install it with: %s", module, err, hint)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func python(script string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		return "", fmt.Errorf("%w: %s", err, lines[len(lines)-1])
	}
	return stdout.String(), nil
}
