package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

// sqrtmCase is an input to Sqrtm and how closely it must match scipy.
type sqrtmCase struct {
	name string
	a    *mat.Dense
	// rtol bounds ||X - X_scipy||_F / ||X_scipy||_F. Singular products
	// have ill-conditioned square roots (an eigenvalue perturbed by e
	// moves its root by sqrt(e): rounding errors of 1e-16 become 1e-8 in
	// each of the null space's directions), so their tolerance is looser.
	rtol float64
	// sameKind: also require the same real/complex result as scipy
	// (only meaningful away from zero eigenvalues).
	sameKind bool
}

// cov returns the sample covariance of x's rows.
func cov(x *mat.Dense) *mat.Dense {
	m := &Moments{}
	r, c := x.Dims()
	for i := range r {
		if err := m.Add(x.RawRowView(i)); err != nil {
			panic(err)
		}
	}
	_ = c
	s, err := m.Cov()
	if err != nil {
		panic(err)
	}
	return s
}

func mul(a, b mat.Matrix) *mat.Dense {
	var c mat.Dense
	c.Mul(a, b)
	return &c
}

// spdWithSpectrum returns Q diag(ev) Q^T for a random orthogonal Q.
func spdWithSpectrum(rng *rand.Rand, ev []float64) *mat.Dense {
	n := len(ev)
	g := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	qd := mat.DenseCopyOf(&q)
	for j := range n {
		for i := range n {
			qd.Set(i, j, qd.At(i, j)*ev[j])
		}
	}
	return mul(qd, q.T())
}

func sqrtmCases(rng *rand.Rand, long bool) []sqrtmCase {
	var cs []sqrtmCase
	sizes := []int{8, 64, 192, 768}
	if long {
		sizes = append(sizes, 2048)
	}
	for _, n := range sizes {
		// Covariances of well-sampled Gaussians: the FID setting.
		s1 := cov(gaussian(rng, 2*n+10, n, 0.5, 1))
		s2 := cov(gaussian(rng, 2*n+10, n, 0.3, 0.7))
		cs = append(cs, sqrtmCase{name: "spd_product_" + itoa(n), a: mul(s1, s2), rtol: 1e-8, sameKind: true})
	}
	// Ill-conditioned: eigenvalues over 12 decades.
	ev := make([]float64, 64)
	for i := range ev {
		ev[i] = math.Pow(10, -12*float64(i)/63)
	}
	a := spdWithSpectrum(rng, ev)
	b := spdWithSpectrum(rng, ev)
	cs = append(cs, sqrtmCase{name: "ill_conditioned", a: mul(a, b), rtol: 1e-6})
	// Singular: fewer samples than dimensions (rank 40 of 64).
	cs = append(cs, sqrtmCase{name: "rank_deficient", a: mul(cov(gaussian(rng, 41, 64, 0, 1)), cov(gaussian(rng, 41, 64, 0, 1))), rtol: 1e-5})
	cs = append(cs, sqrtmCase{name: "rank_deficient_192", a: mul(cov(gaussian(rng, 100, 192, 0, 1)), cov(gaussian(rng, 100, 192, 0, 1))), rtol: 1e-5})
	// Singular with dead features: zero rows and columns, where scipy's
	// Schur form has coupled exact zeros and sqrtm fails.
	x, y := gaussian(rng, 100, 20, 0.5, 1), gaussian(rng, 100, 20, 0.5, 1)
	for i := range 100 {
		x.Set(i, 3, 0)
		y.Set(i, 3, 0)
		x.Set(i, 5, 0)
		y.Set(i, 7, 0)
	}
	cs = append(cs, sqrtmCase{name: "dead_features", a: mul(cov(x), cov(y)), rtol: 1e-6})
	// General matrices: negative real and complex eigenvalues.
	g := mat.NewDense(30, 30, nil)
	for i := range 30 {
		for j := range 30 {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	cs = append(cs, sqrtmCase{name: "general", a: g, rtol: 1e-9, sameKind: true})
	cs = append(cs, sqrtmCase{name: "negative_diagonal", a: mat.NewDense(3, 3, []float64{-4, 1, 0, 0, 9, 2, 0, 0, 1}), rtol: 1e-12, sameKind: true})
	cs = append(cs, sqrtmCase{name: "one", a: mat.NewDense(1, 1, []float64{2}), rtol: 1e-15, sameKind: true})
	cs = append(cs, sqrtmCase{name: "zero", a: mat.NewDense(2, 2, []float64{0, 0, 0, 0}), rtol: 1e-15, sameKind: true})
	cs = append(cs, sqrtmCase{name: "nilpotent", a: mat.NewDense(2, 2, []float64{0, 1, 0, 0}), rtol: 1e-15, sameKind: true})
	return cs
}

// TestSqrtmScipy compares Sqrtm with scipy.linalg.sqrtm(A, disp=False):
// the same failures (scipy's NaN result is ErrNoSquareRoot here), the same
// real or complex kind where that is well defined, and the same matrix
// within each case's tolerance. Set INCEPTION_METRICS_LONG=1 for n = 2048.
func TestSqrtmScipy(t *testing.T) {
	requireScipy(t)
	rng := rand.New(rand.NewPCG(1, 2))
	cases := sqrtmCases(rng, longTests())
	dir := t.TempDir()
	for _, c := range cases {
		writeMat(t, filepath.Join(dir, "a_"+c.name+".npy"), c.a)
	}
	start := time.Now()
	runOracle(t, "sqrtm", dir)
	t.Logf("scipy: %v for all cases", time.Since(start))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := readNPZ(t, filepath.Join(dir, "root_"+c.name+".npz"))
			start := time.Now()
			got, err := Sqrtm(c.a)
			n, _ := c.a.Dims()
			t.Logf("n=%d: %v", n, time.Since(start))
			if !flag(t, want, "finite") {
				require.Error(t, err, "scipy failed (NaN result), Go did not")
				assert.ErrorIs(t, err, ErrNoSquareRoot)
				return
			}
			require.NoError(t, err)
			if c.sameKind {
				assert.Equal(t, flag(t, want, "complex"), got.IsComplex(), "complex result")
			}
			wre := toDense(t, want["re"])
			wim := mat.NewDense(n, n, nil)
			if w, ok := want["im"]; ok {
				wim = toDense(t, w)
			}
			gim := got.Im
			if gim == nil {
				gim = mat.NewDense(n, n, nil)
			}
			// ||X - W||_F over real and imaginary parts together.
			var dre, dim mat.Dense
			dre.Sub(got.Re, wre)
			dim.Sub(gim, wim)
			diff := math.Hypot(mat.Norm(&dre, 2), mat.Norm(&dim, 2))
			norm := math.Hypot(mat.Norm(wre, 2), mat.Norm(wim, 2))
			rel := diff
			if norm > 0 {
				rel = diff / norm
			}
			t.Logf("relative difference from scipy %.3g (tolerance %g), complex %v", rel, c.rtol, got.IsComplex())
			assert.LessOrEqual(t, rel, c.rtol)
			// The root squares back to A about as well as scipy's does.
			res, wantRes := residual(got, c.a), scalar(t, want, "errest")
			t.Logf("||X^2 - A||_F^2 / ||A||_F: Go %.3g, scipy %.3g", res, wantRes)
			if math.IsNaN(wantRes) { // scipy's 0/0 for A = 0
				assert.Zero(t, mat.Norm(c.a, 2))
				assert.Zero(t, mat.Norm(got.Re, 2))
				return
			}
			assert.LessOrEqual(t, res, 10*wantRes+1e-25)
		})
	}
}

// residual is scipy's errest: ||X X - A||_F^2 / ||A||_F.
func residual(x *SqrtmResult, a mat.Matrix) float64 {
	n, _ := a.Dims()
	im := x.Im
	if im == nil {
		im = mat.NewDense(n, n, nil)
	}
	var rr, ii, ri, ir, re, imp mat.Dense
	rr.Mul(x.Re, x.Re)
	ii.Mul(im, im)
	ri.Mul(x.Re, im)
	ir.Mul(im, x.Re)
	re.Sub(&rr, &ii)
	re.Sub(&re, a)
	imp.Add(&ri, &ir)
	f := math.Hypot(mat.Norm(&re, 2), mat.Norm(&imp, 2))
	na := mat.Norm(a, 2)
	if na == 0 {
		return f * f
	}
	return f * f / na
}

func TestSqrtmErrors(t *testing.T) {
	_, err := Sqrtm(mat.NewDense(2, 3, nil))
	assert.ErrorIs(t, err, ErrShape)
	_, err = Sqrtm(mat.NewDense(2, 2, []float64{1, math.NaN(), 0, 1}))
	assert.ErrorIs(t, err, ErrNonFinite)
	// The 2x2 example of scipy's documentation.
	r, err := Sqrtm(mat.NewDense(2, 2, []float64{1, 3, 1, 4}))
	require.NoError(t, err)
	assert.False(t, r.IsComplex())
	want := []float64{0.75592895, 1.13389342, 0.37796447, 1.88982237}
	for i, w := range want {
		assert.InDelta(t, w, r.Re.At(i/2, i%2), 1e-8)
	}
	// Coupled zero eigenvalues: no square root of that form.
	_, err = Sqrtm(mat.NewDense(3, 3, []float64{0, 0, 1, 0, 1, 0, 0, 0, 0}))
	assert.True(t, errors.Is(err, ErrNoSquareRoot), "got %v", err)
}
