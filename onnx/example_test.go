package onnx_test

import (
	"bytes"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/internal/onnxtest"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/tensor"
)

// A 3x3 convolution of 2 channels into 1 (all weights 0.5), then Relu, on
// inputs of any batch size.
func exampleModel() []byte {
	w := make([]float32, 18)
	for i := range w {
		w[i] = 0.5
	}
	return onnxtest.MustMarshal(onnxtest.Model(&pb.GraphProto{
		Name:        proto.String("example"),
		Input:       []*pb.ValueInfoProto{onnxtest.SymVI("x", -1, 2, 3, 3)},
		Output:      []*pb.ValueInfoProto{onnxtest.SymVI("y", -1, 1, 1, 1)},
		Initializer: []*pb.TensorProto{onnxtest.FloatTensor("w", []int64{1, 2, 3, 3}, w...)},
		Node: []*pb.NodeProto{
			onnxtest.Node("conv", "Conv", []string{"x", "w"}, []string{"c"}),
			onnxtest.Node("relu", "Relu", []string{"c"}, []string{"y"}),
		},
	}))
}

func ExampleLoadReader() {
	m, err := onnx.LoadReader(bytes.NewReader(exampleModel()), onnx.LoadOptions{})
	if err != nil {
		panic(err)
	}
	x := tensor.New(2, 2, 3, 3) // a batch of two images
	for i := range x.Data {
		x.Data[i] = 1
	}
	x.Data[18] = -40 // the second image sums to -40·0.5 + 17·0.5
	out, err := m.Run(map[string]*tensor.Tensor{"x": x})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Executor(), out["y"].Shape, out["y"].Data)
	// Output: engine [2 1 1 1] [9 0]
}
