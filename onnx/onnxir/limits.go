package onnxir

// Limits bounds the resources that decoding an untrusted model may consume.
// Each limit is checked before the corresponding memory is allocated. A zero
// (or negative) field takes its value from DefaultLimits. Exceeding a limit
// yields an error wrapping ErrLimit (and therefore ErrFormat).
type Limits struct {
	// MaxTensorElements bounds the element count of any one tensor
	// (initializer, tensor attribute, or TensorProto file).
	MaxTensorElements int64
	// MaxInitializerBytes bounds the decoded in-memory size of all tensors
	// of a model together (4 bytes per element in Tensor.Float, 8 per
	// element in Tensor.Int), summed as tensors are decoded.
	MaxInitializerBytes int64
	// MaxNodes bounds the number of nodes in the graph.
	MaxNodes int
	// MaxRank bounds the rank of tensors and value shapes.
	MaxRank int
	// MaxModelBytes bounds the serialized size of the model (or
	// TensorProto) read from the input.
	MaxModelBytes int64
	// MaxParseBytes bounds how much more memory than the input's size
	// unmarshalling the protobuf may take (message structs, slice and
	// string headers, numbers widened from 1-byte varints), as estimated
	// by a pre-scan of the wire format before anything is unmarshalled.
	MaxParseBytes int64
	// MaxExternalDataBytes bounds the total bytes read from external data
	// files for one model.
	MaxExternalDataBytes int64
}

// DefaultLimits are generous enough for the large image classifiers this
// project targets — Inception-ResNet-v2 has 56M parameters, 224 MB as
// float32, fewer than 2,000 nodes and rank-4 tensors — while keeping a
// hostile file from making the decoder allocate more than a few GiB.
var DefaultLimits = Limits{
	// 2^28 elements = 1 GiB of float32: VGG-16's fc6 weight (102.8M
	// elements), the largest single tensor of the classic ImageNet
	// models, fits 2.6 times over.
	MaxTensorElements: 1 << 28,
	// 2 GiB decoded: 9x Inception-ResNet-v2, and room for a 1 GiB float16
	// model that widens to float32.
	MaxInitializerBytes: 2 << 30,
	// 100,000 nodes: ~50x Inception-ResNet-v2's node count, including
	// exporter-generated shape arithmetic (ConstantOfShape chains).
	MaxNodes: 100_000,
	// Rank 8: ONNX operators and backend tests stay at rank <= 6; CNNs use 4.
	MaxRank: 8,
	// 1 GiB serialized: 4.5x Inception-ResNet-v2. Protobuf caps a single
	// message at 2 GiB; larger models must use external data anyway.
	MaxModelBytes: 1 << 30,
	// 256 MiB beyond the input: Inception-ResNet-v2's export needs well
	// under 1 MiB more than its size; a file of 100,000 nodes with ten
	// attributes each about 300 MiB in all. An empty NodeProto is 2 bytes
	// of input and over 200 of memory, so without this bound a 16 MiB
	// file could take gigabytes.
	MaxParseBytes: 256 << 20,
	// 2 GiB of external data: matches MaxInitializerBytes for float32.
	MaxExternalDataBytes: 2 << 30,
}

// WithDefaults returns l with every non-positive field replaced by the
// corresponding DefaultLimits value.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	if l.MaxTensorElements <= 0 {
		l.MaxTensorElements = d.MaxTensorElements
	}
	if l.MaxInitializerBytes <= 0 {
		l.MaxInitializerBytes = d.MaxInitializerBytes
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxRank <= 0 {
		l.MaxRank = d.MaxRank
	}
	if l.MaxModelBytes <= 0 {
		l.MaxModelBytes = d.MaxModelBytes
	}
	if l.MaxParseBytes <= 0 {
		l.MaxParseBytes = d.MaxParseBytes
	}
	if l.MaxExternalDataBytes <= 0 {
		l.MaxExternalDataBytes = d.MaxExternalDataBytes
	}
	return l
}
