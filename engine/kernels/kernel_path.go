package kernels

import (
	"os"
	"sync/atomic"
)

// Names of the GEMM micro-kernel paths, as reported by KernelPath and
// accepted by the INCEPTION_KERNEL environment variable.
const (
	PathGeneric = "generic" // pure Go 4×2 micro-kernel (every platform)
	PathAVX2    = "avx2"    // amd64 AVX2+FMA 6×16 assembly micro-kernel
	PathAVX512  = "avx512"  // amd64 AVX-512F 12×32 assembly micro-kernel
)

// KernelEnv is the environment variable that, when set to one of the path
// names, forces that GEMM path (read once at program start; ignored if the
// CPU lacks the path or the name is unknown).
const KernelEnv = "INCEPTION_KERNEL"

// microKernel describes one GEMM path: an mr×nr register-blocked kernel
// over packed panels, and the m/n cache blocks used with it.
type microKernel struct {
	name   string
	mr, nr int // micro-tile; A panels are mr rows, B panels nr columns
	mc, nc int // m block (multiple of mr, <= packMaxMC), max n block (multiple of nr, <= packMaxNC)
	// kern computes the mr×nr tile A·B of the packed panel a[p*mr+r] and
	// the panel b[p*ldb+j] over kc >= 1 steps (in order p = 0..kc-1) and
	// stores it into c[r*ldc+j], applying flags in order: flagAccum
	// (tile += c), flagBias (row r += bias[r]), flagReLU (max(0, ·), NaN
	// kept).
	kern func(kc int, a, b []float32, ldb int, c []float32, ldc int, flags int, bias []float32)
	// edge, if set, is kern for an edge tile: the same sums (and bits), but
	// only the first rows×cols corner of the tile is read and stored, and
	// bias has rows entries. Without it edge tiles go through a scratch
	// tile.
	edge func(kc int, a, b []float32, ldb int, c []float32, ldc int, flags int, bias []float32, rows, cols int)
}

// Flags of microKernel.kern (the same values as in internal/asm).
const (
	flagAccum = 1
	flagBias  = 2
	flagReLU  = 4
)

var genericKernel = &microKernel{name: PathGeneric, mr: 4, nr: 2, mc: 64, nc: 256, kern: kernGeneric}

// kernelPaths lists the paths this CPU supports, slowest first.
var kernelPaths = append([]*microKernel{genericKernel}, archKernels()...)

var active atomic.Pointer[microKernel]

func init() {
	active.Store(defaultKernel(os.Getenv(KernelEnv)))
}

// defaultKernel returns the path named by env if available, else the
// fastest available path.
func defaultKernel(env string) *microKernel {
	if k := lookupKernel(env); k != nil {
		return k
	}
	return kernelPaths[len(kernelPaths)-1]
}

func lookupKernel(name string) *microKernel {
	for _, k := range kernelPaths {
		if k.name == name {
			return k
		}
	}
	return nil
}

func activeKernel() *microKernel { return active.Load() }

// KernelPath reports the active GEMM micro-kernel path: PathGeneric,
// PathAVX2 or PathAVX512.
func KernelPath() string { return active.Load().name }

// KernelPaths lists the GEMM paths available on this CPU.
func KernelPaths() []string {
	s := make([]string, len(kernelPaths))
	for i, k := range kernelPaths {
		s[i] = k.name
	}
	return s
}
