package testkit

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
)

// ExposeGemm returns the serialised ONNX model with the output of its
// single Gemm node (a classifier's logits) added as a further FLOAT graph
// output, and that output's name. It fails the test when the model does
// not have exactly one Gemm node.
func ExposeGemm(tb testing.TB, model []byte) ([]byte, string) {
	tb.Helper()
	var m pb.ModelProto
	require.NoError(tb, proto.Unmarshal(model, &m))
	var gemm *pb.NodeProto
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() == "Gemm" {
			require.Nil(tb, gemm, "more than one Gemm node")
			gemm = n
		}
	}
	require.NotNil(tb, gemm, "no Gemm node")
	require.NotEmpty(tb, gemm.GetOutput(), "Gemm node without output")
	name := gemm.GetOutput()[0]
	m.Graph.Output = append(m.Graph.Output, &pb.ValueInfoProto{
		Name: proto.String(name),
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(pb.TensorProto_FLOAT)),
		}}},
	})
	b, err := proto.Marshal(&m)
	require.NoError(tb, err)
	return b, name
}
