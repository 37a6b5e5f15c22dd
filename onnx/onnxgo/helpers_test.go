package onnxgo_test

import (
	"testing"

	ogo "github.com/owulveryck/onnx-go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	gt "gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/onnx/onnxgo"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/tensor"
)

// decode decodes data with onnx-go into a new Backend.
func decode(tb testing.TB, data []byte, opts ...onnxgo.Option) (*ogo.Model, *onnxgo.Backend) {
	tb.Helper()
	b := onnxgo.New(opts...)
	m := ogo.NewModel(b)
	require.NoError(tb, m.UnmarshalBinary(data), "onnx-go UnmarshalBinary")
	return m, b
}

// setByName sets the tensor of the value named name.
func setByName(tb testing.TB, m *ogo.Model, name string, x *tensor.Tensor) {
	tb.Helper()
	n, ok := m.GetNodeByName(name)
	require.True(tb, ok, "no node %q", name)
	require.NoError(tb, n.(ogo.DataCarrier).SetTensor(toGT(x)))
}

// toGT wraps x's data in a gorgonia tensor (sharing it).
func toGT(x *tensor.Tensor) gt.Tensor {
	return gt.New(gt.WithShape(x.Shape...), gt.WithBacking(x.Data))
}

// fromGT copies a float32 gorgonia tensor.
func fromGT(tb testing.TB, t gt.Tensor) *tensor.Tensor {
	tb.Helper()
	require.NotNil(tb, t)
	data, ok := t.Data().([]float32)
	require.True(tb, ok, "output data is %T, want []float32", t.Data())
	out := tensor.New(t.Shape()...)
	require.Len(tb, data, len(out.Data))
	copy(out.Data, data)
	return out
}

// outputs runs b and returns the model's output tensors.
func outputs(tb testing.TB, m *ogo.Model, b *onnxgo.Backend) []*tensor.Tensor {
	tb.Helper()
	require.NoError(tb, b.Run())
	ts, err := m.GetOutputTensors()
	require.NoError(tb, err)
	out := make([]*tensor.Tensor, len(ts))
	for i, t := range ts {
		out[i] = fromGT(tb, t)
	}
	return out
}

// ---- small hand-made models ----

func dimValue(d int64) *pb.TensorShapeProto_Dimension {
	return &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
}

func dimParam(p string) *pb.TensorShapeProto_Dimension {
	return &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: p}}
}

// vi declares a FLOAT value; "N" in dims is a symbolic dimension.
func vi(name string, dims ...any) *pb.ValueInfoProto {
	var ds []*pb.TensorShapeProto_Dimension
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			ds = append(ds, dimValue(int64(d)))
		case string:
			ds = append(ds, dimParam(d))
		}
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(pb.TensorProto_FLOAT)), Shape: &pb.TensorShapeProto{Dim: ds}}}}}
}

func floatInit(name string, vals []float32, dims ...int64) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: vals}
}

func intsAttr(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

func floatAttr(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func tensorAttr(name string, t *pb.TensorProto) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_TENSOR.Enum(), T: t}
}

func node(op string, in, out []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{OpType: proto.String(op), Input: in, Output: out, Attribute: attrs}
}

// model serialises g at ir_version ir and default-domain opset.
func model(tb testing.TB, ir, opset int64, g *pb.GraphProto) []byte {
	tb.Helper()
	if g.Name == nil {
		g.Name = proto.String("g")
	}
	b, err := proto.Marshal(&pb.ModelProto{
		IrVersion:   proto.Int64(ir),
		OpsetImport: []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph:       g,
	})
	require.NoError(tb, err)
	return b
}
