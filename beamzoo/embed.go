package beamzoo

import (
	"context"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// Embedding is one image's feature vector. As JSON it is the line
// `inception pipeline embed` writes: {"image": "...", "embedding": [...]}.
type Embedding struct {
	Image  string    `json:"image"`
	Vector []float32 `json:"embedding"`
}

// Poolings of a named layer's output (EmbedOptions.Pool), as `inception
// embed --pool` has them.
const (
	// PoolAvg averages each channel over its H×W positions (zoo.SpatialMean:
	// pytorch-fid's adaptive_avg_pool2d to 1×1). The default.
	PoolAvg = "avg"
	// PoolNone keeps every value of the layer's output, C·H·W of them.
	PoolNone = "none"
)

// EmbedOptions configure Embed.
type EmbedOptions struct {
	Options
	// Layer is the block path whose output is the embedding (as `inception
	// info` prints them, e.g. "Mixed_6e"); "" is the model's embedding,
	// zoo.Model.Features (the classifier's input: 2048 values for
	// inception-v3 and inception-v3-fid, 1024 for inception-v1).
	Layer string `json:"layer,omitempty"`
	// Pool turns a named layer's output into a vector: PoolAvg (the
	// default) or PoolNone. It does not apply to Layer "".
	Pool string `json:"pool,omitempty"`
}

func (o EmbedOptions) validate() error {
	if err := o.Options.validate(); err != nil {
		return err
	}
	switch {
	case o.Pool != "" && o.Pool != PoolAvg && o.Pool != PoolNone:
		return fmt.Errorf("%w: Pool %q: want %q or %q", ErrConfig, o.Pool, PoolAvg, PoolNone)
	case o.Pool != "" && o.Layer == "":
		return fmt.Errorf("%w: Pool %q applies to a named Layer", ErrConfig, o.Pool)
	}
	return nil
}

// Embed computes the embedding of each image of files (a
// PCollection<fileio.ReadableFile>) and returns a PCollection<Embedding> and
// a dead-letter PCollection<Failure>. The vectors are exactly those of
// zoo.Model.Features (or the named layer) on the same preprocessed image;
// batching (Options.BatchSize) does not change them, since the engine's
// results do not depend on the batch.
//
// Panics at construction time on invalid options; TryEmbed returns an error.
func Embed(s beam.Scope, o EmbedOptions, files beam.PCollection) (embeddings, failures beam.PCollection) {
	e, f, err := TryEmbed(s, o, files)
	if err != nil {
		panic(err)
	}
	return e, f
}

// TryEmbed is Embed returning an error for invalid options.
func TryEmbed(s beam.Scope, o EmbedOptions, files beam.PCollection) (embeddings, failures beam.PCollection, err error) {
	if err := o.validate(); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	s = s.Scope("beamzoo.Embed")
	out := beam.ParDoN(s, &embedFn{Opts: o}, files)
	return out[0], out[1], nil
}

// embedFn is Embed's DoFn.
type embedFn struct {
	Opts EmbedOptions `json:"opts"`

	batcher
}

func (fn *embedFn) Setup(ctx context.Context) error {
	if err := fn.Opts.validate(); err != nil {
		return err
	}
	if err := fn.setup(ctx, fn.Opts.Options); err != nil {
		return err
	}
	if fn.Opts.Layer == "" && fn.m.FeatureDim() == 0 {
		return fmt.Errorf("%w: %s has no classifier to take an embedding from: name a Layer", ErrLayer, fn.m.Name())
	}
	if fn.Opts.Layer != "" {
		// Check the layer on one blank image now, so that a wrong name
		// fails the worker at Setup instead of after the first batch (the
		// pass also compiles the plan that keeps the layer, once).
		x := tensor.New(append([]int{1}, fn.m.Input()...)...)
		if _, err := embedBatch(fn.m, x, fn.Opts.Layer, fn.Opts.Pool); err != nil {
			return err
		}
	}
	return nil
}

func (fn *embedFn) ProcessElement(ctx context.Context, f fileio.ReadableFile, emit func(Embedding), fail func(Failure)) error {
	if fn.add(ctx, f, fail) {
		return fn.flush(ctx, emit)
	}
	return nil
}

func (fn *embedFn) FinishBundle(ctx context.Context, emit func(Embedding), _ func(Failure)) error {
	return fn.flush(ctx, emit)
}

func (fn *embedFn) flush(ctx context.Context, emit func(Embedding)) error {
	x, paths := fn.batch(ctx)
	if x == nil {
		return nil
	}
	v, err := embedBatch(fn.m, x, fn.Opts.Layer, fn.Opts.Pool)
	if err != nil {
		return err
	}
	d := v.Shape[1]
	for i, p := range paths {
		// Each Embedding gets its own copy: the runner may hold elements
		// after this call returns.
		emit(Embedding{Image: p, Vector: append([]float32(nil), v.Data[i*d:(i+1)*d]...)})
	}
	return nil
}

// embedBatch returns the [N, D] embeddings of x: the model's Features, or
// the named layer reduced to a vector per image.
func embedBatch(m *zoo.Model, x *tensor.Tensor, layer, pool string) (*tensor.Tensor, error) {
	if layer == "" {
		v, err := m.Features(x)
		if err != nil {
			return nil, fmt.Errorf("beamzoo: embed %s: %w", m.Name(), err)
		}
		return v, nil
	}
	out, err := m.ForwardLayers(x, layer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLayer, m.Name(), err)
	}
	v := out[0]
	if pool != PoolNone {
		if len(v.Shape) != 4 && len(v.Shape) != 2 {
			return nil, fmt.Errorf("%w: %s: layer %s has shape %v, pool %s needs [N, C, H, W]", ErrLayer, m.Name(), layer, v.Shape, PoolAvg)
		}
		return zoo.SpatialMean(v), nil
	}
	n := v.Shape[0]
	return &tensor.Tensor{Shape: []int{n, len(v.Data) / n}, Data: v.Data}, nil
}

func init() {
	register.DoFn4x1[context.Context, fileio.ReadableFile, func(Embedding), func(Failure), error](&embedFn{})
	register.Emitter1[Embedding]()
	beam.RegisterType(reflect.TypeOf((*Embedding)(nil)).Elem())
}
