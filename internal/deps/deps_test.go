// Package deps_test proves that the pinned gorgonia (the training back
// end, package train/gorgon) starts and computes on this Go version: gorgonia v0.9.18
// panics at init on Go 1.26 unless go4.org/unsafe/assume-no-moving-gc is
// at its latest version, which go.mod pins.
package deps_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestGorgoniaRuns(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 3), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, -1, -2, -3}))))
	w := G.NewMatrix(g, tensor.Float32, G.WithShape(3, 2), G.WithName("w"),
		G.WithValue(tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float32{1, 2, 3, 1, 1, 1}))))
	y := G.Must(G.Rectify(G.Must(G.Mul(x, w))))
	m := G.NewTapeMachine(g)
	defer m.Close()
	require.NoError(t, m.RunAll())
	got := y.Value().Data().([]float32)
	want := []float32{10, 7, 0, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("y[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
