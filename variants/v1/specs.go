package inceptionv1

import "github.com/inceptionzoo/inception/nn"

const paper = "Szegedy et al. 2014, Going deeper with convolutions, arXiv:1409.4842"

// Specs returns the registry entries of this family.
func Specs() []nn.Spec {
	return []nn.Spec{
		{
			Name:        "inception-v1",
			Aliases:     []string{"googlenet"},
			Family:      "inception-v1",
			Paper:       paper,
			Description: "GoogLeNet as in the paper and BVLC Caffe (the ONNX Model Zoo googlenet/inception_v1 layout)",
			Input:       nn.Shape{3, 224, 224},
			Classes:     1000,
			Output:      nn.Logits,
			Preprocess: nn.Preprocess{Resize: 256, Crop: 224, Interpolation: "bilinear", Range: 255, BGR: true,
				Mean: []float32{103.939, 116.779, 123.68}, Std: []float32{1, 1, 1}},
			RefParams:    6998552,
			RefParamsAux: 13378280,
			RefMACs:      1582671872,
			HasAux:       true,
			Quirks: []string{
				"conv biases, no BN; two LRN layers (size 5, alpha 1e-4, beta 0.75, k 1)",
				"Caffe ceil-rounded max pooling",
				"7x7 average pool, dropout 0.4; the Caffe softmax is left to Predict (output is logits)",
			},
			Build: GoogLeNet,
		},
		{
			Name:        "inception-v1-tv",
			Family:      "inception-v1",
			Paper:       paper,
			Description: "torchvision googlenet: BN units, 3x3 kernel in the 5x5 branch, 2x2 last stage pool",
			Input:       nn.Shape{3, 224, 224},
			Classes:     1000,
			Output:      nn.Logits,
			Preprocess: nn.Preprocess{Resize: 256, Crop: 224, Interpolation: "bilinear", Range: 1,
				Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}},
			RefParams:    6624904,
			RefParamsAux: 13004888,
			RefMACs:      1498376192,
			HasAux:       true,
			HasTransform: true,
			Quirks: []string{
				"conv without bias + BatchNorm (eps 1e-3) + ReLU",
				"3x3 kernel in the \"5x5\" branch (pytorch/vision#906), kept so torchvision weights load",
				"ceil-mode max pools; 2x2/2 pool before stage 5; dropout 0.2",
				"transform_input and aux heads optional, off by default",
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
			Output:      nn.Logits,
			Preprocess: nn.Preprocess{Resize: 96, Crop: 96, Interpolation: "bilinear", Range: 1, Grayscale: true,
				Mean: []float32{0}, Std: []float32{1}},
			RefParams: 5977530,
			RefMACs:   276066304,
			Quirks: []string{
				"1x96x96 grayscale input, 10 classes",
				"conv biases, no BN, no LRN, floor-mode pools with padding 1",
			},
			Build: D2L,
		},
	}
}
