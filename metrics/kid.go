package metrics

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// KIDOptions are torch-fidelity's KID parameters.
type KIDOptions struct {
	// Subsets is the number of random subsets (kid_subsets, 100).
	Subsets int
	// SubsetSize is the number of samples per subset and feature set
	// (kid_subset_size, 1000); both sets need at least this many.
	SubsetSize int
	// Degree, Gamma and Coef0 define the polynomial kernel
	// k(x, y) = (gamma x.y + coef0)^degree (3, 1/d, 1). Gamma 0 means
	// 1/d for d-dimensional features.
	Degree int
	Gamma  float64
	Coef0  float64
	// Seed seeds the numpy RandomState that draws the subsets
	// (rng_seed, 2020).
	Seed uint32
}

// DefaultKIDOptions returns torch-fidelity's defaults.
func DefaultKIDOptions() KIDOptions {
	return KIDOptions{Subsets: 100, SubsetSize: 1000, Degree: 3, Coef0: 1, Seed: 2020}
}

// KIDResult is a Kernel Inception Distance.
type KIDResult struct {
	// Mean and Std (ddof 0) of the per-subset MMD^2 estimates.
	Mean, Std float64
	// MMD holds the estimate of each subset.
	MMD []float64
}

// KID is torch-fidelity's kid_features_to_metric with the polynomial
// kernel: for each of Subsets subsets it draws SubsetSize rows of f1 and
// then of f2 with numpy's RandomState(Seed).choice(n, m, replace=False)
// (RandomState here), and computes the unbiased MMD^2 estimate
//
//	(sum_{i!=j} k(x_i,x_j) + sum_{i!=j} k(y_i,y_j)) / (m(m-1)) - 2 sum_{i,j} k(x_i,y_j) / m^2.
//
// It returns their mean and standard deviation. Features are the rows of
// f1 and f2 (same width). torch-fidelity computes the kernel in the
// features' dtype (float32 for its extractors); this computes in float64.
func KID(f1, f2 mat.Matrix, opt KIDOptions) (*KIDResult, error) {
	n1, d := f1.Dims()
	n2, d2 := f2.Dims()
	if d != d2 {
		return nil, wrapf(ErrShape, "kid: features have %d and %d columns", d, d2)
	}
	if opt.Subsets <= 0 || opt.SubsetSize < 2 || opt.Degree <= 0 {
		return nil, wrapf(ErrOption, "kid: subsets %d, subset size %d, degree %d (want >0, >=2, >0)", opt.Subsets, opt.SubsetSize, opt.Degree)
	}
	if math.IsNaN(opt.Gamma) || math.IsInf(opt.Gamma, 0) || math.IsNaN(opt.Coef0) || math.IsInf(opt.Coef0, 0) {
		return nil, wrapf(ErrOption, "kid: gamma %v, coef0 %v", opt.Gamma, opt.Coef0)
	}
	if n1 < opt.SubsetSize || n2 < opt.SubsetSize {
		return nil, wrapf(ErrSamples, "kid: subset size %d is larger than the number of samples (%d and %d)", opt.SubsetSize, n1, n2)
	}
	if err := finiteMat("kid: features 1", f1); err != nil {
		return nil, err
	}
	if err := finiteMat("kid: features 2", f2); err != nil {
		return nil, err
	}
	gamma := opt.Gamma
	if gamma == 0 {
		gamma = 1 / float64(d)
	}
	m := opt.SubsetSize
	x := make([]float64, m*d)
	y := make([]float64, m*d)
	rng := NewRandomState(opt.Seed)
	res := &KIDResult{MMD: make([]float64, opt.Subsets)}
	kern := func(v float64) float64 { return pow(v*gamma+opt.Coef0, opt.Degree) }
	rowSums := make([]float64, m)
	for s := range opt.Subsets {
		for _, set := range []struct {
			f   mat.Matrix
			n   int
			dst []float64
		}{{f1, n1, x}, {f2, n2, y}} {
			idx, err := rng.Choice(set.n, m)
			if err != nil {
				return nil, err
			}
			for r, i := range idx {
				gatherRow(set.dst[r*d:(r+1)*d], set.f, i)
			}
		}
		// The off-diagonal sums of K_XX and K_YY are twice their upper
		// triangles.
		sxx := 2 * kernelSum(x, nil, m, d, kern, rowSums)
		syy := 2 * kernelSum(y, nil, m, d, kern, rowSums)
		sxy := kernelSum(x, y, m, d, kern, rowSums)
		fm := float64(m)
		res.MMD[s] = (sxx+syy)/(fm*(fm-1)) - 2*sxy/(fm*fm)
	}
	res.Mean, res.Std = meanStd(res.MMD)
	return res, nil
}

// pow is x^n for a small positive integer n, by repeated multiplication
// (numpy's integer power of a float array).
func pow(x float64, n int) float64 {
	switch n {
	case 1:
		return x
	case 2:
		return x * x
	case 3:
		return x * x * x
	}
	return math.Pow(x, float64(n))
}

// kernelSum returns the sum of kern(a_i . b_j) over all i, j (b non-nil)
// or over i < j of kern(a_i . a_j) (b nil), for m rows of d values. Rows
// are shared among goroutines, each row's sum is computed by one of them
// and the row sums are added in order, so the result does not depend on
// the number of goroutines.
func kernelSum(a, b []float64, m, d int, kern func(float64) float64, rowSums []float64) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), m) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= m {
					return
				}
				ai := a[i*d : (i+1)*d]
				s := 0.0
				if b == nil {
					for j := i + 1; j < m; j++ {
						s += kern(floats.Dot(ai, a[j*d:(j+1)*d]))
					}
				} else {
					for j := range m {
						s += kern(floats.Dot(ai, b[j*d:(j+1)*d]))
					}
				}
				rowSums[i] = s
			}
		}()
	}
	wg.Wait()
	total := 0.0
	for _, s := range rowSums[:m] {
		total += s
	}
	return total
}

func gatherRow(dst []float64, f mat.Matrix, i int) {
	if r, ok := f.(mat.RawRowViewer); ok {
		copy(dst, r.RawRowView(i))
		return
	}
	for j := range dst {
		dst[j] = f.At(i, j)
	}
}

// meanStd returns numpy's mean and std (ddof 0) of v.
func meanStd(v []float64) (float64, float64) {
	n := float64(len(v))
	mean := 0.0
	for _, x := range v {
		mean += x
	}
	mean /= n
	ss := 0.0
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / n)
}
