package kernels

import (
	"fmt"
	"runtime"
	"sync"
)

// Register-blocking and cache-blocking parameters.
const (
	gemmMR = 4   // micro-tile rows
	gemmNR = 2   // micro-tile cols
	gemmKC = 256 // k block
	gemmMC = 64  // m block (multiple of gemmMR)
	gemmNC = 256 // max n block (multiple of gemmNR)
)

// Epilogue is applied to a GEMM/conv result: per-row bias (len m, may be nil)
// then optional ReLU.
type Epilogue struct {
	Bias []float32
	ReLU bool
}

var packPool = sync.Pool{New: func() any {
	b := make([]float32, gemmMC*gemmKC+gemmKC*gemmNC)
	return &b
}}

func checkMat(name, which string, rows, cols int, s []float32, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("kernels.%s: ld%s=%d < %d columns", name, which, ld, cols))
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("kernels.%s: len(%s)=%d < %d required (%dx%d, ld=%d)", name, which, len(s), need, rows, cols, ld))
	}
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C, row-major. op(A) is m×k,
// op(B) is k×n, C is m×n. lda/ldb/ldc are row strides of the stored matrices
// (A is stored k×m when transA). When beta == 0, C is not read (NaNs in C are
// overwritten).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.Sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	if transA {
		checkMat("Sgemm", "a", k, m, a, lda)
	} else {
		checkMat("Sgemm", "a", m, k, a, lda)
	}
	if transB {
		checkMat("Sgemm", "b", n, k, b, ldb)
	} else {
		checkMat("Sgemm", "b", k, n, b, ldb)
	}
	checkMat("Sgemm", "c", m, n, c, ldc)
	gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, false)
}

// GemmEpi computes C = A·B (no transpose, beta = 0) and then applies the
// epilogue per row: row i gets Bias[i] added, then ReLU if requested. The
// epilogue is fused into the store of the last k block.
func GemmEpi(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.GemmEpi: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	checkMat("GemmEpi", "a", m, k, a, lda)
	checkMat("GemmEpi", "b", k, n, b, ldb)
	checkMat("GemmEpi", "c", m, n, c, ldc)
	if ep.Bias != nil && len(ep.Bias) < m {
		panic(fmt.Sprintf("kernels.GemmEpi: len(Bias)=%d < m=%d", len(ep.Bias), m))
	}
	gemm(false, false, m, n, k, 1, a, lda, b, ldb, 0, c, ldc, ep.Bias, ep.ReLU)
}

// gemm is the shared driver (arguments already validated).
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleEpi(m, n, beta, c, ldc, bias, relu)
		return
	}
	// Tile the M×N output; every tile is an independent task that runs the
	// whole k loop with its own packing buffers.
	mc := gemmMC
	if m < mc {
		mc = (m + gemmMR - 1) / gemmMR * gemmMR
	}
	nc := gemmNC
	if n < nc {
		nc = (n + gemmNR - 1) / gemmNR * gemmNR
	}
	mt := (m + mc - 1) / mc
	work := 2 * m * n * k
	procs := runtime.GOMAXPROCS(0)
	if work >= 4*minParallelWork && procs > 1 {
		// Make enough tiles to keep every core busy (shrink nc down to 64).
		for mt*((n+nc-1)/nc) < 3*procs && nc > 64 {
			nc = (nc/2 + gemmNR - 1) / gemmNR * gemmNR
		}
	}
	nt := (n + nc - 1) / nc
	task := func(lo, hi int) {
		bufp := packPool.Get().(*[]float32)
		buf := *bufp
		ap := buf[:gemmMC*gemmKC]
		bp := buf[gemmMC*gemmKC:]
		for t := lo; t < hi; t++ {
			i0 := (t / nt) * mc
			j0 := (t % nt) * nc
			mb := min(mc, m-i0)
			nb := min(nc, n-j0)
			for p0 := 0; p0 < k; p0 += gemmKC {
				kb := min(gemmKC, k-p0)
				packA(transA, a, lda, i0, p0, mb, kb, ap)
				packB(transB, b, ldb, p0, j0, kb, nb, bp)
				first := p0 == 0
				last := p0+kb >= k
				macroKernel(mb, nb, kb, alpha, ap, bp, beta, first, last, c[i0*ldc+j0:], ldc, bias, i0, relu)
			}
		}
		packPool.Put(bufp)
	}
	if work < 4*minParallelWork || mt*nt == 1 {
		task(0, mt*nt)
		return
	}
	parallelFor(mt*nt, task)
}

// scaleEpi sets C = beta*C (beta == 0 means zero) then applies the epilogue.
func scaleEpi(m, n int, beta float32, c []float32, ldc int, bias []float32, relu bool) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		var bv float32
		if bias != nil {
			bv = bias[i]
		}
		for j := range row {
			v := bv
			if beta != 0 {
				v += beta * row[j]
			}
			if relu && v < 0 {
				v = 0
			}
			row[j] = v
		}
	}
}

// packA packs the mb×kb block of op(A) starting at (i0, p0) into panels of
// gemmMR rows: dst[panel*kb*MR + p*MR + r]. Rows beyond mb are zero.
func packA(trans bool, a []float32, lda, i0, p0, mb, kb int, dst []float32) {
	for ir := 0; ir < mb; ir += gemmMR {
		d := dst[ir*kb : ir*kb+kb*gemmMR]
		rows := min(gemmMR, mb-ir)
		if !trans {
			for r := 0; r < gemmMR; r++ {
				if r >= rows {
					for p := 0; p < kb; p++ {
						d[p*gemmMR+r] = 0
					}
					continue
				}
				src := a[(i0+ir+r)*lda+p0 : (i0+ir+r)*lda+p0+kb]
				for p, v := range src {
					d[p*gemmMR+r] = v
				}
			}
		} else {
			// op(A)[i][p] = a[p*lda+i]
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i0+ir:]
				dd := d[p*gemmMR : p*gemmMR+gemmMR]
				if rows == gemmMR {
					dd[0], dd[1], dd[2], dd[3] = src[0], src[1], src[2], src[3]
				} else {
					for r := 0; r < gemmMR; r++ {
						if r < rows {
							dd[r] = src[r]
						} else {
							dd[r] = 0
						}
					}
				}
			}
		}
	}
}

// packB packs the kb×nb block of op(B) starting at (p0, j0) into panels of
// gemmNR columns: dst[panel*kb*NR + p*NR + c]. Columns beyond nb are zero.
func packB(trans bool, b []float32, ldb, p0, j0, kb, nb int, dst []float32) {
	for jr := 0; jr < nb; jr += gemmNR {
		d := dst[jr*kb : jr*kb+kb*gemmNR]
		cols := min(gemmNR, nb-jr)
		if !trans {
			if cols == gemmNR {
				for p := 0; p < kb; p++ {
					src := b[(p0+p)*ldb+j0+jr : (p0+p)*ldb+j0+jr+gemmNR]
					dd := d[p*gemmNR : p*gemmNR+gemmNR]
					dd[0], dd[1] = src[0], src[1]
				}
			} else {
				for p := 0; p < kb; p++ {
					src := b[(p0+p)*ldb+j0+jr:]
					dd := d[p*gemmNR : p*gemmNR+gemmNR]
					for cc := 0; cc < gemmNR; cc++ {
						if cc < cols {
							dd[cc] = src[cc]
						} else {
							dd[cc] = 0
						}
					}
				}
			}
		} else {
			// op(B)[p][j] = b[j*ldb+p]
			for cc := 0; cc < gemmNR; cc++ {
				if cc >= cols {
					for p := 0; p < kb; p++ {
						d[p*gemmNR+cc] = 0
					}
					continue
				}
				src := b[(j0+jr+cc)*ldb+p0 : (j0+jr+cc)*ldb+p0+kb]
				for p, v := range src {
					d[p*gemmNR+cc] = v
				}
			}
		}
	}
}

// macroKernel multiplies a packed mb×kb A block by a packed kb×nb B block and
// stores into C (c points at the block's top-left element). first selects
// C = alpha*AB + beta*C, otherwise C += alpha*AB. last applies the epilogue
// (bias indexed by row0+row, then ReLU).
func macroKernel(mb, nb, kb int, alpha float32, ap, bp []float32, beta float32, first, last bool, c []float32, ldc int, bias []float32, row0 int, relu bool) {
	var acc [gemmMR * gemmNR]float32
	for jr := 0; jr < nb; jr += gemmNR {
		bpan := bp[jr*kb : jr*kb+kb*gemmNR]
		cols := min(gemmNR, nb-jr)
		for ir := 0; ir < mb; ir += gemmMR {
			apan := ap[ir*kb : ir*kb+kb*gemmMR]
			kern4x2(kb, apan, bpan, &acc)
			rows := min(gemmMR, mb-ir)
			for r := 0; r < rows; r++ {
				crow := c[(ir+r)*ldc+jr : (ir+r)*ldc+jr+cols]
				av := acc[r*gemmNR : r*gemmNR+gemmNR]
				var bv float32
				if last && bias != nil {
					bv = bias[row0+ir+r]
				}
				for j := range crow {
					v := alpha * av[j]
					if !first {
						v += crow[j]
					} else if beta != 0 {
						v += beta * crow[j]
					}
					if last {
						v += bv
						if relu && v < 0 {
							v = 0
						}
					}
					crow[j] = v
				}
			}
		}
	}
}

// kern4x2 is the register-blocked micro-kernel: acc = Apanel(4×kc) ·
// Bpanel(kc×2), with a[p*4+r] and b[p*2+c]; it overwrites acc (row-major
// 4×2). 4×2 is the largest tile the Go compiler keeps in the 15 usable XMM
// registers without spilling (4×4 spills and runs ~30% slower). Keep it small
// and self-contained so an assembly version can replace it.
func kern4x2(kc int, a, b []float32, acc *[gemmMR * gemmNR]float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 float32
	a = a[:kc*4]
	b = b[:kc*2]
	for p := 0; p < kc; p++ {
		aa := a[p*4 : p*4+4 : p*4+4]
		bb := b[p*2 : p*2+2 : p*2+2]
		b0, b1 := bb[0], bb[1]
		c00 += aa[0] * b0
		c01 += aa[0] * b1
		c10 += aa[1] * b0
		c11 += aa[1] * b1
		c20 += aa[2] * b0
		c21 += aa[2] * b1
		c30 += aa[3] * b0
		c31 += aa[3] * b1
	}
	acc[0], acc[1] = c00, c01
	acc[2], acc[3] = c10, c11
	acc[4], acc[5] = c20, c21
	acc[6], acc[7] = c30, c31
}
