//go:build !amd64 || purego

package kernels

// archKernels returns the assembly GEMM paths of this platform: none, only
// the pure-Go generic path is available.
func archKernels() []*microKernel { return nil }

// Without assembly the avx512 path never exists; the row kernels fall back
// to the pure-Go loops.

func maxRowSIMD(dst, src []float32)               { maxRowGo(dst, src) }
func max3RowSIMD(dst, src []float32)              { max3RowGo(dst, src) }
func addRowSIMD(dst, src []float32)               { addRowGo(dst, src) }
func avg3RowSIMD(dst, src []float32, div float32) { avg3RowGo(dst, src, div) }

func copyPanels12SIMD(dst, src []float32, n, stride int) {
	for i := 0; i < n; i++ {
		copy(dst[i*stride:i*stride+12], src[12*i:12*i+12])
	}
}

func copyPanelsSIMD(dst, src []float32, n, stride int) {
	for i := 0; i < n; i++ {
		copy(dst[i*stride:i*stride+32], src[32*i:32*i+32])
	}
}

// The avx512 whole-plane pooling kernels (see genPoolOps in internal/asm)
// are never called here (the avx512 path does not exist); these stubs only
// let pool.go compile.

func max2VAVX512(dst, src *float32, n, rows, off, sstep, dstep int)              { panic(noAVX512) }
func max3VAVX512(dst, src *float32, n, rows, off, sstep, dstep int)              { panic(noAVX512) }
func max3TAVX512(dst, src *float32, nblk, planes, pitch, off int, masks *uint16) { panic(noAVX512) }
func add3TAVX512(dst, src *float32, nblk, planes, pitch, off int, masks *uint16) { panic(noAVX512) }
func avg3TAVX512(dst, src *float32, nblk, planes, pitch, off int, masks *uint16, divs *float32) {
	panic(noAVX512)
}
func max2S2HAVX512(dst, src *float32, ow, rows, w int) { panic(noAVX512) }
func max3S2HAVX512(dst, src *float32, ow, rows, w int) { panic(noAVX512) }

const noAVX512 = "kernels: avx512 kernel called without the avx512 path"

func dotSIMD(a, b []float32) float32 { return dot(a, b) }

// Without assembly the stride-2 gathers of the im2col packer stay in Go.

func gather2SIMD(d, s []float32) int        { return 0 }
func deint2SIMD(even, odd, s []float32) int { return 0 }

func gatherSIMD(d, s []float32, o []int32) int { return 0 }

func addScaledSIMD(y, x, r []float32, s float32, relu bool) { panic(noAVX512) }

func gatherMaskedSIMD(d, s []float32, iys, ixs []int32, dy, dx, h, w int) int { return 0 }

func tapGatherAVX512(dst, src *float32, off int, masks *uint16, mstep, mspan, blocks, tail int) {
	panic(noAVX512)
}
func tapSumAVX512(dst, src *float32, rel *int32, masks *uint16, nt, mstep, mspan, blocks, tail int) {
	panic(noAVX512)
}
func tapMaxArgAVX512(arg *int32, x, y *float32, offs *int32, masks *uint16, nt, mstep, mspan, blocks, tail int) {
	panic(noAVX512)
}
func tapMaxGradAVX512(dx, dy *float32, arg, rel, ids *int32, masks *uint16, nt, mstep, mspan, blocks, tail int) {
	panic(noAVX512)
}

func packTransSIMD(dst, src []float32, kb, ld, rows, nr int) bool { return false }

func reluMaskSIMD(dx, y, dy []float32) { panic(noAVX512) }

func sum64SIMD(x []float32) float64 { panic(noAVX512) }
