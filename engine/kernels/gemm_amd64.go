//go:build amd64 && !purego

package kernels

//go:generate go run ./internal/asm -out gemm_amd64.s -stubs gemm_amd64_stubs.go -pkg kernels

import "golang.org/x/sys/cpu"

// archKernels returns the assembly GEMM paths this CPU supports, slowest
// first.
func archKernels() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &microKernel{name: PathAVX2, mr: 6, nr: 16, mc: 192, nc: 256, kern: kernAVX2})
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, &microKernel{name: PathAVX512, mr: 12, nr: 32, mc: 192, nc: 256, kern: kernAVX512})
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
