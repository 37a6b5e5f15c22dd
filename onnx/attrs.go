package onnx

import (
	"math"
	"sort"

	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// opAttrs lists the attributes each supported operator defines in any of
// the opsets Load accepts (onnxir.MinOpset..MaxOpset). An attribute not
// listed is ErrFormat, as in the ONNX checker: a misspelt or foreign
// attribute would otherwise be silently ignored.
var opAttrs = map[string][]string{
	"Conv":               {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"},
	"MaxPool":            {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"},
	"AveragePool":        {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"},
	"GlobalAveragePool":  nil,
	"LRN":                {"alpha", "beta", "bias", "size"},
	"BatchNormalization": {"epsilon", "momentum", "spatial", "training_mode"},
	"Relu":               nil,
	"Concat":             {"axis"},
	"Add":                nil, "Sub": nil, "Mul": nil, "Div": nil, "Sum": nil,
	"Gemm":            {"alpha", "beta", "transA", "transB"},
	"MatMul":          nil,
	"Flatten":         {"axis"},
	"Reshape":         {"allowzero"},
	"Softmax":         {"axis"},
	"Dropout":         {"ratio", "seed"},
	"Identity":        nil,
	"Constant":        {"sparse_value", "value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings"},
	"ConstantOfShape": {"value"},
	"Unsqueeze":       {"axes"},
	"Squeeze":         {"axes"},
	"Gather":          {"axis"},
	"Shape":           {"end", "start"},
	"Pad":             {"mode", "pads", "value"},
	"Clip":            {"max", "min"},
	"Transpose":       {"perm"},
	"Cast":            {"saturate", "to"},
}

// legacyAttrs are attributes of opsets before MinOpset that exporters of
// that era still write at later opsets (the ONNX backend tests'
// pytorch-converted and pytorch-operator models carry them). They are
// ignored, as ONNX Runtime ignores them: from opset 7 on, broadcasting is
// numpy-style and inference mode is the default.
var legacyAttrs = map[string][]string{
	"BatchNormalization": {"consumed_inputs", "is_test"},
	"Dropout":            {"is_test"},
	"Gemm":               {"broadcast"},
	"Add":                {"axis", "broadcast", "consumed_inputs"},
	"Sub":                {"axis", "broadcast", "consumed_inputs"},
	"Mul":                {"axis", "broadcast", "consumed_inputs"},
	"Div":                {"axis", "broadcast", "consumed_inputs"},
	"Relu":               {"consumed_inputs"},
	"Clip":               {"consumed_inputs"},
}

// checkAttrNames rejects attributes the operator does not define, naming
// the first (in name order) and the ones it does define.
func checkAttrNames(n *onnxir.Node) error {
	known := append(append([]string(nil), opAttrs[n.OpType]...), legacyAttrs[n.OpType]...)
	names := make([]string, 0, len(n.Attrs))
	for name := range n.Attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ok := false
		for _, k := range known {
			ok = ok || k == name
		}
		if !ok {
			if len(opAttrs[n.OpType]) == 0 {
				return formatErr("attribute %q: %s has no attributes", name, n.OpType)
			}
			return formatErr("attribute %q is not an attribute of %s (it has %v)", name, n.OpType, opAttrs[n.OpType])
		}
	}
	return nil
}

// boolAttr returns a 0/1 INT attribute as a bool; other values are ErrFormat.
func boolAttr(n *onnxir.Node, name string) (bool, error) {
	v, err := n.Int(name, 0)
	if err != nil {
		return false, err
	}
	if v != 0 && v != 1 {
		return false, formatErr("attribute %s = %d, want 0 or 1", name, v)
	}
	return v == 1, nil
}

// finiteFloat returns a FLOAT attribute (def when absent), rejecting NaN
// and ±Inf.
func finiteFloat(n *onnxir.Node, name string, def float32) (float32, error) {
	v, err := n.Float(name, def)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return 0, formatErr("attribute %s = %v is not finite", name, v)
	}
	return v, nil
}

// distinctAxes normalizes axes against rank r and rejects repeats.
func distinctAxes(what string, axes []int64, r int) ([]int, error) {
	seen := make([]bool, r)
	out := make([]int, len(axes))
	for i, a := range axes {
		k, err := normAxis(a, r, false)
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, formatErr("%s %v repeat axis %d", what, axes, k)
		}
		seen[k] = true
		out[i] = k
	}
	return out, nil
}
