// Package kernels is the swappable compute-kernel layer of the inference
// executor for the Inception CNN family (GoogLeNet, BN-Inception, Inception
// v3/v4, Inception-ResNet).
//
// # Layout
//
// All activation tensors are dense float32 in NCHW order: element (n, c, h, w)
// of a [N, C, H, W] tensor lives at index ((n*C+c)*H+h)*W+w. Convolution
// weights are [OutC, C/Groups, KH, KW] (ONNX / PyTorch layout), fully-connected
// weights are [out, in] (PyTorch layout). Matrices passed to Sgemm/GemmEpi are
// row-major with an explicit row stride (lda/ldb/ldc).
//
// Kernels that produce an NCHW tensor (Conv2D, MaxPool2D, AvgPool2D) can write
// into a channel slice of a wider destination tensor: the destination has
// dstC channels and the kernel's output occupies channels [dstOff,
// dstOff+OutC). This lets the branches of an Inception concat block write
// straight into their slice of the concatenated output; the other channels of
// the destination are never read or written.
//
// # Concurrency
//
// Every kernel is a pure function of its arguments: there is no hidden global
// mutable state apart from internal pools of scratch buffers and bounded,
// concurrency-safe caches of the border tables of 3x3 pools (one per plane
// size, at most 256) and of the parallel GEMM tile grids (one per shape,
// at most 4096), so kernels may be called concurrently from many
// goroutines as long as the
// callers' output slices (and workspaces) do not overlap. Large calls are
// themselves split across runtime.GOMAXPROCS(0) goroutines; small calls run on
// the calling goroutine.
//
// # Workspace contract
//
// Kernels never allocate large buffers per call. Conv2D needs scratch space
// for its im2col matrix; the caller provides it as ws, with at least
// ConvParams.WorkspaceLen() elements (0 for 1x1 stride-1 unpadded convs, which
// feed the input directly to GEMM, and for depthwise-style convs, which use a
// direct loop). The workspace's contents on entry are ignored and on return
// are unspecified; a workspace must not be shared by concurrent calls. GEMM
// packing buffers come from an internal sync.Pool.
//
// # Prepared convolutions
//
// NewConv prepares a convolution for repeated use (what the engine does):
// the weights are packed once into the micro-kernel's panel layout for the
// path active at that time, and Run computes an implicit GEMM whose B panels
// are packed straight from the input (a kernel column without horizontal
// shift is a plain shifted copy of the plane), so no im2col matrix and no
// workspace are needed. Full B panels of a 1x1 stride-1 conv (and of a plain
// Sgemm) are read in place by the micro-kernel, which also applies bias and
// ReLU in its store. Conv.Run gives the same bits as Conv2D on the same
// path, except for the convs NewConv puts on the Winograd path.
//
// # Winograd convolutions
//
// On the avx512 path NewConv computes 3x3 stride-1 convolutions
// (undilated, ungrouped, with at least 25 output tiles of 4x4) with
// Winograd's F(4x4, 3x3) algorithm: 36 GEMMs over transformed 6x6 input
// tiles and filters instead of one GEMM over im2col panels, 4x fewer
// multiplications; the transformed weights take 4x the memory of the
// plain ones. The input and output transforms are AVX-512 assembly (the
// pure-Go versions, which the tests run on every path, are slower than
// the implicit GEMM). The rounding error is larger than the implicit GEMM's by a small
// factor (within 64 ulp of Σ|x·w| per output, about 4e-6 relative, in the
// tests; see TestWinogradErrorBound for the bound), and the results differ
// from Conv2D's in the last bits. The factorised 1x7/7x1 and 1x3/3x1 convs
// (at least 96 input and output channels) likewise run the 1-D algorithms
// F(3, 7) and F(2, 3) (Toom-Cook matrices built exactly at init, see
// toomCook): 2.3x and 1.5x fewer multiplications, errors of the same
// order.
// 3x3 convs with fewer than 25 tiles of 4x4 (14x14 and smaller planes)
// and 5x5 convs run F(2x2, 3x3) and F(2x2, 5x5) (2.25x and 2.8x fewer
// multiplications; the 3x3 ones read 16/9 instead of 4 times the plain
// weights per image).
//
// # Parallelism
//
// Parallel calls hand chunks to persistent helper goroutines (GOMAXPROCS-1
// of them, started on first use) through a queue; the caller works too.
// Helpers poll for the next job for 100 µs before they block, and a caller
// polls for its helpers as long before it blocks: the kernels of a forward
// pass follow each other within microseconds, and waking a parked
// goroutine costs tens. The polling yields the goroutine and, every 8th
// time, the thread (sched_yield on linux), so that on a busy machine a
// waiting thread that shares a core with the one it waits for gives it
// the core. A parallel call made while another one is running
// (a nested call, or another goroutine's) runs on its caller, since the
// cores are busy already; Parallel exposes the same loop to the engine,
// which runs the images of a batch with it. The hot kernels describe their
// work as pooled task objects instead of closures, so in the steady state
// no call allocates.
//
// # Errors
//
// Kernels panic only on programmer errors (inconsistent shapes, slices that
// are too short); the panic message names the kernel and the offending
// argument.
//
// # GEMM paths
//
// The GEMM (and so Conv2D) runs a packed, cache-blocked driver around an
// mr×nr register-blocked micro-kernel. Three paths exist: "generic" (pure Go
// 4×2 kernel, every platform), "avx2" (AVX2+FMA 6×16) and "avx512"
// (AVX-512F 12×32); the amd64 kernels are Go assembly generated with avo
// from internal/asm (go generate ./engine/kernels), and builds for other
// platforms or with the purego tag use only the generic path. The fastest
// path the CPU supports (golang.org/x/sys/cpu) is chosen at init; the
// INCEPTION_KERNEL environment variable (generic|avx2|avx512) forces one.
// KernelPath reports the active path. The avx512 path also has an edge
// variant of its micro-kernel (tiles narrower than 32 columns or shorter
// than 12 rows are stored through AVX-512 lane masks, with the same bits as
// the full kernel), AVX-512 row kernels for max and average pooling, and an
// AVX-512 panel copy for packing stride-1 convs, whole-plane pooling
// kernels and a dot product for the classifier; on the other paths these
// are pure Go (max pooling may then differ only in the sign of a zero).
// Within a path results are
// bit-reproducible: each output element is summed in a fixed order that does
// not depend on tiling, GOMAXPROCS or concurrent callers (different paths
// round differently).
//
// # Training kernels
//
// The trainer (train/gorgon) keeps feature maps as [C, N, H, W], so the
// planes of a channel for all images of a batch are contiguous. Taps
// (NewTaps, NewStridedTaps) runs a stencil of kernel taps over such runs
// of whole planes, vectorised over the flat element index across plane
// boundaries (a periodic table of AVX-512 lane masks says which lanes each
// tap reads): im2col rows (Gather), col2im (Sum, a gather rather than a
// scatter), and the max-pool gradient (MaxArg, MaxGrad, the same bits as a
// scatter in output order). ReLUMask and Sum64 are the ReLU and bias
// gradients; GemmPacked's transposed operands (the weight gradients'
// dy·colᵀ) are packed by transposing 16×16 blocks in registers. All of
// them have pure-Go versions on the other paths with the same results
// (Sum64: up to float64 rounding).
package kernels
