// Package gorgon is the gorgonia back end of package train: it builds the
// same lowered graph the engine executes (nn.Lower → *nn.Graph, one type
// switch over the primitive ops) as a gorgonia expression graph with a
// softmax cross-entropy loss, and differentiates it symbolically
// (gorgonia.Grad) for a TapeMachine.
//
// # Parameters
//
// Parameter nodes share memory with the nn.Params tensors (their values
// are gorgonia tensors over the same backing arrays): nothing is copied in
// at Build or out after a step, so optimizer updates of Params are the
// graph's weights and Params is always ready for engine.Compile,
// convert.Export or a checkpoint. Parameters outside Config.Trainable are
// constants of the graph. Net.Step clears gorgonia's gradient buffers
// before each pass (gorgonia accumulates into them; its own solvers zero
// them after an update).
//
// # Layout
//
// Inside the graph, feature maps are CNHW ([C, N, H, W]: channel c of image
// n is the plane at (c·N+n)·H·W), vectors are [N, F]. In CNHW a
// convolution over the whole batch is one GEMM per group,
// W[Out, K]·col[K, N·OH·OW], written straight into the [Out, N·OH·OW]
// output; the column matrix of a 1×1 stride-1 convolution is the input
// itself, and the data and weight gradients are the GEMMs Wᵀ·dy and
// dy·colᵀ. A concatenation on channels joins contiguous blocks and every
// per-channel op (bias, BatchNorm) reads one contiguous block per channel.
// Net.Step transposes its NCHW batch on the way in; Flatten transposes
// back to [N, C·H·W] (per-sample NCHW order, as nn.Flatten).
//
// # Ops
//
// From gorgonia: Mean (the loss), Add and Mul by a scalar (auxiliary
// losses), SoftMax (a Softmax that is not the final op), and the Add nodes
// gorgonia inserts to sum the gradients of a node used several times.
//
// Custom ops (Op + SDOp, forward and gradient kernels in float32 and
// float64, every gradient checked against central finite differences in
// float64, every forward against engine/kernels or gorgonia):
//   - convolution with groups, per-side padding, stride and dilation, its
//     bias and a following ReLU fused into the GEMM's store; each GEMM's A
//     operand (weights, their transpose, or a chunk of the output
//     gradient) is packed once (kernels.PackA, kernels.GemmPacked);
//     kernel taps that only ever read padding are left out of the GEMMs
//     (a 3×3 convolution on a 1×1 map is the 1×1 convolution of its
//     centre tap); im2col over chunks of images (at most 8 MiB of columns
//     at a time), through a gather table for small maps;
//   - max pooling with ceil mode, per-side padding and dilation (the
//     forward by kernels.MaxPool2D); the gradient goes to the first
//     maximal cell of each window, as the forward picks, found without
//     branches through a window table;
//   - average pooling with or without count_include_pad, ceil mode and
//     per-side padding; global average pooling;
//   - LRN with ONNX semantics;
//   - BatchNorm: in training (when its scale or shift is learned) batch
//     statistics with PyTorch's running-statistics update (momentum,
//     unbiased variance) done in place in Params; frozen BatchNorms use the
//     running statistics;
//   - ReLU, the residual sum a + s·b (+ReLU), concatenation and its
//     channel slices, Flatten, Linear (x·Wᵀ + b), bias add and per-channel
//     scale (Conv and Linear biases, ChannelScale), constant per-channel
//     affine (Affine);
//   - seeded inverted dropout: a Dropout's mask is a pure function of
//     (Config.Seed, its path, the step), so a resumed run draws the masks
//     of an uninterrupted one; Config.DropoutAsIdentity trains it as the
//     identity instead;
//   - fused softmax cross-entropy per sample (stable log-sum-exp).
//
// Auxiliary heads (nn.Tap) are built when Config.AuxWeight > 0: the loss
// is the main head's mean cross-entropy plus AuxWeight times each
// auxiliary head's.
//
// # Memory
//
// Every custom op owns its output tensor and overwrites it at each step,
// so a training step in the steady state allocates no activation or
// gradient memory (gorgonia's tape machine drops its registers at Reset;
// ops that allocated their outputs made every step page in fresh memory).
// Convolutions share one column-matrix scratch buffer per precision.
//
// # BLAS
//
// Build calls UseFastBLAS once: gorgonia.Use(BLAS{}), gonum's pure-Go
// implementation with Sgemm replaced by engine/kernels.Sgemm (the zoo's
// packed AVX-512/AVX2 SGEMM). It is process-global, as gorgonia.Use is;
// no cgo.
package gorgon
