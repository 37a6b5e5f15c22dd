package bninception

import (
	"fmt"
	"strings"

	"github.com/inceptionzoo/inception/nn"
)

// ---- ONNX Model Zoo inception_v2 (Caffe2) ----

// ONNXParams is the trainable parameter count of inception-v2, derived
// from the ONNX graph: conv weights (no conv biases) + BN scale and bias +
// Scale-layer weight and bias + the 1024→1000 Gemm.
const ONNXParams = 11214888

// ONNXBuffers is its BN running mean and variance count; with ONNXParams
// it makes up every one of the graph's 485 weight tensors (11,234,792
// values).
const ONNXBuffers = 19904

// onnxUnit is the Caffe2 conv unit of the ONNX graph: a conv without bias,
// SpatialBN (ONNX BatchNormalization, eps 1e-5, with scale and bias) named
// <layer>/bn, a Caffe Scale layer <layer>/bn/sc (ONNX Unsqueeze + Mul +
// Add; weight and bias per channel) and a ReLU. Block names are the Caffe
// layer names with "/" read as ".".
func onnxUnit(name string, c nn.Conv) nn.Block {
	return nn.Sequential{Name: strings.ReplaceAll(name, "/", "."), Layers: []nn.Block{
		c,
		nn.BatchNorm{Name: "bn", Eps: 1e-5},
		nn.ChannelScale{Name: "bn.sc", Bias: true},
		nn.ReLU{},
	}}
}

var onnxFlavour = flavour{
	names:    layers{"1x1", "3x3_reduce", "3x3", "double3x3_reduce", "double3x3a", "double3x3b", "pool", "pool_proj"},
	prefix:   func(m Module) (string, string) { return "inception_" + m.Name, "" },
	stemName: func(layer string) string { return layer },
	unit:     onnxUnit,
	// The Caffe2 converter replaced Caffe's ceil rounding by explicit
	// padding: the 3×3/2 max pools pad one row and column at the end
	// (ONNX pads [0,0,1,1]); 5b's 3×3/1 pool pads 1 all round.
	maxPool: func(name string, stride int) nn.Block {
		pad := nn.Pad{T: 0, L: 0, B: 1, R: 1}
		if stride == 1 {
			pad = nn.P(1)
		}
		return nn.MaxPool{Name: name, Kernel: nn.K(3), Stride: nn.K(stride), Pad: pad}
	},
	// AveragePool nodes carry no count_include_pad, so ONNX's default 0
	// applies: padded cells are not counted.
	avgPool: func(name string) nn.Block {
		return nn.AvgPool{Name: name, Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1)}
	},
	stemPools: [2]string{"pool1.3x3_s2", "pool2.3x3_s2"},
	global:    nn.AvgPool{Name: "pool5.7x7_s1", Kernel: nn.K(7), Stride: nn.K(1)},
	fc:        "loss3.classifier",
}

// InceptionV2 builds the ONNX Model Zoo inception_v2 at 3×224×224: the 576
// plan (Modules576), a plain 7×7 stem, conv → BN → Scale → ReLU units with
// no conv bias, Caffe2's explicit pool padding. Its parameters map one to
// one, in graph order, onto the graph's weight tensors (see ONNXName). The
// graph's final Softmax is not part of the tree: the output is logits.
func InceptionV2(o nn.Options) (nn.Block, error) {
	if o.Aux || o.TransformInput {
		return nil, fmt.Errorf("inception-v2: has no aux heads or transform_input")
	}
	return onnxFlavour.build(Modules576, o.ClassesOr(1000)), nil
}

// onnxSuffix maps our parameter names to the Caffe2 blob suffixes, for
// SpatialBN layers (path ending in ".bn") and for all other layers.
var (
	onnxBNSuffix = map[string]string{"weight": "_scale_0", "bias": "_bias_0", "running_mean": "_mean_0", "running_var": "_var_0"}
	onnxSuffix   = map[string]string{"weight": "_w_0", "bias": "_b_0"}
)

// ONNXName returns the ONNX Model Zoo tensor name of an inception-v2
// parameter path, or "" if path is not of that form. The rule: split off
// the parameter name, read "." as "/" in the layer path, and append the
// Caffe2 blob suffix — "_w_0"/"_b_0" for weight/bias, except on a BN layer
// (path ending in ".bn"), whose weight, bias, running_mean and running_var
// are "_scale_0", "_bias_0", "_mean_0" and "_var_0":
//
//	conv1.7x7_s2.weight            ↔ conv1/7x7_s2_w_0
//	conv1.7x7_s2.bn.weight         ↔ conv1/7x7_s2/bn_scale_0
//	conv1.7x7_s2.bn.running_var    ↔ conv1/7x7_s2/bn_var_0
//	conv1.7x7_s2.bn.sc.bias        ↔ conv1/7x7_s2/bn/sc_b_0
//	loss3.classifier.weight        ↔ loss3/classifier_w_0
//
// ONNX names contain no ".", so the rule is reversible (ParamPath).
func ONNXName(path string) string {
	i := strings.LastIndexByte(path, '.')
	if i <= 0 {
		return ""
	}
	layer, param := path[:i], path[i+1:]
	table := onnxSuffix
	if layer == "bn" || strings.HasSuffix(layer, ".bn") {
		table = onnxBNSuffix
	}
	suffix, ok := table[param]
	if !ok {
		return ""
	}
	return strings.ReplaceAll(layer, ".", "/") + suffix
}

// ParamPath is the inverse of ONNXName: it returns the inception-v2
// parameter path of an ONNX Model Zoo tensor name, or "" if name is not a
// weight name of that form.
func ParamPath(name string) string {
	if strings.Contains(name, ".") {
		return ""
	}
	for _, t := range []map[string]string{onnxBNSuffix, onnxSuffix} {
		for param, suffix := range t {
			layer, ok := strings.CutSuffix(name, suffix)
			if !ok || layer == "" {
				continue
			}
			path := strings.ReplaceAll(layer, "/", ".") + "." + param
			if ONNXName(path) == name {
				return path
			}
		}
	}
	return ""
}
