package statedict

// Limits bounds the resources that reading an untrusted file may consume.
// Each limit is checked before the corresponding memory is allocated. A
// zero (or negative) field takes its value from DefaultLimits. Exceeding a
// limit yields an error wrapping ErrLimit (and therefore ErrFormat).
type Limits struct {
	// MaxFileBytes bounds the size of the input file.
	MaxFileBytes int64
	// MaxTensors bounds the number of storages in a PyTorch file, the
	// number of entries of the state dict, and the number of tensors in a
	// safetensors header.
	MaxTensors int
	// MaxTensorElements bounds the element count of any one tensor or
	// storage.
	MaxTensorElements int64
	// MaxRank bounds the number of dimensions of a tensor.
	MaxRank int
	// MaxTotalBytes bounds the float32 memory the result and the
	// intermediate storages of shared or strided views take together
	// (4 bytes per element).
	MaxTotalBytes int64
	// MaxPickleBytes bounds the size of one pickle stream (data.pkl, or
	// one of the pickles of the legacy format).
	MaxPickleBytes int64
	// MaxPickleOps bounds the number of opcodes one pickle may execute.
	// Each opcode allocates at most a few small objects, so this bounds
	// the unpickler's memory.
	MaxPickleOps int
	// MaxPickleMemo bounds the number of memo entries of one pickle.
	MaxPickleMemo int
	// MaxPickleDepth bounds the MARK nesting of a pickle and the nesting
	// depth of the tuples, lists and dicts it builds.
	MaxPickleDepth int
	// MaxZipEntries bounds the number of entries of a zip archive.
	MaxZipEntries int
	// MaxHeaderBytes bounds the JSON header of a safetensors file.
	MaxHeaderBytes int64
}

// DefaultLimits returns limits generous enough for the largest checkpoints
// this project reads — Inception-ResNet-v2 (56M parameters, 224 MB as
// float32, under 1,000 state-dict entries) and pytorch-fid's Inception-v3
// (96 MB) — with room for float64 copies and optimizer state, while
// keeping a hostile file from making the reader allocate more than a few
// GiB. For scale: torchvision's Inception-v3 state dict (580 entries,
// 109 MB) has an 82 KB data.pkl that executes 20,000 opcodes with 5,073
// memo entries and nests 3 deep.
func DefaultLimits() Limits {
	return Limits{
		// 4 GiB: a float64 Inception-ResNet-v2 with its optimizer state.
		MaxFileBytes: 4 << 30,
		// 100,000 entries: 100x Inception-ResNet-v2.
		MaxTensors: 100_000,
		// 2^28 elements = 1 GiB of float32: VGG-16's fc6 weight (102.8M
		// elements), the largest tensor of the classic ImageNet models,
		// fits 2.6 times (the same bound as package onnx).
		MaxTensorElements: 1 << 28,
		// Rank 8: CNN weights are rank 4 (rank 5 for 3-D convolutions).
		MaxRank: 8,
		// 2 GiB of float32: 9x Inception-ResNet-v2 (package onnx's bound).
		MaxTotalBytes: 2 << 30,
		// 64 MiB: 800x Inception-v3's data.pkl.
		MaxPickleBytes: 64 << 20,
		// 4M opcodes: 200x Inception-v3's data.pkl; at most a few hundred
		// MB of unpickler objects.
		MaxPickleOps: 1 << 22,
		// 1M memo entries: 200x Inception-v3's.
		MaxPickleMemo: 1 << 20,
		// 64: state dicts nest 3 deep (dict, tensor args, persistent id);
		// checkpoints with optimizer state about 6.
		MaxPickleDepth: 64,
		// 200,000 entries: one per storage plus a few bookkeeping files.
		MaxZipEntries: 200_000,
		// 16 MiB: a safetensors header takes about 100 bytes per tensor,
		// so 160,000 tensors (the Rust reference allows 100 MB).
		MaxHeaderBytes: 16 << 20,
	}
}

// withDefaults returns l with every non-positive field replaced by the
// corresponding DefaultLimits value.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	def64 := func(v *int64, dv int64) {
		if *v <= 0 {
			*v = dv
		}
	}
	def := func(v *int, dv int) {
		if *v <= 0 {
			*v = dv
		}
	}
	def64(&l.MaxFileBytes, d.MaxFileBytes)
	def(&l.MaxTensors, d.MaxTensors)
	def64(&l.MaxTensorElements, d.MaxTensorElements)
	def(&l.MaxRank, d.MaxRank)
	def64(&l.MaxTotalBytes, d.MaxTotalBytes)
	def64(&l.MaxPickleBytes, d.MaxPickleBytes)
	def(&l.MaxPickleOps, d.MaxPickleOps)
	def(&l.MaxPickleMemo, d.MaxPickleMemo)
	def(&l.MaxPickleDepth, d.MaxPickleDepth)
	def(&l.MaxZipEntries, d.MaxZipEntries)
	def64(&l.MaxHeaderBytes, d.MaxHeaderBytes)
	return l
}
