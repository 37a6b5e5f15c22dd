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

func copyPanelsSIMD(dst, src []float32, n, stride int) {
	for i := 0; i < n; i++ {
		copy(dst[i*stride:i*stride+32], src[32*i:32*i+32])
	}
}
