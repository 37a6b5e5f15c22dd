package gorgon

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/nn"
)

func smallNet() nn.Block {
	return nn.Seq(
		nn.Conv{Name: "c1", Out: 6, Kernel: nn.K(3), Stride: nn.K(2), Pad: nn.P(1), Bias: true}, nn.ReLU{},
		nn.Branches{Name: "b", Paths: []nn.Block{
			nn.Conv{Name: "x", Out: 3, Kernel: nn.K(1)},
			nn.Conv{Name: "y", Out: 4, Kernel: nn.KHW(3, 1), Pad: nn.PHW(1, 0), Bias: true},
		}},
		nn.MaxPool{Kernel: nn.K(2), Stride: nn.K(2)},
		nn.Flatten{}, nn.Linear{Name: "fc", Out: 5, Bias: true}, nn.Softmax{},
	)
}

// TestConvMatchesGorgonia: the back end's convolution op and gorgonia's
// Conv2d give the same loss and gradients.
func TestConvMatchesGorgonia(t *testing.T) {
	g, err := nn.Lower(smallNet(), nn.Shape{2, 9, 9})
	require.NoError(t, err)
	p := nn.InitParams(g, 1)
	r := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 4*2*9*9)
	for i := range x {
		x[i] = r.Float32()
	}
	labels := []int{0, 3, 4, 1}
	var losses []float64
	var grads [][][]float32
	for _, gc := range []bool{false, true} {
		n, err := Build(g, p, Config{Batch: 4, GorgoniaConv: gc})
		require.NoError(t, err)
		loss, _, err := n.Step(x, labels)
		require.NoError(t, err)
		gs, err := n.Grads()
		require.NoError(t, err)
		cp := make([][]float32, len(gs))
		for i := range gs {
			cp[i] = append([]float32(nil), gs[i]...)
		}
		losses, grads = append(losses, loss), append(grads, cp)
		require.NoError(t, n.Close())
	}
	require.InDelta(t, losses[1], losses[0], 1e-5)
	for i := range grads[0] {
		for j := range grads[0][i] {
			a, b := grads[0][i][j], grads[1][i][j]
			if math.Abs(float64(a-b)) > 1e-4+1e-3*math.Abs(float64(b)) {
				t.Fatalf("gradient %d[%d]: ours %v, gorgonia %v", i, j, a, b)
			}
		}
	}
}

// TestParamsShared: updating nn.Params in place changes the next step, and
// repeated steps do not accumulate gradients.
func TestParamsShared(t *testing.T) {
	g, err := nn.Lower(smallNet(), nn.Shape{2, 9, 9})
	require.NoError(t, err)
	p := nn.InitParams(g, 2)
	n, err := Build(g, p, Config{Batch: 2, Trainable: func(s nn.ParamSpec) bool { return s.Path != "c1.weight" }})
	require.NoError(t, err)
	defer n.Close()
	for _, s := range n.Learn {
		require.NotEqual(t, "c1.weight", s.Path)
	}
	x := make([]float32, 2*2*9*9)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	l1, _, err := n.Step(x, []int{1, 2})
	require.NoError(t, err)
	g1, _ := n.Grads()
	first := append([]float32(nil), g1[0]...)
	_, _, err = n.Step(x, []int{1, 2})
	require.NoError(t, err)
	g2, _ := n.Grads()
	require.Equal(t, first, g2[0], "gradients of identical steps differ (accumulation?)")
	for i := range p["fc.bias"].Data {
		p["fc.bias"].Data[i] += 1 - float32(i)
	}
	l2, _, err := n.Step(x, []int{1, 2})
	require.NoError(t, err)
	require.NotEqual(t, l1, l2)

	_, _, err = n.Step(x[:10], []int{1, 2})
	require.ErrorIs(t, err, ErrGraph)
	_, _, err = n.Step(x, []int{1, 7})
	require.ErrorIs(t, err, ErrGraph)
}

func TestBuildErrors(t *testing.T) {
	g, err := nn.Lower(nn.Seq(nn.Conv{Out: 4, Kernel: nn.K(3), Groups: 2}, nn.GlobalAvgPool{}, nn.Flatten{}), nn.Shape{2, 5, 5})
	require.NoError(t, err)
	_, err = Build(g, nn.InitParams(g, 1), Config{Batch: 2})
	require.True(t, errors.Is(err, ErrUnsupported), "grouped conv: %v", err)
	g, err = nn.Lower(nn.Seq(nn.GlobalAvgPool{}, nn.Flatten{}, nn.Dropout{P: 0.5}), nn.Shape{2, 5, 5})
	require.NoError(t, err)
	_, err = Build(g, nn.InitParams(g, 1), Config{Batch: 2})
	require.ErrorIs(t, err, ErrUnsupported)
	_, err = Build(g, nn.InitParams(g, 1), Config{Batch: 2, DropoutAsIdentity: true})
	require.NoError(t, err)
	_, err = Build(g, nn.InitParams(g, 1), Config{Batch: 0})
	require.ErrorIs(t, err, ErrGraph)
}
