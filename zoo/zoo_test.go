package zoo_test

import (
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

func input(shape nn.Shape, n int, seed uint64) *tensor.Tensor {
	t := tensor.New(append([]int{n}, shape...)...)
	r := nn.NewRand(seed, "input")
	for i := range t.Data {
		t.Data[i] = r.Uniform(-1, 1)
	}
	return t
}

// TestEveryModelRuns loads every registered model and runs it at batch 1
// and 2: outputs are finite, have the metadata's shape, depend on the
// input, and a sample's output does not depend on its batch neighbours.
func TestEveryModelRuns(t *testing.T) {
	if raceEnabled {
		t.Skip("full-size models under -race take minutes; TestConcurrentForward covers the race check")
	}
	for _, name := range registry.Names() {
		t.Run(name, func(t *testing.T) {
			m, err := zoo.Load(name)
			require.NoError(t, err)
			x2 := input(m.Spec.Input, 2, 9)
			y2, err := m.Forward(x2)
			require.NoError(t, err)
			require.Equal(t, []int{2, m.Spec.Classes}, y2.Shape)
			x1 := &tensor.Tensor{Shape: append([]int{1}, x2.Shape[1:]...), Data: x2.Data[len(x2.Data)/2:]}
			y1, err := m.Forward(x1)
			require.NoError(t, err)
			c := m.Spec.Classes
			spread := 0.0
			for i := 0; i < c; i++ {
				a, b := float64(y1.Data[i]), float64(y2.Data[c+i])
				require.False(t, math.IsNaN(a) || math.IsInf(a, 0), "non-finite output")
				if math.Abs(a-b) > 1e-4+1e-3*math.Abs(b) {
					t.Fatalf("class %d: batch-1 output %v, same sample in batch 2 gives %v", i, a, b)
				}
				spread = math.Max(spread, math.Abs(float64(y2.Data[i]-y2.Data[c+i])))
			}
			if spread < 1e-2 {
				t.Errorf("two different inputs give outputs within %g: the network ignores its input", spread)
			}
		})
	}
}

// TestConcurrentForward runs 32 goroutines on one model, with two batch
// sizes, and requires bit-identical results to a serial run.
func TestConcurrentForward(t *testing.T) {
	m, err := zoo.Load("inception-v1-d2l")
	require.NoError(t, err)
	xs := []*tensor.Tensor{input(m.Spec.Input, 1, 1), input(m.Spec.Input, 2, 2)}
	var want []*tensor.Tensor
	for _, x := range xs {
		y, err := m.Forward(x)
		require.NoError(t, err)
		want = append(want, y)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			i := g % 2
			y, err := m.Forward(xs[i])
			if err != nil {
				errs <- err
				return
			}
			for k := range y.Data {
				if math.Float32bits(y.Data[k]) != math.Float32bits(want[i].Data[k]) {
					t.Errorf("goroutine %d: output %d = %v, serial run gave %v", g, k, y.Data[k], want[i].Data[k])
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestLoadOptions(t *testing.T) {
	m, err := zoo.Load("googlenet", zoo.WithClasses(10), zoo.WithSeed(3))
	require.NoError(t, err)
	require.Equal(t, "inception-v1", m.Spec.Name)
	require.Equal(t, 10, m.Spec.Classes)
	a, err := zoo.Load("inception-v1-d2l", zoo.WithSeed(3))
	require.NoError(t, err)
	b, err := zoo.Load("inception-v1-d2l", zoo.WithSeed(3))
	require.NoError(t, err)
	c, err := zoo.Load("inception-v1-d2l", zoo.WithSeed(4))
	require.NoError(t, err)
	require.Equal(t, a.Params["0.conv.weight"].Data, b.Params["0.conv.weight"].Data)
	require.NotEqual(t, a.Params["0.conv.weight"].Data, c.Params["0.conv.weight"].Data)

	tv, err := zoo.Load("inception-v1-tv", zoo.WithAux(), zoo.WithTransformInput())
	require.NoError(t, err)
	require.EqualValues(t, 13004888, tv.Summary().Params)
	outs, err := tv.ForwardAll(input(tv.Spec.Input, 1, 1))
	require.NoError(t, err)
	require.Len(t, outs, 3)
	for _, o := range outs {
		require.Equal(t, []int{1, 1000}, o.Shape)
	}

	for _, tt := range []struct {
		name string
		opts []zoo.Option
	}{
		{"no-such-model", nil},
		{"inception-v1-d2l", []zoo.Option{zoo.WithAux()}},
		{"inception-v1", []zoo.Option{zoo.WithTransformInput()}},
		{"inception-v1", []zoo.Option{zoo.WithClasses(-1)}},
	} {
		if _, err := zoo.Load(tt.name, tt.opts...); err == nil {
			t.Errorf("Load(%q) err = nil, want an error", tt.name)
		}
	}
}

func TestPredict(t *testing.T) {
	m, err := zoo.Load("inception-v1-d2l")
	require.NoError(t, err)
	p, err := m.Predict(input(m.Spec.Input, 2, 1), 3)
	require.NoError(t, err)
	require.Len(t, p, 2)
	for _, row := range p {
		require.Len(t, row, 3)
		for i := 1; i < len(row); i++ {
			if row[i].Score > row[i-1].Score {
				t.Errorf("top-k not sorted: %+v", row)
			}
		}
	}
	y := &tensor.Tensor{Shape: []int{1, 4}, Data: []float32{0, float32(math.Log(3)), 0, float32(math.Log(4))}}
	got := zoo.TopKLogits(y, 2)[0]
	want := []zoo.Prediction{{Index: 3, Score: 4.0 / 9}, {Index: 1, Score: 3.0 / 9}}
	for i := range want {
		if got[i].Index != want[i].Index || math.Abs(float64(got[i].Score-want[i].Score)) > 1e-6 {
			t.Errorf("TopK[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSummary(t *testing.T) {
	m, err := zoo.Load("inception-v1")
	require.NoError(t, err)
	s := m.Summary()
	require.EqualValues(t, 6998552, s.Params)
	require.EqualValues(t, 1582671872, s.MACs)
	var sum int64
	for _, b := range s.Blocks {
		if b.Depth == 1 {
			sum += b.Params
		}
	}
	require.Equal(t, s.Params, sum, "top-level blocks' params add up to the total")
}
