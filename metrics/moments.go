package metrics

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// momentsBatch is how many centred rows Moments collects before a rank-k
// update of the co-moment matrix. Per vector, a rank-64 update costs about
// what a rank-1024 one does (measured at d = 2048), and a small batch keeps
// the buffer at 1 MiB.
const momentsBatch = 64

// Moments accumulates the count, mean and covariance of a stream of
// vectors without keeping them: 50,000 feature vectors of 2048 dimensions
// cost one 2048 x 2048 float64 matrix. All arithmetic is float64.
//
// It keeps sums of x - s and of (x - s)(x - s)^T around a fixed shift s,
// the first vector it saw. Plain sums of x and x x^T lose precision when
// the mean is large against the spread (the covariance is their
// difference); around a data point the cancellation is of the order of
// the spread itself. Merge re-expresses the other accumulator around this
// one's shift, exactly up to rounding, so a split-and-merged accumulation
// equals a sequential one up to the order of float64 summation.
//
// The zero value is an empty accumulator of unknown dimension; the first
// vector (or NewMoments) fixes it. A Moments is not safe for concurrent
// use; Merge and MarshalBinary flush pending rows of their receiver and
// argument.
type Moments struct {
	dim   int
	n     int64     // vectors seen, including pending ones
	shift []float64 // s, the first vector
	sum   []float64 // Σ (x - s)
	co    []float64 // upper triangle of Σ (x - s)(x - s)^T, dim x dim row-major
	buf   []float64 // pending centred rows, up to momentsBatch
	nbuf  int
}

// NewMoments returns an empty accumulator of dim-dimensional vectors.
func NewMoments(dim int) (*Moments, error) {
	if dim <= 0 || dim > MaxMomentsDim {
		return nil, wrapf(ErrShape, "moments of dimension %d (want 1..%d)", dim, MaxMomentsDim)
	}
	return &Moments{dim: dim}, nil
}

// MaxMomentsDim bounds the dimension of a Moments (its co-moment matrix of
// a 16384-dimensional vector is 2 GiB).
const MaxMomentsDim = 1 << 14

// Dim is the vector dimension (0 while unknown).
func (m *Moments) Dim() int { return m.dim }

// Count is the number of vectors added.
func (m *Moments) Count() int64 { return m.n }

// Add adds one vector.
func (m *Moments) Add(x []float64) error { return addRows(m, x, len(x)) }

// AddRows adds len(rows)/cols vectors stored row-major.
func (m *Moments) AddRows(rows []float64, cols int) error { return addRows(m, rows, cols) }

// AddRows32 adds len(rows)/cols float32 vectors stored row-major; they are
// converted to float64 exactly.
func (m *Moments) AddRows32(rows []float32, cols int) error { return addRows(m, rows, cols) }

func addRows[T float32 | float64](m *Moments, rows []T, cols int) error {
	if cols <= 0 || len(rows)%cols != 0 {
		return wrapf(ErrShape, "moments: %d values are not rows of %d", len(rows), cols)
	}
	if len(rows) == 0 {
		return nil
	}
	if m.dim == 0 {
		if cols > MaxMomentsDim {
			return wrapf(ErrShape, "moments of dimension %d (want 1..%d)", cols, MaxMomentsDim)
		}
		m.dim = cols
	}
	if cols != m.dim {
		return wrapf(ErrShape, "moments: vectors have %d entries, accumulator has %d", cols, m.dim)
	}
	for i, v := range rows {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return wrapf(ErrNonFinite, "moments: row %d, entry %d is %v", i/cols, i%cols, f)
		}
	}
	d := m.dim
	if m.shift == nil {
		m.alloc()
	}
	if m.n == 0 {
		for j := range d {
			m.shift[j] = float64(rows[j])
		}
	}
	for r := 0; r < len(rows); r += d {
		dst := m.buf[m.nbuf*d : (m.nbuf+1)*d]
		for j, v := range rows[r : r+d] {
			dst[j] = float64(v) - m.shift[j]
		}
		m.nbuf++
		m.n++
		if m.nbuf == momentsBatch {
			m.flush()
		}
	}
	return nil
}

func (m *Moments) alloc() {
	d := m.dim
	m.shift = make([]float64, d)
	m.sum = make([]float64, d)
	m.co = make([]float64, d*d)
	m.buf = make([]float64, momentsBatch*d)
}

// flush folds the pending rows into sum and co.
func (m *Moments) flush() {
	if m.nbuf == 0 {
		return
	}
	d, k := m.dim, m.nbuf
	a := m.buf[:k*d]
	for r := 0; r < k; r++ {
		floats.Add(m.sum, a[r*d:(r+1)*d])
	}
	syrkUpper(m.co, a, d, k)
	m.nbuf = 0
}

// syrkUpper adds the upper triangle of A^T A to c (d x d), where A is
// k x d row-major: the loop of blas Dsyrk(Upper, Trans), with the rows of
// c split between goroutines in chunks of equal work.
func syrkUpper(c, a []float64, d, k int) {
	bl := blas64.Implementation()
	rows := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ci := c[i*d+i : (i+1)*d]
			for l := 0; l < k; l++ {
				if v := a[l*d+i]; v != 0 {
					bl.Daxpy(d-i, v, a[l*d+i:(l+1)*d], 1, ci, 1)
				}
			}
		}
	}
	p := runtime.GOMAXPROCS(0)
	if p == 1 || d*d*k < 1<<20 {
		rows(0, d)
		return
	}
	// Row i has d-i entries; cut the triangle into p parts of equal area.
	var wg sync.WaitGroup
	lo := 0
	for w := 1; w <= p; w++ {
		// Rows [0, hi) hold (d^2 - (d-hi)^2)/2 of the d^2/2 entries, so
		// a fraction f of the work ends at hi = d (1 - sqrt(1-f)).
		frac := float64(w) / float64(p)
		hi := d - int(math.Round(float64(d)*math.Sqrt(1-frac)))
		if w == p {
			hi = d
		}
		if hi <= lo {
			continue
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			rows(lo, hi)
		}(lo, hi)
		lo = hi
	}
	wg.Wait()
}

// Merge adds o's vectors to m. Both must have the same dimension unless
// one is empty. o is not changed except that its pending rows are folded
// in.
func (m *Moments) Merge(o *Moments) error {
	if o.n == 0 {
		return nil
	}
	if m.dim != 0 && m.dim != o.dim {
		return wrapf(ErrShape, "moments: merging dimension %d into %d", o.dim, m.dim)
	}
	o.flush()
	m.flush()
	if m.n == 0 {
		m.dim = o.dim
		m.alloc()
		copy(m.shift, o.shift)
		copy(m.sum, o.sum)
		copy(m.co, o.co)
		m.n = o.n
		return nil
	}
	d := m.dim
	// Around m's shift, o's vectors are y + δ with y = x - o.shift and
	// δ = o.shift - m.shift:
	//   Σ (y+δ)        = S + n δ
	//   Σ (y+δ)(y+δ)^T = C + S δ^T + δ S^T + n δ δ^T
	//                  = C + u δ^T + δ u^T,  u = S + (n/2) δ.
	delta := make([]float64, d)
	floats.SubTo(delta, o.shift, m.shift)
	nb := float64(o.n)
	u := make([]float64, d)
	floats.AddScaledTo(u, o.sum, nb/2, delta)
	for j := range d {
		m.sum[j] += o.sum[j] + nb*delta[j]
	}
	for i := range d {
		floats.Add(m.co[i*d+i:(i+1)*d], o.co[i*d+i:(i+1)*d])
	}
	if floats.Norm(delta, math.Inf(1)) != 0 {
		blas64.Implementation().Dsyr2(blas.Upper, d, 1, u, 1, delta, 1, m.co, d)
	}
	m.n += o.n
	return nil
}

// Mean returns the mean vector (nil when empty).
func (m *Moments) Mean() []float64 {
	if m.n == 0 {
		return nil
	}
	m.flush()
	mu := make([]float64, m.dim)
	floats.AddScaledTo(mu, m.shift, 1/float64(m.n), m.sum)
	return mu
}

// Cov returns the sample covariance with ddof = 1, numpy.cov(X,
// rowvar=False) for the vectors as rows of X. It needs two vectors.
func (m *Moments) Cov() (*mat.Dense, error) {
	if m.n < 2 {
		return nil, wrapf(ErrSamples, "moments: covariance of %d vectors (need 2)", m.n)
	}
	m.flush()
	d := m.dim
	n := float64(m.n)
	out := make([]float64, d*d)
	for i := range d {
		si := m.sum[i] / n
		for j := i; j < d; j++ {
			v := (m.co[i*d+j] - si*m.sum[j]) / (n - 1)
			out[i*d+j] = v
			out[j*d+i] = v
		}
	}
	return mat.NewDense(d, d, out), nil
}

// Stats returns the mean and covariance as FID statistics.
func (m *Moments) Stats() (*Stats, error) {
	cov, err := m.Cov()
	if err != nil {
		return nil, err
	}
	return &Stats{Mu: m.Mean(), Sigma: cov}, nil
}
