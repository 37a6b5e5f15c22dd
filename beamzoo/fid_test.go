package beamzoo

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/metrics"
	"github.com/inceptionzoo/inception/npy"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/zoo"
)

// requireStatsClose compares statistics to within float64 rounding of
// sums over a few hundred terms.
func requireStatsClose(t *testing.T, got, want *metrics.Stats) {
	t.Helper()
	require.Len(t, got.Mu, len(want.Mu))
	const rtol, atol = 1e-9, 1e-12
	close := func(g, w float64) bool { return math.Abs(g-w) <= atol+rtol*math.Abs(w) }
	for i := range want.Mu {
		if !close(got.Mu[i], want.Mu[i]) {
			t.Fatalf("mu[%d]: got %v, want %v", i, got.Mu[i], want.Mu[i])
		}
	}
	d := len(want.Mu)
	for i := range d {
		for j := range d {
			if w, g := want.Sigma.At(i, j), got.Sigma.At(i, j); !close(g, w) {
				t.Fatalf("sigma[%d,%d]: got %v, want %v", i, j, g, w)
			}
		}
	}
}

// randomVectors returns n seeded vectors of dimension d with a large mean
// against their spread, the case where naive sums lose precision.
func randomVectors(seed uint64, n, d int) []Embedding {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]Embedding, n)
	for i := range out {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(100 + float64(j%7) + r.NormFloat64()*(1+float64(j%3)))
		}
		out[i] = Embedding{Image: fmt.Sprintf("img-%04d.png", i), Vector: v}
	}
	return out
}

func sequentialStats(t *testing.T, es []Embedding) *metrics.Stats {
	t.Helper()
	var m metrics.Moments
	for _, e := range es {
		require.NoError(t, m.AddRows32(e.Vector, len(e.Vector)))
	}
	st, err := m.Stats()
	require.NoError(t, err)
	return st
}

// TestMomentsCombineFnMerges runs the CombineFn's methods directly on
// random splits of the input merged in random orders, the shapes a runner
// produces from bundles and workers, including empty partials, and checks
// each result against the sequential accumulation; the accumulators go
// through the Beam coder between the steps, as they do between workers.
func TestMomentsCombineFnMerges(t *testing.T) {
	es := randomVectors(7, 200, 12)
	want := sequentialStats(t, es)
	fn := &momentsFn{}
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 20 {
		// Split the vectors into up to 12 partials (some empty).
		parts := make([]Moments, 1+r.IntN(12))
		for i := range parts {
			parts[i] = fn.CreateAccumulator()
		}
		for _, e := range es {
			i := r.IntN(len(parts))
			var err error
			parts[i], err = fn.AddInput(parts[i], e.Vector)
			require.NoError(t, err)
		}
		for i := range parts {
			b, err := encodeMoments(parts[i])
			require.NoError(t, err)
			parts[i], err = decodeMoments(b)
			require.NoError(t, err)
		}
		for len(parts) > 1 {
			i, j := r.IntN(len(parts)), r.IntN(len(parts)-1)
			if j >= i {
				j++
			}
			merged, err := fn.MergeAccumulators(parts[i], parts[j])
			require.NoError(t, err)
			parts[i] = merged
			parts = append(parts[:j], parts[j+1:]...)
		}
		got, err := fn.ExtractOutput(parts[0]).M.Stats()
		require.NoError(t, err, "trial %d", trial)
		require.Equal(t, int64(len(es)), parts[0].M.Count())
		requireStatsClose(t, got, want)
	}

	// A vector of another length is an error naming both lengths.
	a := fn.CreateAccumulator()
	a, err := fn.AddInput(a, make([]float32, 3))
	require.NoError(t, err)
	_, err = fn.AddInput(a, make([]float32, 4))
	require.Error(t, err)
	require.ErrorContains(t, err, "3")
	require.ErrorContains(t, err, "4")

	// The decoder refuses a damaged accumulator.
	b, err := encodeMoments(a)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	_, err = decodeMoments(b)
	require.Error(t, err)
}

// TestFIDStatsPipeline runs FIDStats on prism over 2048-dimensional
// vectors (the accumulators are 16 MiB each and cross the runner's data
// plane) split into several shards, and compares the .npz it writes with
// the single-machine statistics.
func TestFIDStatsPipeline(t *testing.T) {
	for _, tc := range []struct{ dim, shards int }{{64, 1}, {2048, 5}} {
		t.Run(fmt.Sprintf("dim-%d-shards-%d", tc.dim, tc.shards), func(t *testing.T) {
			es := randomVectors(11, 40, tc.dim)
			out := filepath.Join(t.TempDir(), "stats.npz")
			p, s := beam.NewPipelineWithRoot()
			WriteStatsNPZ(s, out, FIDStats(s, FIDOptions{Shards: tc.shards}, beam.CreateList(s, es)))
			counters := run(t, p)
			require.Equal(t, int64(distinctShards(es, tc.shards)), counters[CounterPartials])
			got, err := metrics.ReadStatsNPZ(out)
			require.NoError(t, err)
			requireStatsClose(t, got, sequentialStats(t, es))
		})
	}
}

func distinctShards(es []Embedding, shards int) int {
	seen := map[uint32]bool{}
	for _, e := range es {
		h := fnv.New32a()
		h.Write([]byte(e.Image))
		seen[h.Sum32()%uint32(shards)] = true
	}
	return len(seen)
}

// TestFIDStatsOfImages is the whole fid-stats pipeline on the bundled and
// generated images: Embed (the shipped model's 1024-d Features) then
// FIDStats over 7 shards. The statistics equal those of metrics.Moments
// fed the Features of the same images on one machine, and numpy's mean
// and cov (the independent reference) of those Features.
func TestFIDStatsOfImages(t *testing.T) {
	root, spec := shipped(t)
	dir, good, _ := imageDir(t, root)
	m, err := zoo.Load(spec.Name, zoo.WithWeights(spec.Weights))
	require.NoError(t, err)

	out := filepath.Join(t.TempDir(), "stats.npz")
	p, s := beam.NewPipelineWithRoot()
	emb, fails := Embed(s, EmbedOptions{Options: Options{Model: spec, BatchSize: 4}}, MatchImages(s, filepath.Join(dir, "*")))
	WriteStatsNPZ(s, out, FIDStats(s, FIDOptions{Shards: 7}, emb))
	WriteJSONLines(s, out+".errors.jsonl", fails)
	counters := run(t, p)
	require.Equal(t, int64(len(good)), counters[CounterImages])
	require.Equal(t, int64(1), counters[CounterErrors])

	feats := make([]Embedding, len(good))
	for i, path := range good {
		img, err := preprocess.Open(path)
		require.NoError(t, err)
		x, err := preprocess.Tensor(img, m.Preprocess())
		require.NoError(t, err)
		f, err := m.Features(x)
		require.NoError(t, err)
		feats[i] = Embedding{Image: path, Vector: f.Data}
	}
	require.Equal(t, int64(distinctShards(feats, 7)), counters[CounterPartials])
	got, err := metrics.ReadStatsNPZ(out)
	require.NoError(t, err)
	requireStatsClose(t, got, sequentialStats(t, feats))

	// The embeddings must vary across images, or the covariance proves
	// nothing: the spread of each feature is large against the tolerance.
	spread := 0.0
	for i := range got.Mu {
		spread = max(spread, got.Sigma.At(i, i))
	}
	require.Greater(t, spread, 1e-3)

	requireNumpyStats(t, feats, got)
}

// requireNumpyStats compares st with numpy's mean and cov(rowvar=False)
// of the vectors, computed by /usr/bin/python3 from an .npy file.
func requireNumpyStats(t *testing.T, es []Embedding, st *metrics.Stats) {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		testkit.Missing(t, "numpy oracle: %s -c 'import numpy' failed (%v); install python3-numpy (scripts/setup.sh)", python, err)
		return
	}
	dir := t.TempDir()
	d := len(es[0].Vector)
	rows := make([]float32, 0, len(es)*d)
	sort.Slice(es, func(i, j int) bool { return es[i].Image < es[j].Image })
	for _, e := range es {
		rows = append(rows, e.Vector...)
	}
	in, out := filepath.Join(dir, "x.npy"), filepath.Join(dir, "ref.npz")
	require.NoError(t, npy.WriteNPYFile(in, []int{len(es), d}, rows))
	script := `import sys, numpy as np
x = np.load(sys.argv[1]).astype(np.float64)
np.savez(sys.argv[2], mu=np.mean(x, axis=0), sigma=np.cov(x, rowvar=False))`
	b, err := exec.Command(python, "-c", script, in, out).CombinedOutput()
	require.NoError(t, err, "%s", b)
	ref, err := metrics.ReadStatsNPZ(out)
	require.NoError(t, err)
	requireStatsClose(t, st, ref)
	_ = os.Remove(in)
}

func TestMomentsCoderEmpty(t *testing.T) {
	b, err := encodeMoments(Moments{})
	require.NoError(t, err)
	m, err := decodeMoments(b)
	require.NoError(t, err)
	require.Zero(t, m.M.Count())
	_, err = decodeMoments(b[:len(b)-1])
	require.Error(t, err)
}
