package inceptionv3_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/tensor"
	inceptionv3 "github.com/inceptionzoo/inception/variants/v3"
	"github.com/inceptionzoo/inception/zoo"
)

func fidSpec(t *testing.T) spec.Model {
	t.Helper()
	for _, s := range inceptionv3.Specs() {
		if s.Name == "inception-v3-fid" {
			return s
		}
	}
	t.Fatal("no inception-v3-fid spec")
	return spec.Model{}
}

// fidScript runs scripts/fid_reference.py (pytorch-fid's network and
// statistics over torch, numpy and scipy) with args.
func fidScript(t *testing.T, args ...string) string {
	t.Helper()
	requirePython(t, "torchvision, scipy", "apt-get install python3-torch python3-torchvision python3-scipy")
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "fid_reference.py")
	out, err := exec.Command("/usr/bin/python3", append([]string{script}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("fid_reference.py %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestFIDStructureMatchesTorch compares the parameter paths and shapes (in
// order), the parameter count and the MACs with the pytorch-fid network
// built over torchvision.
func TestFIDStructureMatchesTorch(t *testing.T) {
	var ref struct {
		Params int64    `json:"params"`
		MACs   int64    `json:"macs"`
		Keys   []string `json:"keys"`
	}
	require.NoError(t, json.Unmarshal([]byte(fidScript(t, "counts")), &ref))
	s := fidSpec(t)
	b, err := s.Build(nn.Options{})
	require.NoError(t, err)
	g, err := nn.Lower(b, s.Input)
	require.NoError(t, err)
	var ours []string
	for _, p := range g.Params() {
		ours = append(ours, p.Path+" "+nn.Shape(p.Shape).String())
	}
	require.Equal(t, ref.Keys, ours)
	params, _, macs := g.Totals()
	require.Equal(t, ref.Params, params)
	require.Equal(t, ref.MACs, macs)
	require.Equal(t, s.RefParams, params)
	require.Equal(t, s.RefMACs, macs)

	// The pools that differ from torchvision's inception_v3.
	pools := map[string]string{}
	for _, n := range g.Nodes {
		switch op := n.Op.(type) {
		case nn.AvgPool:
			pools[n.Path] = fmt.Sprintf("avg include_pad=%v", op.CountIncludePad)
		case nn.MaxPool:
			pools[n.Path] = fmt.Sprintf("max k%v s%v", op.Kernel, op.Stride)
		}
	}
	for _, b := range []string{"Mixed_5b", "Mixed_5d", "Mixed_6b", "Mixed_6e", "Mixed_7b"} {
		require.Equal(t, "avg include_pad=false", pools[b], b)
	}
	require.Equal(t, "max k[3 3] s[1 1]", pools["Mixed_7c"])
}

func writeF32(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// TestFIDMatchesTorch loads seeded random weights saved by torch in
// pytorch-fid's key layout and compares, on a random input, each of
// pytorch-fid's feature blocks (64, 192, 768 spatially averaged; 2048)
// and the 1008 logits with torch's: every element within rtol 1e-4 plus
// 1e-5 of the block's largest magnitude.
func TestFIDMatchesTorch(t *testing.T) {
	dir := t.TempDir()
	pth := filepath.Join(dir, "fid.pth")
	fidScript(t, "weights", "--seed", "7", "--out", pth)
	const n = 2
	x := tensor.New(n, 3, 299, 299)
	r := nn.NewRand(3, "fid-input")
	for i := range x.Data {
		x.Data[i] = r.Uniform(-1, 1)
	}
	in := filepath.Join(dir, "x.f32")
	writeF32(t, in, x.Data)
	fidScript(t, "forward", "--weights", pth, "--input", in, "--n", fmt.Sprint(n), "--out", filepath.Join(dir, "ref"))

	m, err := zoo.Load("inception-v3-fid", zoo.WithWeights(pth), zoo.WithLayers("maxpool1", "maxpool2", "Mixed_6e"))
	require.NoError(t, err)
	require.False(t, m.Seeded())
	a, err := m.Activations(x, "maxpool1", "maxpool2", "Mixed_6e")
	require.NoError(t, err)
	got := map[string]*tensor.Tensor{"logits": a.Output, "2048": a.Features}
	for d, l := range inceptionv3.FIDLayers {
		if d != 2048 {
			got[fmt.Sprint(d)] = zoo.SpatialMean(a.Layers[l])
		}
	}
	for _, key := range []string{"64", "192", "768", "2048", "logits"} {
		want := readF32(t, filepath.Join(dir, "ref-"+key+".f32"))
		g := got[key]
		require.Len(t, g.Data, len(want), key)
		scale, spread := 0.0, 0.0
		for _, w := range want {
			scale = max(scale, math.Abs(float64(w)))
			spread = max(spread, math.Abs(float64(w-want[0])))
		}
		require.Greater(t, spread, 0.1*scale, "%s: torch's values must vary", key)
		worst := 0.0
		for i, w := range want {
			d := math.Abs(float64(g.Data[i]) - float64(w))
			worst = max(worst, d/(math.Abs(float64(w))+1e-3*scale))
			if d > 1e-4*math.Abs(float64(w))+1e-5*scale {
				t.Fatalf("%s[%d] = %v, torch %v (diff %g, scale %g)", key, i, g.Data[i], w, d, scale)
			}
		}
		t.Logf("%-6s %5d values, largest |torch| %.3g, worst |diff|/(|torch|+1e-3 max) %.2g", key, len(want), scale, worst)
	}
}
