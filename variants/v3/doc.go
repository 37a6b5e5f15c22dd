// Package inceptionv3 builds Inception v3 (Szegedy, Vanhoucke, Ioffe,
// Shlens and Wojna, "Rethinking the Inception Architecture for Computer
// Vision", arXiv:1512.00567) in the layout of torchvision and timm, whose
// state-dict keys its parameter paths reproduce ("Mixed_5b.branch1x1.conv.weight").
//
// The architecture is written as Go tables:
//
//   - Stem: Conv2d_1a_3x3 (3x3/2, 32, valid), Conv2d_2a_3x3 (3x3, 32,
//     valid), Conv2d_2b_3x3 (3x3, 64, pad 1), maxpool1 (3x3/2), Conv2d_3b_1x1
//     (1x1, 80), Conv2d_4a_3x3 (3x3, 192, valid), maxpool2 (3x3/2): 192×35×35
//     at 299. The paper's Table 1 shows a single 3×3 after the first pool;
//     the implementations (and the weights) have the 1×1 80 + 3×3 192 pair.
//   - BlocksA (Mixed_5b–5d, 35×35; pool_features 32, 64, 64 → 256, 288, 288),
//     BlocksB (Mixed_6a, 35→17, 768), BlocksC (Mixed_6b–6e, 17×17, 768,
//     channels_7x7 128, 160, 160, 192), BlocksD (Mixed_7a, 17→8, 1280) and
//     BlocksE (Mixed_7b–7c, 8×8, 2048). The columns of each row type are
//     the block's branch widths in concat order.
//   - Head: global average pool, dropout 0.5, fc 2048→classes. The optional
//     AuxLogits head (avg pool 5/3, 1x1 128, 5x5 768, fc 768→classes) taps
//     the Mixed_6e output.
//
// Every conv is a BasicConv2d (nn.ConvUnit: conv without bias, BN eps 1e-3,
// ReLU); factorised 1×7/7×1 convs pad (0,3)/(3,0) and 1×3/3×1 pad
// (0,1)/(1,0); in-block average pools count the padding as torchvision does.
//
// Import it under an explicit name: the directory is v3 but the package is
// inceptionv3.
package inceptionv3
