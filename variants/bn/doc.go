// Package bninception builds BN-Inception (Ioffe and Szegedy, "Batch
// Normalization: Accelerating Deep Network Training by Reducing Internal
// Covariate Shift", arXiv:1502.03167, Figure 5), the network often called
// Inception v2, from its module table written as a Go table (Module):
//
//	module   #1x1  3x3 red → 3x3   dbl red → 3x3 → 3x3   pool + proj     out (608 | 576)
//	stem     conv 7x7/2 64, max 3x3/2, conv 1x1 64, conv 3x3 192, max 3x3/2   192 at 28×28
//	3a         64    64 →  64         64 →  96            avg + 32        256
//	3b         64    64 →  96         64 →  96            avg + 64        320
//	3c (s2)     –   128 → 160/2       64 →  96 →  96/2    max 3x3/2       576, 14×14
//	4a        224    64 →  96         96 → 128            avg + 128       576
//	4b        192    96 → 128         96 → 128            avg + 128       576
//	4c        160   128 → 160        128 → 160            avg + 128 | 96  608 | 576
//	4d         96   128 → 192        160 → 192            avg + 128 | 96  608 | 576
//	4e (s2)     –   128 → 192/2      192 → 256 → 256/2    max 3x3/2       1056 | 1024, 7×7
//	5a        352   192 → 320        160 → 224            avg + 128       1024
//	5b        352   192 → 320        192 → 224            max + 128       1024
//	head     7×7 average pool → fc 1024 → classes
//
// Two layouts share the table and the wiring:
//
//   - inception-bn (alias bninception): the model released in Caffe and
//     ported by Cadene (Modules608). Every conv has a bias and is followed by
//     BatchNorm (eps 1e-5) and ReLU; pools are Caffe ceil-rounded and the
//     in-block average pools count the padding. Parameter paths are Cadene's
//     flat attribute names: the conv "inception_3a_1x1" with its BN sibling
//     "inception_3a_1x1_bn", the stem "conv1_7x7_s2", "conv2_3x3_reduce",
//     "conv2_3x3", and "last_linear".
//   - inception-v2: the ONNX Model Zoo inception_v2, converted from Caffe2
//     (Modules576, the plan read off the graph, as in TF-slim). Every conv
//     has no bias and is followed by BatchNormalization (eps 1e-5), a Caffe
//     Scale layer (ONNX Mul and Add: nn.ChannelScale with bias) and ReLU.
//     Pools carry the graph's explicit padding (3×3/2 max pools pad bottom
//     and right by one) instead of ceil rounding, and average pools exclude
//     the padding (ONNX's default). The graph's Softmax is left out.
//     Parameters map one to one, in graph order, onto the graph's 485 weight
//     tensors: block names are the Caffe layer names with "/" read as "."
//     ("inception_3a.double3x3a", its BN "inception_3a.double3x3a.bn", its
//     Scale layer "inception_3a.double3x3a.bn.sc"), and ONNXName appends the
//     Caffe2 blob suffix: ".weight" ↔ "_w_0" and ".bias" ↔ "_b_0", except on
//     BN layers, where weight, bias, running_mean and running_var ↔
//     "_scale_0", "_bias_0", "_mean_0", "_var_0". So
//     "conv1.7x7_s2.weight" ↔ "conv1/7x7_s2_w_0",
//     "conv1.7x7_s2.bn.weight" ↔ "conv1/7x7_s2/bn_scale_0" and
//     "loss3.classifier.bias" ↔ "loss3/classifier_b_0"; ParamPath inverts it.
//
// TF-slim's inception_v2 (separable 7×7 stem, BN without gamma) is not
// built here.
package bninception
