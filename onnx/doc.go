// Package onnx runs ONNX models in pure Go. Load decodes a model with the
// hardened decoder (package onnx/onnxir, which bounds every allocation by
// its Limits and classifies every error) and compiles it; Model.Run runs
// it on float32 tensors:
//
//	m, err := onnx.Load("model.onnx", onnx.LoadOptions{})
//	out, err := m.Run(map[string]*tensor.Tensor{"data_0": x})
//
// # Operators and attributes
//
// Every operator must be in SupportedOps() — the CNN operators of the
// Inception family plus the shape arithmetic exporters emit; anything else
// is ErrUnsupported naming the node. Attributes are validated at Load
// against the operator specification: kinds and required attributes,
// attributes the operator does not define (ErrFormat; a few of opsets
// before 7 that old exporters still write are ignored, as ONNX Runtime
// does), 0/1 flags, ranges (kernel, stride, dilation >= 1, pads >= 0 and
// smaller than the pooling window, group dividing the channels,
// BatchNormalization epsilon >= 0, LRN size >= 1 with alpha >= 0 and bias
// > 0, Dropout ratio in [0, 1)), lengths against the kernel rank, axes in
// range and not repeated, and finite float attributes. Clip with min >
// max follows the specification (every output is max).
//
// # Two executors
//
// Everything that does not depend on graph inputs is computed once, at
// Load. Then a graph whose run-time part fits the engine's vocabulary — one
// float input of fixed per-image shape [N, C, H, W] or [N, F]; Conv,
// BatchNormalization, per-channel Mul/Add/Sub/Div by constants, Relu,
// MaxPool, AveragePool, GlobalAveragePool, LRN, Concat on channels, Add and
// Sub of two values, Flatten/Reshape to [N, features], Gemm and MatMul by
// constant weights, Softmax over features, convert.Export's adaptive
// average pool (Reshape, MatMul by the bin matrix, Reshape), and Identity,
// Dropout and Cast to float as no-ops — is rebuilt as an nn.Graph and compiled by
// engine.Compile, so it runs exactly as a zoo model does: BatchNorm and
// scales folded into convs, ReLU fused, concat branches written in place,
// weights packed once, buffers shared by liveness, the images of a batch
// in parallel. Exports of zoo models and the ONNX Model Zoo's Inception
// files run this way. Any other graph runs on the interpreter, which
// folds BatchNormalization and per-channel constants into convs and fuses
// Relu too, packs conv weights once per input image size (every batch
// size shares them), and caches one execution plan per input shape
// (buffers shared by liveness, with the engine's planner). Model.Executor says which executor runs a model and, for the
// interpreter, why; LoadOptions.Interpret forces the interpreter.
//
// Run takes float32 tensors (RunTensors also takes integer ones), accepts
// any batch size from 1 to Limits.MaxBatch, and checks every other
// dimension against the declared input shape (a *TensorError wrapping
// ErrInput otherwise). A Model is safe for concurrent Run calls.
//
// # Untrusted models
//
// Load and Run never panic on untrusted models or inputs. Beyond the
// decoder's limits, Limits bounds what a model makes Load and Run compute
// and keep: the bytes and arithmetic of everything computed ahead of Run
// (MaxFoldBytes, MaxFoldOps — one budget for Load's constant folding, one
// per execution plan), the activation memory of one Run
// (MaxActivationBytes), the batch size (MaxBatch) and the memory of the
// cached plans (MaxPlanBytes). Exceeded limits wrap ErrLimit, itself an
// ErrFormat, and name the node.
package onnx
