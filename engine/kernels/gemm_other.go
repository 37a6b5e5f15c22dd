//go:build !amd64 || purego

package kernels

// archKernels returns the assembly GEMM paths of this platform: none, only
// the pure-Go generic path is available.
func archKernels() []*microKernel { return nil }
