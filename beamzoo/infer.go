package beamzoo

import (
	"context"
	"fmt"
	"image"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// Batch sizes of the inference transforms.
const (
	// DefaultBatchSize is the batch size when Options.BatchSize is 0.
	DefaultBatchSize = 16
	// MaxBatchSize bounds Options.BatchSize: a batch holds BatchSize
	// preprocessed inputs (inception-v3: 1 MiB each) plus the engine's
	// activations for the batch.
	MaxBatchSize = 1024
)

// Counter names (namespace Namespace) the transforms update. They are Beam
// metrics: the runner aggregates them over bundles and workers, and
// Counters reads them from a PipelineResult.
const (
	Namespace = "inceptionzoo"
	// CounterImages counts images run through the model successfully.
	CounterImages = "images"
	// CounterErrors counts inputs sent to a dead-letter output.
	CounterErrors = "errors"
	// CounterBatches counts forward passes (batches) run.
	CounterBatches = "batches"
	// CounterPartials counts the partial FID accumulators merged into the
	// final one (see FIDStats).
	CounterPartials = "fid_partials"
)

var (
	imagesCounter  = beam.NewCounter(Namespace, CounterImages)
	errorsCounter  = beam.NewCounter(Namespace, CounterErrors)
	batchesCounter = beam.NewCounter(Namespace, CounterBatches)
)

// Options configure the inference transforms.
type Options struct {
	// Model is loaded once per worker process (see Model.Load).
	Model Model `json:"model"`
	// BatchSize is how many images go through the network at once
	// (default DefaultBatchSize, at most MaxBatchSize). Batches are formed
	// within a bundle: a DoFn buffers up to BatchSize preprocessed images,
	// runs them when the buffer is full, and runs the rest at the end of
	// the bundle, so a bundle of n images costs ceil(n/BatchSize) passes
	// and at most BatchSize inputs of memory.
	BatchSize int `json:"batch_size,omitempty"`
}

func (o Options) batchSize() int {
	if o.BatchSize == 0 {
		return DefaultBatchSize
	}
	return o.BatchSize
}

func (o Options) validate() error {
	if err := o.Model.Validate(); err != nil {
		return err
	}
	if o.BatchSize < 0 || o.BatchSize > MaxBatchSize {
		return fmt.Errorf("%w: BatchSize %d: want 1 to %d (0 for %d)", ErrConfig, o.BatchSize, MaxBatchSize, DefaultBatchSize)
	}
	return nil
}

// batcher is the in-bundle batching shared by the inference DoFns: it
// holds the model (from the per-process cache), a buffer of preprocessed
// inputs and their paths.
type batcher struct {
	m     *zoo.Model
	pre   preprocessFn
	per   int       // values per image
	x     []float32 // BatchSize·per
	paths []string
}

func (b *batcher) setup(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	m, err := o.Model.Load(ctx)
	if err != nil {
		return err
	}
	p := m.Preprocess()
	if got, want := p.Shape(), m.Input(); !tensor.SameShape(got, want) {
		return fmt.Errorf("%w: %s: preprocessing preset gives %v, the model takes %v", ErrConfig, m.Name(), got, want)
	}
	b.m = m
	b.pre = func(img image.Image) (*tensor.Tensor, error) { return preprocess.Tensor(img, p) }
	b.per = m.Input().Numel()
	b.x = make([]float32, 0, o.batchSize()*b.per)
	b.paths = make([]string, 0, o.batchSize())
	return nil
}

// add reads one file into the buffer; a failure is emitted as a Failure
// and counted. It reports whether the buffer is full.
func (b *batcher) add(ctx context.Context, f fileio.ReadableFile, fail func(Failure)) (full bool) {
	n := len(b.x)
	b.x = b.x[:n+b.per]
	if err := readImage(ctx, f, b.pre, b.x[n:]); err != nil {
		b.x = b.x[:n]
		errorsCounter.Inc(ctx, 1)
		fail(Failure{Image: f.Metadata.Path, Error: err.Error()})
		return false
	}
	b.paths = append(b.paths, f.Metadata.Path)
	return len(b.paths) == cap(b.paths)
}

// batch returns the buffered inputs as one tensor and their paths, and
// empties the buffer (the tensor shares its memory: use it before the
// next add).
func (b *batcher) batch(ctx context.Context) (*tensor.Tensor, []string) {
	n := len(b.paths)
	if n == 0 {
		return nil, nil
	}
	x := &tensor.Tensor{Shape: append([]int{n}, b.m.Input()...), Data: b.x}
	paths := b.paths
	b.x, b.paths = b.x[:0], make([]string, 0, cap(b.paths))
	batchesCounter.Inc(ctx, 1)
	imagesCounter.Inc(ctx, int64(n))
	return x, paths
}
