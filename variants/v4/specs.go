package inceptionv4

import (
	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
)

const paper = "Szegedy, Ioffe, Vanhoucke & Alemi 2016, Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning, arXiv:1602.07261"

// Specs returns the registry entries of this family.
func Specs() []spec.Model {
	return []spec.Model{
		{
			Name:        "inception-v4",
			Aliases:     []string{"inception_v4"},
			Family:      "inception-v4",
			Paper:       paper,
			Description: "Inception-v4 as in timm inception_v4 and Cadene inceptionv4 (paper Figs 3-9)",
			Input:       nn.Shape{3, 299, 299},
			Classes:     1000,
			Labels:      labels.SetImageNet,
			Output:      spec.Logits,
			// timm: crop_pct 0.875 → resize 299/0.875 = 342.
			Preprocess: spec.Pipeline(342, 299, "bicubic", spec.Inception),
			RefParams:  42679816,
			RefMACs:    12253974624,
			Quirks: []string{
				"conv without bias + BatchNorm (eps 1e-3) + ReLU; stride-2 and \"V\" convs unpadded",
				"in-block 3x3/1 average pools exclude padding (count_include_pad=False, TF SAME)",
				"Mixed3a concatenates the max pool first, Mixed5a the conv first (timm/Cadene order)",
				"Inception-B's double branch starts with 7x1; Mixed4a's with 1x7 (timm/TF-slim)",
				"no head dropout (timm drop_rate defaults to 0; the paper uses keep 0.8)",
				"TF checkpoints have 1001 classes; the 1000-class ports drop row 0 (background)",
			},
			Build: V4,
		},
		{
			Name:        "inception-resnet-v2",
			Aliases:     []string{"inception_resnet_v2"},
			Family:      "inception-resnet",
			Paper:       paper,
			Description: "Inception-ResNet-v2 as in TF-slim, timm inception_resnet_v2 and Cadene inceptionresnetv2",
			Input:       nn.Shape{3, 299, 299},
			Classes:     1000,
			Labels:      labels.SetImageNet,
			Output:      spec.Logits,
			// timm: crop_pct 0.8975 → resize floor(299/0.8975) = 333.
			Preprocess: spec.Pipeline(333, 299, "bicubic", spec.Inception),
			RefParams:  55843464,
			RefMACs:    13155794016,
			Quirks: []string{
				"follows TF-slim, not the paper figures: v3-like stem plus mixed_5b (320 channels), 10/20/9 blocks, up-projections 1088 and 2080",
				"residual blocks: 1x1 up-projection with bias, no BN; scales 0.17, 0.10, 0.20; a final block8 with scale 1.0 and no ReLU",
				"conv without bias + BatchNorm (eps 1e-3) + ReLU; in-block average pool excludes padding",
				"no head dropout; TF checkpoints have 1001 classes (label offset 1)",
			},
			Build: ResNetV2,
		},
		{
			Name:        "inception-resnet-v1",
			Family:      "inception-resnet",
			Paper:       paper,
			Description: "Inception-ResNet-v1 in the paper layout with a 1000-class classifier (facenet-pytorch naming)",
			Input:       nn.Shape{3, 299, 299},
			Classes:     1000,
			Labels:      labels.SetImageNet,
			Output:      spec.Logits,
			Preprocess:  spec.Pipeline(342, 299, "bilinear", spec.Inception),
			RefParams:   22756328,
			RefMACs:     6206361696,
			Quirks: []string{
				"paper layout: stem ends with 3x3/2·256 V (conv2d_4b), 5/10/5 blocks, exactly 5 C blocks (no scale-1.0 block8)",
				"max pool concatenated last in both reductions (facenet-pytorch order)",
				"head: global average pool, dropout 0.2 (keep 0.8), Linear 1792→classes with bias",
				"no public ImageNet checkpoint; facenet-pytorch adds a 6th C block and a 512-d embedding head instead",
			},
			Build: ResNetV1,
		},
	}
}
