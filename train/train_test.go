package train

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/train/data"
)

// tinyNet exercises every op the back end lowers.
func tinyNet() nn.Block { return tinyNetDrop(0) }

// tinyNetDrop is tinyNet with a Dropout of probability p before the
// classifier (none if p is 0).
func tinyNetDrop(p float32) nn.Block {
	conv := func(name string, out, k, pad int) nn.Block {
		return nn.Conv{Name: name, Out: out, Kernel: nn.K(k), Pad: nn.P(pad), Bias: true}
	}
	return nn.Seq(
		nn.Affine{Name: "norm", Scale: []float32{2}, Shift: []float32{-1}},
		conv("c1", 8, 3, 1), nn.ReLU{},
		nn.MaxPool{Name: "p1", Kernel: nn.K(3), Stride: nn.K(2), CeilMode: true},
		nn.Branches{Name: "mix", Paths: []nn.Block{
			nn.Seq(conv("a", 4, 1, 0), nn.ReLU{}),
			nn.Seq(nn.Conv{Name: "b", Out: 4, Kernel: nn.KHW(1, 3), Pad: nn.PHW(0, 1)}, nn.BatchNorm{Name: "bn", Eps: 1e-3}, nn.ReLU{}),
			nn.Seq(nn.AvgPool{Name: "c", Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1), CountIncludePad: true}, conv("cc", 4, 1, 0)),
		}},
		nn.LRN{Name: "lrn", Size: 5, Alpha: 1e-4, Beta: 0.75, Bias: 1},
		nn.Residual{Name: "res", Body: nn.Seq(conv("r", 12, 3, 1), nn.ChannelScale{Name: "s", Bias: true}), Scale: 0.5, ReLU: true},
		nn.GlobalAvgPool{}, nn.Flatten{},
		nn.Dropout{Name: "drop", P: p},
		nn.Linear{Name: "fc", Out: 3, Bias: true},
	)
}

func randomSet(t *testing.T, n int, shape nn.Shape, classes int, seed uint64) *data.Set {
	return randomSetTB(t, n, shape, classes, seed)
}

func randomSetTB(t testing.TB, n int, shape nn.Shape, classes int, seed uint64) *data.Set {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*shape.Numel())
	for i := range x {
		x[i] = r.Float32()
	}
	ls := make([]int, n)
	for i := range ls {
		ls[i] = r.IntN(classes)
	}
	s, err := data.NewFloats(shape, x, ls, nil)
	require.NoError(t, err)
	return s
}

func tinyGraph(t *testing.T) (*nn.Graph, nn.Params) {
	g, err := nn.Lower(tinyNet(), nn.Shape{1, 8, 8})
	require.NoError(t, err)
	return g, nn.InitParams(g, 3)
}

// TestOverfit: a few fixed batches of random images and labels are
// memorised (loss near 0), through every op of the back end.
func TestOverfit(t *testing.T) {
	g, p := tinyGraph(t)
	set := randomSet(t, 16, nn.Shape{1, 8, 8}, 3, 5)
	res, err := Run(Config{Model: "tiny", Graph: g, Params: p, Train: set, Epochs: 150, Batch: 8,
		Optimizer: NewAdam(), Schedule: Schedule{Base: 0.01}, Seed: 1})
	require.NoError(t, err)
	first, last := res.Epochs[0], res.Epochs[len(res.Epochs)-1]
	if last.Loss > 0.05 || last.TrainAcc < 1 {
		t.Fatalf("after %d epochs: loss %.4f (first epoch %.4f), accuracy %.3f; want loss < 0.05 and accuracy 1",
			len(res.Epochs), last.Loss, first.Loss, last.TrainAcc)
	}
	// BatchNorm running statistics moved from their initial values.
	init := nn.InitParams(g, 3)
	require.NotEqual(t, init["mix.bn.running_mean"].Data, p["mix.bn.running_mean"].Data)
}

// TestResumeExact: k steps, a checkpoint, then the rest, gives the same
// parameters bit for bit as an uninterrupted run (SGD with momentum, so
// the optimizer state matters; seeded dropout, so the step number does).
func TestResumeExact(t *testing.T) {
	set := randomSet(t, 32, nn.Shape{1, 8, 8}, 3, 9)
	cfg := func(p nn.Params, g *nn.Graph, dir string, maxSteps int) Config {
		return Config{Model: "tiny", Graph: g, Params: p, Train: set, Epochs: 3, Batch: 8,
			Optimizer: &SGD{Momentum: 0.9}, Schedule: Schedule{Base: 0.02, Kind: "cosine", Total: 12}, Seed: 4,
			CheckpointDir: dir, MaxSteps: maxSteps}
	}
	tinyGraph := func(t *testing.T) (*nn.Graph, nn.Params) {
		g, err := nn.Lower(tinyNetDrop(0.3), nn.Shape{1, 8, 8})
		require.NoError(t, err)
		return g, nn.InitParams(g, 3)
	}
	// dropout is on: a run without it ends elsewhere
	g0, p0 := tinyGraph(t)
	c0 := cfg(p0, g0, "", 0)
	c0.DropoutAsIdentity = true
	_, err := Run(c0)
	require.NoError(t, err)
	g1, p1 := tinyGraph(t)
	_, err = Run(cfg(p1, g1, "", 0))
	require.NoError(t, err)
	require.NotEqual(t, p0["fc.weight"].Data, p1["fc.weight"].Data, "dropout changed nothing")

	dir := t.TempDir()
	g2, p2 := tinyGraph(t)
	res, err := Run(cfg(p2, g2, dir, 5))
	require.NoError(t, err)
	require.True(t, res.Stopped)
	require.Equal(t, 5, res.Ran)
	g3, p3 := tinyGraph(t) // fresh process: weights come from the checkpoint
	res, err = Run(cfg(p3, g3, dir, 0))
	require.NoError(t, err)
	require.EqualValues(t, 12, res.Steps)
	require.Equal(t, 7, res.Ran, "steps run by the resumed call")
	all, steady := res.ImagesPerSec()
	require.Positive(t, all)
	require.Positive(t, steady)
	require.Less(t, res.FirstStep, res.StepTime)
	for k, v := range p1 {
		require.Equal(t, v.Data, p3[k].Data, "parameter %s", k)
	}
}

// stopAfter is a context whose Err is Canceled from its n+1st call on
// (Run asks once before every step).
type stopAfter struct {
	context.Context
	n int
}

func (c *stopAfter) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// TestInterruptResumes: a run whose context is cancelled stops between
// two steps with ErrInterrupted, leaves a checkpoint, and a new run from
// it ends exactly where an uninterrupted run does.
func TestInterruptResumes(t *testing.T) {
	set := randomSet(t, 32, nn.Shape{1, 8, 8}, 3, 9)
	cfg := func(p nn.Params, g *nn.Graph, dir string, ctx context.Context) Config {
		return Config{Model: "tiny", Graph: g, Params: p, Train: set, Epochs: 2, Batch: 8,
			Optimizer: &SGD{Momentum: 0.9}, Schedule: Schedule{Base: 0.02, Kind: "const"}, Seed: 4,
			CheckpointDir: dir, Context: ctx}
	}
	g1, p1 := tinyGraph(t)
	_, err := Run(cfg(p1, g1, "", nil))
	require.NoError(t, err)

	dir := t.TempDir()
	g2, p2 := tinyGraph(t)
	res, err := Run(cfg(p2, g2, dir, &stopAfter{Context: context.Background(), n: 6}))
	require.ErrorIs(t, err, ErrInterrupted)
	require.ErrorIs(t, err, context.Canceled)
	require.Contains(t, err.Error(), "step 6")
	require.EqualValues(t, 6, res.Steps)
	g3, p3 := tinyGraph(t)
	res, err = Run(cfg(p3, g3, dir, context.Background()))
	require.NoError(t, err)
	require.EqualValues(t, 8, res.Steps)
	for k, v := range p1 {
		require.Equal(t, v.Data, p3[k].Data, "parameter %s", k)
	}
}

// writeStripes writes n PNGs per class: class "h" horizontal stripes,
// class "v" vertical stripes, with random phase, period and noise.
func writeStripes(t *testing.T, dir string, n, size int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 2))
	for _, cls := range []string{"h", "v"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, cls), 0o755))
		for i := 0; i < n; i++ {
			img := image.NewGray(image.Rect(0, 0, size, size))
			period := 3 + r.IntN(4)
			phase := r.IntN(period)
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					c := x
					if cls == "h" {
						c = y
					}
					v := 40.0
					if (c+phase)%period < period/2 {
						v = 210
					}
					v += r.NormFloat64() * 20
					img.SetGray(x, y, color.Gray{Y: uint8(math.Max(0, math.Min(255, v)))})
				}
			}
			var b bytes.Buffer
			require.NoError(t, png.Encode(&b, img))
			require.NoError(t, os.WriteFile(filepath.Join(dir, cls, string(rune('a'+i/26))+string(rune('a'+i%26))+".png"), b.Bytes(), 0o644))
		}
	}
}

// TestFinetuneHead: inception-v1-d2l at 28×28 with a new two-class head,
// only the head trained, on a synthetic stripes folder: accuracy on a
// held-out folder rises well above the untrained head's (measured: 0.44 → 0.88).
func TestImagesPerSec(t *testing.T) {
	for _, c := range []struct {
		name        string
		r           Result
		all, steady float64
	}{
		{"none", Result{Batch: 8}, 0, 0},
		{"one step", Result{Ran: 1, Batch: 8, StepTime: time.Second, FirstStep: time.Second}, 8, 0},
		{"warm-up excluded", Result{Ran: 5, Batch: 10, StepTime: 3 * time.Second, FirstStep: time.Second}, 50.0 / 3, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			all, steady := c.r.ImagesPerSec()
			require.InDelta(t, c.all, all, 1e-9)
			require.InDelta(t, c.steady, steady, 1e-9)
		})
	}
}

func TestFinetuneHead(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	spec, err := registry.Default.Lookup("inception-v1-d2l")
	require.NoError(t, err)
	b, err := spec.Build(nn.Options{Classes: 2})
	require.NoError(t, err)
	g, err := nn.Lower(b, nn.Shape{1, 28, 28})
	require.NoError(t, err)
	src := nn.InitParams(g, 11) // stands in for the pretrained weights
	p := nn.InitParams(g, 12)
	missing := TransferParams(g, p, src)
	require.Empty(t, missing) // same class count: everything transfers
	head, ok := HeadNode(g)
	require.True(t, ok)
	XavierInit(&nn.Graph{Nodes: []*nn.Node{g.Nodes[head]}}, p, 13) // replace the head

	pre := spec.Preprocess
	pre.Resize, pre.Crop = 28, 28
	trDir, teDir := t.TempDir(), t.TempDir()
	writeStripes(t, trDir, 24, 28, 1)
	writeStripes(t, teDir, 16, 28, 2)
	tr, err := data.ImageFolder(trDir, pre)
	require.NoError(t, err)
	te, err := data.ImageFolder(teDir, pre)
	require.NoError(t, err)
	require.Equal(t, []string{"h", "v"}, tr.Classes)

	before, err := Evaluate(g, p, te, 32)
	require.NoError(t, err)
	trainable := FinetuneTrainable(g, nil)
	res, err := Run(Config{Model: spec.Name, Graph: g, Params: p, Train: tr, Test: te, Epochs: 12, Batch: 8,
		Optimizer: NewAdam(), Schedule: Schedule{Base: 0.02}, Seed: 3, Trainable: trainable})
	require.NoError(t, err)
	after := res.Epochs[len(res.Epochs)-1].TestAcc
	t.Logf("held-out accuracy: untrained head %.3f, fine-tuned %.3f", before, after)
	if after < 0.8 || after < before+0.2 {
		t.Fatalf("fine-tuned accuracy %.3f (untrained head %.3f), want ≥ 0.8 and at least 0.2 better", after, before)
	}
	// Only the head moved.
	for k, v := range src {
		if !trainable(nn.ParamSpec{Path: k}) {
			require.Equal(t, v.Data, p[k].Data, "frozen %s changed", k)
		}
	}
}

// TestD2LInit: weights Xavier-uniform (bound √(6/(fan_in+fan_out))),
// biases PyTorch's default U(±1/√fan_in), both spread over their range.
func TestD2LInit(t *testing.T) {
	g, p := tinyGraph(t)
	D2LInit(g, p, 7)
	for _, n := range g.Nodes {
		c, ok := n.Op.(nn.Conv)
		if !ok || !c.Bias {
			continue
		}
		w, _ := n.Param(nn.Weight)
		b, _ := n.Param(nn.Bias)
		rf := w.Shape[2] * w.Shape[3]
		wb := math.Sqrt(6 / float64((w.Shape[0]+w.Shape[1])*rf))
		bb := 1 / math.Sqrt(float64(w.Shape[1]*rf))
		for name, c := range map[string]struct {
			v     []float32
			bound float64
		}{"weight": {p[w.Path].Data, wb}, "bias": {p[b.Path].Data, bb}} {
			lo, hi := 0.0, 0.0
			for _, v := range c.v {
				lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
			}
			require.LessOrEqual(t, hi, c.bound, "%s %s", n.Path, name)
			require.GreaterOrEqual(t, lo, -c.bound, "%s %s", n.Path, name)
			require.Greater(t, hi-lo, c.bound/2, "%s %s spread", n.Path, name)
		}
	}
}
