package gorgon

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/nn"
	v1 "github.com/inceptionzoo/inception/variants/v1"
)

func writeF32(t *testing.T, path string, vs ...[]float32) {
	var b []byte
	for _, v := range vs {
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func readF32(t *testing.T, path string) []float32 {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// TestD2LStepMatchesPyTorch: one training step of the D2L GoogLeNet
// (forward, cross-entropy, backward) gives PyTorch's loss and the
// gradients of every weight and bias (scripts/train_d2l_torch.py --grads
// with Debian's python3-torch is the oracle), at 32x32 (pruned taps at
// 1x1 and 2x2 maps) with weights scaled up so that gradients are large.
func TestD2LStepMatchesPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		testkit.Missing(t, "python3-torch: apt-get install python3-torch (scripts/setup.sh installs it): %v", err)
	}
	root, err := testkit.ModuleRoot()
	require.NoError(t, err)
	const size, batch = 32, 6
	blk, err := v1.D2L(nn.Options{})
	require.NoError(t, err)
	g, err := nn.Lower(blk, nn.Shape{1, size, size})
	require.NoError(t, err)
	p := nn.InitParams(g, 11)
	// every Conv/Linear weight and bias in module order, as the script reads them
	var order [][]float32
	var specs []nn.ParamSpec
	for _, n := range g.Nodes {
		switch n.Op.(type) {
		case nn.Conv, nn.Linear:
			for _, k := range []nn.ParamKind{nn.Weight, nn.Bias} {
				s, ok := n.Param(k)
				require.True(t, ok, "%s has a %v", n.Path, k)
				d := p[s.Path].Data
				if k == nn.Weight {
					for i := range d {
						d[i] *= 1.5 // keep activations from vanishing in 22 layers
					}
				}
				order, specs = append(order, d), append(specs, s)
			}
		}
	}
	x := make([]float32, batch*size*size)
	r := nn.NewRand(3, "input")
	for i := range x {
		x[i] = r.Uniform(0, 1)
	}
	labels := []int{0, 3, 9, 1, 7, 3}
	dir := t.TempDir()
	writeF32(t, filepath.Join(dir, "params.bin"), order...)
	writeF32(t, filepath.Join(dir, "input.bin"), x)
	var lb []byte
	for _, l := range labels {
		lb = binary.LittleEndian.AppendUint32(lb, uint32(l))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.bin"), lb, 0o644))
	out, err := exec.Command(python, filepath.Join(root, "scripts", "train_d2l_torch.py"), "--grads", dir,
		"--size", "32", "--threads", "2").CombinedOutput()
	require.NoError(t, err, "%s", out)

	n, err := Build(g, p, Config{Batch: batch})
	require.NoError(t, err)
	defer n.Close()
	loss, _, err := n.Step(x, labels)
	require.NoError(t, err)
	wantLoss := readF32(t, filepath.Join(dir, "loss.bin"))[0]
	require.InDelta(t, wantLoss, loss, 1e-3*math.Abs(float64(wantLoss))+1e-4, "loss")
	require.Greater(t, math.Abs(float64(wantLoss)-math.Log(10)), 0.05, "loss far from ln 10: the network is not inert")
	grads, err := n.Grads()
	require.NoError(t, err)
	gi := map[string]int{}
	for i, s := range n.Learn {
		gi[s.Path] = i
	}
	want := readF32(t, filepath.Join(dir, "grads.bin"))
	off := 0
	for _, s := range specs {
		w := want[off : off+s.Numel()]
		off += s.Numel()
		got := grads[gi[s.Path]]
		var scale float64
		for _, v := range w {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		require.Greater(t, scale, 1e-7, "%s: torch's gradient is zero", s.Path)
		for i := range w {
			// rtol 1e-3 of the tensor's largest gradient: float32 sums
			// over thousands of terms in another order
			if d := math.Abs(float64(got[i] - w[i])); d > 1e-3*scale+1e-3*math.Abs(float64(w[i])) {
				t.Fatalf("%s[%d]: got %g, PyTorch %g (largest |grad| %g)", s.Path, i, got[i], w[i], scale)
			}
		}
	}
	require.Equal(t, len(want), off)
}
