// Package nn is the block vocabulary every Inception variant is written in.
//
// A model is a tree of Blocks: primitives (Conv, BatchNorm, ReLU, MaxPool,
// AvgPool, GlobalAvgPool, AdaptiveAvgPool, LRN, Dropout, Flatten, Linear,
// Softmax, Affine, ChannelScale) and composites (Sequential, Branches — the
// parallel paths concatenated on channels —, Residual — a scaled residual add
// with an optional activation — and Tap, an auxiliary head). Blocks are plain
// values with keyed fields; they hold no weights.
//
// One tree, several interpreters. Lower walks a tree once at a given input
// shape and produces a Graph: a topologically ordered list of primitive
// nodes plus the two structural ops composites lower to (Concat, Add), each
// with its output shape, its parameter specs and its MACs. Every back end —
// the executor in package engine, the summary (Graph.Blocks), the ONNX
// exporter and the trainer — consumes that Graph, so an architecture is
// described exactly once.
//
// Parameter paths are hierarchical: a block's path is its parent's path, a
// dot, and its own Name (an empty Name is transparent), and a parameter's
// path is the block path plus the parameter name, as in PyTorch state dicts:
// "inception3a.branch2.1.conv.weight".
//
// # Adding a block type
//
// A new primitive touches each interpreter once; the tests of each say
// when one is missing:
//
//  1. nn/block.go: the Block type (keyed fields, no weights) and its
//     lowering, and nn/infer.go: its output shape, parameter specs and MACs
//     (the pool and conv size formulas are PoolOut and ConvOut).
//  2. engine/compile.go and engine/steps.go: the step that runs it (and
//     whether BatchNorm/affine folding or ReLU fusion applies), plus the
//     float64 reference in engine/reference_test.go and a case in
//     engine/randgraph_test.go.
//  3. onnx/convert/export.go: its ONNX nodes; onnx/convert/import.go if its
//     weights must be found by structure.
//  4. onnx/ops.go and onnx/ops_shape.go (the ONNX runner's op and its
//     attribute checks in onnx/attrs.go), and onnx/lower.go so that files
//     using it still run on the engine.
//  5. train/gorgon/net.go: its gorgonia op (forward and a float64
//     finite-difference gradient check in train/gorgon/ops_test.go).
//  6. A conformance golden (make goldens) for the first model that uses it.
package nn
