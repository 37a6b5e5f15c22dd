// Package inceptionv4 builds Inception-v4, Inception-ResNet-v2 and
// Inception-ResNet-v1 (Szegedy, Ioffe, Vanhoucke & Alemi, "Inception-v4,
// Inception-ResNet and the Impact of Residual Connections on Learning",
// arXiv:1602.07261) from the paper's blocks, written as Go tables:
//
//   - ReductionAFilters is the paper's Table 1, the k, l, m, n filter
//     counts of Reduction-A (Fig 7) for each of the three networks; the one
//     ReductionA constructor serves all three.
//   - InceptionV4 (a V4Layout) holds the stem (Fig 3), Inception-A/B/C
//     (Figs 4–6) and Reduction-B (Fig 8) rows and the block counts 4/7/3
//     (Fig 9).
//   - InceptionResNetV2 and InceptionResNetV1 (ResNetLayouts) hold the stem,
//     the residual A/B/C rows (Block35, Block17, Block8: Figs 10–13 and
//     16–19), the residual Reduction-B row, block counts, residual scales
//     and head.
//
// The models:
//
//   - inception-v4: timm inception_v4 / Cadene inceptionv4 layout and
//     parameter paths ("features.0.conv.weight" … "features.21.branch3.1.bn.bias",
//     "last_linear.weight"). 42,679,816 parameters, 12.25 GMACs at 299.
//   - inception-resnet-v2: the TF-slim structure that every released
//     checkpoint uses (not the paper figures: v3-like stem and mixed_5b,
//     10/20/9 residual blocks plus a final scale-1.0 block8 without ReLU,
//     up-projections 1088 and 2080), timm / Cadene paths ("conv2d_1a.conv.weight",
//     "repeat.0.branch1.1.bn.weight", "block8.conv2d.bias", "classif.weight").
//     55,843,464 parameters, 13.16 GMACs.
//   - inception-resnet-v1: the paper layout (Fig 15 with the Fig 14 stem,
//     5/10/5 residual blocks, exactly five C blocks) with a 1000-class Linear
//     head, in facenet-pytorch naming and branch order ("conv2d_4b",
//     "repeat_1" … "repeat_3", pools concatenated last). 22,756,328
//     parameters, 6.21 GMACs. There is no public ImageNet checkpoint.
//
// Every conv is a conv-BN(eps 1e-3)-ReLU unit without bias; stride-2 and
// "V" convs are unpadded, others same-padded; in-block average pools
// exclude padding (TF SAME). Residual blocks concatenate their branches,
// project with a 1×1 conv with bias (no BN) named "conv2d", scale, add the
// input and apply a ReLU.
//
// Import it under an explicit name: the directory is v4 but the package is
// inceptionv4.
package inceptionv4
