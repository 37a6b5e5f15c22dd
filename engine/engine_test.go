package engine

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/stretchr/testify/require"
)

func randInput(shape nn.Shape, n int, seed uint64) *tensor.Tensor {
	t := tensor.New(append([]int{n}, shape...)...)
	r := nn.NewRand(seed, "input")
	for i := range t.Data {
		t.Data[i] = r.Uniform(-1, 1)
	}
	return t
}

// closeTo reports the first element of got that differs from want by more
// than atol + rtol·|want|.
func closeTo(got []float32, want []float64, rtol, atol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("len(got) = %d, want %d", len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > atol+rtol*math.Abs(want[i]) || math.IsNaN(float64(got[i])) {
			return fmt.Errorf("element %d: got %v, want %v (diff %g)", i, got[i], want[i], d)
		}
	}
	return nil
}

func bnUnit(name string, out, k int, pad nn.Pad) nn.Block {
	return nn.ConvUnit{Name: name, BNEps: 1e-3, Conv: nn.Conv{Out: out, Kernel: nn.K(k), Pad: pad}}.Block()
}

// testNets cover every op and every plan optimisation: folding chains,
// concat inputs written in place (nested too), in-place element-wise ops,
// views, values with several readers, and auxiliary outputs.
var testNets = []struct {
	name string
	in   nn.Shape
	net  nn.Block
}{
	{"conv-bn-relu into concat", nn.Shape{3, 9, 11}, nn.Seq(
		bnUnit("stem", 8, 3, nn.P(1)),
		nn.Branches{Name: "mix", Paths: []nn.Block{
			bnUnit("a", 4, 1, nn.Pad{}),
			nn.Seq(bnUnit("b0", 3, 1, nn.Pad{}), nn.Conv{Name: "b1", Out: 5, Kernel: nn.KHW(1, 7), Pad: nn.PHW(0, 3), Bias: true}),
			nn.MaxPool{Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1)},
			nn.Seq(nn.AvgPool{Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1)}, bnUnit("d", 2, 1, nn.Pad{})),
		}},
		nn.GlobalAvgPool{}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 7, Bias: true},
	)},
	{"nested concat (v3 E block)", nn.Shape{6, 8, 8}, nn.Branches{Paths: []nn.Block{
		bnUnit("x", 3, 1, nn.Pad{}),
		nn.Seq(bnUnit("r", 4, 1, nn.Pad{}), nn.Branches{Paths: []nn.Block{
			nn.ConvUnit{Name: "a", BNEps: 1e-3, Conv: nn.Conv{Out: 2, Kernel: nn.KHW(1, 3), Pad: nn.PHW(0, 1)}}.Block(),
			nn.ConvUnit{Name: "b", BNEps: 1e-3, Conv: nn.Conv{Out: 2, Kernel: nn.KHW(3, 1), Pad: nn.PHW(1, 0)}}.Block(),
		}}),
		nn.AvgPool{Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1), CountIncludePad: true},
	}}},
	{"input into concat, shared reader", nn.Shape{2, 5, 5}, nn.Seq(
		nn.Branches{Paths: []nn.Block{nn.ReLU{}, nn.Conv{Name: "c", Out: 3, Kernel: nn.K(3), Pad: nn.P(1)}}},
		nn.Conv{Name: "d", Out: 4, Kernel: nn.K(1)},
		nn.Branches{Paths: []nn.Block{nn.BatchNorm{Name: "bn1", Eps: 1e-5}, nn.Seq(nn.BatchNorm{Name: "bn2", Eps: 1e-5}, nn.ReLU{})}},
	)},
	{"residual blocks", nn.Shape{6, 7, 7}, nn.Seq(
		nn.ScaledResidual("r1", []nn.Block{bnUnit("b0", 2, 1, nn.Pad{}), nn.Seq(bnUnit("b1", 2, 1, nn.Pad{}), bnUnit("b2", 3, 3, nn.P(1)))}, "up", 6, 0.17, true),
		nn.ScaledResidual("r2", []nn.Block{bnUnit("b0", 2, 1, nn.Pad{})}, "up", 6, 1, false),
		nn.Residual{Name: "plain", Body: nn.ReLU{}},
	)},
	{"caffe stem with LRN and ceil pools", nn.Shape{3, 23, 23}, nn.Seq(
		nn.Conv{Name: "c1", Out: 8, Kernel: nn.K(7), Stride: nn.K(2), Pad: nn.P(3), Bias: true}, nn.ReLU{},
		nn.MaxPool{Kernel: nn.K(3), Stride: nn.K(2), CeilMode: true},
		nn.LRN{Size: 5, Alpha: 1e-1, Beta: 0.75, Bias: 1},
		nn.MaxPool{Kernel: nn.K(3), Stride: nn.K(2), Pad: nn.Pad{B: 2, R: 2}},
		nn.LRN{Size: 4, Alpha: 2e-1, Beta: 0.5, Bias: 2},
		nn.AvgPool{Kernel: nn.K(3), Stride: nn.K(2), CeilMode: true, Pad: nn.P(1), CountIncludePad: true},
		nn.Dropout{P: 0.4}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 5, Bias: true}, nn.Softmax{},
	)},
	{"grouped dilated conv, channel scale, affine", nn.Shape{4, 10, 10}, nn.Seq(
		nn.Affine{Scale: []float32{0.5, 1, 2, -1}, Shift: []float32{0.1, 0, -0.2, 0.3}},
		nn.Conv{Name: "g", Out: 8, Kernel: nn.K(3), Groups: 2, Dilation: nn.K(2), Pad: nn.Pad{T: 2, L: 1, B: 0, R: 3}, Bias: true},
		nn.BatchNorm{Name: "bn", Eps: 1e-5}, nn.ChannelScale{Name: "s", Bias: true}, nn.ReLU{},
		nn.Conv{Name: "dw", Out: 8, Kernel: nn.K(3), Groups: 8, Stride: nn.KHW(2, 1)},
		nn.ChannelScale{Name: "s2"}, nn.ReLU{},
		nn.AdaptiveAvgPool{Out: nn.KHW(3, 2)}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 3}, nn.ReLU{},
	)},
	{"aux tap", nn.Shape{3, 8, 8}, nn.Seq(
		bnUnit("a", 4, 3, nn.P(1)),
		nn.Tap{Name: "aux", Head: nn.Seq(nn.AdaptiveAvgPool{Out: nn.K(2)}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 3, Bias: true})},
		bnUnit("b", 4, 3, nn.P(1)), nn.GlobalAvgPool{}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 2, Bias: true},
	)},
}

func TestPlanMatchesReference(t *testing.T) {
	for _, tt := range testNets {
		t.Run(tt.name, func(t *testing.T) {
			g, err := nn.Lower(tt.net, tt.in)
			require.NoError(t, err)
			p := nn.InitParams(g, 3)
			m, err := Compile(g, p)
			require.NoError(t, err)
			for _, n := range []int{1, 3} {
				x := randInput(tt.in, n, uint64(n))
				outs, err := m.RunAll(x)
				require.NoError(t, err)
				ref := refEval(g, p, x.Data, n)
				ids := append([]int{g.Output}, auxIDs(g)...)
				for i, id := range ids {
					if err := closeTo(outs[i].Data, ref[id], 1e-4, 1e-5); err != nil {
						t.Errorf("batch %d output %d: %v", n, i, err)
					}
				}
			}
		})
	}
}

func auxIDs(g *nn.Graph) []int {
	var ids []int
	for _, a := range g.Aux {
		ids = append(ids, a.Node)
	}
	return ids
}

func TestPlanOptimisations(t *testing.T) {
	g, err := nn.Lower(testNets[0].net, testNets[0].in)
	require.NoError(t, err)
	m, err := Compile(g, nn.InitParams(g, 1))
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, s := range m.steps {
		kinds[s.kind]++
	}
	// BN and ReLU fold into the convs, Flatten is a view, and every branch
	// writes into its channel window, so the concat needs no step.
	want := map[string]int{"Conv": 5, "MaxPool": 1, "AvgPool": 1, "GlobalAvgPool": 1, "Linear": 1}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("steps = %v, want %v", kinds, want)
	}
	// Buffers are shared: fewer slots than values.
	if len(m.slotLen) >= len(g.Nodes)/2 {
		t.Errorf("%d buffer slots for %d values", len(m.slotLen), len(g.Nodes))
	}
}

func TestRunErrors(t *testing.T) {
	g, err := nn.Lower(testNets[0].net, testNets[0].in)
	require.NoError(t, err)
	m, err := Compile(g, nn.InitParams(g, 1))
	require.NoError(t, err)
	bad := []*tensor.Tensor{
		nil,
		tensor.New(3, 9, 11),
		tensor.New(1, 3, 9, 12),
		tensor.New(0, 3, 9, 11),
		{Shape: []int{2, 3, 9, 11}, Data: make([]float32, 5)},
	}
	for _, x := range bad {
		if _, err := m.Run(x); !errors.Is(err, ErrInput) {
			t.Errorf("Run(%v) err = %v, want ErrInput", shapeOf(x), err)
		}
	}
	p := nn.InitParams(g, 1)
	delete(p, "fc.weight")
	if _, err := Compile(g, p); err == nil {
		t.Error("Compile with a missing parameter: err = nil")
	}
}

func shapeOf(x *tensor.Tensor) []int {
	if x == nil {
		return nil
	}
	return x.Shape
}

// TestBatchMatchesImages requires a batch, whose images run in parallel
// with GOMAXPROCS > 1, to give bit-identical outputs to the same images
// run one by one, for the main and the auxiliary outputs, through Run,
// RunAll and RunInto.
func TestBatchMatchesImages(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	for _, tt := range testNets {
		t.Run(tt.name, func(t *testing.T) {
			g, err := nn.Lower(tt.net, tt.in)
			require.NoError(t, err)
			m, err := Compile(g, nn.InitParams(g, 5))
			require.NoError(t, err)
			const n = 5
			x := randInput(tt.in, n, 9)
			batch, err := m.RunAll(x)
			require.NoError(t, err)
			into := tensor.New(batch[0].Shape...)
			require.NoError(t, m.RunInto(x, into))
			require.Equal(t, batch[0].Data, into.Data, "RunInto vs RunAll")
			inSz := len(x.Data) / n
			for i := 0; i < n; i++ {
				xi, err := tensor.FromData(x.Data[i*inSz:(i+1)*inSz], append([]int{1}, x.Shape[1:]...)...)
				require.NoError(t, err)
				one, err := m.RunAll(xi)
				require.NoError(t, err)
				for k := range one {
					sz := len(one[k].Data)
					require.Equal(t, one[k].Data, batch[k].Data[i*sz:(i+1)*sz], "image %d output %d", i, k)
				}
			}
		})
	}
}

func TestGroupSize(t *testing.T) {
	for _, tc := range []struct{ perImage, want int }{
		{1, maxGroup}, {groupFloats / 4, 4}, {groupFloats / 2, 2}, {groupFloats/2 + 1, 1}, {groupFloats, 1}, {10 * groupFloats, 1},
	} {
		if got := groupSize(tc.perImage); got != tc.want {
			t.Errorf("groupSize(%d) = %d, want %d", tc.perImage, got, tc.want)
		}
	}
}
