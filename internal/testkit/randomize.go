package testkit

import (
	"bytes"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// RandomizeConstantWeights returns model (a serialized ModelProto) with
// every float ConstantOfShape node whose shape is an initializer — the
// weights of the ONNX suite's "light" models — replaced by an initializer
// of the same name and shape holding seeded random values, drawn from
// nn.NewRand(seed, name). The distribution follows the tensor's role:
// Conv weights U(±√(3/fan_in)) with fan_in the product of dims[1:], Gemm
// and MatMul weights the same with fan_in the reduced dimension,
// BatchNormalization scale U(0.8, 1.2) and variance U(0.5, 1.5), a
// per-channel Mul scale (the Caffe2 Scale layer) U(0.8, 1.2), and means,
// biases and anything else U(-0.1, 0.1). Roles are found by following the
// value through Reshape, Unsqueeze and Identity nodes to its consumer. For
// IR versions below 4 the new initializers are also listed as graph inputs,
// as those versions require. The model is validated with onnxir.Decode
// first, and the shapes are read from the decoded initializers.
func RandomizeConstantWeights(model []byte, seed uint64) ([]byte, error) {
	dg, err := onnxir.Decode(bytes.NewReader(model), onnxir.DecodeOptions{})
	if err != nil {
		return nil, err
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, fmt.Errorf("testkit: ModelProto: %w", err)
	}
	g := m.GetGraph()
	consumers := map[string][]*onnxpb.NodeProto{}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			consumers[in] = append(consumers[in], n)
		}
	}
	var keep []*onnxpb.NodeProto
	for _, n := range g.GetNode() {
		if n.GetOpType() != "ConstantOfShape" || len(n.GetInput()) != 1 || len(n.GetOutput()) != 1 {
			keep = append(keep, n)
			continue
		}
		shape, ok := dg.Initializers[n.GetInput()[0]]
		if !ok {
			keep = append(keep, n)
			continue
		}
		isFloat := true
		for _, a := range n.GetAttribute() {
			if a.GetName() == "value" && a.GetT() != nil && !onnxir.DType(a.GetT().GetDataType()).IsFloat() {
				isFloat = false
			}
		}
		if !isFloat || shape.Int == nil {
			keep = append(keep, n)
			continue
		}
		dims := shape.Int
		count := int64(1)
		for _, d := range dims {
			if d < 0 || (d > 0 && count > onnxir.DefaultLimits.MaxTensorElements/d) {
				return nil, fmt.Errorf("testkit: node %q: shape %v: negative or over MaxTensorElements", n.GetName(), dims)
			}
			count *= d
		}
		name := n.GetOutput()[0]
		lo, hi := weightRange(name, dims, consumers)
		r := nn.NewRand(seed, name)
		data := make([]float32, count)
		for i := range data {
			data[i] = r.Uniform(lo, hi)
		}
		g.Initializer = append(g.Initializer, &onnxpb.TensorProto{
			Name: proto.String(name), Dims: append([]int64(nil), dims...),
			DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: data,
		})
		if m.GetIrVersion() < 4 {
			g.Input = append(g.Input, valueInfo(name, dims))
		}
	}
	g.Node = keep
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
	if err != nil {
		return nil, fmt.Errorf("testkit: marshal randomized model: %w", err)
	}
	return b, nil
}

// weightRange picks the uniform range for a weight from its consumer.
func weightRange(name string, dims []int64, consumers map[string][]*onnxpb.NodeProto) (lo, hi float32) {
	cur := name
	for range 8 {
		cs := consumers[cur]
		if len(cs) != 1 {
			break
		}
		c := cs[0]
		idx := -1
		for k, in := range c.GetInput() {
			if in == cur {
				idx = k
			}
		}
		switch c.GetOpType() {
		case "Reshape", "Unsqueeze", "Identity", "Flatten", "Squeeze":
			if idx == 0 && len(c.GetOutput()) > 0 {
				cur = c.GetOutput()[0]
				continue
			}
		case "Conv":
			if idx == 1 {
				return heRange(prod64(dims[1:]))
			}
		case "Gemm", "MatMul":
			if idx == 1 {
				transB := false
				for _, a := range c.GetAttribute() {
					if a.GetName() == "transB" && a.GetI() != 0 {
						transB = true
					}
				}
				if transB && len(dims) > 0 {
					return heRange(dims[len(dims)-1])
				}
				if len(dims) > 0 {
					return heRange(prod64(dims[:len(dims)-1]))
				}
			}
		case "BatchNormalization":
			switch idx {
			case 1:
				return 0.8, 1.2
			case 4:
				return 0.5, 1.5
			}
		case "Mul":
			return 0.8, 1.2
		}
		break
	}
	return -0.1, 0.1
}

func heRange(fanIn int64) (float32, float32) {
	if fanIn < 1 {
		fanIn = 1
	}
	b := float32(math.Sqrt(6 / float64(fanIn)))
	return -b, b
}

func prod64(d []int64) int64 {
	n := int64(1)
	for _, v := range d {
		n *= v
	}
	return n
}

func valueInfo(name string, dims []int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape}}}}
}
