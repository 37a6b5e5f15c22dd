package inceptionv3

import (
	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/weights"
)

const paper = "Szegedy et al. 2015, Rethinking the Inception Architecture for Computer Vision, arXiv:1512.00567"

// hfUnpinned is why the timm tags without a pinned digest have none: the
// download is checked against the digest Hugging Face declares for the
// file (X-Linked-Etag, its Git LFS SHA-256) and that digest is recorded on
// first use.
const hfUnpinned = "the Hugging Face LFS digest of this file was not reachable when the entry was written"

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
				{
					Name:        "tf_in1k",
					Description: "timm inception_v3.tf_in1k: the TensorFlow-slim weights, 1000 classes",
					File: weights.File{
						Name:     "timm-inception_v3.tf_in1k.safetensors",
						URL:      "https://huggingface.co/timm/inception_v3.tf_in1k/resolve/main/model.safetensors",
						Unpinned: hfUnpinned,
					},
					Format:     spec.Safetensors,
					Preprocess: spec.Pipeline(341, 299, "bicubic", spec.Inception),
					License:    "Apache-2.0 (timm model card; TF-slim originals Apache-2.0)",
					Source:     "Hugging Face timm/inception_v3.tf_in1k (model.safetensors), timm models/inception_v3.py",
					Notes:      "torchvision's key layout without AuxLogits; timm's preprocessing: resize floor(299/0.875) = 341, bicubic, mean = std = 0.5, no transform_input; about 95.5 MB",
				},
				{
					Name:        "gluon_in1k",
					Description: "timm inception_v3.gluon_in1k: trained in MXNet Gluon, 1000 classes",
					File: weights.File{
						Name:     "timm-inception_v3.gluon_in1k.safetensors",
						URL:      "https://huggingface.co/timm/inception_v3.gluon_in1k/resolve/main/model.safetensors",
						Unpinned: hfUnpinned,
					},
					Format:     spec.Safetensors,
					Preprocess: spec.Pipeline(341, 299, "bicubic", spec.ImageNet),
					License:    "Apache-2.0 (timm model card)",
					Source:     "Hugging Face timm/inception_v3.gluon_in1k (model.safetensors), timm models/inception_v3.py",
					Notes:      "torchvision's key layout without AuxLogits; ImageNet mean/std, bicubic, resize 341; about 95.5 MB",
				},
			},
			Build: InceptionV3,
		},
		fidSpec(),
	}
}
