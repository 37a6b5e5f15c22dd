package beamzoo

import (
	"context"
	"fmt"
	"hash/fnv"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/inceptionzoo/inception/metrics"
	"github.com/inceptionzoo/inception/npy"
)

// MaxShards bounds FIDOptions.Shards.
const MaxShards = 1 << 12

// DefaultShards is FIDOptions.Shards when it is 0.
const DefaultShards = 16

// Moments is the FID accumulator as a Beam element: the count, mean and
// co-moments of a set of feature vectors in float64 (metrics.Moments). Its
// Beam coder is metrics.Moments' binary encoding, which is exact, so
// shipping an accumulator between workers loses nothing, and decoding it
// validates it as untrusted input.
type Moments struct {
	M *metrics.Moments
}

func encodeMoments(a Moments) ([]byte, error) {
	if a.M == nil {
		return (&metrics.Moments{}).MarshalBinary()
	}
	return a.M.MarshalBinary()
}

func decodeMoments(b []byte) (Moments, error) {
	m := &metrics.Moments{}
	if err := m.UnmarshalBinary(b); err != nil {
		return Moments{}, err
	}
	return Moments{M: m}, nil
}

// FIDOptions configure FIDStats.
type FIDOptions struct {
	// Shards is how many partial accumulators the vectors are split into
	// (by a hash of the image path) before they are merged into one
	// (default DefaultShards, at most MaxShards). Each partial is combined
	// on the workers the runner chooses, with combiner lifting where the
	// runner does it, so the count, sums and co-moments of a 2048-wide
	// embedding (a 2048×2048 triangle) are accumulated in parallel and only
	// Shards accumulators travel to the final merge. The result does not
	// depend on Shards beyond float64 summation order.
	Shards int `json:"shards,omitempty"`
}

// FIDStats combines a PCollection<Embedding> into a singleton
// PCollection<Moments> holding the count, mean and covariance of all the
// vectors: the statistics pytorch-fid stores (see WriteStatsNPZ). The
// combine is a CombineFn whose accumulators merge exactly (metrics.Moments:
// float64 sums around a shift, re-expressed on merge), so the result equals
// the single-machine accumulation of the same vectors up to the order of
// float64 summation, however the runner splits the input. Every vector must
// have the same length; a mismatch fails the pipeline with both lengths.
func FIDStats(s beam.Scope, o FIDOptions, embeddings beam.PCollection) beam.PCollection {
	st, err := TryFIDStats(s, o, embeddings)
	if err != nil {
		panic(err)
	}
	return st
}

// TryFIDStats is FIDStats returning an error for invalid options.
func TryFIDStats(s beam.Scope, o FIDOptions, embeddings beam.PCollection) (beam.PCollection, error) {
	shards := o.Shards
	if shards == 0 {
		shards = DefaultShards
	}
	if shards < 1 || shards > MaxShards {
		return beam.PCollection{}, fmt.Errorf("%w: Shards %d: want 1 to %d", ErrConfig, o.Shards, MaxShards)
	}
	s = s.Scope("beamzoo.FIDStats")
	keyed := beam.ParDo(s, &shardFn{Shards: shards}, embeddings)
	partials := beam.DropKey(s, beam.CombinePerKey(s, &momentsFn{}, keyed))
	return beam.Combine(s, &mergeMomentsFn{}, partials), nil
}

// shardFn keys each vector by a hash of its image path.
type shardFn struct {
	Shards int `json:"shards"`
}

func (fn *shardFn) ProcessElement(e Embedding) (int, []float32) {
	h := fnv.New32a()
	h.Write([]byte(e.Image))
	return int(h.Sum32() % uint32(fn.Shards)), e.Vector
}

// momentsFn accumulates vectors into Moments.
type momentsFn struct{}

func (*momentsFn) CreateAccumulator() Moments { return Moments{M: &metrics.Moments{}} }

func (*momentsFn) AddInput(a Moments, v []float32) (Moments, error) {
	if err := a.M.AddRows32(v, len(v)); err != nil {
		return a, fmt.Errorf("beamzoo: FID statistics: %w", err)
	}
	return a, nil
}

func (*momentsFn) MergeAccumulators(a, b Moments) (Moments, error) {
	if err := a.M.Merge(b.M); err != nil {
		return a, fmt.Errorf("beamzoo: FID statistics: %w", err)
	}
	return a, nil
}

func (*momentsFn) ExtractOutput(a Moments) Moments { return a }

// mergeMomentsFn merges the partial accumulators of FIDStats' shards and
// counts them (CounterPartials).
type mergeMomentsFn struct{}

func (*mergeMomentsFn) CreateAccumulator() Moments { return Moments{M: &metrics.Moments{}} }

func (*mergeMomentsFn) AddInput(ctx context.Context, a, p Moments) (Moments, error) {
	beam.NewCounter(Namespace, CounterPartials).Inc(ctx, 1)
	if err := a.M.Merge(p.M); err != nil {
		return a, fmt.Errorf("beamzoo: FID statistics: %w", err)
	}
	return a, nil
}

func (*mergeMomentsFn) MergeAccumulators(a, b Moments) (Moments, error) {
	if err := a.M.Merge(b.M); err != nil {
		return a, fmt.Errorf("beamzoo: FID statistics: %w", err)
	}
	return a, nil
}

func (*mergeMomentsFn) ExtractOutput(a Moments) Moments { return a }

// WriteStatsNPZ writes the statistics of a singleton PCollection<Moments>
// (from FIDStats) to path as pytorch-fid's .npz: float64 "mu" (d) and
// "sigma" (d×d, the ddof = 1 covariance), uncompressed, as
// metrics.WriteStatsNPZ writes and `inception fid` and pytorch-fid read. A
// local path is written atomically; a path in a Beam file system (gs://…) as
// one object. Fewer than two vectors fail the pipeline: a covariance needs
// two.
func WriteStatsNPZ(s beam.Scope, path string, stats beam.PCollection) {
	s = s.Scope("beamzoo.WriteStatsNPZ")
	beam.ParDo0(s, &writeStatsFn{Path: path}, stats)
}

type writeStatsFn struct {
	Path string `json:"path"`
}

func (fn *writeStatsFn) ProcessElement(ctx context.Context, a Moments) (err error) {
	st, err := a.M.Stats()
	if err != nil {
		return fmt.Errorf("beamzoo: FID statistics of %d vectors: %w", a.M.Count(), err)
	}
	d := len(st.Mu)
	sigma := make([]float64, 0, d*d)
	for i := range d {
		sigma = append(sigma, st.Sigma.RawRowView(i)...)
	}
	out, err := createOutput(ctx, fn.Path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.abort()
		}
	}()
	if err := npy.WriteNPZ(out, map[string]*npy.Array{
		"mu":    {Shape: []int{d}, DType: npy.Float64, Data: st.Mu},
		"sigma": {Shape: []int{d, d}, DType: npy.Float64, Data: sigma},
	}); err != nil {
		return fmt.Errorf("beamzoo: output %s: %w", fn.Path, err)
	}
	return out.commit()
}

func init() {
	beam.RegisterCoder(reflect.TypeOf((*Moments)(nil)).Elem(), encodeMoments, decodeMoments)
	register.DoFn1x2[Embedding, int, []float32](&shardFn{})
	register.Combiner2[Moments, []float32](&momentsFn{})
	beam.RegisterType(reflect.TypeOf((*mergeMomentsFn)(nil)).Elem())
	register.DoFn2x1[context.Context, Moments, error](&writeStatsFn{})
}
