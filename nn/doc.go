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
package nn
