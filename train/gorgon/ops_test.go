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
		// pooling inputs are [C, N, H, W]
		{name: "maxpool ceil asym pad dilation", shapes: []tensor.Shape{{2, 2, 7, 6}},
			build: func(in []*G.Node) (*G.Node, error) {
				// 7x6, k3 s2, pads T0 L1 B1 R0, ceil: out 4x3
				return maxPool(in[0], poolGeom{N: 2, C: 2, H: 7, W: 6, KH: 3, KW: 3, SH: 2, SW: 2, T: 0, L: 1, B: 1, R: 0, DH: 1, DW: 1, OH: 4, OW: 3})
			}},
		{name: "maxpool dilation", shapes: []tensor.Shape{{2, 1, 7, 7}},
			build: func(in []*G.Node) (*G.Node, error) {
				return maxPool(in[0], poolGeom{N: 1, C: 2, H: 7, W: 7, KH: 2, KW: 3, SH: 1, SW: 2, T: 1, L: 1, B: 1, R: 1, DH: 2, DW: 1, OH: 7, OW: 4})
			}},
		{name: "maxpool 3x3 s1 p1", shapes: []tensor.Shape{{3, 2, 5, 4}},
			build: func(in []*G.Node) (*G.Node, error) {
				return maxPool(in[0], poolGeom{N: 2, C: 3, H: 5, W: 4, KH: 3, KW: 3, SH: 1, SW: 1, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1, OH: 5, OW: 4})
			}},
		{name: "avgpool count_include_pad ceil", shapes: []tensor.Shape{{2, 2, 6, 7}},
			build: func(in []*G.Node) (*G.Node, error) {
				return avgPool(in[0], poolGeom{N: 2, C: 2, H: 6, W: 7, KH: 3, KW: 3, SH: 2, SW: 2, T: 1, L: 0, B: 1, R: 1, DH: 1, DW: 1, OH: 4, OW: 4}, true)
			}},
		{name: "avgpool exclude pad", shapes: []tensor.Shape{{3, 1, 5, 5}},
			build: func(in []*G.Node) (*G.Node, error) {
				return avgPool(in[0], poolGeom{N: 1, C: 3, H: 5, W: 5, KH: 3, KW: 3, SH: 1, SW: 1, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1, OH: 5, OW: 5}, false)
			}},
		{name: "global avgpool", shapes: []tensor.Shape{{3, 2, 4, 5}},
			build: func(in []*G.Node) (*G.Node, error) { return globalAvgPool(in[0], 2, 3, 4, 5) }},
		{name: "lrn", shapes: []tensor.Shape{{6, 2, 3, 3}},
			build: func(in []*G.Node) (*G.Node, error) { return lrn(in[0], 5, 0.3, 0.75, 1.5) }},
		{name: "lrn even size", shapes: []tensor.Shape{{5, 1, 2, 2}},
			build: func(in []*G.Node) (*G.Node, error) { return lrn(in[0], 4, 0.5, 0.75, 2) }},
		{name: "batchnorm train", shapes: []tensor.Shape{{3, 3, 2, 3}, {3}, {3}}, build: bn(true)},
		{name: "batchnorm eval", shapes: []tensor.Shape{{3, 2, 2, 2}, {3}, {3}}, build: bn(false)},
		{name: "batchnorm train vectors", shapes: []tensor.Shape{{4, 3}, {3}, {3}}, build: bn(true)},
		{name: "bias add 4D", shapes: []tensor.Shape{{3, 2, 2, 2}, {3}},
			build: func(in []*G.Node) (*G.Node, error) { return biasAdd(in[0], in[1]) }},
		{name: "bias add 2D", shapes: []tensor.Shape{{4, 5}, {5}},
			build: func(in []*G.Node) (*G.Node, error) { return biasAdd(in[0], in[1]) }},
		{name: "channel mul", shapes: []tensor.Shape{{3, 2, 2, 2}, {3}},
			build: func(in []*G.Node) (*G.Node, error) { return channelMul(in[0], in[1]) }},
		{name: "const affine", shapes: []tensor.Shape{{3, 2, 2, 2}},
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
		{name: "conv asym pad stride dilation", shapes: []tensor.Shape{{3, 2, 6, 5}, {4, 3, 3, 2}},
			build: func(in []*G.Node) (*G.Node, error) {
				// H: (6+1+0-2*2-1)/2+1 = 2; W: (5+0+1-1-1)/1+1 = 5
				return conv2d(in[0], in[1], nil, convGeom{N: 2, C: 3, H: 6, W: 5, Out: 4, Groups: 1, KH: 3, KW: 2, SH: 2, SW: 1,
					T: 1, L: 0, B: 0, R: 1, DH: 2, DW: 1, OH: 2, OW: 5}, false, true)
			}},
		{name: "conv 1x1", shapes: []tensor.Shape{{3, 2, 3, 3}, {2, 3, 1, 1}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], nil, convGeom{N: 2, C: 3, H: 3, W: 3, Out: 2, Groups: 1, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 3, OW: 3}, false, true)
			}},
		{name: "conv 1x1 stride 2", shapes: []tensor.Shape{{3, 2, 5, 5}, {2, 3, 1, 1}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], nil, convGeom{N: 2, C: 3, H: 5, W: 5, Out: 2, Groups: 1, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1, OH: 3, OW: 3}, false, true)
			}},
		{name: "conv bias relu", shapes: []tensor.Shape{{2, 3, 5, 4}, {3, 2, 3, 3}, {3}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], in[2], convGeom{N: 3, C: 2, H: 5, W: 4, Out: 3, Groups: 1, KH: 3, KW: 3, SH: 1, SW: 1,
					T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1, OH: 5, OW: 4}, true, true)
			}},
		{name: "conv 1x1 bias relu", shapes: []tensor.Shape{{4, 2, 3, 3}, {5, 4, 1, 1}, {5}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], in[2], convGeom{N: 2, C: 4, H: 3, W: 3, Out: 5, Groups: 1, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 3, OW: 3}, true, true)
			}},
		{name: "grouped conv", shapes: []tensor.Shape{{4, 2, 5, 5}, {6, 2, 3, 3}, {6}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], in[2], convGeom{N: 2, C: 4, H: 5, W: 5, Out: 6, Groups: 2, KH: 3, KW: 3, SH: 2, SW: 2,
					T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1, OH: 3, OW: 3}, false, true)
			}},
		{name: "grouped conv 1x1 depthwise", shapes: []tensor.Shape{{3, 2, 3, 3}, {3, 1, 1, 1}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], nil, convGeom{N: 2, C: 3, H: 3, W: 3, Out: 3, Groups: 3, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 3, OW: 3}, false, true)
			}},
		{name: "conv 3x3 on 1x1 (centre tap only)", shapes: []tensor.Shape{{3, 2, 1, 1}, {4, 3, 3, 3}, {4}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], in[2], convGeom{N: 2, C: 3, H: 1, W: 1, Out: 4, Groups: 1, KH: 3, KW: 3, SH: 1, SW: 1,
					T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1, OH: 1, OW: 1}, true, true)
			}},
		{name: "conv 5x5 on 2x3 (pruned taps)", shapes: []tensor.Shape{{2, 2, 2, 3}, {3, 2, 5, 5}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], nil, convGeom{N: 2, C: 2, H: 2, W: 3, Out: 3, Groups: 1, KH: 5, KW: 5, SH: 1, SW: 1,
					T: 2, L: 2, B: 2, R: 2, DH: 1, DW: 1, OH: 2, OW: 3}, false, true)
			}},
		{name: "grouped conv 3x3 s2 on 2x2 (pruned taps)", shapes: []tensor.Shape{{4, 2, 2, 2}, {4, 2, 3, 3}},
			build: func(in []*G.Node) (*G.Node, error) {
				return conv2d(in[0], in[1], nil, convGeom{N: 2, C: 4, H: 2, W: 2, Out: 4, Groups: 2, KH: 3, KW: 3, SH: 2, SW: 2,
					T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1, OH: 1, OW: 1}, false, true)
			}},
		{name: "linear", shapes: []tensor.Shape{{3, 5}, {4, 5}, {4}},
			build: func(in []*G.Node) (*G.Node, error) { return linear(in[0], in[1], in[2]) }},
		{name: "linear no bias", shapes: []tensor.Shape{{2, 3}, {4, 3}},
			build: func(in []*G.Node) (*G.Node, error) { return linear(in[0], in[1], nil) }},
		{name: "relu", shapes: []tensor.Shape{{3, 2, 2, 2}},
			build: func(in []*G.Node) (*G.Node, error) { return relu(in[0]) }},
		{name: "add scaled relu", shapes: []tensor.Shape{{3, 2, 2, 2}, {3, 2, 2, 2}},
			build: func(in []*G.Node) (*G.Node, error) { return addScaled(in[0], in[1], 0.17, true) }},
		{name: "add", shapes: []tensor.Shape{{2, 5}, {2, 5}},
			build: func(in []*G.Node) (*G.Node, error) { return addScaled(in[0], in[1], 1, false) }},
		{name: "concat 4D", shapes: []tensor.Shape{{2, 2, 2, 3}, {3, 2, 2, 3}, {1, 2, 2, 3}},
			build: func(in []*G.Node) (*G.Node, error) { return concat(in) }},
		{name: "concat 2D", shapes: []tensor.Shape{{2, 3}, {2, 4}},
			build: func(in []*G.Node) (*G.Node, error) { return concat(in) }},
		{name: "flatten", shapes: []tensor.Shape{{3, 2, 2, 2}},
			build: func(in []*G.Node) (*G.Node, error) { return flatten(in[0]) }},
		{name: "dropout", shapes: []tensor.Shape{{4, 6}},
			build: func(in []*G.Node) (*G.Node, error) {
				step := int64(3)
				return dropout(in[0], &dropState{Path: "d", P: 0.4, Seed: 1, step: &step})
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
	// LRN: the engine runs NCHW, the back end CNHW
	x := rand32(r, 2*7*3*3)
	want := make([]float32, len(x))
	kernels.LRN(2, 7, 9, 5, 1e-2, 0.75, 1, x, want)
	got := runOp32(t, []tensor.Shape{{7, 2, 3, 3}}, [][]float32{toCNHW(x, 2, 7, 9)}, func(in []*G.Node) (*G.Node, error) { return lrn(in[0], 5, 1e-2, 0.75, 1) })
	near(t, "lrn", toNCHW(got, 2, 7, 9), want)
	// Conv, plain and grouped, with bias and ReLU
	for _, groups := range []int{1, 3} {
		cp := kernels.ConvParams{N: 2, C: 6, H: 9, W: 7, OutC: 9, KH: 3, KW: 3, StrideH: 2, StrideW: 1, PadT: 1, PadL: 0, PadB: 0, PadR: 1, DilH: 1, DilW: 2, Groups: groups}
		oh, ow := cp.OutHW()
		x = rand32(r, 2*6*9*7)
		w := rand32(r, 9*6/groups*3*3)
		b := rand32(r, 9)
		want = make([]float32, 2*9*oh*ow)
		kernels.Conv2D(cp, x, w, want, 9, 0, make([]float32, cp.WorkspaceLen()), kernels.Epilogue{Bias: b, ReLU: true})
		got = runOp32(t, []tensor.Shape{{6, 2, 9, 7}, {9, 6 / groups, 3, 3}, {9}}, [][]float32{toCNHW(x, 2, 6, 9*7), w, b}, func(in []*G.Node) (*G.Node, error) {
			return conv2d(in[0], in[1], in[2], convGeom{N: 2, C: 6, H: 9, W: 7, Out: 9, Groups: groups, KH: 3, KW: 3, SH: 2, SW: 1, T: 1, L: 0, B: 0, R: 1, DH: 1, DW: 2, OH: oh, OW: ow}, true, true)
		})
		near(t, fmt.Sprintf("conv groups %d", groups), toNCHW(got, 2, 9, oh*ow), want)
	}
	// convolutions whose outer taps read only padding
	for _, cp := range []kernels.ConvParams{
		{N: 3, C: 8, H: 1, W: 1, OutC: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
		{N: 3, C: 8, H: 2, W: 2, OutC: 6, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, DilH: 1, DilW: 1, Groups: 2},
		{N: 2, C: 4, H: 3, W: 2, OutC: 5, KH: 7, KW: 3, StrideH: 2, StrideW: 1, PadT: 3, PadL: 1, PadB: 3, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
	} {
		oh, ow := cp.OutHW()
		x := rand32(r, cp.N*cp.C*cp.H*cp.W)
		w := rand32(r, cp.OutC*cp.C/cp.Groups*cp.KH*cp.KW)
		b := rand32(r, cp.OutC)
		want := make([]float32, cp.N*cp.OutC*oh*ow)
		kernels.Conv2D(cp, x, w, want, cp.OutC, 0, make([]float32, cp.WorkspaceLen()), kernels.Epilogue{Bias: b})
		g := convGeom{N: cp.N, C: cp.C, H: cp.H, W: cp.W, Out: cp.OutC, Groups: cp.Groups, KH: cp.KH, KW: cp.KW, SH: cp.StrideH, SW: cp.StrideW,
			T: cp.PadT, L: cp.PadL, B: cp.PadB, R: cp.PadR, DH: 1, DW: 1, OH: oh, OW: ow}
		require.Less(t, len(newConvPlan(g).taps), cp.KH*cp.KW, "taps pruned")
		got := runOp32(t, []tensor.Shape{{cp.C, cp.N, cp.H, cp.W}, {cp.OutC, cp.C / cp.Groups, cp.KH, cp.KW}, {cp.OutC}},
			[][]float32{toCNHW(x, cp.N, cp.C, cp.H*cp.W), w, b}, func(in []*G.Node) (*G.Node, error) { return conv2d(in[0], in[1], in[2], g, false, true) })
		near(t, fmt.Sprintf("conv %dx%d on %dx%d", cp.KH, cp.KW, cp.H, cp.W), toNCHW(got, cp.N, cp.OutC, oh*ow), want)
	}
	// 1x1 conv over a batch large enough for the GEMM's tiling
	cp := kernels.ConvParams{N: 5, C: 40, H: 6, W: 6, OutC: 33, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1}
	x = rand32(r, 5*40*36)
	w := rand32(r, 33*40)
	b := rand32(r, 33)
	want = make([]float32, 5*33*36)
	kernels.Conv2D(cp, x, w, want, 33, 0, nil, kernels.Epilogue{Bias: b})
	got = runOp32(t, []tensor.Shape{{40, 5, 6, 6}, {33, 40, 1, 1}, {33}}, [][]float32{toCNHW(x, 5, 40, 36), w, b}, func(in []*G.Node) (*G.Node, error) {
		return conv2d(in[0], in[1], in[2], convGeom{N: 5, C: 40, H: 6, W: 6, Out: 33, Groups: 1, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 6, OW: 6}, false, true)
	})
	near(t, "conv 1x1", toNCHW(got, 5, 33, 36), want)
	// Linear
	x = rand32(r, 3*20)
	w = rand32(r, 7*20)
	b = rand32(r, 7)
	want = make([]float32, 3*7)
	kernels.Linear(3, 20, 7, x, w, b, false, want)
	got = runOp32(t, []tensor.Shape{{3, 20}, {7, 20}, {7}}, [][]float32{x, w, b}, func(in []*G.Node) (*G.Node, error) { return linear(in[0], in[1], in[2]) })
	near(t, "linear", got, want)
}

// toCNHW transposes an [n, c, hw] batch to [c, n, hw]; toNCHW back.
func toCNHW(x []float32, n, c, hw int) []float32 {
	y := make([]float32, len(x))
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			copy(y[(j*n+i)*hw:(j*n+i+1)*hw], x[(i*c+j)*hw:(i*c+j+1)*hw])
		}
	}
	return y
}

func toNCHW(x []float32, n, c, hw int) []float32 {
	y := make([]float32, len(x))
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			copy(y[(i*c+j)*hw:(i*c+j+1)*hw], x[(j*n+i)*hw:(j*n+i+1)*hw])
		}
	}
	return y
}

// TestDropoutMask: the mask is a pure function of (seed, path, step),
// drops about P of the elements and scales the others by 1/(1−P).
func TestDropoutMask(t *testing.T) {
	step := int64(5)
	mk := func(path string, seed uint64) []bool {
		st := &dropState{Path: path, P: 0.3, Seed: seed, step: &step}
		st.draw(10000)
		return append([]bool(nil), st.keep...)
	}
	a := mk("head.drop", 1)
	require.Equal(t, a, mk("head.drop", 1), "same seed, path and step")
	require.NotEqual(t, a, mk("aux.drop", 1), "another path")
	require.NotEqual(t, a, mk("head.drop", 2), "another seed")
	step = 6
	require.NotEqual(t, a, mk("head.drop", 1), "another step")
	kept := 0
	for _, k := range a {
		if k {
			kept++
		}
	}
	require.InDelta(t, 0.7, float64(kept)/float64(len(a)), 0.02, "kept fraction")
	x := rand32(rand.New(rand.NewPCG(1, 1)), 64)
	step = 5
	got := runOp32(t, []tensor.Shape{{8, 8}}, [][]float32{x}, func(in []*G.Node) (*G.Node, error) {
		return dropout(in[0], &dropState{Path: "head.drop", P: 0.3, Seed: 1, step: &step})
	})
	for i, v := range got {
		want := float32(0)
		if a[i] {
			want = x[i] / 0.7
		}
		if math.Abs(float64(v-want)) > 1e-6 {
			t.Fatalf("dropout[%d]: got %v, want %v", i, v, want)
		}
	}
}

// TestMaxPoolBwdTaps: the max-pool gradient through kernels.Taps (the
// avx512 path: stride-1 pools that keep the plane size, strided pools via
// their anchors) equals the window scan of maxPoolBwd bit for bit, on
// inputs with many ties (±0 among them) and odd geometries.
func TestMaxPoolBwdTaps(t *testing.T) {
	if kernels.KernelPath() != kernels.PathAVX512 {
		t.Skipf("GEMM path %s: the stencil path runs only on avx512", kernels.KernelPath())
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		name string
		g    poolGeom
		ceil bool
	}{
		{"inception 3x3 s1", poolGeom{N: 3, C: 5, H: 12, W: 12, KH: 3, KW: 3, SH: 1, SW: 1, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1}, false},
		{"3x3 s1 on 3x3", poolGeom{N: 4, C: 3, H: 3, W: 3, KH: 3, KW: 3, SH: 1, SW: 1, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1}, false},
		{"3x3 s1 on 1x1", poolGeom{N: 5, C: 7, H: 1, W: 1, KH: 3, KW: 3, SH: 1, SW: 1, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1}, false},
		{"d2l 3x3 s2 p1", poolGeom{N: 3, C: 4, H: 48, W: 48, KH: 3, KW: 3, SH: 2, SW: 2, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1}, false},
		{"3x3 s2 p1 odd", poolGeom{N: 2, C: 3, H: 7, W: 5, KH: 3, KW: 3, SH: 2, SW: 2, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1}, false},
		{"caffe 3x3 s2 ceil", poolGeom{N: 2, C: 3, H: 9, W: 8, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1}, true},
		{"2x2 s2", poolGeom{N: 2, C: 2, H: 6, W: 7, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}, false},
		{"dilated, stride 1x2", poolGeom{N: 1, C: 2, H: 7, W: 7, KH: 2, KW: 3, SH: 1, SW: 2, T: 1, L: 1, B: 1, R: 1, DH: 2, DW: 1}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := c.g
			p := kernels.PoolParams{N: 1, C: g.N * g.C, H: g.H, W: g.W, KH: g.KH, KW: g.KW, StrideH: g.SH, StrideW: g.SW,
				PadT: g.T, PadL: g.L, PadB: g.B, PadR: g.R, DilH: g.DH, DilW: g.DW, CeilMode: c.ceil}
			g.OH, g.OW = p.OutHW()
			st := g.taps()
			if st == nil {
				t.Fatalf("%s: no stencil", g)
			}
			n, no := g.N*g.C*g.H*g.W, g.N*g.C*g.OH*g.OW
			x, dy := make([]float32, n), make([]float32, no)
			for i := range x {
				x[i] = float32(r.IntN(5)-2) * 0.25
				if x[i] == 0 && r.IntN(2) == 0 {
					x[i] = float32(math.Copysign(0, -1))
				}
			}
			for i := range dy {
				dy[i] = float32(r.NormFloat64())
			}
			y := make([]float32, no)
			maxPoolFwd[float32](g)(y, [][]float32{x})
			want, got := make([]float32, n), make([]float32, n)
			maxPoolBwd[float32](g)(want, [][]float32{x, y, dy})
			bwd := maxPoolBwdTaps(g, st)
			for range 2 { // the second run reuses the scratch
				for i := range got {
					got[i] = 42
				}
				bwd(got, [][]float32{x, y, dy})
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: dx[%d] = %v, want %v", g, i, got[i], want[i])
					}
				}
			}
		})
	}
}
