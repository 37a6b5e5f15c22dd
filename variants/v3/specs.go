package inceptionv3

import (
	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/weights"
)

const paper = "Szegedy et al. 2015, Rethinking the Inception Architecture for Computer Vision, arXiv:1512.00567"

// Specs returns the registry entries of this family.
func Specs() []spec.Model {
	return []spec.Model{
		{
			Name:         "inception-v3",
			Aliases:      []string{"inception_v3"},
			Family:       "inception-v3",
			Paper:        paper,
			Description:  "Inception v3 as in torchvision and timm (TF-ported weights); torchvision state-dict paths",
			Input:        nn.Shape{3, 299, 299},
			Classes:      1000,
			Labels:       labels.SetImageNet,
			Output:       spec.Logits,
			Preprocess:   spec.Pipeline(342, 299, "bilinear", spec.ImageNet),
			RefParams:    23834568,
			RefParamsAux: 27161264,
			RefMACs:      5713216096,
			HasAux:       true,
			HasTransform: true,
			Quirks: []string{
				"conv without bias + BatchNorm (eps 1e-3) + ReLU everywhere",
				"stem has a 1x1 80 + 3x3 192 pair where the paper's Table 1 shows one 3x3; floor-mode 3x3/2 max pools",
				"in-block 3x3/1 average pools count the padding (PyTorch default), unlike the TF original the weights were ported from",
				"1x7/7x1 pads (0,3)/(3,0); Mixed_6b-6e double branch starts with 7x1; Mixed_7b/7c split pairs concat 1x3 then 3x1",
				"dropout 0.5; transform_input and AuxLogits optional, off by default (torchvision pretrained weights expect transform_input)",
			},
			Tags: []spec.Tag{
				{
					Name:        "tv_in1k",
					Description: "torchvision Inception_V3_Weights.IMAGENET1K_V1 (acc@1 77.294, acc@5 93.450), ported from TF",
					File: weights.File{
						Name:         "torchvision-inception_v3_google-0cc3c7bd.pth",
						URL:          "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
						SHA256Prefix: "0cc3c7bd",
					},
					Format:         spec.PyTorch,
					Preprocess:     spec.Pipeline(342, 299, "bilinear", spec.ImageNet),
					TransformInput: true,
					License:        "BSD-3-Clause (torchvision code); the weights carry no licence of their own (torchvision README, \"Pre-trained Model License\")",
					Source:         "torchvision 0.14 models/inception.py, Inception_V3_Weights.IMAGENET1K_V1",
					Notes:          "torch.save state dict with AuxLogits (dropped unless WithAux) and num_batches_tracked; torchvision publishes only the SHA-256 prefix in the file name; third parties report 108,949,747 bytes and SHA-256 0cc3c7bd75056d25e46cba549dc184522069b81e9787eff6df84f397bd52a5ef (not pinned here: not the publisher's)",
				},
			},
			Build: InceptionV3,
		},
	}
}
