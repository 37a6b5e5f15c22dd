// Package onnxir reads ONNX models from untrusted input into a validated
// Graph: the model, graph, node, tensor and attribute structures of the
// ONNX IR specification, with every tensor decoded to float32 or int64. It
// is the decoder only; package onnx (the parent directory) runs the
// decoded graphs, and onnx/convert maps their weights onto zoo models.
//
// # Supported models
//
// Decode accepts IR versions 1 to MaxIRVersion (13, ONNX 1.20) and
// default-domain ("" or "ai.onnx") opsets MinOpset..MaxOpset (7..21).
// Nodes in any other domain (ai.onnx.ml, custom domains) are rejected with
// ErrUnsupported naming the node. Tensors of type FLOAT, DOUBLE, FLOAT16
// and BFLOAT16 decode to float32; UINT8/16/32/64, INT8/16/32/64 and BOOL
// decode to int64; STRING, COMPLEX and the 8/4-bit float and int types
// are ErrUnsupported. Attributes of kind GRAPH(S), TENSORS, SPARSE_TENSOR(S)
// and TYPE_PROTO(S) (control flow, sparse data) are ErrUnsupported. Decode
// does not check operators against a runtime; see Graph.CheckOps.
//
// # Untrusted input
//
// Decode never panics. Every error wraps ErrFormat (malformed) or
// ErrUnsupported (valid but unhandled), except I/O errors of the reader;
// errors about one node or tensor are a *NodeError or *TensorError naming
// it. Memory is bounded by Limits, checked before allocation: the bytes
// read (MaxModelBytes, plus one to detect overflow), node count, tensor
// rank, per-tensor elements (with overflow-safe multiplication), total
// decoded tensor bytes and external bytes. Exceeded limits wrap ErrLimit,
// which itself wraps ErrFormat. DefaultLimits fit Inception-ResNet-v2
// (224 MB of float32 weights) with wide margins.
//
// The graph is checked for: duplicate initializers, graph inputs or
// outputs; a value produced twice, or produced by a node and also an
// initializer or graph input; node inputs that nothing produces (the empty
// name marks an omitted optional input and is allowed); graph outputs that
// nothing produces; cycles (the error names a node on the cycle); raw_data
// or typed-field sizes that disagree with dims; attribute values that
// disagree with their declared type or with the type the ONNX operator
// schema gives common attributes. NaN and ±Inf in initializers and tensor
// attributes are ErrFormat unless DecodeOptions.AllowNonFinite is set.
//
// External data is read only when DecodeOptions.BaseDir is set (DecodeFile
// sets it to the model's directory). A location must be relative, free of
// ".." components, and resolve — after symlinks — inside BaseDir; the file
// is then opened through os.Root. Violations wrap ErrUnsafePath (an
// ErrFormat). Offset and length must lie within the file and match the
// tensor's size exactly.
//
// DecodeTensor and EncodeTensor read and write single TensorProto files
// (the input_N.pb / output_N.pb files of ONNX test data).
package onnxir
