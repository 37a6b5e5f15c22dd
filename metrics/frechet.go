package metrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"

	"github.com/inceptionzoo/inception/npy"
)

// FIDEps is pytorch-fid's eps: the multiple of the identity added to both
// covariances when the square root of their product is not finite.
const FIDEps = 1e-6

// FIDImagAtol is pytorch-fid's tolerance for the imaginary parts of the
// square root's diagonal (numpy.allclose(..., 0, atol=1e-3)).
const FIDImagAtol = 1e-3

// Stats are the Gaussian statistics of a feature set: pytorch-fid's mu
// (the mean) and sigma (the ddof = 1 covariance), as stored in its .npz
// files.
type Stats struct {
	Mu    []float64
	Sigma *mat.Dense
}

// Validate checks that Sigma is len(Mu) x len(Mu) and all values finite.
func (s *Stats) Validate() error {
	if s == nil || s.Sigma == nil {
		return wrapf(ErrShape, "stats without sigma")
	}
	d := len(s.Mu)
	r, c := s.Sigma.Dims()
	if d == 0 || r != d || c != d {
		return wrapf(ErrShape, "mu has %d entries, sigma is %dx%d", d, r, c)
	}
	if err := finiteVec("mu", s.Mu); err != nil {
		return err
	}
	return finiteMat("sigma", s.Sigma)
}

func finiteVec(name string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return wrapf(ErrNonFinite, "%s[%d] is %v", name, i, x)
		}
	}
	return nil
}

func finiteMat(name string, m mat.Matrix) error {
	r, c := m.Dims()
	for i := range r {
		for j := range c {
			if x := m.At(i, j); math.IsNaN(x) || math.IsInf(x, 0) {
				return wrapf(ErrNonFinite, "%s[%d,%d] is %v", name, i, j, x)
			}
		}
	}
	return nil
}

// FrechetResult is a Frechet distance with how it was obtained.
type FrechetResult struct {
	// Distance is ||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr(sqrtm(sigma1 sigma2)).
	Distance float64
	// TraceSqrt is the trace of the real part of the square root.
	TraceSqrt float64
	// EpsAdded reports pytorch-fid's fallback: the square root of
	// sigma1 sigma2 was not finite, so it was recomputed for
	// (sigma1 + eps I)(sigma2 + eps I).
	EpsAdded bool
	// Complex reports that the square root was complex (and its
	// imaginary part was dropped); MaxImagDiag is the largest magnitude
	// of an imaginary part on its diagonal.
	Complex     bool
	MaxImagDiag float64
}

// FID is FrechetDistance of two statistics.
func FID(a, b *Stats) (*FrechetResult, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("fid: first statistics: %w", err)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("fid: second statistics: %w", err)
	}
	return FrechetDistance(a.Mu, a.Sigma, b.Mu, b.Sigma)
}

// FrechetDistance is pytorch-fid's calculate_frechet_distance (eps =
// FIDEps) in float64: the squared Frechet distance between N(mu1, sigma1)
// and N(mu2, sigma2),
//
//	||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr(sqrtm(sigma1 sigma2)),
//
// with Sqrtm's scipy semantics. As in pytorch-fid: when the square root is
// not finite (including scipy's failure, ErrNoSquareRoot), eps I is added
// to both covariances and the root recomputed (EpsAdded); a complex root
// whose diagonal has an imaginary part above FIDImagAtol is ErrImaginary,
// otherwise its imaginary part is dropped. Where pytorch-fid would return
// NaN (the retry fails too) this returns an error.
//
// Sizes must agree (ErrShape names them) and inputs be finite
// (ErrNonFinite). float32 statistics are computed in float64 here, where
// pytorch-fid would use float32 arithmetic.
func FrechetDistance(mu1 []float64, sigma1 mat.Matrix, mu2 []float64, sigma2 mat.Matrix) (*FrechetResult, error) {
	return FrechetDistanceEps(mu1, sigma1, mu2, sigma2, FIDEps)
}

// FrechetDistanceEps is FrechetDistance with pytorch-fid's eps argument.
func FrechetDistanceEps(mu1 []float64, sigma1 mat.Matrix, mu2 []float64, sigma2 mat.Matrix, eps float64) (*FrechetResult, error) {
	d := len(mu1)
	if len(mu2) != d {
		return nil, wrapf(ErrShape, "fid: mu1 has %d entries, mu2 has %d", d, len(mu2))
	}
	for k, s := range []mat.Matrix{sigma1, sigma2} {
		r, c := s.Dims()
		if r != d || c != d {
			return nil, wrapf(ErrShape, "fid: mu%d has %d entries, sigma%d is %dx%d", k+1, d, k+1, r, c)
		}
	}
	if d == 0 {
		return nil, wrapf(ErrShape, "fid: empty statistics")
	}
	for k, v := range [][]float64{mu1, mu2} {
		if err := finiteVec(fmt.Sprintf("fid: mu%d", k+1), v); err != nil {
			return nil, err
		}
	}
	for k, s := range []mat.Matrix{sigma1, sigma2} {
		if err := finiteMat(fmt.Sprintf("fid: sigma%d", k+1), s); err != nil {
			return nil, err
		}
	}
	if math.IsNaN(eps) || math.IsInf(eps, 0) || eps < 0 {
		return nil, wrapf(ErrOption, "fid: eps %v", eps)
	}
	s1, s2 := dense(sigma1), dense(sigma2)

	res := &FrechetResult{}
	root, err := Sqrtm(product(s1, s2, 0))
	if err == nil && !finiteRoot(root) || errors.Is(err, ErrNoSquareRoot) {
		res.EpsAdded = true
		root, err = Sqrtm(product(s1, s2, eps))
		if err == nil && !finiteRoot(root) {
			err = wrapf(ErrNoSquareRoot, "square root is not finite")
		}
		if err != nil {
			return nil, fmt.Errorf("fid: the square root of sigma1 sigma2 is not finite, and with %g added to both diagonals: %w", eps, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("fid: %w", err)
	}
	if root.Im != nil {
		res.Complex = true
		for i := range d {
			v := math.Abs(root.Im.At(i, i))
			if !(v <= FIDImagAtol) {
				return nil, wrapf(ErrImaginary, "fid: imaginary component %g (diagonal entry %d is %g, tolerance %g)",
					maxAbsMat(root.Im), i, root.Im.At(i, i), FIDImagAtol)
			}
			res.MaxImagDiag = max(res.MaxImagDiag, v)
		}
	}
	tr := 0.0
	for i := range d {
		tr += root.Re.At(i, i)
	}
	res.TraceSqrt = tr
	dd := 0.0
	for i := range d {
		x := mu1[i] - mu2[i]
		dd += x * x
	}
	res.Distance = dd + mat.Trace(s1) + mat.Trace(s2) - 2*tr
	return res, nil
}

func dense(m mat.Matrix) *mat.Dense {
	if d, ok := m.(*mat.Dense); ok {
		return d
	}
	return mat.DenseCopyOf(m)
}

// product returns (a + eps I)(b + eps I).
func product(a, b *mat.Dense, eps float64) *mat.Dense {
	n, _ := a.Dims()
	ra, rb := a.RawMatrix(), b.RawMatrix()
	if eps != 0 {
		ac, bc := mat.DenseCopyOf(a), mat.DenseCopyOf(b)
		for i := range n {
			ac.Set(i, i, ac.At(i, i)+eps)
			bc.Set(i, i, bc.At(i, i)+eps)
		}
		ra, rb = ac.RawMatrix(), bc.RawMatrix()
	}
	out := make([]float64, n*n)
	blas64.Implementation().Dgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, ra.Data, ra.Stride, rb.Data, rb.Stride, 0, out, n)
	return mat.NewDense(n, n, out)
}

func finiteRoot(r *SqrtmResult) bool {
	for _, m := range []*mat.Dense{r.Re, r.Im} {
		if m == nil {
			continue
		}
		raw := m.RawMatrix()
		for i := range raw.Rows {
			for _, v := range raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols] {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return false
				}
			}
		}
	}
	return true
}

func maxAbsMat(m *mat.Dense) float64 {
	r, c := m.Dims()
	v := 0.0
	for i := range r {
		for j := range c {
			v = max(v, math.Abs(m.At(i, j)))
		}
	}
	return v
}

// ReadStatsNPZ reads pytorch-fid statistics: an .npz with arrays "mu"
// (d) and "sigma" (d x d); other entries are ignored, as pytorch-fid
// does. The file is untrusted and decoded with npy.DefaultLimits.
func ReadStatsNPZ(path string) (*Stats, error) {
	m, err := npy.ReadNPZFile(path)
	if err != nil {
		return nil, err
	}
	s, err := StatsFromNPZ(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// MaxStatsDim bounds the dimension of statistics read from a file: the
// square root of a d x d product needs about ten d x d float64 matrices
// (5 GiB at 8192).
const MaxStatsDim = 8192

// StatsFromNPZ takes mu and sigma from decoded .npz arrays. Like
// pytorch-fid's numpy.atleast_1d/atleast_2d, a 0-d mu or sigma is a
// one-element vector or 1x1 matrix.
func StatsFromNPZ(m map[string]*npy.Array) (*Stats, error) {
	mu, sigma := m["mu"], m["sigma"]
	if mu == nil || sigma == nil {
		return nil, wrapf(ErrFormat, "statistics need arrays mu and sigma")
	}
	if len(mu.Shape) > 1 {
		return nil, wrapf(ErrShape, "mu has shape %v (want a vector)", mu.Shape)
	}
	d := len(mu.Data)
	if d == 0 || d > MaxStatsDim {
		return nil, wrapf(ErrShape, "mu has %d entries (want 1..%d)", d, MaxStatsDim)
	}
	shape := sigma.Shape
	if len(shape) == 0 {
		shape = []int{1, 1}
	}
	if len(shape) != 2 || shape[0] != d || shape[1] != d {
		return nil, wrapf(ErrShape, "mu has %d entries, sigma has shape %v", d, sigma.Shape)
	}
	s := &Stats{Mu: append([]float64(nil), mu.Data...), Sigma: mat.NewDense(d, d, append([]float64(nil), sigma.Data...))}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// WriteStatsNPZ writes s as pytorch-fid reads it (float64 "mu" and
// "sigma" in an uncompressed .npz) through internal/atomicfile.
func WriteStatsNPZ(path string, s *Stats) error {
	if err := s.Validate(); err != nil {
		return err
	}
	d := len(s.Mu)
	sigma := make([]float64, 0, d*d)
	for i := range d {
		sigma = append(sigma, s.Sigma.RawRowView(i)...)
	}
	return npy.WriteNPZFile(path, map[string]*npy.Array{
		"mu":    {Shape: []int{d}, DType: npy.Float64, Data: s.Mu},
		"sigma": {Shape: []int{d, d}, DType: npy.Float64, Data: sigma},
	})
}
