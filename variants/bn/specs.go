package bninception

import (
	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/weights"
)

const paper = "Ioffe and Szegedy 2015, Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift, arXiv:1502.03167"

// Specs returns the registry entries of this family.
func Specs() []spec.Model {
	return []spec.Model{
		{
			Name:        "inception-bn",
			Aliases:     []string{"bninception"},
			Family:      "bn-inception",
			Paper:       paper,
			Description: "BN-Inception as released in Caffe (Xiong's model, Cadene bninception): the 608 plan, Caffe layer names",
			Input:       nn.Shape{3, 224, 224},
			Classes:     1000,
			Labels:      labels.SetImageNet,
			Output:      spec.Logits,
			Preprocess:  spec.Pipeline(256, 224, "bilinear", spec.BNInceptionBGR),
			RefParams:   11295240,
			RefMACs:     2032600064,
			Quirks: []string{
				"69 convs with bias, each followed by BatchNorm (eps 1e-5) and ReLU; no LRN",
				"4c/4d pool projections of 128 as printed in the paper's branches: 4c/4d are 608 deep, 4e 1056 (the paper's Figure 5 prints 576)",
				"Caffe ceil-rounded pools; in-block 3x3/1 average pools count the padding; 5b's pool branch is a max pool",
				"reduction modules 3c and 4e: stride-2 3x3 and double-3x3 branches plus a 3x3/2 max-pool pass-through",
				"7x7 global average pool, no dropout; flat Cadene parameter names (inception_3a_1x1.weight, inception_3a_1x1_bn.weight)",
			},
			Tags: []spec.Tag{
				{
					Name:        "caffe_in1k",
					Description: "BN-Inception trained in Caffe by Yuanjun Xiong (ILSVRC-12, acc@1 73.524), as packaged by Cadene's pretrained-models",
					File: weights.File{
						Name:         "cadene-bn_inception-52deb4733.pth",
						URL:          "http://data.lip6.fr/cadene/pretrainedmodels/bn_inception-52deb4733.pth",
						SHA256Prefix: "52deb4733",
					},
					Format:     spec.PyTorch,
					Preprocess: spec.Pipeline(256, 224, "bilinear", spec.BNInceptionBGR),
					License:    "BSD-3-Clause (Cadene pretrained-models code); the weights' own licence is not stated",
					Source:     "Cadene/pretrained-models.pytorch pretrainedmodels/models/bninception.py (the file since 2018-10-27; the older bn_inception-239d2248.pth stores BN tensors as [1, C])",
					Notes:      "state dict saved with Python 2 in torch's legacy format; BGR input in [0, 255] minus [104, 117, 128]; served over plain HTTP and verified only by the 9-hex-digit SHA-256 prefix in its name, which guards against corruption, not against a determined attacker",
				},
			},
			Build: BNInception,
		},
		{
			Name:        "inception-v2",
			Family:      "bn-inception",
			Paper:       paper,
			Description: "the ONNX Model Zoo inception_v2 (Caffe2): BN-Inception with the 576 plan and a Caffe Scale layer after every BN",
			Input:       nn.Shape{3, 224, 224},
			Classes:     1000,
			Labels:      labels.SetImageNet,
			Output:      spec.Logits,
			Preprocess:  spec.Pipeline(256, 224, "bilinear", spec.BNInceptionBGR),
			RefParams:   ONNXParams,
			RefMACs:     2018851840,
			Quirks: []string{
				"plan read off the ONNX graph: 4c/4d pool projections of 96 (576 deep), 4e 1024, plain 7x7 stem",
				"units are conv without bias, BatchNorm (eps 1e-5, scale and bias), a Caffe Scale layer (per-channel weight and bias: ONNX Mul + Add) and ReLU",
				"max pools use Caffe2's explicit padding instead of ceil rounding: 3x3/2 pools pad [0,0,1,1] (bottom and right)",
				"in-block average pools exclude the padding (the graph sets no count_include_pad, so ONNX's default 0 applies), unlike Caffe",
				"the graph ends in a Softmax (output prob_1); the zoo model stops at the Gemm logits",
				"parameter paths are the Caffe2 blob names read by ONNXName; BN running statistics are buffers",
				"preprocessing is not documented by the ONNX Model Zoo; the preset assumes Caffe's BGR 0-255 mean subtraction (unverified)",
			},
			Tags: []spec.Tag{
				{
					Name:       "caffe2_in1k",
					File:       weights.File{Name: "onnx-model-zoo-inception-v2-9.onnx", URL: "https://media.githubusercontent.com/media/onnx/models/main/validated/vision/classification/inception_and_googlenet/inception_v2/model/inception-v2-9.onnx", Size: 45042799, SHA256: "37ed4aa93f817fd0d1cc19bda045ebd70f18d0887a5f51e66ecd0ed8fd5a65c2"},
					Format:     spec.ONNX,
					Preprocess: spec.Pipeline(256, 224, "bilinear", spec.BNInceptionBGR),
					Keys:       ONNXName,
					License:    "MIT",
					Source:     "ONNX Model Zoo (onnx/models): Caffe2 Inception v2 (BN-Inception)",
					Notes:      "opset 9; graph input data_0 [1,3,224,224], output prob_1 holds softmax probabilities (the zoo model stops at the Gemm logits); initializers carry Caffe2 blob names read by ONNXName; BN running statistics are buffers; the Model Zoo documents no preprocessing",
				},
			},
			Build: InceptionV2,
		},
	}
}
