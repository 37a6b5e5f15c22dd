package nn

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBuilderMatchesLower builds an inception-style module node by node:
// shapes, parameters, MACs and consumers must equal those of the same
// block tree lowered by Lower.
func TestBuilderMatchesLower(t *testing.T) {
	in := Shape{8, 12, 12}
	tree := Seq(
		Conv{Name: "stem", Out: 16, Kernel: K(3), Pad: P(1)},
		ReLU{},
		Branches{Name: "mix", Paths: []Block{
			Conv{Name: "a", Out: 4, Kernel: K(1), Bias: true},
			Seq(MaxPool{Name: "pool", Kernel: K(3), Stride: [2]int{1, 1}, Pad: P(1)}, Conv{Name: "b", Out: 6, Kernel: K(1)}),
		}},
		BatchNorm{Name: "bn", Eps: 1e-3},
	)
	want, err := Lower(tree, in)
	require.NoError(t, err)

	b, err := NewBuilder(in)
	require.NoError(t, err)
	stem, err := b.Add("stem", Conv{Out: 16, Kernel: K(3), Pad: P(1)}, 0)
	require.NoError(t, err)
	relu, err := b.Add("", ReLU{}, stem)
	require.NoError(t, err)
	ca, err := b.Add("mix.a", Conv{Out: 4, Kernel: K(1), Bias: true}, relu)
	require.NoError(t, err)
	pool, err := b.Add("mix.pool", MaxPool{Kernel: K(3), Stride: [2]int{1, 1}, Pad: P(1)}, relu)
	require.NoError(t, err)
	cb, err := b.Add("mix.b", Conv{Out: 6, Kernel: K(1)}, pool)
	require.NoError(t, err)
	cat, err := b.Add("mix", Concat{}, ca, cb)
	require.NoError(t, err)
	bn, err := b.Add("bn", BatchNorm{Eps: 1e-3}, cat)
	require.NoError(t, err)
	require.Equal(t, Shape{10, 12, 12}, b.Shape(bn))
	got, err := b.Graph(bn)
	require.NoError(t, err)

	require.Equal(t, len(want.Nodes), len(got.Nodes))
	for i, w := range want.Nodes {
		g := got.Nodes[i]
		require.Equal(t, w.Inputs, g.Inputs, "node %d inputs", i)
		require.Equal(t, w.Out, g.Out, "node %d shape", i)
		require.Equal(t, w.Params, g.Params, "node %d params", i)
		require.Equal(t, w.MACs, g.MACs, "node %d MACs", i)
	}
	require.Equal(t, want.Consumers(), got.Consumers())
	wp, wb, wm := want.Totals()
	gp, gb, gm := got.Totals()
	require.Equal(t, [3]int64{wp, wb, wm}, [3]int64{gp, gb, gm})
}

func TestBuilderErrors(t *testing.T) {
	_, err := NewBuilder(Shape{3, 0, 4})
	require.True(t, errors.Is(err, ErrShape), "zero dim: %v", err)
	b, err := NewBuilder(Shape{3, 8, 8})
	require.NoError(t, err)
	c, err := b.Add("c", Conv{Out: 4, Kernel: K(3)}, 0)
	require.NoError(t, err)
	for _, tt := range []struct {
		name string
		op   Block
		in   []int
	}{
		{"composite", Seq(ReLU{}), []int{c}},
		{"input op", Input{}, []int{c}},
		{"missing node", ReLU{}, []int{7}},
		{"two inputs to relu", ReLU{}, []int{c, c}},
		{"add arity", Add{Scale: 1}, []int{c}},
		{"shape mismatch", Add{Scale: 1}, []int{0, c}},
		{"duplicate params", Conv{Out: 4, Kernel: K(1)}, []int{c}},
	} {
		path := "x"
		if tt.name == "duplicate params" {
			path = "c"
		}
		_, err := b.Add(path, tt.op, tt.in...)
		require.True(t, errors.Is(err, ErrShape), "%s: got %v, want ErrShape", tt.name, err)
	}
	_, err = b.Graph(0)
	require.True(t, errors.Is(err, ErrShape), "input as output: %v", err)
}
