package gorgon

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/engine/kernels"
)

// opCase builds one op application over input nodes.
type opCase struct {
	name   string
	shapes []tensor.Shape
	wrt    []bool // inputs to check (nil: all)
	build  func(in []*G.Node) (*G.Node, error)
	// inputs overrides the random inputs (e.g. one-hot targets).
	inputs func(i int, v []float64)
}

func randVals(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.Float64()*2 - 1
	}
	return v
}

// gradCheck compares the op's symbolic gradients (float64) with central
// finite differences of L = Σ op(x)·R for a fixed random R.
func gradCheck(t *testing.T, c opCase) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, uint64(len(c.name))))
	g := G.NewGraph()
	var ins, wrt []*G.Node
	var data [][]float64
	for i, s := range c.shapes {
		v := randVals(r, s.TotalSize())
		if c.inputs != nil {
			c.inputs(i, v)
		}
		data = append(data, v)
		n := G.NewTensor(g, tensor.Float64, len(s), G.WithShape(s...), G.WithName(fmt.Sprintf("in%d", i)),
			G.WithValue(tensor.New(tensor.WithShape(s...), tensor.WithBacking(v))))
		ins = append(ins, n)
		if c.wrt == nil || c.wrt[i] {
			wrt = append(wrt, n)
		}
	}
	y, err := c.build(ins)
	require.NoError(t, err)
	rv := randVals(r, y.Shape().TotalSize())
	rn := G.NewTensor(g, tensor.Float64, y.Dims(), G.WithShape(y.Shape()...), G.WithName("R"),
		G.WithValue(tensor.New(tensor.WithShape(y.Shape()...), tensor.WithBacking(rv))))
	loss := G.Must(G.Sum(G.Must(G.HadamardProd(y, rn))))
	var lv G.Value
	G.Read(loss, &lv)
	_, err = G.Grad(loss, wrt...)
	require.NoError(t, err)
	vm := G.NewTapeMachine(g, G.BindDualValues(wrt...))
	defer vm.Close()
	run := func() float64 {
		require.NoError(t, vm.RunAll())
		defer vm.Reset()
		return lv.Data().(float64)
	}
	run()
	var grads [][]float64
	for _, n := range wrt {
		gv, err := n.Grad()
		require.NoError(t, err)
		grads = append(grads, append([]float64(nil), gv.Data().([]float64)...))
	}
	const h = 1e-6
	k := 0
	for i := range c.shapes {
		if c.wrt != nil && !c.wrt[i] {
			continue
		}
		for j := range data[i] {
			old := data[i][j]
			data[i][j] = old + h
			lp := run()
			data[i][j] = old - h
			lm := run()
			data[i][j] = old
			num := (lp - lm) / (2 * h)
			got := grads[k][j]
			if math.Abs(got-num) > 1e-5+1e-4*math.Abs(num) {
				t.Fatalf("%s: d/d in%d[%d]: got %.8g, want (numerical) %.8g", c.name, i, j, got, num)
			}
		}
		k++
	}
}

func TestGradients(t *testing.T) {
	bn := func(train bool) func(in []*G.Node) (*G.Node, error) {
		return func(in []*G.Node) (*G.Node, error) {
			st := &bnState{Path: "bn", Eps: 1e-3, Momentum: 0.1, Training: train,
				Mean: []float32{0.1, -0.2, 0.05}, Var: []float32{0.9, 1.1, 1.3}}
			return batchNorm(in[0], in[1], in[2], st)
		}
	}
	cases := []opCase{
		{name: "maxpool ceil asym pad dilation", shapes: []tensor.Shape{{2, 2, 7, 6}},
			build: func(in []*G.Node) (*G.Node, error) {
				// 7x6, k3 s2, pads T0 L1 B1 R0, ceil: out 4x3
				return maxPool(in[0], poolGeom{N: 2, C: 2, H: 7, W: 6, KH: 3, KW: 3, SH: 2, SW: 2, T: 0, L: 1, B: 1, R: 0, DH: 1, DW: 1, OH: 4, OW: 3})
			}},
		{name: "maxpool dilation", shapes: []tensor.Shape{{1, 2, 7, 7}},
			build: func(in []*G.Node) (*G.Node, error) {
				return maxPool(in[0], poolGeom{N: 1, C: 2, H: 7, W: 7, KH: 2, KW: 3, SH: 1, SW: 2, T: 1, L: 1, B: 1, R: 1, DH: 2, DW: 1, OH: 7, OW: 4})
			}},
		{name: "avgpool count_include_pad ceil", shapes: []tensor.Shape{{2, 2, 6, 7}},
			build: func(in []*G.Node) (*G.Node, error) {
				return avgPool(in[0], poolGeom{N: 2, C: 2, H: 6, W: 7, KH: 3, KW: 3, SH: 2, SW: 2, T: 1, L: 0, B: 1, R: 1, DH: 1, DW: 1, OH: 4, OW: 4}, true)
			}},
		{name: "avgpool exclude pad", shapes: []tensor.Shape{{1, 3, 5, 5}},
			build: func(in []*G.Node) (*G.Node, error) {
				return avgPool(in[0], poolGeom{N: 1, C: 3, H: 5, W: 5, KH: 3, KW: 3, SH: 1, SW: 1, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1, OH: 5, OW: 5}, false)
			}},
		{name: "global avgpool", shapes: []tensor.Shape{{2, 3, 4, 5}},
			build: func(in []*G.Node) (*G.Node, error) { return globalAvgPool(in[0], 2, 3, 4, 5) }},
		{name: "lrn", shapes: []tensor.Shape{{2, 6, 3, 3}},
			build: func(in []*G.Node) (*G.Node, error) { return lrn(in[0], 5, 0.3, 0.75, 1.5) }},
		{name: "lrn even size", shapes: []tensor.Shape{{1, 5, 2, 2}},
			build: func(in []*G.Node) (*G.Node, error) { return lrn(in[0], 4, 0.5, 0.75, 2) }},
		{name: "batchnorm train", shapes: []tensor.Shape{{3, 3, 2, 3}, {3}, {3}}, build: bn(true)},
		{name: "batchnorm eval", shapes: []tensor.Shape{{2, 3, 2, 2}, {3}, {3}}, build: bn(false)},
		{name: "bias add 4D", shapes: []tensor.Shape{{2, 3, 2, 2}, {3}},
			build: func(in []*G.Node) (*G.Node, error) { return biasAdd(in[0], in[1]) }},
		{name: "bias add 2D", shapes: []tensor.Shape{{4, 5}, {5}},
			build: func(in []*G.Node) (*G.Node, error) { return biasAdd(in[0], in[1]) }},
		{name: "channel mul", shapes: []tensor.Shape{{2, 3, 2, 2}, {3}},
			build: func(in []*G.Node) (*G.Node, error) { return channelMul(in[0], in[1]) }},
		{name: "const affine", shapes: []tensor.Shape{{2, 3, 2, 2}},
			build: func(in []*G.Node) (*G.Node, error) {
				return constAffine(in[0], []float64{0.5, 2, -1}, []float64{0.1, 0.2, 0.3}, "t")
			}},
		{name: "softmax cross-entropy", shapes: []tensor.Shape{{3, 4}, {3, 4}}, wrt: []bool{true, false},
			inputs: func(i int, v []float64) {
				if i == 1 {
					for j := range v {
						v[j] = 0
					}
					v[2], v[4], v[11] = 1, 1, 1
				}
			},
			build: func(in []*G.Node) (*G.Node, error) { return softmaxCE(in[0], in[1]) }},
		{name: "conv asym pad stride dilation", shapes: []tensor.Shape{{2, 3, 6, 5}, {4, 3, 3, 2}},
			build: func(in []*G.Node) (*G.Node, error) {
				// H: (6+1+0-2*2-1)/2+1 = 2; W: (5+0+1-1-1)/1+1 = 5
				return conv2d(in[0], in[1], convGeom{N: 2, C: 3, H: 6, W: 5, Out: 4, KH: 3, KW: 2, SH: 2, SW: 1,
					T: 1, L: 0, B: 0, R: 1, DH: 2, DW: 1, OH: 2, OW: 5})
			}},
		{name: "conv 1x1", shapes: []tensor.Shape{{2, 3, 3, 3}, {2, 3, 1, 1}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], convGeom{N: 2, C: 3, H: 3, W: 3, Out: 2, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 3, OW: 3})
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c) })
	}
}

// runOp32 runs a single-op float32 graph forward.
func runOp32(t *testing.T, shapes []tensor.Shape, data [][]float32, build func(in []*G.Node) (*G.Node, error)) []float32 {
	t.Helper()
	g := G.NewGraph()
	var ins []*G.Node
	for i, s := range shapes {
		ins = append(ins, G.NewTensor(g, tensor.Float32, len(s), G.WithShape(s...), G.WithName(fmt.Sprintf("in%d", i)),
			G.WithValue(tensor.New(tensor.WithShape(s...), tensor.WithBacking(data[i])))))
	}
	y, err := build(ins)
	require.NoError(t, err)
	var v G.Value
	G.Read(y, &v)
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	require.NoError(t, vm.RunAll())
	return append([]float32(nil), v.Data().([]float32)...)
}

func rand32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.Float64()*2 - 1)
	}
	return v
}

func near(t *testing.T, name string, got, want []float32) {
	t.Helper()
	require.Equal(t, len(want), len(got), name)
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4+1e-3*math.Abs(float64(want[i])) {
			t.Fatalf("%s[%d]: got %v, want %v", name, i, got[i], want[i])
		}
	}
}

// TestForwardMatchesEngine checks the forward passes against the
// inference kernels of engine/kernels (the zoo's executor).
func TestForwardMatchesEngine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pools := []struct {
		name string
		g    poolGeom
		cip  bool
	}{
		{"caffe ceil", poolGeom{N: 2, C: 3, H: 9, W: 8, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1}, true},
		{"asym pads", poolGeom{N: 1, C: 2, H: 8, W: 8, KH: 3, KW: 3, SH: 2, SW: 2, T: 0, L: 0, B: 1, R: 1, DH: 1, DW: 1}, false},
		{"pad 1 stride 1", poolGeom{N: 1, C: 2, H: 7, W: 7, KH: 3, KW: 3, SH: 1, SW: 1, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1}, true},
	}
	for _, tc := range pools {
		for _, ceil := range []bool{false, true} {
			g := tc.g
			p := kernels.PoolParams{N: g.N, C: g.C, H: g.H, W: g.W, KH: g.KH, KW: g.KW, StrideH: g.SH, StrideW: g.SW,
				PadT: g.T, PadL: g.L, PadB: g.B, PadR: g.R, DilH: 1, DilW: 1, CeilMode: ceil}
			g.OH, g.OW = p.OutHW()
			x := rand32(r, g.N*g.C*g.H*g.W)
			want := make([]float32, g.N*g.C*g.OH*g.OW)
			kernels.MaxPool2D(p, x, want, g.C, 0)
			got := runOp32(t, []tensor.Shape{g.inShape()}, [][]float32{x}, func(in []*G.Node) (*G.Node, error) { return maxPool(in[0], g) })
			near(t, fmt.Sprintf("maxpool %s ceil=%v", tc.name, ceil), got, want)
			kernels.AvgPool2D(p, tc.cip, x, want, g.C, 0)
			got = runOp32(t, []tensor.Shape{g.inShape()}, [][]float32{x}, func(in []*G.Node) (*G.Node, error) { return avgPool(in[0], g, tc.cip) })
			near(t, fmt.Sprintf("avgpool %s ceil=%v", tc.name, ceil), got, want)
		}
	}
	// LRN
	x := rand32(r, 2*7*3*3)
	want := make([]float32, len(x))
	kernels.LRN(2, 7, 9, 5, 1e-2, 0.75, 1, x, want)
	got := runOp32(t, []tensor.Shape{{2, 7, 3, 3}}, [][]float32{x}, func(in []*G.Node) (*G.Node, error) { return lrn(in[0], 5, 1e-2, 0.75, 1) })
	near(t, "lrn", got, want)
	// Conv
	cp := kernels.ConvParams{N: 2, C: 3, H: 9, W: 7, OutC: 5, KH: 3, KW: 3, StrideH: 2, StrideW: 1, PadT: 1, PadL: 0, PadB: 0, PadR: 1, DilH: 1, DilW: 2, Groups: 1}
	oh, ow := cp.OutHW()
	x = rand32(r, 2*3*9*7)
	w := rand32(r, 5*3*3*3)
	want = make([]float32, 2*5*oh*ow)
	kernels.Conv2D(cp, x, w, want, 5, 0, make([]float32, cp.WorkspaceLen()), kernels.Epilogue{})
	got = runOp32(t, []tensor.Shape{{2, 3, 9, 7}, {5, 3, 3, 3}}, [][]float32{x, w}, func(in []*G.Node) (*G.Node, error) {
		return conv2d(in[0], in[1], convGeom{N: 2, C: 3, H: 9, W: 7, Out: 5, KH: 3, KW: 3, SH: 2, SW: 1, T: 1, L: 0, B: 0, R: 1, DH: 1, DW: 2, OH: oh, OW: ow})
	})
	near(t, "conv", got, want)
}
