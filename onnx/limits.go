package onnx

// Limits bounds what loading and running a model may compute and keep,
// beyond the decoder's limits (LoadOptions.Decode.Limits, which also bound
// the rank and element count of every tensor the model computes). A zero
// (or negative) field takes its value from DefaultLimits. Exceeding a limit
// yields an error wrapping ErrLimit (and therefore ErrFormat), naming the
// limit and the node.
type Limits struct {
	// MaxBatch bounds the batch size (first dimension) Run accepts when
	// it differs from the declared one.
	MaxBatch int
	// MaxActivationBytes bounds the memory of one Run's intermediate
	// tensors and outputs (after buffer reuse).
	MaxActivationBytes int64
	// MaxFoldBytes bounds the bytes of the tensors computed ahead of Run:
	// all constant folding at Load together, and separately the values
	// each execution plan computes from its input shapes. Scratch space
	// counts too.
	MaxFoldBytes int64
	// MaxFoldOps bounds the arithmetic of the same computations, counted
	// as multiply-adds for Conv, Gemm and MatMul, window elements for
	// pools and LRN, and elements read and written for everything else.
	MaxFoldOps int64
	// MaxPlanBytes bounds the memory the interpreter's cached execution
	// plans keep: the values each plan computed from shapes, and the
	// packed conv weights of each input image size (shared by all batch
	// sizes). A plan that would take the cache over the limit evicts the
	// oldest ones; one larger than the limit is used once and not kept.
	MaxPlanBytes int64
}

// DefaultLimits accept every model of the zoo and the ONNX backend tests
// with wide margins while bounding what a hostile 1 KB file can make Load
// allocate or compute.
var DefaultLimits = Limits{
	// 4096: the engine's MaxBatch.
	MaxBatch: 4096,
	// 4 GiB of activations and outputs per Run.
	MaxActivationBytes: 4 << 30,
	// 1 GiB: 4.5 times Inception-ResNet-v2's float32 weights, so a
	// float16 export of it (whose weights are widened by Cast at Load)
	// fits with room; twelve ConstantOfShape([2^28]) nodes (12 GiB) fail
	// at the second.
	MaxFoldBytes: 1 << 30,
	// 2^31 multiply-adds, a few seconds of scalar work: exporters fold
	// shape arithmetic, Casts and Transposes of weights, a few million
	// operations; a 293-byte file folding a 4096x4096 Conv needs 10^14.
	MaxFoldOps: 1 << 31,
	// 256 MiB over all cached plans: two image sizes of a model the size
	// of Inception-v3 that runs on the interpreter (95 MB of weights).
	MaxPlanBytes: 256 << 20,
}

// withDefaults returns l with every non-positive field replaced by the
// corresponding DefaultLimits value.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxBatch <= 0 {
		l.MaxBatch = d.MaxBatch
	}
	if l.MaxActivationBytes <= 0 {
		l.MaxActivationBytes = d.MaxActivationBytes
	}
	if l.MaxFoldBytes <= 0 {
		l.MaxFoldBytes = d.MaxFoldBytes
	}
	if l.MaxFoldOps <= 0 {
		l.MaxFoldOps = d.MaxFoldOps
	}
	if l.MaxPlanBytes <= 0 {
		l.MaxPlanBytes = d.MaxPlanBytes
	}
	return l
}

// budget meters the tensors computed ahead of Run against MaxFoldBytes and
// MaxFoldOps: one budget for Load's constant folding, one per plan.
type budget struct {
	bytes, ops       int64
	maxBytes, maxOps int64
	what             string // "constant folding" or "planning for input shapes"
}

func newBudget(l Limits, what string) *budget {
	return &budget{maxBytes: l.MaxFoldBytes, maxOps: l.MaxFoldOps, what: what}
}

// charge records bytes and ops, failing (before anything is allocated or
// computed) when either total would pass its limit.
func (b *budget) charge(bytes, ops int64) error {
	if bytes < 0 || bytes > b.maxBytes-b.bytes {
		return limitErr("%s would hold %d more bytes (%d so far), over MaxFoldBytes %d", b.what, bytes, b.bytes, b.maxBytes)
	}
	if ops < 0 || ops > b.maxOps-b.ops {
		return limitErr("%s would need %d more operations (%d so far), over MaxFoldOps %d", b.what, ops, b.ops, b.maxOps)
	}
	b.bytes += bytes
	b.ops += ops
	return nil
}
