// Package onnxgo is a backend for github.com/owulveryck/onnx-go v0.5.0 that
// runs the decoded graph on this module's pure-Go ONNX runner (package onnx).
// Programs written against onnx-go's API get our operators, among them the
// LRN, AveragePool, asymmetric pads and ceil-mode pools that onnx-go's own
// gorgonia backend (gorgonnx) lacks:
//
//	b := onnxgo.New()
//	m := ogo.NewModel(b)          // ogo is github.com/owulveryck/onnx-go
//	err := m.UnmarshalBinary(data)
//	err = m.SetInput(0, x)        // x is a gorgonia.org/tensor Tensor
//	err = b.Run()
//	outs, err := m.GetOutputTensors()
//
// # How it works
//
// onnx-go's decoder drives a Backend through a narrow interface: it creates
// one graph node per value (NewNode, AddNode, SetName), stores initializers
// and placeholder tensors on them (SetTensor), links each operator's output
// nodes to its input nodes with edges weighted by the input's position
// (SetWeightedEdge), and announces each operator with its type and
// attributes (ApplyOperation). The Backend records all of it. On the first
// Run (or Compile) it rebuilds an ONNX ModelProto from the record
// (package onnx/onnxpb), loads it with onnx.LoadReader — which validates
// it as it validates any untrusted file — and runs it. Run reads the graph
// inputs from the tensors set on their nodes after decoding and writes each
// graph output to its node, where Model.GetOutputTensors finds it. Later
// Runs reuse the compiled model; setting an initializer's tensor or applying
// another operation recompiles.
//
// # What the interface does not carry, and how the Backend copes
//
//   - Opsets: onnx-go never passes opset_import. Unless WithOpset says
//     otherwise, the Backend infers the default-domain opset from evidence
//     in the graph: attributes that later opsets removed (Unsqueeze/Squeeze/
//     Split/ReduceSum "axes" or "split" → ≤ 12, Dropout "ratio" → ≤ 11,
//     Clip "min"/"max" and Pad "pads" → ≤ 10, BatchNormalization "spatial"
//     → ≤ 8) and features that later opsets added (pool "ceil_mode" → ≥ 10,
//     Gemm without C, Pad/Clip inputs → ≥ 11, Dropout ratio input → ≥ 12,
//     Unsqueeze/Squeeze/Split axes input → ≥ 13, Reduce* axes input (except
//     ReduceSum) → ≥ 18). It takes DefaultOpset (13) clamped to the range
//     the evidence allows. Operators whose semantics changed without a
//     visible trace (Softmax/LogSoftmax on tensors of rank > 2 before and
//     after opset 13) follow the chosen opset; set WithOpset for such files.
//   - Graph inputs, initializers and outputs: onnx-go tells the backend
//     none of them. The Backend reconstructs them from the order of the
//     decoder's calls (onnx-go v0.5.0 creates the graph inputs, then
//     value_info and outputs, then initializers, then operator values):
//     a value no operator produces is an initializer if its tensor was set
//     twice during decoding (an initializer also listed as a graph input,
//     IR < 4) or was created after the first operator-produced value;
//     otherwise it is a graph input. Graph outputs are the operator-produced
//     values that got a placeholder tensor during decoding, that is the
//     typed graph outputs and value_info entries alike: value_info values
//     become outputs too (computed and written to their nodes; correct,
//     but they keep the runner from fusing across them). When no value is
//     typed, the values no operator consumes are the outputs.
//   - Input shapes: onnx-go drops symbolic dimensions from the placeholder
//     tensors ([N,3,224,224] arrives as [3,224,224]), so the rebuilt model
//     declares its inputs without a shape, and the runner accepts any shape
//     the graph can compute (any batch size).
//   - Input order: onnx-go's Model.SetInput(i, t) sets the tensor of node
//     ID i, which is the i-th entry of the file's graph input list,
//     initializers included. For files that list initializers before the
//     data input (IR < 4 files such as the ONNX suite's light_inception_v1,
//     whose first graph input is a bias), SetInput(0) overwrites that
//     weight instead; set such inputs through Model.GetNodeByName(name) and
//     onnx-go's DataCarrier. Run reports a graph input that was never set
//     (ErrInput) rather than running on the placeholder.
//   - Node names and domains: ApplyOperation carries only op_type and
//     attributes, so node names are lost (the rebuilt nodes are named
//     <op_type>_<index>) and every node is taken to be in the default
//     domain.
//   - Repeated inputs: gonum's graph keeps one edge per node pair, but the
//     Backend keeps every SetWeightedEdge call, so Add(x, x) and a Concat of
//     the same value twice keep all their input positions.
//   - Omitted optional inputs and outputs (the empty name) arrive as one
//     node named ""; the Backend writes them back as omitted. Operators
//     without inputs (Constant) get a fake input "<node>/input" from onnx-go,
//     which the Backend drops.
//   - Attribute kinds survive as Go types (float32, int64, string, tensors
//     and their slices). GRAPH, TENSORS and sparse attributes make onnx-go's
//     decoder fail before the Backend sees them. Tensors (initializers and
//     TENSOR attributes) pass through onnx-go's converter, which handles
//     only FLOAT, DOUBLE, INT32, INT64 and BOOL, reads no external data, and
//     copies float data element by element (slow for 200 MB models).
//   - Metadata, doc strings and the IR version are not passed; the rebuilt
//     model uses the IR version that goes with the chosen opset.
//
// A Backend is safe for concurrent use, but an onnx-go Model is not: Run
// takes the inputs set on the nodes at the time of the call.
package onnxgo
