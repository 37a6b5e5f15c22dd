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
// # Ops
//
// From gorgonia: Rectify (ReLU), Concat on axis 1, Reshape (Flatten), Mul
// and Transpose (Linear), Add and Mul by a scalar (residual), SoftMax (a
// Softmax that is not the final op), Mean (the loss), and optionally
// Conv2d (Config.GorgoniaConv; symmetric padding only).
//
// Custom ops (Op + SDOp, forward and gradient kernels in float32 and
// float64, every gradient checked against central finite differences in
// float64, every forward against engine/kernels):
//   - convolution: im2col of the whole batch and one GEMM per direction,
//     per-side padding, stride, dilation. gorgonia's Conv2d is correct but
//     ends in a materialised NHWC→NCHW transpose and single-core im2col;
//     those took about a third of a training step at 32×32, so the custom
//     op is the default;
//   - max pooling with ceil mode, per-side padding and dilation (gorgonia's
//     has no ceil mode and mis-offsets asymmetric padding); the gradient
//     goes to the first maximal cell of each window, as the forward picks;
//   - average pooling with or without count_include_pad, ceil mode and
//     per-side padding (gorgonia's divides by the input width);
//   - global average pooling (gorgonia's boxes every element);
//   - LRN with ONNX semantics (gorgonia has none);
//   - BatchNorm: in training (when its scale or shift is learned) batch
//     statistics with PyTorch's running-statistics update (momentum,
//     unbiased variance) done in place in Params; frozen BatchNorms use the
//     running statistics (gorgonia's BatchNorm resets its statistics
//     unless the machine is in EvalMode);
//   - bias add and per-channel scale on axis 1 (Conv and Linear biases,
//     ChannelScale), constant per-channel affine (Affine);
//   - fused softmax cross-entropy per sample (stable log-sum-exp).
//
// Dropout has no seeded implementation yet: Build refuses a Dropout with
// P > 0 unless Config.DropoutAsIdentity. Auxiliary heads (Tap) are not
// built. Grouped convolutions are refused.
//
// # BLAS
//
// Build calls UseFastBLAS once: gorgonia.Use(BLAS{}), gonum's pure-Go
// implementation with Sgemm replaced by engine/kernels.Sgemm (the zoo's
// packed AVX-512/AVX2 SGEMM). It is process-global, as gorgonia.Use is;
// no cgo.
package gorgon
