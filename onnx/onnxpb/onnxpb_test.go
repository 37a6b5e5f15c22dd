package onnxpb

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestModelRoundTrip(t *testing.T) {
	model := &ModelProto{
		IrVersion:    proto.Int64(int64(Version_IR_VERSION_2024_3_25)),
		ProducerName: proto.String("inceptionzoo-test"),
		OpsetImport:  []*OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph: &GraphProto{
			Name: proto.String("g"),
			Node: []*NodeProto{{
				Name:   proto.String("relu0"),
				OpType: proto.String("Relu"),
				Input:  []string{"x"},
				Output: []string{"y"},
				Attribute: []*AttributeProto{{
					Name: proto.String("alpha"),
					Type: AttributeProto_FLOAT.Enum(),
					F:    proto.Float32(0.5),
				}},
			}},
			Initializer: []*TensorProto{{
				Name:      proto.String("w"),
				Dims:      []int64{2, 2},
				DataType:  proto.Int32(int32(TensorProto_FLOAT)),
				FloatData: []float32{1, 2, 3, 4},
			}},
			Input: []*ValueInfoProto{{
				Name: proto.String("x"),
				Type: &TypeProto{Value: &TypeProto_TensorType{TensorType: &TypeProto_Tensor{
					ElemType: proto.Int32(int32(TensorProto_FLOAT)),
					Shape: &TensorShapeProto{Dim: []*TensorShapeProto_Dimension{
						{Value: &TensorShapeProto_Dimension_DimParam{DimParam: "N"}},
						{Value: &TensorShapeProto_Dimension_DimValue{DimValue: 3}},
					}},
				}}},
			}},
			Output: []*ValueInfoProto{{Name: proto.String("y")}},
		},
	}
	b, err := proto.Marshal(model)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var got ModelProto
	if err := proto.Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !proto.Equal(&got, model) {
		t.Errorf("round trip mismatch:\ngot  %v\nwant %v", &got, model)
	}
	if got, want := got.GetGraph().GetNode()[0].GetAttribute()[0].GetF(), float32(0.5); got != want {
		t.Errorf("alpha: got %v, want %v", got, want)
	}
	if got, want := string(model.ProtoReflect().Descriptor().FullName()), "inceptionzoo.onnx.ModelProto"; got != want {
		t.Errorf("full name: got %q, want %q", got, want)
	}
}
