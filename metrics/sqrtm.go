package metrics

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/gonum"
	"gonum.org/v1/gonum/mat"
)

// Machine constants as LAPACK's dlamch defines them.
const (
	dlamchP = 0x1p-52   // eps * base
	dlamchS = 0x1p-1022 // safe minimum
)

// SqrtmBlockSize is scipy.linalg.sqrtm's default blocksize.
const SqrtmBlockSize = 64

// SqrtmResult is a matrix square root as scipy.linalg.sqrtm returns it:
// real when the computation stayed real, complex otherwise.
type SqrtmResult struct {
	// Re is the real part.
	Re *mat.Dense
	// Im is the imaginary part, nil for a real result (scipy's float
	// dtype); an all-zero Im is still a complex result, as in scipy.
	Im *mat.Dense
}

// IsComplex reports whether scipy would return a complex array.
func (r *SqrtmResult) IsComplex() bool { return r.Im != nil }

// Sqrtm returns the principal square root of the square matrix a with
// the algorithm of scipy.linalg.sqrtm (scipy 1.10, blocksize 64): a real
// Schur decomposition as LAPACK dgees computes it (permutation-only
// balancing, Hessenberg reduction, multishift QR; gonum's LAPACK), the
// conversion of its 2x2 blocks to complex triangular form as
// scipy.linalg.rsf2csf does, and the blocked upper-triangular square root
// of Deadman, Higham and Ralha (2013): a column recurrence within
// 64-wide blocks and triangular Sylvester solves (LAPACK dtrsyl/ztrsyl
// semantics, including their perturbation of near-singular systems)
// between them. The result is real when the Schur form is triangular with
// a non-negative diagonal, complex otherwise, as in scipy.
//
// Where scipy's sqrtm fails (its SqrtmError: two zero diagonal entries
// of the Schur form coupled by a non-zero entry within a block) Sqrtm
// returns ErrNoSquareRoot; scipy returns a NaN matrix instead. Non-finite
// input is ErrNonFinite (scipy raises ValueError), a Schur decomposition
// that does not converge ErrNotConverged.
func Sqrtm(a mat.Matrix) (*SqrtmResult, error) {
	r, c := a.Dims()
	if r != c || r == 0 {
		return nil, wrapf(ErrShape, "sqrtm of a %dx%d matrix (want square, non-empty)", r, c)
	}
	n := r
	data := make([]float64, n*n)
	for i := range n {
		for j := range n {
			v := a.At(i, j)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, wrapf(ErrNonFinite, "sqrtm: entry (%d,%d) is %v", i, j, v)
			}
			data[i*n+j] = v
		}
	}
	t, z, err := schurReal(data, n)
	if err != nil {
		return nil, err
	}
	T := cmat{n: n, re: t}
	Z := cmat{n: n, re: z}
	if !isUpperTriangular(t, n) {
		T, Z = rsf2csf(t, z, n)
	}
	R, err := sqrtmTriu(T, SqrtmBlockSize)
	if err != nil {
		return nil, err
	}
	X := zrzh(Z, R)
	res := &SqrtmResult{Re: mat.NewDense(n, n, X.re)}
	if X.im != nil {
		res.Im = mat.NewDense(n, n, X.im)
	}
	return res, nil
}

// cmat is an n x n row-major matrix, complex when im is non-nil.
type cmat struct {
	n      int
	re, im []float64
}

func (m cmat) at(i, j int) complex128 {
	if m.im == nil {
		return complex(m.re[i*m.n+j], 0)
	}
	return complex(m.re[i*m.n+j], m.im[i*m.n+j])
}

func (m cmat) set(i, j int, v complex128) {
	m.re[i*m.n+j] = real(v)
	m.im[i*m.n+j] = imag(v)
}

// schurReal computes A = Z T Z^T with T upper quasi-triangular (1x1 and
// standardized 2x2 diagonal blocks) and Z orthogonal, following LAPACK's
// dgees with jobvs='V' and no sorting, as scipy.linalg.schur calls it.
func schurReal(a []float64, n int) (t, z []float64, err error) {
	impl := gonum.Implementation{}
	t = a
	// Scale a matrix whose largest entry is outside [smlnum, bignum].
	smlnum := math.Sqrt(dlamchS) / dlamchP
	bignum := 1 / smlnum
	anrm := impl.Dlange(lapack.MaxAbs, n, n, t, n, nil)
	cscale := 0.0
	switch {
	case anrm > 0 && anrm < smlnum:
		cscale = smlnum
	case anrm > bignum:
		cscale = bignum
	}
	if cscale != 0 {
		impl.Dlascl(lapack.General, 0, 0, anrm, cscale, n, n, t, n)
	}
	scale := make([]float64, n)
	ilo, ihi := impl.Dgebal(lapack.Permute, n, t, n, scale)
	tau := make([]float64, max(n-1, 0))
	work := make([]float64, 1)
	impl.Dgehrd(n, ilo, ihi, t, n, tau, work, -1)
	lwork := int(work[0])
	impl.Dorghr(n, ilo, ihi, t, n, tau, work, -1)
	lwork = max(lwork, int(work[0]))
	wr := make([]float64, n)
	wi := make([]float64, n)
	impl.Dhseqr(lapack.EigenvaluesAndSchur, lapack.SchurOrig, n, ilo, ihi, t, n, wr, wi, t, n, work, -1)
	lwork = max(lwork, int(work[0]), n)
	work = make([]float64, lwork)

	impl.Dgehrd(n, ilo, ihi, t, n, tau, work, lwork)
	z = make([]float64, n*n)
	copy(z, t)
	impl.Dorghr(n, ilo, ihi, z, n, tau, work, lwork)
	for i := 2; i < n; i++ {
		clear(t[i*n : i*n+i-1]) // the Householder vectors below the subdiagonal
	}
	if bad := impl.Dhseqr(lapack.EigenvaluesAndSchur, lapack.SchurOrig, n, ilo, ihi, t, n, wr, wi, z, n, work, lwork); bad > 0 {
		return nil, nil, wrapf(ErrNotConverged, "%d of %d eigenvalues of a %dx%d matrix", bad, n, n, n)
	}
	impl.Dgebak(lapack.Permute, lapack.EVRight, n, ilo, ihi, scale, n, z, n)
	if cscale != 0 {
		impl.Dlascl(lapack.General, 0, 0, cscale, anrm, n, n, t, n)
	}
	return t, z, nil
}

func isUpperTriangular(t []float64, n int) bool {
	for i := 1; i < n; i++ {
		for _, v := range t[i*n : i*n+i] {
			if v != 0 {
				return false
			}
		}
	}
	return true
}

// rsf2csf converts a real Schur form to a complex triangular one with
// scipy.linalg.rsf2csf's Givens rotations: for each subdiagonal entry
// above eps times its neighbours on the diagonal, from the bottom up,
// rotate by the first eigenvalue of the 2x2 block (LAPACK's order,
// positive imaginary part first).
func rsf2csf(t, z []float64, n int) (cmat, cmat) {
	T := cmat{n: n, re: t, im: make([]float64, n*n)}
	Z := cmat{n: n, re: z, im: make([]float64, n*n)}
	const eps = dlamchP
	impl := gonum.Implementation{}
	for m := n - 1; m >= 1; m-- {
		sub := T.at(m, m-1)
		if cmplx.Abs(sub) > eps*(cmplx.Abs(T.at(m-1, m-1))+cmplx.Abs(T.at(m, m))) {
			// The block is still real here: rotations at m+1 touched
			// columns m and m+1 only, and blocks do not overlap.
			_, _, _, _, rt1r, rt1i, _, _, _, _ := impl.Dlanv2(
				T.re[(m-1)*n+m-1], T.re[(m-1)*n+m], T.re[m*n+m-1], T.re[m*n+m])
			mu := complex(rt1r, rt1i) - T.at(m, m)
			r := math.Hypot(cmplx.Abs(mu), cmplx.Abs(sub))
			c := mu / complex(r, 0)
			s := sub / complex(r, 0)
			cc, sc := cmplx.Conj(c), cmplx.Conj(s)
			// Rows m-1, m from column m-1 on: G = [[c̄, s], [-s, c]].
			for j := m - 1; j < n; j++ {
				x, y := T.at(m-1, j), T.at(m, j)
				T.set(m-1, j, cc*x+s*y)
				T.set(m, j, -s*x+c*y)
			}
			// Columns m-1, m of rows 0..m, and of Z: times G^H = [[c, -s̄], [s̄, c̄]].
			for i := 0; i <= m; i++ {
				x, y := T.at(i, m-1), T.at(i, m)
				T.set(i, m-1, x*c+y*sc)
				T.set(i, m, -x*sc+y*cc)
			}
			for i := 0; i < n; i++ {
				x, y := Z.at(i, m-1), Z.at(i, m)
				Z.set(i, m-1, x*c+y*sc)
				Z.set(i, m, -x*sc+y*cc)
			}
		}
		T.set(m, m-1, 0)
	}
	return T, Z
}

// sqrtmTriu is scipy's _sqrtm_triu: the square root of an upper
// triangular T, real when T is real with a non-negative diagonal.
func sqrtmTriu(T cmat, blocksize int) (cmat, error) {
	n := T.n
	keepReal := T.im == nil
	if keepReal {
		for i := range n {
			if T.re[i*n+i] < 0 {
				keepReal = false
				break
			}
		}
	}
	if !keepReal && T.im == nil {
		T.im = make([]float64, n*n)
	}
	R := cmat{n: n, re: make([]float64, n*n)}
	if !keepReal {
		R.im = make([]float64, n*n)
	}
	for i := range n {
		if keepReal {
			R.re[i*n+i] = math.Sqrt(T.re[i*n+i])
		} else {
			R.set(i, i, cmplx.Sqrt(T.at(i, i)))
		}
	}

	nblocks := max(n/blocksize, 1)
	bsmall, nlarge := n/nblocks, n%nblocks
	nsmall := nblocks - nlarge
	type span struct{ start, stop int }
	blocks := make([]span, 0, nblocks)
	start := 0
	for k := range nblocks {
		size := bsmall
		if k >= nsmall {
			size = bsmall + 1
		}
		blocks = append(blocks, span{start, start + size})
		start += size
	}

	// Within-block recurrence (scipy's within_block_loop).
	for _, b := range blocks {
		for j := b.start; j < b.stop; j++ {
			for i := j - 1; i >= b.start; i-- {
				if keepReal {
					s := 0.0
					for k := i + 1; k < j; k++ {
						s += R.re[i*n+k] * R.re[k*n+j]
					}
					denom := R.re[i*n+i] + R.re[j*n+j]
					num := T.re[i*n+j] - s
					switch {
					case denom != 0:
						R.re[i*n+j] = num / denom
					case num == 0:
						R.re[i*n+j] = 0
					default:
						return cmat{}, wrapf(ErrNoSquareRoot, "zero eigenvalues at Schur positions %d and %d are coupled by %v", i, j, num)
					}
					continue
				}
				var s complex128
				for k := i + 1; k < j; k++ {
					s += R.at(i, k) * R.at(k, j)
				}
				denom := R.at(i, i) + R.at(j, j)
				num := T.at(i, j) - s
				switch {
				case denom != 0:
					R.set(i, j, num/denom)
				case num == 0:
					R.set(i, j, 0)
				default:
					return cmat{}, wrapf(ErrNoSquareRoot, "zero eigenvalues at Schur positions %d and %d are coupled by %v", i, j, num)
				}
			}
		}
	}

	// Between-block interactions: S = T_ij - R_i,mid R_mid,j, then solve
	// R_ii X + X R_jj = S.
	bl := blas64.Implementation()
	for jb := range blocks {
		J := blocks[jb]
		for ib := jb - 1; ib >= 0; ib-- {
			I := blocks[ib]
			m, w := I.stop-I.start, J.stop-J.start
			S := cmat{n: w, re: make([]float64, m*w)}
			if !keepReal {
				S.im = make([]float64, m*w)
			}
			for i := range m {
				copy(S.re[i*w:(i+1)*w], T.re[(I.start+i)*n+J.start:(I.start+i)*n+J.stop])
				if !keepReal {
					copy(S.im[i*w:(i+1)*w], T.im[(I.start+i)*n+J.start:(I.start+i)*n+J.stop])
				}
			}
			if k := J.start - I.stop; k > 0 {
				ar := R.re[I.start*n+I.stop:]
				br := R.re[I.stop*n+J.start:]
				bl.Dgemm(blas.NoTrans, blas.NoTrans, m, w, k, -1, ar, n, br, n, 1, S.re, w)
				if !keepReal {
					ai := R.im[I.start*n+I.stop:]
					bi := R.im[I.stop*n+J.start:]
					bl.Dgemm(blas.NoTrans, blas.NoTrans, m, w, k, 1, ai, n, bi, n, 1, S.re, w)
					bl.Dgemm(blas.NoTrans, blas.NoTrans, m, w, k, -1, ar, n, bi, n, 1, S.im, w)
					bl.Dgemm(blas.NoTrans, blas.NoTrans, m, w, k, -1, ai, n, br, n, 1, S.im, w)
				}
			}
			A := R.block(I.start, I.stop, I.start, I.stop)
			B := R.block(J.start, J.stop, J.start, J.stop)
			var scale float64
			if keepReal {
				scale = trsylReal(A.re, m, B.re, w, S.re)
			} else {
				scale = trsylComplex(A, m, B, w, S)
			}
			for i := range m {
				for j := range w {
					R.re[(I.start+i)*n+J.start+j] = S.re[i*w+j] * scale
					if !keepReal {
						R.im[(I.start+i)*n+J.start+j] = S.im[i*w+j] * scale
					}
				}
			}
		}
	}
	return R, nil
}

// block copies rows [r0,r1) and columns [c0,c1) into a new matrix of
// r1-r0 rows (the n field is the column count).
func (m cmat) block(r0, r1, c0, c1 int) cmat {
	w := c1 - c0
	out := cmat{n: w, re: make([]float64, (r1-r0)*w)}
	if m.im != nil {
		out.im = make([]float64, (r1-r0)*w)
	}
	for i := r0; i < r1; i++ {
		copy(out.re[(i-r0)*w:(i-r0+1)*w], m.re[i*m.n+c0:i*m.n+c1])
		if m.im != nil {
			copy(out.im[(i-r0)*w:(i-r0+1)*w], m.im[i*m.n+c0:i*m.n+c1])
		}
	}
	return out
}

// trsylReal solves A X + X B = scale C for upper triangular A (m x m) and
// B (w x w), overwriting C (m x w) with X, as LAPACK dtrsyl with
// trana = tranb = 'N', isgn = 1 does for triangular (not quasi-triangular)
// matrices: a near-singular pivot is replaced by smin, and scale < 1
// avoids overflow.
func trsylReal(a []float64, m int, b []float64, w int, c []float64) float64 {
	smlnum := dlamchS * float64(m*w) / dlamchP
	bignum := 1 / smlnum
	smin := max(smlnum, dlamchP*maxAbs(a), dlamchP*maxAbs(b))
	scale := 1.0
	for l := range w {
		for k := m - 1; k >= 0; k-- {
			suml := 0.0
			for p := k + 1; p < m; p++ {
				suml += a[k*m+p] * c[p*w+l]
			}
			sumr := 0.0
			for p := range l {
				sumr += c[k*w+p] * b[p*w+l]
			}
			vec := c[k*w+l] - (suml + sumr)
			scaloc := 1.0
			a11 := a[k*m+k] + b[l*w+l]
			da11 := math.Abs(a11)
			if da11 <= smin {
				a11, da11 = smin, smin
			}
			db := math.Abs(vec)
			if da11 < 1 && db > 1 && db > bignum*da11 {
				scaloc = 1 / db
			}
			x := vec * scaloc / a11
			if scaloc != 1 {
				for i := range c {
					c[i] *= scaloc
				}
				scale *= scaloc
			}
			c[k*w+l] = x
		}
	}
	return scale
}

// trsylComplex is trsylReal for complex matrices, as LAPACK ztrsyl: the
// pivot test uses |re| + |im|.
func trsylComplex(a cmat, m int, b cmat, w int, c cmat) float64 {
	smlnum := dlamchS * float64(m*w) / dlamchP
	bignum := 1 / smlnum
	smin := max(smlnum, dlamchP*max(maxModulus(a), maxModulus(b)))
	scale := 1.0
	l1 := func(z complex128) float64 { return math.Abs(real(z)) + math.Abs(imag(z)) }
	for l := range w {
		for k := m - 1; k >= 0; k-- {
			var suml, sumr complex128
			for p := k + 1; p < m; p++ {
				suml += a.at(k, p) * c.at(p, l)
			}
			for p := range l {
				sumr += c.at(k, p) * b.at(p, l)
			}
			vec := c.at(k, l) - (suml + sumr)
			scaloc := 1.0
			a11 := a.at(k, k) + b.at(l, l)
			da11 := l1(a11)
			if da11 <= smin {
				a11, da11 = complex(smin, 0), smin
			}
			db := l1(vec)
			if da11 < 1 && db > 1 && db > bignum*da11 {
				scaloc = 1 / db
			}
			x := vec * complex(scaloc, 0) / a11
			if scaloc != 1 {
				for i := range c.re {
					c.re[i] *= scaloc
					c.im[i] *= scaloc
				}
				scale *= scaloc
			}
			c.set(k, l, x)
		}
	}
	return scale
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

func maxModulus(a cmat) float64 {
	m := 0.0
	for i := range a.re {
		m = max(m, math.Hypot(a.re[i], a.im[i]))
	}
	return m
}

// zrzh returns Z R Z^H.
func zrzh(Z, R cmat) cmat {
	n := Z.n
	bl := blas64.Implementation()
	gemm := func(tB blas.Transpose, alpha float64, a, b []float64, beta float64, c []float64) {
		bl.Dgemm(blas.NoTrans, tB, n, n, n, alpha, a, n, b, n, beta, c, n)
	}
	X := cmat{n: n, re: make([]float64, n*n)}
	W := cmat{n: n, re: make([]float64, n*n)}
	switch {
	case R.im == nil: // real Z and R
		gemm(blas.NoTrans, 1, Z.re, R.re, 0, W.re)
		gemm(blas.Trans, 1, W.re, Z.re, 0, X.re)
	case Z.im == nil: // real Z, complex R
		W.im = make([]float64, n*n)
		X.im = make([]float64, n*n)
		gemm(blas.NoTrans, 1, Z.re, R.re, 0, W.re)
		gemm(blas.NoTrans, 1, Z.re, R.im, 0, W.im)
		gemm(blas.Trans, 1, W.re, Z.re, 0, X.re)
		gemm(blas.Trans, 1, W.im, Z.re, 0, X.im)
	default:
		W.im = make([]float64, n*n)
		X.im = make([]float64, n*n)
		gemm(blas.NoTrans, 1, Z.re, R.re, 0, W.re)
		gemm(blas.NoTrans, -1, Z.im, R.im, 1, W.re)
		gemm(blas.NoTrans, 1, Z.re, R.im, 0, W.im)
		gemm(blas.NoTrans, 1, Z.im, R.re, 1, W.im)
		// Z^H = Z.re^T - i Z.im^T.
		gemm(blas.Trans, 1, W.re, Z.re, 0, X.re)
		gemm(blas.Trans, 1, W.im, Z.im, 1, X.re)
		gemm(blas.Trans, 1, W.im, Z.re, 0, X.im)
		gemm(blas.Trans, -1, W.re, Z.im, 1, X.im)
	}
	return X
}
