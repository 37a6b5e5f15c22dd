// Package convert moves zoo models to and from ONNX: Export writes a
// lowered nn.Graph and its parameters as an ONNX model, and ImportWeights
// maps the weights of an ONNX file onto a zoo graph.
//
// # Export
//
// Export walks the same lowered graph (nn.Graph.Nodes) the engine executes,
// with one type switch over the primitive ops; no architecture is described
// twice. The model has one input "input" [N, C, H, W] with a symbolic batch
// dimension "N", the main output "output" [N, classes] and one further
// output per auxiliary head, named by the head's path. Every parameter is an
// initializer named by its parameter path ("inception3a.branch1.conv.weight")
// with its parameter shape, and there are no other initializers: constants
// that are not parameters (Affine scales and shifts, residual scales,
// reshape shapes, the ones scale of a NoScale BatchNorm, adaptive-pooling
// matrices) are Constant nodes. Convolutions and BatchNormalization stay
// separate (nothing is folded), so an export imports back bit for bit.
//
// Op mapping: Conv → Conv; BatchNorm → BatchNormalization (epsilon set; a
// NoScale BatchNorm gets a Constant of ones named "<path>.weight.ones" as
// its scale); ChannelScale → Mul (+ Add) by its [C] parameters reshaped to
// [C,1,1]; Affine → Mul and Add by [C,1,1] constants; ReLU → Relu; MaxPool
// and AvgPool → MaxPool and AveragePool with explicit 4-value pads,
// ceil_mode and count_include_pad; GlobalAvgPool → GlobalAveragePool;
// AdaptiveAvgPool → AveragePool when the bins are uniform (H and W
// divisible by the grid), otherwise Reshape → MatMul by a constant
// [H·W, oh·ow] averaging matrix → Reshape (PyTorch's bins, exact up to
// summation order); LRN → LRN; Dropout → nothing (Identity where its value
// is a graph output); Flatten → Flatten(axis 1); Linear → Gemm(transB=1)
// (without bias: Gemm without C from opset 11, Transpose + MatMul before);
// Softmax → Softmax(axis 1); Concat → Concat(axis 1); the residual Add →
// Mul by a scalar Constant when the scale is not 1, Add, Relu if set.
//
// Opsets 9 to 21 are accepted (default 13); ir_version is the lowest that
// admits the opset (the official ONNX version table). At opset 9, which has
// no ceil_mode, a ceil-mode pool becomes a floor-mode pool with extra end
// padding: exact for MaxPool (padded cells never win) and for AveragePool
// without count_include_pad (padded cells are not counted); an AveragePool
// with count_include_pad whose ceil rounding matters is an error naming the
// node. Output bytes are deterministic. Initializer data is streamed to the
// writer, so exporting does not hold a second copy of the weights.
//
// # Import
//
// ImportWeights (and Import, with options) assigns every parameter of a zoo
// graph from an ONNX file, checking every shape. Strategies, tried in order:
//
//  1. by name: the file's weight names are the parameter paths (our own
//     exports; torch.onnx.export without BatchNorm folding);
//  2. by a naming function (ImportOptions.Names): e.g. the Caffe2 names of
//     the ONNX Model Zoo ("inception_3a/1x1_w_0");
//  3. by structure: the file's Conv, Gemm/MatMul and BatchNormalization
//     nodes in topological order against the graph's Conv, Linear and
//     BatchNorm nodes in graph order, one to one (torch.onnx.export with
//     BatchNorm folded into the convs, names like "onnx::Conv_123").
//
// A file's weights are its FLOAT initializers and the outputs of
// ConstantOfShape nodes with a constant shape (the ONNX test suite's
// "light" models), filled with the node's value. A tensor fits a parameter
// when the shapes are equal or equal once size-1 axes are dropped (Caffe2
// stores the classifier weight as [1, 1, out, in]). In the name strategies
// every parameter must be found, and every weight of the file must be
// used, except single-element tensors (scalar constants of elementwise
// ops, such as torchvision's transform_input factors). Float constants of
// Constant nodes are structure, not weights. In the structural strategy
// the weights are the inputs of the matched nodes; other float tensors
// (elementwise constants) are ignored.
//
// Folded BatchNorm: when the file's conv has a bias and the graph's conv
// has none but is followed by a BatchNorm the file lacks, the conv gets the
// file's weight and the BatchNorm becomes the exact identity plus the
// file's bias: gamma = 1, beta = bias, running_mean = 0 and running_var =
// the float32 nearest to 1 − eps. The engine computes the BatchNorm scale
// 1/√(var + eps) in float64; that scale is within 2⁻²⁶ of 1, closer than
// half a float32 ulp of any weight, so the folded weights come back bit for
// bit and the bias is beta exactly (TestFoldedBNIdentity).
//
// torchvision's transform_input appears in an export as a Gather / Mul /
// Add / Concat chain between the input and the first Conv. Import (every
// strategy) compares whether such a chain of elementwise and indexing ops
// feeds the file's first Conv with whether an Affine feeds the graph's
// first Conv: a mismatch is an error wrapping ErrTransformInput that says
// which way to load the model. The chain's constants are not compared with
// the model's (they are torchvision's fixed ImageNet statistics).
package convert
