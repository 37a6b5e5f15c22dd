package beamzoo

import (
	"context"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

// Class is one of an image's most probable classes.
type Class struct {
	Index int     `json:"index"`
	Label string  `json:"label"`
	Score float32 `json:"score"`
}

// Classified is one image's answer: its path and its Top most probable
// classes, most probable first. As JSON it is the line `inception
// pipeline classify` writes: {"image": "...", "top": [{"index": i,
// "label": "...", "score": s}, ...]}.
type Classified struct {
	Image string  `json:"image"`
	Top   []Class `json:"top"`
}

// DefaultTop is the number of classes per image when ClassifyOptions.Top
// is 0.
const DefaultTop = 5

// ClassifyOptions configure Classify.
type ClassifyOptions struct {
	Options
	// Top is how many classes to keep per image (default DefaultTop, at
	// most the model's class count).
	Top int `json:"top,omitempty"`
}

// Classify classifies the images of files (a PCollection<fileio.ReadableFile>,
// e.g. from MatchImages) and returns a PCollection<Classified> and a
// dead-letter PCollection<Failure> of the files that could not be read or
// decoded. Each image is preprocessed as the model's weights say and its
// classes are exactly those of zoo.Model.PredictImages on the same file
// (scores are probabilities, labels the weights' label set, "" where the
// classes have no names). The model is loaded once per worker; images are
// batched within bundles (see Options.BatchSize).
//
// Panics at construction time on invalid options, as Beam transforms do;
// use TryClassify to get an error.
func Classify(s beam.Scope, o ClassifyOptions, files beam.PCollection) (results, failures beam.PCollection) {
	r, f, err := TryClassify(s, o, files)
	if err != nil {
		panic(err)
	}
	return r, f
}

// TryClassify is Classify returning an error for invalid options.
func TryClassify(s beam.Scope, o ClassifyOptions, files beam.PCollection) (results, failures beam.PCollection, err error) {
	if err := o.validate(); err != nil {
		return beam.PCollection{}, beam.PCollection{}, err
	}
	if o.Top < 0 {
		return beam.PCollection{}, beam.PCollection{}, fmt.Errorf("%w: Top %d", ErrConfig, o.Top)
	}
	s = s.Scope("beamzoo.Classify")
	out := beam.ParDoN(s, &classifyFn{Opts: o}, files)
	return out[0], out[1], nil
}

// classifyFn is Classify's DoFn. Opts is its serialized state; the rest is
// made in Setup.
type classifyFn struct {
	Opts ClassifyOptions `json:"opts"`

	batcher
	top int
}

func (fn *classifyFn) Setup(ctx context.Context) error {
	if err := fn.setup(ctx, fn.Opts.Options); err != nil {
		return err
	}
	fn.top = fn.Opts.Top
	if fn.top == 0 {
		fn.top = DefaultTop
	}
	if c := fn.m.Classes(); fn.top > c {
		return fmt.Errorf("%w: Top %d: %s has %d classes", ErrConfig, fn.top, fn.m.Name(), c)
	}
	return nil
}

func (fn *classifyFn) ProcessElement(ctx context.Context, f fileio.ReadableFile, emit func(Classified), fail func(Failure)) error {
	if fn.add(ctx, f, fail) {
		return fn.flush(ctx, emit)
	}
	return nil
}

func (fn *classifyFn) FinishBundle(ctx context.Context, emit func(Classified), _ func(Failure)) error {
	return fn.flush(ctx, emit)
}

func (fn *classifyFn) flush(ctx context.Context, emit func(Classified)) error {
	x, paths := fn.batch(ctx)
	if x == nil {
		return nil
	}
	y, err := fn.m.Forward(x)
	if err != nil {
		return fmt.Errorf("beamzoo: classify %s: %w", fn.m.Name(), err)
	}
	for i, preds := range fn.m.TopK(y, fn.top) {
		r := Classified{Image: paths[i], Top: make([]Class, len(preds))}
		for j, p := range preds {
			r.Top[j] = Class{Index: p.Index, Label: p.Label, Score: p.Score}
		}
		emit(r)
	}
	return nil
}

func init() {
	register.DoFn4x1[context.Context, fileio.ReadableFile, func(Classified), func(Failure), error](&classifyFn{})
	register.Emitter1[Classified]()
	register.Emitter1[Failure]()
	beam.RegisterType(reflect.TypeOf((*Classified)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Class)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Failure)(nil)).Elem())
}
