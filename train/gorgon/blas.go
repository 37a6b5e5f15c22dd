package gorgon

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"

	"github.com/inceptionzoo/inception/engine/kernels"
)

// BLAS is gonum's pure-Go BLAS with Sgemm replaced by the zoo's packed
// AVX-512/AVX2 SGEMM (engine/kernels.Sgemm). Everything else — the
// float64 routines used by the gradient checks, Sgemv, the level-1
// routines — is gonum's. It is pure Go (no cgo).
type BLAS struct{ gonum.Implementation }

// Sgemm computes C = alpha·op(A)·op(B) + beta·C (row-major), as
// blas.Float32Level3 specifies, with kernels.Sgemm.
func (BLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	kernels.Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// UseFastBLAS makes gorgonia (and gorgonia.org/tensor) use BLAS{} for
// every later operation. It is process-global, as gorgonia.Use is; Build
// calls it.
func UseFastBLAS() { G.Use(BLAS{}) }
