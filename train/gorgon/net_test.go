package gorgon

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/nn"
	tz "github.com/inceptionzoo/inception/tensor"
	v1 "github.com/inceptionzoo/inception/variants/v1"
)

func tensor32(x []float32, shape ...int) *tz.Tensor {
	t := tz.New(shape...)
	copy(t.Data, x)
	return t
}

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

// TestConvMatchesGorgonia: the back end's CNHW convolution and gorgonia's
// own Conv2d (NCHW, an independent implementation) give the same output
// and the same gradients of Σ y·R with respect to the input and weights.
func TestConvMatchesGorgonia(t *testing.T) {
	const n, c, h, w, out, k = 3, 4, 7, 6, 5, 3
	r := rand.New(rand.NewPCG(1, 1))
	x := randVals(r, n*c*h*w)
	wt := randVals(r, out*c*k*k)
	oh, ow := (h+2-k)/2+1, (w+2-k)/1+1 // stride 2x1, pad 1
	rv := randVals(r, n*out*oh*ow)
	type result struct{ y, dx, dw []float64 }
	run := func(ours bool) result {
		g := G.NewGraph()
		xs := tensor.Shape{n, c, h, w}
		xd, rd := x, rv
		if ours {
			xs = tensor.Shape{c, n, h, w}
			xd, rd = cnhw64(x, n, c, h*w), cnhw64(rv, n, out, oh*ow)
		}
		xn := G.NewTensor(g, tensor.Float64, 4, G.WithShape(xs...), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(xs...), tensor.WithBacking(append([]float64(nil), xd...)))))
		wn := G.NewTensor(g, tensor.Float64, 4, G.WithShape(out, c, k, k), G.WithName("w"), G.WithValue(tensor.New(tensor.WithShape(out, c, k, k), tensor.WithBacking(append([]float64(nil), wt...)))))
		var y *G.Node
		var err error
		if ours {
			y, err = conv2d(xn, wn, nil, convGeom{N: n, C: c, H: h, W: w, Out: out, Groups: 1, KH: k, KW: k, SH: 2, SW: 1, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1, OH: oh, OW: ow}, false, true)
		} else {
			y, err = G.Conv2d(xn, wn, tensor.Shape{k, k}, []int{1, 1}, []int{2, 1}, []int{1, 1})
		}
		require.NoError(t, err)
		rn := G.NewTensor(g, tensor.Float64, 4, G.WithShape(y.Shape()...), G.WithName("R"), G.WithValue(tensor.New(tensor.WithShape(y.Shape()...), tensor.WithBacking(rd))))
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(y, rn))))
		var yv G.Value
		G.Read(y, &yv)
		_, err = G.Grad(loss, xn, wn)
		require.NoError(t, err)
		vm := G.NewTapeMachine(g, G.BindDualValues(xn, wn))
		defer vm.Close()
		require.NoError(t, vm.RunAll())
		dx, err := xn.Grad()
		require.NoError(t, err)
		dw, err := wn.Grad()
		require.NoError(t, err)
		res := result{append([]float64(nil), yv.Data().([]float64)...), append([]float64(nil), dx.Data().([]float64)...), append([]float64(nil), dw.Data().([]float64)...)}
		if ours {
			res.y, res.dx = nchw64(res.y, n, out, oh*ow), nchw64(res.dx, n, c, h*w)
		}
		return res
	}
	got, want := run(true), run(false)
	for _, cmp := range []struct {
		name      string
		got, want []float64
	}{{"y", got.y, want.y}, {"dx", got.dx, want.dx}, {"dw", got.dw, want.dw}} {
		require.Equal(t, len(cmp.want), len(cmp.got), cmp.name)
		for i := range cmp.got {
			if math.Abs(cmp.got[i]-cmp.want[i]) > 1e-9+1e-9*math.Abs(cmp.want[i]) {
				t.Fatalf("%s[%d]: ours %v, gorgonia %v", cmp.name, i, cmp.got[i], cmp.want[i])
			}
		}
	}
}

func cnhw64(x []float64, n, c, hw int) []float64 {
	y := make([]float64, len(x))
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			copy(y[(j*n+i)*hw:(j*n+i+1)*hw], x[(i*c+j)*hw:(i*c+j+1)*hw])
		}
	}
	return y
}

func nchw64(x []float64, n, c, hw int) []float64 {
	y := make([]float64, len(x))
	for i := 0; i < n; i++ {
		for j := 0; j < c; j++ {
			copy(y[(i*c+j)*hw:(i*c+j+1)*hw], x[(j*n+i)*hw:(j*n+i+1)*hw])
		}
	}
	return y
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
	g, err := nn.Lower(nn.Seq(nn.Conv{Out: 4, Kernel: nn.K(3), Groups: 3}, nn.GlobalAvgPool{}, nn.Flatten{}), nn.Shape{3, 5, 5})
	require.Error(t, err, "nn rejects 4 outputs in 3 groups")
	g, err = nn.Lower(nn.Seq(nn.GlobalAvgPool{}, nn.Flatten{}, nn.Dropout{P: 0.5}), nn.Shape{2, 5, 5})
	require.NoError(t, err)
	_, err = Build(g, nn.InitParams(g, 1), Config{Batch: 2})
	require.NoError(t, err)
	_, err = Build(g, nn.InitParams(g, 1), Config{Batch: 0})
	require.ErrorIs(t, err, ErrGraph)
	_, err = Build(g, nn.InitParams(g, 1), Config{Batch: 2, AuxWeight: -1})
	require.ErrorIs(t, err, ErrGraph)
}

// TestAuxLoss: with auxiliary heads the loss is the main head's mean
// cross-entropy plus AuxWeight times each head's, the heads' logits
// computed by the engine (engine.Model.RunAll) as the reference.
func TestAuxLoss(t *testing.T) {
	blk := nn.Seq(
		nn.Conv{Name: "c1", Out: 6, Kernel: nn.K(3), Pad: nn.P(1), Bias: true}, nn.ReLU{},
		nn.Tap{Name: "aux1", Head: nn.Seq(nn.GlobalAvgPool{}, nn.Flatten{}, nn.Dropout{P: 0.5}, nn.Linear{Name: "fc", Out: 4, Bias: true})},
		nn.Conv{Name: "c2", Out: 5, Kernel: nn.K(3), Stride: nn.K(2), Bias: true}, nn.ReLU{},
		nn.Tap{Name: "aux2", Head: nn.Seq(nn.GlobalAvgPool{}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 4, Bias: true})},
		nn.GlobalAvgPool{}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 4, Bias: true},
	)
	g, err := nn.Lower(blk, nn.Shape{2, 7, 7})
	require.NoError(t, err)
	require.Len(t, g.Aux, 2)
	p := nn.InitParams(g, 5)
	const batch = 3
	r := rand.New(rand.NewPCG(2, 2))
	x := make([]float32, batch*2*7*7)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	labels := []int{1, 3, 0}
	loss := func(w float64) float64 {
		n, err := Build(g, p, Config{Batch: batch, AuxWeight: w, DropoutAsIdentity: true})
		require.NoError(t, err)
		defer n.Close()
		l, _, err := n.Step(x, labels)
		require.NoError(t, err)
		return l
	}
	m, err := engine.Compile(g, p)
	require.NoError(t, err)
	outs, err := m.RunAll(tensor32(x, batch, 2, 7, 7))
	require.NoError(t, err)
	require.Len(t, outs, 3)
	ce := func(z []float32) float64 {
		var s float64
		for i, l := range labels {
			row := z[i*4 : (i+1)*4]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			var e float64
			for _, v := range row {
				e += math.Exp(float64(v) - mx)
			}
			s += mx + math.Log(e) - float64(row[l])
		}
		return s / batch
	}
	main, a1, a2 := ce(outs[0].Data), ce(outs[1].Data), ce(outs[2].Data)
	for _, w := range []float64{0, 0.3, 0.4} {
		want := main + w*(a1+a2)
		require.InDelta(t, want, loss(w), 1e-5, "loss with aux weight %g", w)
	}
	require.Greater(t, math.Abs(a1+a2), 0.1, "aux losses matter")
}

// TestStepAllocations: in the steady state a training step of the D2L
// GoogLeNet allocates no activation or gradient memory (every op reuses
// its output; gorgonia's own bookkeeping allocates a few hundred KB at
// most), against tens of MB of activations per step.
func TestStepAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random: allocation counts say nothing under -race")
	}
	blk, err := v1.D2L(nn.Options{})
	require.NoError(t, err)
	g, err := nn.Lower(blk, nn.Shape{1, 28, 28})
	require.NoError(t, err)
	p := nn.InitParams(g, 1)
	const batch = 32
	n, err := Build(g, p, Config{Batch: batch})
	require.NoError(t, err)
	defer n.Close()
	x := make([]float32, batch*28*28)
	for i := range x {
		x[i] = float32(i%97) / 97
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = i % 10
	}
	for i := 0; i < 2; i++ { // first steps allocate the outputs
		_, _, err := n.Step(x, labels)
		require.NoError(t, err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const steps = 3
	for i := 0; i < steps; i++ {
		_, _, err := n.Step(x, labels)
		require.NoError(t, err)
	}
	runtime.ReadMemStats(&after)
	perStep := (after.TotalAlloc - before.TotalAlloc) / steps
	t.Logf("%d bytes, %d allocations per step", perStep, (after.Mallocs-before.Mallocs)/steps)
	if perStep > 1<<20 {
		t.Fatalf("a step allocates %d bytes, want < 1 MiB", perStep)
	}
}

// TestNoInputGradient: the graph computes no data gradient for a
// convolution whose input depends on no learned parameter (the network's
// input; with the first blocks frozen, their output), and one for every
// other learned convolution.
func TestNoInputGradient(t *testing.T) {
	frozen := func(prefixes ...string) func(nn.ParamSpec) bool {
		return func(s nn.ParamSpec) bool {
			for _, p := range prefixes {
				if strings.HasPrefix(s.Path, p) {
					return false
				}
			}
			return true
		}
	}
	for _, c := range []struct {
		name      string
		trainable func(nn.ParamSpec) bool
		noGradX   string // the input shape of the convolutions without one
		without   int
	}{
		{"all learned", nil, "in=1x2x28x28", 1},
		// 3a's four branches read block 1's output (192x4x4) directly
		{"blocks 0 and 1 frozen", frozen("0.", "1."), "in=192x2x4x4", 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			blk, err := v1.D2L(nn.Options{})
			require.NoError(t, err)
			g, err := nn.Lower(blk, nn.Shape{1, 28, 28})
			require.NoError(t, err)
			n, err := Build(g, nn.InitParams(g, 1), Config{Batch: 2, Trainable: c.trainable})
			require.NoError(t, err)
			defer n.Close()
			convs, gradX, reading := 0, 0, 0
			for _, node := range n.g.AllNodes() {
				if node.Op() == nil {
					continue
				}
				switch name := node.Op().String(); {
				case strings.HasPrefix(name, "ConvGradX"):
					gradX++
					require.NotContains(t, name, c.noGradX, "a data gradient nothing needs")
				case strings.HasPrefix(name, "ConvGradW"):
					convs++
					if strings.Contains(name, c.noGradX) {
						reading++
					}
				}
			}
			require.Positive(t, convs)
			require.Equal(t, c.without, reading, "learned convolutions reading %s", c.noGradX)
			require.Equal(t, convs-c.without, gradX, "data gradients of %d learned convolutions", convs)
		})
	}
}
