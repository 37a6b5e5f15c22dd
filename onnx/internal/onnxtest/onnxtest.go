// Package onnxtest builds small ONNX models (protobuf messages) for the
// tests of package onnx and its sub-packages: graphs, nodes, tensors and
// attributes, serialized deterministically.
package onnxtest

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
)

// VI is a FLOAT value info of the given dims.
func VI(name string, dims ...int64) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(pb.TensorProto_FLOAT)), Shape: shape}}}}
}

// Node is a default-domain node.
func Node(name, op string, in, out []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out, Attribute: attrs}
}

// FloatTensor is a FLOAT tensor in float_data.
func FloatTensor(name string, dims []int64, vals ...float32) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: vals}
}

// RawFloat is vals as little-endian raw_data bytes.
func RawFloat(vals ...float32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// RawTensor is a FLOAT tensor in raw_data.
func RawTensor(name string, dims []int64, raw []byte) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), RawData: raw}
}

// ExtTensor is a FLOAT tensor stored as external data, with the
// external_data key-value pairs kv.
func ExtTensor(name string, dims []int64, kv ...string) *pb.TensorProto {
	t := &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)),
		DataLocation: pb.TensorProto_EXTERNAL.Enum()}
	for i := 0; i+1 < len(kv); i += 2 {
		t.ExternalData = append(t.ExternalData, &pb.StringStringEntryProto{Key: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return t
}

// Model wraps a graph in a ModelProto at IR 8 / opset 13.
func Model(g *pb.GraphProto) *pb.ModelProto {
	return &pb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("hostilegen"),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph:        g,
	}
}

// ValidGraph is x[1,4] + w[4] (initializer) -> Relu -> y.
func ValidGraph() *pb.GraphProto {
	return &pb.GraphProto{
		Name:        proto.String("g"),
		Input:       []*pb.ValueInfoProto{VI("x", 1, 4)},
		Output:      []*pb.ValueInfoProto{VI("y", 1, 4)},
		Initializer: []*pb.TensorProto{RawTensor("w", []int64{4}, RawFloat(1, 2, 3, 4))},
		Node: []*pb.NodeProto{
			Node("add", "Add", []string{"x", "w"}, []string{"s"}),
			Node("relu", "Relu", []string{"s"}, []string{"y"}),
		},
	}
}

// GraphWith returns ValidGraph modified by f.
func GraphWith(f func(g *pb.GraphProto)) *pb.ModelProto {
	g := ValidGraph()
	f(g)
	return Model(g)
}

// MustMarshal serializes m deterministically; it panics on error.
func MustMarshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// AttrF is a FLOAT attribute.
func AttrF(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// AttrInts is an INTS attribute.
func AttrInts(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

// AttrInt is an INT attribute.
func AttrInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// AttrStr is a STRING attribute.
func AttrStr(name, v string) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// Int64Tensor is an INT64 tensor in int64_data.
func Int64Tensor(name string, dims []int64, vals ...int64) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: vals}
}

// SymVI is a float value whose first dim is the symbolic "N".
func SymVI(name string, dims ...int64) *pb.ValueInfoProto {
	v := VI(name, dims...)
	v.Type.GetTensorType().Shape.Dim[0] = &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}
	return v
}

// NaN32 is a float32 NaN.
func NaN32() float32 { var z float32; return z / z }

// Inf32 is float32 +Inf.
func Inf32() float32 { var z float32; return 1 / z }

// ExtDir makes a base directory for external data holding weights.bin
// (the FLOAT values 1, 2, 3, 4) and escape.bin, a symlink to a file outside
// it. It skips the test where symlinks are unavailable.
func ExtDir(t testing.TB) string {
	t.Helper()
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.bin")
	if err := os.WriteFile(secret, RawFloat(9, 9, 9, 9), 0o600); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	if err := os.WriteFile(filepath.Join(base, "weights.bin"), RawFloat(1, 2, 3, 4), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(base, "escape.bin")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	return base
}
