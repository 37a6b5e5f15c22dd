package inceptionv4

import (
	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/weights"
)

const paper = "Szegedy, Ioffe, Vanhoucke & Alemi 2016, Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning, arXiv:1602.07261"

// Input pipelines of the published weights.
var (
	// timmPreset is timm's for crop_pct 0.875: resize floor(299/0.875) =
	// 341, bicubic, mean = std = 0.5.
	timmPreset = spec.Pipeline(341, 299, "bicubic", spec.Inception)
	// irv2Preset is timm's for crop_pct 0.8975: resize floor(299/0.8975) =
	// 333.
	irv2Preset = spec.Pipeline(333, 299, "bicubic", spec.Inception)
	// facenetPreset: 160x160 face crops, (x − 127.5) / 128.
	facenetPreset = spec.Pipeline(160, 160, "bilinear", spec.FaceNet)
)

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
			// timm: crop_pct 0.875 → resize floor(299/0.875) = 341.
			Preprocess: timmPreset,
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
			Tags: []spec.Tag{
				{
					Name:        "tf_in1k",
					Description: "timm inception_v4.tf_in1k: TF-slim weights ported via Cadene's pretrained-models, 1000 classes",
					File: weights.File{
						Name:   "timm-inception_v4.tf_in1k.safetensors",
						URL:    "https://huggingface.co/timm/inception_v4.tf_in1k/resolve/main/model.safetensors",
						SHA256: "a756a086851c8d5a8de135ec15c76b90ea56cb5aef450e3299107e659e725bb1",
					},
					Format:     spec.Safetensors,
					Preprocess: timmPreset,
					License:    "Apache-2.0 (timm model card; TF-slim originals Apache-2.0)",
					Source:     "Hugging Face timm/inception_v4.tf_in1k (model.safetensors), timm models/inception_v4.py",
					Notes:      "keys are timm's (features.N..., last_linear); SHA-256 from the Hugging Face LFS pointer; size about 171 MB (not stated exactly)",
				},
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
			Preprocess:  irv2Preset,
			RefParams:   55843464,
			RefMACs:     13155794016,
			Quirks: []string{
				"follows TF-slim, not the paper figures: v3-like stem plus mixed_5b (320 channels), 10/20/9 blocks, up-projections 1088 and 2080",
				"residual blocks: 1x1 up-projection with bias, no BN; scales 0.17, 0.10, 0.20; a final block8 with scale 1.0 and no ReLU",
				"conv without bias + BatchNorm (eps 1e-3) + ReLU; in-block average pool excludes padding",
				"no head dropout; TF checkpoints have 1001 classes (label offset 1)",
			},
			Tags: []spec.Tag{
				{
					Name:        "tf_in1k",
					Description: "timm inception_resnet_v2.tf_in1k: TF-slim inception_resnet_v2_2016_08_30, 1000 classes",
					File: weights.File{
						Name:   "timm-inception_resnet_v2.tf_in1k.safetensors",
						URL:    "https://huggingface.co/timm/inception_resnet_v2.tf_in1k/resolve/main/model.safetensors",
						SHA256: "dbea26b13a5fc8351919fed6a94222c0577ce324b2765fd081a798f837ca9d72",
					},
					Format:     spec.Safetensors,
					Preprocess: irv2Preset,
					License:    "Apache-2.0 (timm model card; TF-slim originals Apache-2.0)",
					Source:     "Hugging Face timm/inception_resnet_v2.tf_in1k (model.safetensors), timm models/inception_resnet_v2.py",
					Notes:      "keys are timm's (conv2d_1a ... classif); SHA-256 from the Hugging Face LFS pointer; size about 224 MB (not stated exactly)",
				},
				{
					Name:        "tf_ens_adv_in1k",
					Description: "timm inception_resnet_v2.tf_ens_adv_in1k: ensemble adversarial training (arXiv:1705.07204), 1000 classes",
					File: weights.File{
						Name:     "timm-inception_resnet_v2.tf_ens_adv_in1k.safetensors",
						URL:      "https://huggingface.co/timm/inception_resnet_v2.tf_ens_adv_in1k/resolve/main/model.safetensors",
						Unpinned: "the Hugging Face LFS digest of this file was not reachable when the entry was written",
					},
					Format:     spec.Safetensors,
					Preprocess: irv2Preset,
					License:    "Apache-2.0 (timm model card; TF originals Apache-2.0)",
					Source:     "Hugging Face timm/inception_resnet_v2.tf_ens_adv_in1k (model.safetensors), timm models/inception_resnet_v2.py",
					Notes:      "TF ens_adv_inception_resnet_v2_2017_08_18 ported by timm; same key layout as tf_in1k; about 224 MB",
				},
			},
			Build: ResNetV2,
		},
		{
			Name:        "inception-resnet-v1",
			Family:      "inception-resnet",
			Paper:       paper,
			Description: "Inception-ResNet-v1 as facenet-pytorch builds it (the network of its VGGFace2 and CASIA-WebFace weights): the paper's blocks plus a final block8 and a 512-d embedding head",
			Input:       nn.Shape{3, 160, 160},
			Classes:     1000,
			Output:      spec.Logits,
			Preprocess:  facenetPreset,
			FeaturesL2:  true,
			RefParams:   23995624,
			RefMACs:     1418174304,
			Quirks: []string{
				"paper blocks: stem ends with 3x3/2·256 V (conv2d_4b), 5/10/5 A/B/C blocks; then facenet-pytorch's scale-1.0 block8 without ReLU",
				"max pool concatenated last in both reductions (facenet-pytorch order)",
				"head: global average pool, dropout 0.6, last_linear 1792→512 without bias, last_bn (BatchNorm1d, eps 1e-3), logits 512→classes with bias",
				"the 512-d last_bn output, L2-normalised, is the face embedding the weights are used for",
				"input 160x160 face crops as facenet-pytorch (the paper uses 299x299; any size from 75x75 works); no ImageNet weights exist (1000 classes by default, unnamed)",
			},
			Tags: []spec.Tag{
				{
					Name:        "vggface2",
					Description: "facenet-pytorch, trained on VGGFace2 (8631 identities; LFW accuracy 0.9965)",
					File: weights.File{
						Name:   "facenet-20180402-114759-vggface2.pt",
						URL:    "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/20180402-114759-vggface2.pt",
						Size:   111898327,
						SHA256: "281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b",
					},
					Format:     spec.PyTorch,
					Classes:    8631,
					Labels:     labels.SetVGGFace2,
					Preprocess: facenetPreset,
					License:    "MIT (facenet-pytorch); ported from davidsandberg/facenet's TensorFlow models",
					Source:     "timesler/facenet-pytorch v2.2.9 release assets, models/inception_resnet_v1.py",
					Notes:      "state dict of InceptionResnetV1(num_classes=8631) with num_batches_tracked; facenet-pytorch publishes no digest: the SHA-256 and size are the ones independent projects pin for this file; inputs are 160x160 MTCNN face crops",
				},
				{
					Name:        "casia_webface",
					Description: "facenet-pytorch, trained on CASIA-WebFace (10575 identities; LFW accuracy 0.9905)",
					File: weights.File{
						Name:     "facenet-20180408-102900-casia-webface.pt",
						URL:      "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/20180408-102900-casia-webface.pt",
						Unpinned: "facenet-pytorch publishes no digest for this file and no independent pin was found",
					},
					Format:     spec.PyTorch,
					Classes:    10575,
					Labels:     labels.SetCASIAWebFace,
					Preprocess: facenetPreset,
					License:    "MIT (facenet-pytorch); ported from davidsandberg/facenet's TensorFlow models",
					Source:     "timesler/facenet-pytorch v2.2.9 release assets, models/inception_resnet_v1.py",
					Notes:      "state dict of InceptionResnetV1(num_classes=10575) with num_batches_tracked; about 111 MB; inputs are 160x160 MTCNN face crops",
				},
			},
			Build: ResNetV1,
		},
	}
}
