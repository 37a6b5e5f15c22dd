package inceptionv1

import (
	"strings"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/weights"
)

const paper = "Szegedy et al. 2014, Going deeper with convolutions, arXiv:1409.4842"

// caffePreset is BVLC's input pipeline: BGR 0-255 minus the mean pixel,
// centre crop 224 of 256.
var caffePreset = spec.Pipeline(256, 224, "bilinear", spec.CaffeBGR)

// Caffe2Name returns the Caffe2 / ONNX Model Zoo tensor name of a Caffe
// parameter path: the layer path with "." read as "/", then "_w_0" for a
// weight or "_b_0" for a bias (conv1.7x7_s2.weight ↔ conv1/7x7_s2_w_0,
// loss3.classifier.bias ↔ loss3/classifier_b_0). Other paths give "".
func Caffe2Name(path string) string {
	i := strings.LastIndexByte(path, '.')
	if i <= 0 {
		return ""
	}
	suffix := map[string]string{"weight": "_w_0", "bias": "_b_0"}[path[i+1:]]
	if suffix == "" {
		return ""
	}
	return strings.ReplaceAll(path[:i], ".", "/") + suffix
}

// Specs returns the registry entries of this family.
func Specs() []spec.Model {
	return []spec.Model{
		{
			Name:         "inception-v1",
			Aliases:      []string{"googlenet"},
			Family:       "inception-v1",
			Paper:        paper,
			Description:  "GoogLeNet as in the paper and BVLC Caffe (the ONNX Model Zoo googlenet layout)",
			Input:        nn.Shape{3, 224, 224},
			Classes:      1000,
			Labels:       labels.SetImageNet,
			Output:       spec.Logits,
			Preprocess:   caffePreset,
			RefParams:    6998552,
			RefParamsAux: 13378280,
			RefMACs:      1582671872,
			HasAux:       true,
			Quirks: []string{
				"conv biases, no BN; two LRN layers (size 5, alpha 1e-4, beta 0.75, k 1)",
				"Caffe ceil-rounded max pooling",
				"7x7 average pool, dropout 0.4; the Caffe softmax is left to Predict (output is logits)",
			},
			Tags: []spec.Tag{
				{
					Name:       "bvlc_in1k",
					File:       weights.File{Name: "onnx-model-zoo-googlenet-12.onnx", URL: "https://media.githubusercontent.com/media/onnx/models/main/validated/vision/classification/inception_and_googlenet/googlenet/model/googlenet-12.onnx", Size: 28021836, SHA256: "c99c507058eaf41de8723408fdda7db8325cb57f0a89f2ee07a716d6e963e14e"},
					Format:     spec.ONNX,
					Preprocess: caffePreset,
					Keys:       Caffe2Name,
					License:    "BSD-3-Clause",
					Source:     "ONNX Model Zoo (onnx/models): BVLC Caffe GoogLeNet converted via Caffe2",
					Notes:      "opset 12; graph input data_0 [1,3,224,224], output prob_0 holds softmax probabilities (the zoo model stops at the logits); initializers are Caffe2 blob names, assumed to follow the inception_v1 graph's (inception_3a/1x1_w_0 is inception_3a.1x1.weight); the Model Zoo README feeds BGR 0-255 minus the Caffe means after a plain 224x224 resize, the preset centre-crops 224 of 256",
				},
				{
					Name:       "bvlc_in1k_opset9",
					File:       weights.File{Name: "onnx-model-zoo-googlenet-9.onnx", URL: "https://media.githubusercontent.com/media/onnx/models/main/validated/vision/classification/inception_and_googlenet/googlenet/model/googlenet-9.onnx", Size: 28020232, SHA256: "bd979d99d10d9acf84c5a67252bcae4992bf4e1afdab046cb0ea370e6f01ee38"},
					Format:     spec.ONNX,
					Preprocess: caffePreset,
					Keys:       Caffe2Name,
					License:    "BSD-3-Clause",
					Source:     "ONNX Model Zoo (onnx/models): BVLC Caffe GoogLeNet converted via Caffe2",
					Notes:      "opset 9; graph input data_0 [1,3,224,224], output prob_0 holds softmax probabilities (the zoo model stops at the logits); initializers are Caffe2 blob names, assumed to follow the inception_v1 graph's (inception_3a/1x1_w_0 is inception_3a.1x1.weight); the Model Zoo README feeds BGR 0-255 minus the Caffe means after a plain 224x224 resize, the preset centre-crops 224 of 256",
				},
			},
			Build: GoogLeNet,
		},
		{
			Name:        "inception-v1-caffe2",
			Family:      "inception-v1",
			Paper:       paper,
			Description: "the ONNX Model Zoo inception_v1 network: Caffe2's GoogLeNet reproduction with floor-rounded pooling",
			Input:       nn.Shape{3, 224, 224},
			Classes:     1000,
			Labels:      labels.SetImageNet,
			Output:      spec.Logits,
			Preprocess:  caffePreset,
			RefParams:   6998552,
			RefMACs:     1431556352,
			Quirks: []string{
				"the BVLC layout and parameter names, read from the ONNX Model Zoo inception_v1 graph (../shared/onnx-light/light_inception_v1.onnx)",
				"floor-rounded stride-2 max pools (112→55→27→13→6), unlike Caffe's ceil mode",
				"final 7x7 average pool with one cell of end padding, not counted (ONNX count_include_pad=0)",
				"no auxiliary heads; the file's softmax is left to Predict (output is logits); preprocessing undocumented by the Model Zoo, the preset assumes BVLC's",
			},
			Tags: []spec.Tag{
				{
					Name:       "caffe2_in1k",
					File:       weights.File{Name: "onnx-model-zoo-inception-v1-12.onnx", URL: "https://media.githubusercontent.com/media/onnx/models/main/validated/vision/classification/inception_and_googlenet/inception_v1/model/inception-v1-12.onnx", Size: 28021958, SHA256: "814b31a6316873bd03d2d808415ce1f40a7bf48ad88eab5ecc3cdc8dc6cf38ec"},
					Format:     spec.ONNX,
					Preprocess: caffePreset,
					Keys:       Caffe2Name,
					License:    "MIT",
					Source:     "ONNX Model Zoo (onnx/models): Caffe2 Inception v1 (GoogLeNet)",
					Notes:      "opset 12; graph input data_0 [1,3,224,224], output prob_1 holds softmax probabilities (the zoo model stops at the logits); initializers carry Caffe2 blob names (inception_3a/1x1_w_0 is inception_3a.1x1.weight), the graph of ../shared/onnx-light/light_inception_v1.onnx; the Model Zoo documents no preprocessing",
				},
				{
					Name:       "caffe2_in1k_opset9",
					File:       weights.File{Name: "onnx-model-zoo-inception-v1-9.onnx", URL: "https://media.githubusercontent.com/media/onnx/models/main/validated/vision/classification/inception_and_googlenet/inception_v1/model/inception-v1-9.onnx", Size: 28020356, SHA256: "f8b7bb4040377b83089eef98800a15303325ed75ced468a8972a87e0bc23692e"},
					Format:     spec.ONNX,
					Preprocess: caffePreset,
					Keys:       Caffe2Name,
					License:    "MIT",
					Source:     "ONNX Model Zoo (onnx/models): Caffe2 Inception v1 (GoogLeNet)",
					Notes:      "opset 9; graph input data_0 [1,3,224,224], output prob_1 holds softmax probabilities (the zoo model stops at the logits); initializers carry Caffe2 blob names (inception_3a/1x1_w_0 is inception_3a.1x1.weight), the graph of ../shared/onnx-light/light_inception_v1.onnx; the Model Zoo documents no preprocessing",
				},
			},
			Build: Caffe2,
		},
		{
			Name:         "inception-v1-tv",
			Family:       "inception-v1",
			Paper:        paper,
			Description:  "torchvision googlenet: BN units, 3x3 kernel in the 5x5 branch, 2x2 last stage pool",
			Input:        nn.Shape{3, 224, 224},
			Classes:      1000,
			Labels:       labels.SetImageNet,
			Output:       spec.Logits,
			Preprocess:   spec.Pipeline(256, 224, "bilinear", spec.ImageNet),
			RefParams:    6624904,
			RefParamsAux: 13004888,
			RefMACs:      1498376192,
			HasAux:       true,
			HasTransform: true,
			Quirks: []string{
				"conv without bias + BatchNorm (eps 1e-3) + ReLU",
				"3x3 kernel in the \"5x5\" branch (pytorch/vision#906), kept so torchvision weights load",
				"ceil-mode max pools; 2x2/2 pool before stage 5; dropout 0.2",
				"transform_input and aux heads optional, off by default (the tv_in1k weights switch transform_input on, as torchvision does)",
			},
			Tags: []spec.Tag{
				{
					Name:        "tv_in1k",
					Description: "torchvision GoogLeNet_Weights.IMAGENET1K_V1 (acc@1 69.778, acc@5 89.530)",
					File: weights.File{
						Name:         "torchvision-googlenet-1378be20.pth",
						URL:          "https://download.pytorch.org/models/googlenet-1378be20.pth",
						SHA256Prefix: "1378be20",
					},
					Format:         spec.PyTorch,
					Preprocess:     spec.Pipeline(256, 224, "bilinear", spec.ImageNet),
					TransformInput: true,
					License:        "BSD-3-Clause (torchvision code); the weights carry no licence of their own (torchvision README, \"Pre-trained Model License\")",
					Source:         "torchvision 0.14 models/googlenet.py, GoogLeNet_Weights.IMAGENET1K_V1",
					Notes:          "torch.save state dict with aux1/aux2 (not pretrained; dropped unless WithAux) and num_batches_tracked; torchvision publishes only the SHA-256 prefix in the file name (its check_hash verifies it) and no exact size (meta: 49.731 MiB)",
				},
			},
			Build: TorchVision,
		},
		{
			Name:        "inception-v1-d2l",
			Family:      "inception-v1",
			Paper:       "Zhang et al., Dive into Deep Learning, ch. 8.4 (GoogLeNet); " + paper,
			Description: "the D2L textbook GoogLeNet for Fashion-MNIST",
			Input:       nn.Shape{1, 96, 96},
			Classes:     10,
			Labels:      labels.SetFashionMNIST,
			Output:      spec.Logits,
			Preprocess:  spec.Pipeline(96, 96, "bilinear", spec.Gray),
			RefParams:   5977530,
			RefMACs:     276066304,
			Quirks: []string{
				"1x96x96 grayscale input, 10 classes",
				"conv biases, no BN, no LRN, floor-mode pools with padding 1",
			},
			Tags: []spec.Tag{
				{
					Name:        "fmnist96",
					Description: "trained by this project as the D2L book trains it (96x96, SGD lr 0.1, batch 128, Xavier init, 10 epochs; 0.8938 test accuracy); shipped in the repository and embedded in the inception binary",
					File: weights.File{
						Name:   "inception-v1-d2l-fmnist96.onnx",
						URL:    "https://raw.githubusercontent.com/inceptionzoo/inception/main/assets/inception-v1-d2l-fmnist96.onnx",
						Size:   11983478,
						SHA256: "9095fb80eddb47121408e69700c1ebb712d135ab76137130155f99c5d8fdc87b",
					},
					Format:     spec.ONNX,
					Input:      nn.Shape{1, 96, 96},
					Classes:    10,
					Labels:     labels.SetFashionMNIST,
					Preprocess: spec.Pipeline(96, 96, "bilinear", spec.Gray),
					License:    "Apache-2.0 (this project); Fashion-MNIST data: MIT",
					Source:     "this repository, assets/inception-v1-d2l-fmnist96.onnx (package assets embeds it); how it was trained: docs/training.md",
					Notes:      "ONNX with float16 initializers named by parameter path; the book's run with the gorgonia back end (scripts/train-d2l-96.sh)",
				},
				{
					Name:        "fmnist28",
					Description: "trained by this project on Fashion-MNIST at 28x28 (0.8843 test accuracy); shipped in the repository and embedded in the inception binary",
					File: weights.File{
						Name:   "inception-v1-d2l-fmnist28.onnx",
						URL:    "https://raw.githubusercontent.com/inceptionzoo/inception/main/assets/inception-v1-d2l-fmnist28.onnx",
						Size:   11983303,
						SHA256: "4e785b1d4e52333641027ce7c5979eeb90a3a9b2359d836080e8e71ed8b055ba",
					},
					Format:     spec.ONNX,
					Input:      nn.Shape{1, 28, 28},
					Classes:    10,
					Labels:     labels.SetFashionMNIST,
					Preprocess: spec.Pipeline(28, 28, "bilinear", spec.Gray),
					License:    "Apache-2.0 (this project); Fashion-MNIST data: MIT",
					Source:     "this repository, assets/inception-v1-d2l-fmnist28.onnx (package assets embeds it); how it was trained: docs/training.md",
					Notes:      "ONNX with float16 initializers named by parameter path; 4 epochs of Adam at 28x28 with the gorgonia back end",
				},
			},
			Build: D2L,
		},
	}
}
