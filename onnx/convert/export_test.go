package convert_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/registry"
)

const python = "/usr/bin/python3"

// needPython skips (or, with CI=true, fails) when /usr/bin/python3 cannot
// import the given modules.
func needPython(t *testing.T, modules, pkgs string) {
	t.Helper()
	err := exec.Command(python, "-c", "import "+modules).Run()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s cannot import %s (%v); install with: apt-get install %s", python, modules, err, pkgs)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// checkerScript runs onnx.checker.check_model(full_check=True) on every
// path given, one per line of output: "OK path" or "FAIL path: error".
const checkerScript = `
import sys, onnx
for p in sys.argv[1:]:
    try:
        m = onnx.load(p)
        onnx.checker.check_model(m, full_check=True)
        print("OK", p)
    except Exception as e:
        print("FAIL", p + ":", str(e).replace("\n", " ")[:500])
    m = None
`

// check runs the ONNX checker on files and fails the test for each file it
// rejects.
func check(t *testing.T, files ...string) {
	t.Helper()
	needPython(t, "onnx", "python3-onnx")
	out, err := exec.Command(python, append([]string{"-c", checkerScript}, files...)...).CombinedOutput()
	require.NoError(t, err, "checker: %s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, len(files), "checker output: %s", out)
	for _, l := range lines {
		if !strings.HasPrefix(l, "OK ") {
			t.Errorf("onnx.checker: %s", l)
		}
	}
}

// build lowers a registered model with seeded weights.
func build(t testing.TB, name string, o nn.Options) (*nn.Graph, nn.Params) {
	t.Helper()
	spec, err := registry.Lookup(name)
	require.NoError(t, err)
	b, err := spec.Build(o)
	require.NoError(t, err)
	g, err := nn.Lower(b, spec.Input)
	require.NoError(t, err)
	return g, nn.InitParams(g, 7)
}

func exportFile(t testing.TB, dir, name string, g *nn.Graph, p nn.Params, opts convert.ExportOptions) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.onnx", name, opts.Opset))
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, convert.Export(f, g, p, opts))
	require.NoError(t, f.Close())
	return path
}

// requireSameParams requires bit-identical parameters.
func requireSameParams(t *testing.T, got, want nn.Params) {
	t.Helper()
	require.Len(t, got, len(want))
	for k, w := range want {
		g, ok := got[k]
		require.True(t, ok, "parameter %s missing", k)
		require.Equal(t, w.Shape, g.Shape, "parameter %s shape", k)
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Fatalf("parameter %s[%d] = %v, want %v (bit-identical)", k, i, g.Data[i], w.Data[i])
			}
		}
	}
}

// TestExportEveryModel exports every registered model at opset 13, decodes
// it with the hardened decoder, checks the interface (input, outputs, one
// initializer per parameter), imports it back bit for bit, and runs the
// ONNX checker (full_check) on all of them. Files are streamed to disk and
// each model is dropped before the next.
func TestExportEveryModel(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, name := range registry.Names() {
		big := name == "inception-v4" || name == "inception-resnet-v2"
		g, p := build(t, name, nn.Options{})
		path := exportFile(t, dir, name, g, p, convert.ExportOptions{Opset: 13, ModelName: name})
		f, err := onnxir.DecodeFile(path, onnxir.DecodeOptions{})
		require.NoError(t, err, name)
		if got, want := f.Opset, int64(13); got != want {
			t.Errorf("%s: opset %d, want %d", name, got, want)
		}
		if got, want := f.IRVersion, int64(7); got != want {
			t.Errorf("%s: ir_version %d, want %d", name, got, want)
		}
		require.Equal(t, "inceptionzoo", f.Producer)
		require.Equal(t, name, f.Metadata[convert.MetaModel])
		require.Len(t, f.Inputs, 1)
		require.Equal(t, "input", f.Inputs[0].Name)
		require.Equal(t, onnxir.Dim{Value: -1, Param: "N"}, f.Inputs[0].Shape[0])
		require.Len(t, f.Outputs, 1)
		require.Equal(t, "output", f.Outputs[0].Name)
		require.Equal(t, []onnxir.Dim{{Value: -1, Param: "N"}, {Value: int64(g.OutputShape()[0])}}, f.Outputs[0].Shape)
		require.Len(t, f.Initializers, len(g.Params()), name)
		if !big || !testing.Short() {
			got, err := convert.ImportWeights(g, f)
			require.NoError(t, err, name)
			requireSameParams(t, got, p)
		}
		files = append(files, path)
	}
	check(t, files...)
}

// TestExportOpsets exports inception-v1 (Caffe: LRN, ceil-mode pools,
// count_include_pad aux pool) and inception-v1-tv (BN, the non-uniform 4×4
// adaptive pool of the aux heads, transform_input) at opsets 9, 11, 13 and
// 17, with and without aux heads, and checks them all. Opsets 18 and 21
// are newer than the installed ONNX 1.12 (opset 17 / IR 8), so those files
// are only decoded and imported, not checked.
func TestExportOpsets(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"inception-v1", "inception-v1-tv"} {
		for _, o := range []nn.Options{{}, {Aux: true, TransformInput: name == "inception-v1-tv"}} {
			g, p := build(t, name, o)
			for _, opset := range []int{9, 11, 13, 17, 18, 21} {
				sub := filepath.Join(dir, fmt.Sprintf("aux%v", o.Aux))
				require.NoError(t, os.MkdirAll(sub, 0o755))
				path := exportFile(t, sub, name, g, p, convert.ExportOptions{Opset: opset, ModelName: name})
				f, err := onnxir.DecodeFile(path, onnxir.DecodeOptions{})
				require.NoError(t, err, "%s opset %d", name, opset)
				if got, want := f.IRVersion, convert.IRVersion(opset); got != want {
					t.Errorf("%s opset %d: ir_version %d, want %d", name, opset, got, want)
				}
				if got, want := len(f.Outputs), 1+len(g.Aux); got != want {
					t.Errorf("%s aux=%v: %d outputs, want %d", name, o.Aux, got, want)
				}
				got, err := convert.ImportWeights(g, f)
				require.NoError(t, err)
				requireSameParams(t, got, p)
				if opset == 9 {
					require.Positive(t, f.OpCounts()["MaxPool"])
					for _, n := range f.Nodes {
						if _, ok := n.Attrs["ceil_mode"]; ok {
							t.Errorf("opset 9 node %q has ceil_mode", n.Name)
						}
					}
				}
				if opset <= 17 {
					files = append(files, path)
				}
			}
		}
	}
	check(t, files...)
}

func TestExportDeterministic(t *testing.T) {
	g, p := build(t, "inception-v1-d2l", nn.Options{})
	var a, b bytes.Buffer
	opts := convert.ExportOptions{ModelName: "inception-v1-d2l", Metadata: map[string]string{"z": "1", "a": "2"}, DocString: "doc"}
	require.NoError(t, convert.Export(&a, g, p, opts))
	require.NoError(t, convert.Export(&b, g, p, opts))
	require.True(t, bytes.Equal(a.Bytes(), b.Bytes()), "two exports differ")
	f, err := onnxir.Decode(bytes.NewReader(a.Bytes()), onnxir.DecodeOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(convert.DefaultExportOpset), f.Opset)
	require.Equal(t, map[string]string{"z": "1", "a": "2", convert.MetaModel: "inception-v1-d2l"}, f.Metadata)
}

func TestExportErrors(t *testing.T) {
	g, p := build(t, "inception-v1-d2l", nn.Options{})
	for _, opset := range []int{8, 22, -1} {
		err := convert.Export(&bytes.Buffer{}, g, p, convert.ExportOptions{Opset: opset})
		require.ErrorIs(t, err, convert.ErrExport, "opset %d", opset)
	}
	delete(p, "5.weight")
	require.ErrorIs(t, convert.Export(&bytes.Buffer{}, g, p, convert.ExportOptions{}), convert.ErrExport)

	// An AveragePool with count_include_pad whose ceil rounding matters
	// has no exact opset-9 form; the error names the node.
	b := nn.Sequential{Layers: []nn.Block{
		nn.AvgPool{Name: "pool", Kernel: nn.K(3), Stride: nn.K(2), CeilMode: true, CountIncludePad: true},
		nn.Flatten{},
	}}
	g2, err := nn.Lower(b, nn.Shape{2, 6, 6})
	require.NoError(t, err)
	p2 := nn.InitParams(g2, 1)
	err = convert.Export(&bytes.Buffer{}, g2, p2, convert.ExportOptions{Opset: 9})
	require.ErrorIs(t, err, convert.ErrExport)
	require.Contains(t, err.Error(), `"pool"`)
	require.NoError(t, convert.Export(&bytes.Buffer{}, g2, p2, convert.ExportOptions{Opset: 10}))
	// Without count_include_pad the extra padding is exact.
	b.Layers[0] = nn.AvgPool{Name: "pool", Kernel: nn.K(3), Stride: nn.K(2), CeilMode: true}
	g3, err := nn.Lower(b, nn.Shape{2, 6, 6})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, convert.Export(&buf, g3, nn.InitParams(g3, 1), convert.ExportOptions{Opset: 9}))
	f, err := onnxir.Decode(&buf, onnxir.DecodeOptions{})
	require.NoError(t, err)
	pads, err := f.Nodes[0].Ints("pads", nil)
	require.NoError(t, err)
	require.Equal(t, []int64{0, 0, 1, 1}, pads, "6 → ceil((6-3)/2)+1 = 3 windows need one row and column of end padding")
}

// TestExportOpMapping exports a graph using every op of the vocabulary
// (NoScale BN, ChannelScale, Affine, scaled residual with ReLU, dilated
// pool, adaptive pools, softmax, Linear without bias) and checks it.
func TestExportOpMapping(t *testing.T) {
	g, err := nn.Lower(opMappingBlock(), nn.Shape{2, 10, 10})
	require.NoError(t, err)
	p := nn.InitParams(g, 3)
	dir := t.TempDir()
	var files []string
	for _, opset := range []int{10, 13, 17} {
		path := exportFile(t, dir, "ops", g, p, convert.ExportOptions{Opset: opset})
		f, err := onnxir.DecodeFile(path, onnxir.DecodeOptions{})
		require.NoError(t, err)
		got, err := convert.ImportWeights(g, f)
		require.NoError(t, err)
		requireSameParams(t, got, p)
		require.Equal(t, []string{"output", "aux"}, []string{f.Outputs[0].Name, f.Outputs[1].Name})
		files = append(files, path)
	}
	err = convert.Export(&bytes.Buffer{}, g, p, convert.ExportOptions{Opset: 9})
	require.ErrorIs(t, err, convert.ErrExport, "dilated MaxPool at opset 9")
	require.True(t, errors.Is(err, convert.ErrExport))
	check(t, files...)
}

// opMappingBlock uses every op of the vocabulary.
func opMappingBlock() nn.Block {
	return nn.Sequential{Layers: []nn.Block{
		nn.Affine{Name: "affine", Scale: []float32{1, 2}, Shift: []float32{0.5, -0.5}},
		nn.Conv{Name: "conv", Out: 4, Kernel: nn.K(3), Pad: nn.P(1), Groups: 2},
		nn.BatchNorm{Name: "bn", Eps: 1e-3, NoScale: true},
		nn.ChannelScale{Name: "sc", Bias: true},
		nn.ChannelScale{Name: "sc2"},
		nn.ReLU{},
		nn.Residual{Name: "res", Body: nn.Conv{Name: "c", Out: 4, Kernel: nn.K(1), Bias: true}, Scale: 0.2, ReLU: true},
		nn.MaxPool{Name: "mp", Kernel: nn.K(2), Dilation: nn.K(2), CeilMode: true},
		nn.LRN{Name: "lrn", Size: 3, Alpha: 1e-4, Beta: 0.75, Bias: 1},
		nn.Tap{Name: "aux", Head: nn.Seq(nn.AdaptiveAvgPool{Out: nn.K(3)}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 2}, nn.Dropout{})},
		nn.AdaptiveAvgPool{Name: "ap", Out: nn.K(2)},
		nn.GlobalAvgPool{},
		nn.Flatten{},
		nn.Linear{Name: "fc", Out: 3},
		nn.Softmax{},
	}}
}
