// Package inceptionv1 builds the GoogLeNet / Inception v1 family (Szegedy et
// al., "Going deeper with convolutions", arXiv:1409.4842) from the paper's
// Table 1, written as a Go table (Modules):
//
//   - inception-v1 (alias googlenet): the paper / BVLC Caffe layout: conv
//     biases, a real 5×5 branch, two LRN layers, Caffe ceil-rounded pooling,
//     7×7 average pool, dropout 0.4. Parameter paths are the Caffe layer
//     names with "/" read as ".", e.g. "inception_3a.3x3_reduce.weight", so
//     ONNX Model Zoo initialisers ("inception_3a/3x3_reduce_w_0") map by name.
//   - inception-v1-tv: torchvision's googlenet: conv + BN(eps 1e-3) + ReLU
//     units, the 3×3 kernel in the "5×5" branch (pytorch/vision#906, kept on
//     purpose so torchvision weights load), ceil-mode pools, a 2×2 last stage
//     pool, optional transform_input and aux heads; torchvision state-dict paths.
//   - inception-v1-d2l: the Dive into Deep Learning GoogLeNet for 1×96×96
//     Fashion-MNIST with 10 classes.
//
// Import it under an explicit name: the directory is v1 but the package is
// inceptionv1.
package inceptionv1
