package zoo_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/regular"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// TestPredictNonFinite: a +Inf or NaN input value, or an input whose
// output overflows, gives an error wrapping ErrNonFinite, never top-k
// lists of NaN scores; PredictSamples marks the bad samples and answers
// the others exactly as Predict does.
func TestPredictNonFinite(t *testing.T) {
	m, err := zoo.Load("inception-v1-d2l", zoo.WithInputSize(28, 28))
	require.NoError(t, err)
	in := m.Input()
	good := func(seed int) *tensor.Tensor {
		x := tensor.New(append([]int{1}, in...)...)
		for i := range x.Data {
			x.Data[i] = float32(math.Sin(float64(i*seed))) / 2
		}
		return x
	}
	withValue := func(v float32) *tensor.Tensor {
		x := good(3)
		x.Data[17] = v
		return x
	}
	huge := good(5) // finite, but the activations overflow
	for i := range huge.Data {
		huge.Data[i] = 3e38
	}
	for _, tt := range []struct {
		name string
		x    *tensor.Tensor
		want string
	}{
		{"+Inf pixel", withValue(float32(math.Inf(1))), "input value 17 (sample 0) is +Inf"},
		{"NaN pixel", withValue(float32(math.NaN())), "input value 17 (sample 0) is NaN"},
		{"overflowing output", huge, "output"},
	} {
		got, err := m.Predict(tt.x, 3)
		require.ErrorIs(t, err, zoo.ErrNonFinite, "%s: got %v", tt.name, got)
		require.ErrorContains(t, err, tt.want, tt.name)
	}

	samples := []*tensor.Tensor{good(1), withValue(float32(math.Inf(-1))), good(2), huge}
	res, err := m.PredictSamples(samples, 3)
	require.NoError(t, err)
	require.Len(t, res, 4)
	for _, i := range []int{0, 2} {
		require.NoError(t, res[i].Err)
		want, err := m.Predict(samples[i], 3)
		require.NoError(t, err)
		require.Equal(t, want[0], res[i].Top, "sample %d", i)
	}
	for _, i := range []int{1, 3} {
		require.ErrorIs(t, res[i].Err, zoo.ErrNonFinite, "sample %d", i)
		require.Nil(t, res[i].Top)
	}

	// A sample of the wrong shape fails the whole call.
	_, err = m.PredictSamples([]*tensor.Tensor{tensor.New(1, 3, 28, 28)}, 3)
	require.ErrorContains(t, err, "sample 0 has shape")
}

// TestPredictSamplesChunks: more samples than one network batch, in
// [C,H,W] and [1,C,H,W] form, give the answers of one Predict each.
func TestPredictSamplesChunks(t *testing.T) {
	m, err := zoo.Load("inception-v1-d2l", zoo.WithInputSize(28, 28))
	require.NoError(t, err)
	n := 11
	if raceEnabled {
		n = 3
	}
	var samples []*tensor.Tensor
	for s := range n {
		x := tensor.New(m.Input()...)
		for i := range x.Data {
			x.Data[i] = float32(math.Cos(float64(i*(s+1)))) / 3
		}
		samples = append(samples, x)
	}
	res, err := m.PredictSamples(samples, 2)
	require.NoError(t, err)
	for s, x := range samples {
		x4 := &tensor.Tensor{Shape: append([]int{1}, x.Shape...), Data: x.Data}
		want, err := m.Predict(x4, 2)
		require.NoError(t, err)
		require.NoError(t, res[s].Err)
		for r := range want[0] {
			require.Equal(t, want[0][r].Index, res[s].Top[r].Index, "sample %d rank %d", s, r)
			require.InDelta(t, want[0][r].Score, res[s].Top[r].Score, 1e-6)
		}
	}
}

// TestRequireTrained: seeded weights — no weights loaded, or an export of
// an untrained model — are refused by the rule classify, eval and serve
// apply; trained weights pass; exports of models made by New (the
// trainer) do not claim an origin.
func TestRequireTrained(t *testing.T) {
	seeded, err := zoo.Load("inception-v1-d2l", zoo.WithInputSize(28, 28))
	require.NoError(t, err)
	err = seeded.RequireTrained()
	require.ErrorIs(t, err, zoo.ErrSeeded)
	require.ErrorContains(t, err, "no weights were loaded")

	dir := t.TempDir()
	export := filepath.Join(dir, "v1.onnx")
	var buf bytes.Buffer
	require.NoError(t, seeded.ExportONNX(&buf, convert.ExportOptions{}))
	require.NoError(t, os.WriteFile(export, buf.Bytes(), 0o644))
	fromFile, err := zoo.Load("inception-v1-d2l", zoo.WithWeights(export))
	require.NoError(t, err)
	err = fromFile.RequireTrained()
	require.ErrorIs(t, err, zoo.ErrSeeded)
	require.ErrorContains(t, err, export)
	md, err := zoo.ReadMetadata(export)
	require.NoError(t, err)
	require.Equal(t, "seeded", md.Weights)
	g, err := onnxir.DecodeFile(export, onnxir.DecodeOptions{})
	require.NoError(t, err)
	require.ErrorIs(t, zoo.RequireTrainedMetadata(export, g.Metadata), zoo.ErrSeeded)

	trained, err := zoo.Load("inception-v1-d2l", zoo.WithWeights(shipped))
	require.NoError(t, err)
	require.NoError(t, trained.RequireTrained())
	g, err = onnxir.DecodeFile(shipped, onnxir.DecodeOptions{})
	require.NoError(t, err)
	require.NoError(t, zoo.RequireTrainedMetadata(shipped, g.Metadata))

	// A model assembled by New (as the trainer does) is not seeded and its
	// export records no origin rather than "file:.".
	made, err := zoo.New(trained.Spec, trained.Block, trained.Graph, trained.Params)
	require.NoError(t, err)
	require.NoError(t, made.RequireTrained())
	buf.Reset()
	require.NoError(t, made.ExportONNX(&buf, convert.ExportOptions{}))
	made2 := filepath.Join(dir, "made.onnx")
	require.NoError(t, os.WriteFile(made2, buf.Bytes(), 0o644))
	md, err = zoo.ReadMetadata(made2)
	require.NoError(t, err)
	require.Empty(t, md.Weights)
}

// TestWithWeightsFIFO: a FIFO named as a weight file is refused at once.
func TestWithWeightsFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.onnx")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := zoo.Load("inception-v1-d2l", zoo.WithWeights(p)); done <- err }()
	select {
	case err := <-done:
		require.True(t, errors.Is(err, regular.ErrNotRegular), "got %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("WithWeights blocked on a FIFO")
	}
}
