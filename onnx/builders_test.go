package onnx

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/proto"

	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
)

// Builders for small test models.

func vi(name string, dims ...int64) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(Float32)), Shape: shape}}}}
}

func node(name, op string, in, out []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out, Attribute: attrs}
}

func floatTensor(name string, dims []int64, vals ...float32) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(Float32)), FloatData: vals}
}

func rawFloat(vals ...float32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func rawTensor(name string, dims []int64, raw []byte) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(Float32)), RawData: raw}
}

func extTensor(name string, dims []int64, kv ...string) *pb.TensorProto {
	t := &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(Float32)),
		DataLocation: pb.TensorProto_EXTERNAL.Enum()}
	for i := 0; i+1 < len(kv); i += 2 {
		t.ExternalData = append(t.ExternalData, &pb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return t
}

// model wraps a graph in a ModelProto at IR 8 / opset 13.
func model(g *pb.GraphProto) *pb.ModelProto {
	return &pb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("hostilegen"),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph:        g,
	}
}

// validGraph is x[1,4] + w[4] (initializer) -> Relu -> y.
func validGraph() *pb.GraphProto {
	return &pb.GraphProto{
		Name:        proto.String("g"),
		Input:       []*pb.ValueInfoProto{vi("x", 1, 4)},
		Output:      []*pb.ValueInfoProto{vi("y", 1, 4)},
		Initializer: []*pb.TensorProto{rawTensor("w", []int64{4}, rawFloat(1, 2, 3, 4))},
		Node: []*pb.NodeProto{
			node("add", "Add", []string{"x", "w"}, []string{"s"}),
			node("relu", "Relu", []string{"s"}, []string{"y"}),
		},
	}
}

// graphWith returns validGraph modified by f.
func graphWith(f func(g *pb.GraphProto)) *pb.ModelProto {
	g := validGraph()
	f(g)
	return model(g)
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func attrF(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func attrInts(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}
