//go:build amd64 && !purego

package kernels

//go:generate go run ./internal/asm -out kernels_amd64.s -stubs kernels_amd64_stubs.go -pkg kernels

import "golang.org/x/sys/cpu"

// archKernels returns the assembly GEMM paths this CPU supports, slowest
// first.
func archKernels() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &microKernel{name: PathAVX2, mr: 6, nr: 16, mc: 192, nc: 256, kern: kernAVX2})
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &microKernel{name: PathAVX512, mr: 12, nr: 32, mc: 192, nc: 256, kern: kernAVX512, edge: kernAVX512Edge})
	}
	return ks
}

func kernAVX2(kc int, a, b []float32, ldb int, c []float32, ldc int, flags int, bias []float32) {
	_ = a[kc*6-1]
	_ = b[(kc-1)*ldb+15]
	_ = c[5*ldc+15]
	var bp *float32
	if flags&flagBias != 0 {
		_ = bias[5]
		bp = &bias[0]
	}
	gemmKernAVX2(kc, &a[0], &b[0], ldb, &c[0], ldc, flags, bp)
}

func kernAVX512(kc int, a, b []float32, ldb int, c []float32, ldc int, flags int, bias []float32) {
	_ = a[kc*12-1]
	_ = b[(kc-1)*ldb+31]
	_ = c[11*ldc+31]
	var bp *float32
	if flags&flagBias != 0 {
		_ = bias[11]
		bp = &bias[0]
	}
	gemmKernAVX512(kc, &a[0], &b[0], ldb, &c[0], ldc, flags, bp)
}

func kernAVX512Edge(kc int, a, b []float32, ldb int, c []float32, ldc int, flags int, bias []float32, rows, cols int) {
	if rows < 1 || rows > 12 || cols < 1 || cols > 32 {
		panic("kernels: edge tile out of range")
	}
	_ = a[kc*12-1]
	_ = b[(kc-1)*ldb+31]
	_ = c[(rows-1)*ldc+cols-1]
	var bp *float32
	if flags&flagBias != 0 {
		_ = bias[rows-1]
		bp = &bias[0]
	}
	// Compute only the 4, 8 or 12 rows and 8, 16 or 32 columns the corner
	// needs.
	edgeKernels[(rows-1)/4][edgeCols[cols]](kc, &a[0], &b[0], ldb, &c[0], ldc, flags, bp, rows, cols)
}

// edgeCols maps a column count (1..32) to the edgeKernels column class.
var edgeCols = [33]uint8{
	0, 0, 0, 0, 0, 0, 0, 0, 0, // 1-8: YMM
	1, 1, 1, 1, 1, 1, 1, 1, // 9-16
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, // 17-32
}

var edgeKernels = [3][3]func(kc int, a, b *float32, ldb int, c *float32, ldc int, flags int, bias *float32, rows, cols int){
	{gemmKernAVX512Edge4x8, gemmKernAVX512Edge4x16, gemmKernAVX512Edge4x32},
	{gemmKernAVX512Edge8x8, gemmKernAVX512Edge8x16, gemmKernAVX512Edge8x32},
	{gemmKernAVX512Edge12x8, gemmKernAVX512Edge12x16, gemmKernAVX512Edge12x32},
}

// The pooling row kernels of the avx512 path (see genRowOps in
// internal/asm); callers guarantee the lengths documented there.

func maxRowSIMD(dst, src []float32) {
	if n := len(dst); n > 0 {
		_ = src[n-1]
		maxRowAVX512(&dst[0], &src[0], n)
	}
}

func max3RowSIMD(dst, src []float32) {
	if n := len(dst); n > 0 {
		_ = src[n+1]
		max3RowAVX512(&dst[0], &src[0], n)
	}
}

func addRowSIMD(dst, src []float32) {
	if n := len(dst); n > 0 {
		_ = src[n-1]
		addRowAVX512(&dst[0], &src[0], n)
	}
}

func avg3RowSIMD(dst, src []float32, div float32) {
	if n := len(dst); n > 0 {
		_ = src[n+1]
		avg3RowAVX512(&dst[0], &src[0], n, div)
	}
}

// copyPanelsSIMD copies src[32i : 32i+32] to dst[i*stride:] for i < n (the
// avx512 path's flat conv packing).
func copyPanelsSIMD(dst, src []float32, n, stride int) {
	if n > 0 {
		_ = src[32*n-1]
		_ = dst[(n-1)*stride+31]
		copyPanelsAVX512(&dst[0], &src[0], n, stride)
	}
}

// dotSIMD returns Σ a[i]*b[i] over len(a) (len(b) >= len(a)) with the
// avx512 kernel.
func dotSIMD(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	return dotAVX512(&a[0], &b[0], len(a))
}

// gather2SIMD sets d[k] = s[2k] for as many leading blocks of 16 outputs
// as both slices allow (32 inputs readable per block) and returns the
// number of outputs written.
func gather2SIMD(d, s []float32) int {
	blocks := min(len(d)/16, len(s)/32)
	if blocks > 0 {
		gather2AVX512(&d[0], &s[0], blocks)
	}
	return 16 * blocks
}

// deint2SIMD sets even[k] = s[2k] and odd[k] = s[2k+1] for as many leading
// blocks of 16 as the slices allow and returns the number of pairs split.
func deint2SIMD(even, odd, s []float32) int {
	blocks := min(len(even)/16, len(odd)/16, len(s)/32)
	if blocks > 0 {
		deint2AVX512(&even[0], &odd[0], &s[0], blocks)
	}
	return 16 * blocks
}

// copyPanels12SIMD copies src[12i : 12i+12] to dst[i*stride:] for i < n
// (the A panels of the transposed conv GEMM on the avx512 path).
func copyPanels12SIMD(dst, src []float32, n, stride int) {
	if n > 0 {
		_ = src[12*n-1]
		_ = dst[(n-1)*stride+11]
		copyPanels12AVX512(&dst[0], &src[0], n, stride)
	}
}

// wino1InAVX512 runs the 1-D Winograd input transform with α = a (4 or 9,
// see genWino1In in internal/asm).
func wino1InAVX512(a int, v *float32, cs int, x *float32, gidx *int32, taps *uint16, nvec, step int, bt *float32) {
	switch a {
	case 4:
		wino1In4AVX512(v, cs, x, gidx, taps, nvec, step, bt)
	case 9:
		wino1In9AVX512(v, cs, x, gidx, taps, nvec, step, bt)
	default:
		panic("kernels: no 1-D Winograd input transform for this α")
	}
}

// wino1OutAVX512 runs the 1-D Winograd output transform of F(m, ·) with
// α = a (see genWino1Out in internal/asm).
func wino1OutAVX512(m, a int, y, mm *float32, ms, nk int, bias *float32, relu, ohw, outStep, nout int, at *float32) {
	switch {
	case m == 2 && a == 4:
		wino1Out2x4AVX512(y, mm, ms, nk, bias, relu, ohw, outStep, nout, at)
	case m == 3 && a == 9:
		wino1Out3x9AVX512(y, mm, ms, nk, bias, relu, ohw, outStep, nout, at)
	default:
		panic("kernels: no 1-D Winograd output transform for this F(m, r)")
	}
}

// wino2InAVX512 runs the F(2x2, r x r) Winograd input transform with α = a
// (4 or 6, see genWino2In in internal/asm).
func wino2InAVX512(a int, rows *[6]*float32, n int, r *float32, rs, padL int, v *float32, cs, tw int, bt *float32) {
	switch a {
	case 4:
		wino2In4AVX512(rows, n, r, rs, padL, v, cs, tw, bt)
	case 6:
		wino2In6AVX512(rows, n, r, rs, padL, v, cs, tw, bt)
	default:
		panic("kernels: no F(2x2, r x r) input transform for this α")
	}
}

// wino2OutAVX512 runs the F(2x2, r x r) Winograd output transform with
// α = a (see genWino2Out in internal/asm).
func wino2OutAVX512(a int, y, mm *float32, ms, nk int, bias *float32, relu, ohw, ow, rows, cols int, at *float32) {
	switch a {
	case 4:
		wino2Out4AVX512(y, mm, ms, nk, bias, relu, ohw, ow, rows, cols, at)
	case 6:
		wino2Out6AVX512(y, mm, ms, nk, bias, relu, ohw, ow, rows, cols, at)
	default:
		panic("kernels: no F(2x2, r x r) output transform for this α")
	}
}

// gatherSIMD sets d[k] = s[o[k]] for as many leading blocks of 16 as d and
// o allow and returns the number of elements gathered; every o[k] must
// index s.
func gatherSIMD(d, s []float32, o []int32) int {
	blocks := min(len(d), len(o)) / 16
	if blocks > 0 {
		gatherAVX512(&d[0], &s[0], &o[0], blocks)
	}
	return 16 * blocks
}

// addScaledSIMD sets y[i] = x[i] + s*r[i] (then ReLU) for i < len(x) with
// the avx512 kernel; r and y are at least as long as x.
func addScaledSIMD(y, x, r []float32, s float32, relu bool) {
	if n := len(x); n > 0 {
		_ = r[n-1]
		_ = y[n-1]
		rl := 0
		if relu {
			rl = 1
		}
		addScaledAVX512(&y[0], &x[0], &r[0], n, s, rl)
	}
}

// gatherMaskedSIMD sets d[k] = s[(iys[k]+dy)*w + ixs[k]+dx] for the
// elements inside the h×w plane s and 0 for the others, for as many
// leading blocks of 16 as d, iys and ixs allow, and returns the number
// of elements written.
func gatherMaskedSIMD(d, s []float32, iys, ixs []int32, dy, dx, h, w int) int {
	blocks := min(len(d), len(iys), len(ixs)) / 16
	if blocks > 0 {
		_ = s[h*w-1]
		gatherMaskedAVX512(&d[0], &s[0], &iys[0], &ixs[0], blocks, dy, dx, h, w)
	}
	return 16 * blocks
}

// packTransSIMD sets dst[p*nr + r] = src[r*ld + p] for p < kb and r < rows
// (0 for rows <= r < nr), nr 32 or 12, with the avx512 kernels (full
// panels 16 columns at a time transposed in registers, the rest gathered),
// and reports whether it did (not for row strides whose gather offsets
// overflow int32).
func packTransSIMD(dst, src []float32, kb, ld, rows, nr int) bool {
	if kb <= 0 || rows <= 0 || ld > 1<<24 {
		return false
	}
	_ = src[(rows-1)*ld+kb-1]
	_ = dst[(kb-1)*nr+nr-1]
	m1 := 1<<min(rows, 16) - 1
	m2 := 1<<max(rows-16, 0) - 1
	if nr == 32 && rows == 32 && kb >= 16 {
		// full panels: 16 columns at a time transposed in registers, the
		// rest gathered
		blocks := kb / 16
		packTrans32TAVX512(&dst[0], &src[0], blocks, ld)
		if kb%16 != 0 {
			packTrans32AVX512(&dst[16*blocks*32], &src[16*blocks], kb%16, ld, m1, m2)
		}
	} else if nr == 32 {
		packTrans32AVX512(&dst[0], &src[0], kb, ld, m1, m2)
	} else if rows == 12 && kb >= 16 {
		blocks := kb / 16
		packTrans12TAVX512(&dst[0], &src[0], blocks, ld)
		if kb%16 != 0 {
			packTrans12AVX512(&dst[16*blocks*12], &src[16*blocks], kb%16, ld, m1, 0)
		}
	} else {
		packTrans12AVX512(&dst[0], &src[0], kb, ld, m1, 0)
	}
	return true
}

func reluMaskSIMD(dx, y, dy []float32) { reluMaskAVX512(&dx[0], &y[0], &dy[0], len(dx)) }

func sum64SIMD(x []float32) float64 { return sum64AVX512(&x[0], len(x)) }
