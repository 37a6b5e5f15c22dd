// Package engine compiles a lowered block graph (nn.Graph) and its
// parameters into an execution plan and runs it on float32 NCHW tensors of
// any batch size.
//
// Compile folds BatchNorm, per-channel scales and fixed affines into the
// preceding conv (kernels.Affine, the module's one folding), fuses ReLUs
// into conv, linear and affine epilogues, lets concat branches write
// straight into their channel slice of the concat output, runs
// element-wise ops in place where their input dies, and assigns activation
// buffers by liveness (internal/liveness, the planner the ONNX runner uses
// too) so buffers are reused within a run. The code follows those jobs:
// compile.go groups nodes into steps and folds weights, storage.go places
// every value, steps.go builds the kernel calls, runtime.go runs them.
// Graphs come from nn.Lower (zoo models) or nn.Builder (the ONNX runner's
// lowering of foreign graphs, generated test graphs). A Model is
// immutable after Compile and safe for concurrent use: each Run takes a
// workspace (all activation buffers for one image) from a pool and returns
// it afterwards, so buffers are also reused across calls. A batch of one
// image runs every kernel call in parallel (tiles of the layer over the
// cores); a larger batch runs groups of images in parallel, one group per
// core, each through its own workspace with kernels that stay on that core
// (a group is one image, or up to four for models with small activations
// such as inception-v1-d2l), so each group's activations stay in cache from
// layer to layer. Profile times every step (the inception bench --layers
// command prints it).
//
// Convolution weights are folded and then packed once, at Compile, for the
// GEMM micro-kernel path active at that time (kernels.NewConv); convs run as
// implicit GEMMs with no im2col buffer. RunInto writes the main output into
// a caller-provided tensor and allocates nothing in the steady state;
// MemoryStats reports the planned activation bytes against one buffer per
// value.
//
// CompileWith's Options.Taps keep intermediate values (block outputs, say)
// for RunNodes, which returns them with the model outputs from the same
// pass: a tapped value is planned like a model output (kept alive to the
// end of the run, never overwritten in place, never folded away) and
// copied once from the workspace into its result tensor, as the main
// output is. The copy is needed because workspaces are pooled and reused
// by the next run, and because a batch runs in groups of images on
// separate workspaces while the result is one [N, ...] tensor.
//
// The kernels live in engine/kernels; the plan only calls them.
package engine
