package onnxir

import (
	"fmt"

	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// AttrType is an ONNX attribute kind; values match AttributeProto.AttributeType.
type AttrType int32

// Attribute kinds. Decode accepts FLOAT, INT, STRING, TENSOR, FLOATS, INTS
// and STRINGS; the others yield ErrUnsupported.
const (
	AttrUndefined     AttrType = 0
	AttrFloat         AttrType = 1
	AttrInt           AttrType = 2
	AttrString        AttrType = 3
	AttrTensor        AttrType = 4
	AttrGraph         AttrType = 5
	AttrFloats        AttrType = 6
	AttrInts          AttrType = 7
	AttrStrings       AttrType = 8
	AttrTensors       AttrType = 9
	AttrGraphs        AttrType = 10
	AttrSparseTensor  AttrType = 11
	AttrSparseTensors AttrType = 12
	AttrTypeProto     AttrType = 13
	AttrTypeProtos    AttrType = 14
)

func (a AttrType) String() string {
	if s, ok := onnxpb.AttributeProto_AttributeType_name[int32(a)]; ok {
		return s
	}
	return fmt.Sprintf("AttrType(%d)", int32(a))
}

// Attr is a decoded node attribute; the field matching Type holds the value.
type Attr struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// attr looks up name and checks its type. ok is false when it is absent.
func (n *Node) attr(name string, want AttrType) (a Attr, ok bool, err error) {
	a, ok = n.Attrs[name]
	if !ok {
		return a, false, nil
	}
	if a.Type != want {
		return a, true, n.Wrap(formatErr("attribute %q is %v, want %v", name, a.Type, want))
	}
	return a, true, nil
}

// Wrap attributes err to n: it returns a *NodeError naming the node and
// its op_type.
func (n *Node) Wrap(err error) error {
	return &NodeError{Node: n.Name, Op: n.OpType, Err: err}
}

// Int returns INT attribute name, or def when absent. An attribute of
// another type yields a *NodeError wrapping ErrFormat.
func (n *Node) Int(name string, def int64) (int64, error) {
	a, ok, err := n.attr(name, AttrInt)
	if !ok || err != nil {
		return def, err
	}
	return a.I, nil
}

// Float returns FLOAT attribute name, or def when absent.
func (n *Node) Float(name string, def float32) (float32, error) {
	a, ok, err := n.attr(name, AttrFloat)
	if !ok || err != nil {
		return def, err
	}
	return a.F, nil
}

// String returns STRING attribute name, or def when absent.
func (n *Node) String(name string, def string) (string, error) {
	a, ok, err := n.attr(name, AttrString)
	if !ok || err != nil {
		return def, err
	}
	return a.S, nil
}

// Ints returns INTS attribute name, or def when absent.
func (n *Node) Ints(name string, def []int64) ([]int64, error) {
	a, ok, err := n.attr(name, AttrInts)
	if !ok || err != nil {
		return def, err
	}
	return a.Ints, nil
}

// Floats returns FLOATS attribute name, or def when absent.
func (n *Node) Floats(name string, def []float32) ([]float32, error) {
	a, ok, err := n.attr(name, AttrFloats)
	if !ok || err != nil {
		return def, err
	}
	return a.Floats, nil
}

// Strings returns STRINGS attribute name, or def when absent.
func (n *Node) Strings(name string, def []string) ([]string, error) {
	a, ok, err := n.attr(name, AttrStrings)
	if !ok || err != nil {
		return def, err
	}
	return a.Strings, nil
}

// Tensor returns TENSOR attribute name, or nil when absent.
func (n *Node) Tensor(name string) (*Tensor, error) {
	a, ok, err := n.attr(name, AttrTensor)
	if !ok || err != nil {
		return nil, err
	}
	return a.T, nil
}

// knownAttrTypes lists the declared types of attributes of common default-
// domain operators. Decode rejects an attribute whose type contradicts this
// table with ErrFormat; attributes not listed are accepted as declared.
var knownAttrTypes = map[string]map[string]AttrType{
	"Conv": {"auto_pad": AttrString, "dilations": AttrInts, "group": AttrInt,
		"kernel_shape": AttrInts, "pads": AttrInts, "strides": AttrInts},
	"ConvTranspose": {"auto_pad": AttrString, "dilations": AttrInts, "group": AttrInt,
		"kernel_shape": AttrInts, "output_padding": AttrInts, "output_shape": AttrInts,
		"pads": AttrInts, "strides": AttrInts},
	"MaxPool": {"auto_pad": AttrString, "ceil_mode": AttrInt, "dilations": AttrInts,
		"kernel_shape": AttrInts, "pads": AttrInts, "storage_order": AttrInt, "strides": AttrInts},
	"AveragePool": {"auto_pad": AttrString, "ceil_mode": AttrInt, "count_include_pad": AttrInt,
		"dilations": AttrInts, "kernel_shape": AttrInts, "pads": AttrInts, "strides": AttrInts},
	"LRN":                {"alpha": AttrFloat, "beta": AttrFloat, "bias": AttrFloat, "size": AttrInt},
	"BatchNormalization": {"epsilon": AttrFloat, "momentum": AttrFloat, "training_mode": AttrInt},
	"Gemm":               {"alpha": AttrFloat, "beta": AttrFloat, "transA": AttrInt, "transB": AttrInt},
	"Concat":             {"axis": AttrInt},
	"Softmax":            {"axis": AttrInt},
	"LogSoftmax":         {"axis": AttrInt},
	"Flatten":            {"axis": AttrInt},
	"Transpose":          {"perm": AttrInts},
	"Reshape":            {"allowzero": AttrInt},
	"Dropout":            {"ratio": AttrFloat, "seed": AttrInt},
	"LeakyRelu":          {"alpha": AttrFloat},
	"Elu":                {"alpha": AttrFloat},
	"Gather":             {"axis": AttrInt},
	"Split":              {"axis": AttrInt, "split": AttrInts, "num_outputs": AttrInt},
	"Squeeze":            {"axes": AttrInts},
	"Unsqueeze":          {"axes": AttrInts},
	"Cast":               {"to": AttrInt, "saturate": AttrInt},
	"ConstantOfShape":    {"value": AttrTensor},
	"Constant": {"value": AttrTensor, "value_float": AttrFloat, "value_floats": AttrFloats,
		"value_int": AttrInt, "value_ints": AttrInts, "value_string": AttrString,
		"value_strings": AttrStrings, "sparse_value": AttrSparseTensor},
	"Pad":                   {"mode": AttrString, "pads": AttrInts, "value": AttrFloat},
	"GlobalLpPool":          {"p": AttrInt},
	"ReduceMean":            {"axes": AttrInts, "keepdims": AttrInt, "noop_with_empty_axes": AttrInt},
	"ReduceMax":             {"axes": AttrInts, "keepdims": AttrInt, "noop_with_empty_axes": AttrInt},
	"ReduceSum":             {"axes": AttrInts, "keepdims": AttrInt, "noop_with_empty_axes": AttrInt},
	"Clip":                  {"min": AttrFloat, "max": AttrFloat},
	"Resize":                {"mode": AttrString, "coordinate_transformation_mode": AttrString, "nearest_mode": AttrString},
	"InstanceNormalization": {"epsilon": AttrFloat},
}
