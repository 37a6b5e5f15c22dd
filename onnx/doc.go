// Package onnx runs ONNX models in pure Go: Load decodes a model with the
// hardened decoder (package onnx/onnxir, which bounds every allocation by
// its Limits and classifies every error) and compiles it for execution on
// engine/kernels.
//
// # Running models
//
// Load (or LoadReader) decodes a model and compiles it for execution in
// pure Go on engine/kernels: every operator must be in SupportedOps() (the
// CNN operators of the Inception family plus the shape arithmetic that
// exporters emit; anything else is ErrUnsupported naming the node), and
// attributes are validated then. Everything that does not depend on graph
// inputs is computed once; BatchNormalization and per-channel Mul/Add by
// constants are folded into the preceding Conv, and Relu fused into it.
// Model.Run takes float32 tensors (RunTensors also takes integer ones),
// accepts any batch size from 1 to LoadOptions.MaxBatch, checks every other
// dimension against the declared input shape (a *TensorError wrapping
// ErrInput otherwise), and caches one execution plan per input shape, with
// intermediate buffers shared by liveness and bounded by Limits and
// LoadOptions.MaxActivationBytes. A Model is safe for concurrent Run
// calls, and Load and Run never panic on untrusted models or inputs.
package onnx
