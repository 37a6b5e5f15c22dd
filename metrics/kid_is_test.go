package metrics

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

// features returns n rows of non-negative, Inception-pool-like features
// (ReLU of a shifted Gaussian), float32-representable.
func features(rng *rand.Rand, n, d int, shift float64) *mat.Dense {
	x := gaussian(rng, n, d, shift, 1)
	raw := x.RawMatrix().Data
	for i, v := range raw {
		raw[i] = float64(float32(max(v, 0)))
	}
	return x
}

// TestKIDTorchFidelity compares KID with torch-fidelity's
// kid_features_to_metric (poly kernel, unbiased MMD^2, subsets drawn with
// numpy's RandomState) restated in testdata/oracle.py, in float64.
func TestKIDTorchFidelity(t *testing.T) {
	requireScipy(t)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		name   string
		n1, n2 int
		d      int
		shift  float64
		opt    KIDOptions
	}{
		{"defaults", 1000, 1200, 8, 0.3, DefaultKIDOptions()},
		{"small subsets", 700, 650, 48, 0.1, KIDOptions{Subsets: 25, SubsetSize: 200, Degree: 3, Coef0: 1, Seed: 7}},
		{"kernel options", 450, 420, 16, 0.5, KIDOptions{Subsets: 10, SubsetSize: 400, Degree: 2, Gamma: 0.05, Coef0: 0.5, Seed: 2020}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f1 := features(rng, c.n1, c.d, 0)
			f2 := features(rng, c.n2, c.d, c.shift)
			dir := t.TempDir()
			writeMat(t, filepath.Join(dir, "kid_f1.npy"), f1)
			writeMat(t, filepath.Join(dir, "kid_f2.npy"), f2)
			writeJSON(t, filepath.Join(dir, "kid.json"), map[string]any{
				"subsets": c.opt.Subsets, "subset_size": c.opt.SubsetSize, "degree": c.opt.Degree,
				"gamma": c.opt.Gamma, "coef0": c.opt.Coef0, "seed": c.opt.Seed,
			})
			start := time.Now()
			runOracle(t, "kid", dir)
			tref := time.Since(start)
			want := readNPZ(t, filepath.Join(dir, "kid.npz"))
			start = time.Now()
			got, err := KID(f1, f2, c.opt)
			require.NoError(t, err)
			t.Logf("KID %.9g ± %.9g (Go %v), reference %.9g ± %.9g (numpy %v)",
				got.Mean, got.Std, time.Since(start), scalar(t, want, "mean"), scalar(t, want, "std"), tref)
			require.Len(t, want["mmds"].Data, c.opt.Subsets)
			// Each estimate is a difference of kernel means of order 1;
			// compare against that scale.
			for i, w := range want["mmds"].Data {
				assert.InDelta(t, w, got.MMD[i], 1e-11, "subset %d", i)
			}
			assert.Greater(t, scalar(t, want, "mean"), 100*scalar(t, want, "std")/math.Sqrt(float64(c.opt.Subsets)), "sensitive: KID clearly above its noise")
			assert.InDelta(t, scalar(t, want, "mean"), got.Mean, 1e-11)
			assert.InDelta(t, scalar(t, want, "std"), got.Std, 1e-11)
			if c.name == "defaults" {
				return // slow; the seed's effect is checked on the smaller cases
			}
			// Another seed draws other subsets and changes the estimates.
			o := c.opt
			o.Seed++
			other, err := KID(f1, f2, o)
			require.NoError(t, err)
			assert.NotEqual(t, got.MMD[0], other.MMD[0])
		})
	}
}

func TestKIDErrors(t *testing.T) {
	a := mat.NewDense(10, 4, nil)
	b := mat.NewDense(10, 5, nil)
	_, err := KID(a, b, DefaultKIDOptions())
	assert.ErrorIs(t, err, ErrShape)
	_, err = KID(a, a, DefaultKIDOptions())
	assert.ErrorIs(t, err, ErrSamples)
	assert.ErrorContains(t, err, "subset size 1000")
	_, err = KID(a, a, KIDOptions{Subsets: 0, SubsetSize: 5, Degree: 3})
	assert.ErrorIs(t, err, ErrOption)
	a.Set(3, 2, math.NaN())
	_, err = KID(a, mat.NewDense(10, 4, nil), KIDOptions{Subsets: 1, SubsetSize: 5, Degree: 3, Coef0: 1})
	assert.ErrorIs(t, err, ErrNonFinite)
}

// TestInceptionScoreTorchFidelity compares InceptionScore with
// torch-fidelity's isc_features_to_metric restated in testdata/oracle.py.
func TestInceptionScoreTorchFidelity(t *testing.T) {
	requireScipy(t)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range []struct {
		name string
		n, k int
		temp float64
		opt  ISOptions
	}{
		{"defaults", 1000, 100, 4, DefaultISOptions()},
		{"uneven splits, no shuffle", 1003, 50, 3, ISOptions{Splits: 7, Shuffle: false}},
		{"peaked", 500, 1008, 12, ISOptions{Splits: 5, Shuffle: true, Seed: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			logits := mat.NewDense(c.n, c.k, nil)
			// Confident, varied predictions: a few classes favoured per row.
			for i := range c.n {
				for j := range c.k {
					logits.Set(i, j, rng.NormFloat64())
				}
				logits.Set(i, rng.IntN(c.k), c.temp+rng.NormFloat64())
			}
			dir := t.TempDir()
			writeMat(t, filepath.Join(dir, "is_logits.npy"), logits)
			writeJSON(t, filepath.Join(dir, "is.json"), map[string]any{"splits": c.opt.Splits, "shuffle": c.opt.Shuffle, "seed": c.opt.Seed})
			runOracle(t, "is", dir)
			want := readNPZ(t, filepath.Join(dir, "is.npz"))
			got, err := InceptionScore(logits, c.opt)
			require.NoError(t, err)
			t.Logf("IS %.10g ± %.6g, reference %.10g ± %.6g", got.Mean, got.Std, scalar(t, want, "mean"), scalar(t, want, "std"))
			require.Len(t, want["scores"].Data, c.opt.Splits)
			for i, w := range want["scores"].Data {
				assert.InEpsilon(t, w, got.Scores[i], 1e-12, "split %d", i)
			}
			assert.Greater(t, scalar(t, want, "mean"), 2.0, "sensitive: clearly above the minimum 1")
			assert.InEpsilon(t, scalar(t, want, "mean"), got.Mean, 1e-12)
			assert.InEpsilon(t, scalar(t, want, "std"), got.Std, 1e-9)
		})
	}
}

func TestInceptionScoreErrors(t *testing.T) {
	_, err := InceptionScore(mat.NewDense(5, 3, nil), DefaultISOptions())
	assert.ErrorIs(t, err, ErrSamples)
	_, err = InceptionScore(mat.NewDense(5, 3, nil), ISOptions{Splits: 0})
	assert.ErrorIs(t, err, ErrOption)
	l := mat.NewDense(20, 3, nil)
	l.Set(0, 0, math.Inf(1))
	_, err = InceptionScore(l, ISOptions{Splits: 2})
	assert.ErrorIs(t, err, ErrNonFinite)
	// Uniform predictions score exactly 1.
	r, err := InceptionScore(mat.NewDense(20, 3, nil), ISOptions{Splits: 2})
	require.NoError(t, err)
	assert.InDelta(t, 1, r.Mean, 1e-15)
}
