package onnx

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/tensor"
)

// TestRepeatedInputKeepsBuffersApart runs the graphs of issue #18 item 1,
// where a node reads the same value twice: the planner once released such
// a value's buffer twice, so two later live values shared it.
func TestRepeatedInputKeepsBuffersApart(t *testing.T) {
	x := tensor.New(1, 8)
	for i := range x.Data {
		x.Data[i] = float32(i + 1)
	}
	minus1 := floatTensor("minus1", nil, -1)
	tests := []struct {
		name  string
		nodes []*pb.NodeProto
		inits []*pb.TensorProto
		out   []int64
		want  func(i int, v float32) float32 // output element i from X[i mod 8]
	}{
		{
			// x = Relu(X); z = Add(x, x); y1 = Relu(z); y2 = Mul(z, -1);
			// out = Concat(y1, y2): [2..16, -2..-16].
			name: "concat",
			nodes: []*pb.NodeProto{
				node("relu", "Relu", []string{"X"}, []string{"x"}),
				node("add", "Add", []string{"x", "x"}, []string{"z"}),
				node("y1", "Relu", []string{"z"}, []string{"y1"}),
				node("y2", "Mul", []string{"z", "minus1"}, []string{"y2"}),
				node("cat", "Concat", []string{"y1", "y2"}, []string{"out"}, attrInt("axis", 1)),
			},
			inits: []*pb.TensorProto{minus1},
			out:   []int64{1, 16},
			want: func(i int, v float32) float32 {
				if i < 8 {
					return 2 * v
				}
				return -2 * v
			},
		},
		{
			// x = Relu(X); s = x*x; out = Sub(Relu(s), -s) = 2·X².
			name: "sub",
			nodes: []*pb.NodeProto{
				node("relu0", "Relu", []string{"X"}, []string{"x"}),
				node("sq", "Mul", []string{"x", "x"}, []string{"s"}),
				node("relu", "Relu", []string{"s"}, []string{"r"}),
				node("neg", "Mul", []string{"s", "minus1"}, []string{"n"}),
				node("sub", "Sub", []string{"r", "n"}, []string{"out"}),
			},
			inits: []*pb.TensorProto{minus1},
			out:   []int64{1, 8},
			want:  func(_ int, v float32) float32 { return 2 * v * v },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustMarshal(model(&pb.GraphProto{
				Name: proto.String(tt.name), Input: []*pb.ValueInfoProto{vi("X", 1, 8)},
				Output: []*pb.ValueInfoProto{vi("out", tt.out...)}, Initializer: tt.inits, Node: tt.nodes,
			}))
			for _, interp := range []bool{false, true} {
				got := run1(t, loadBytes(t, b), "X", x)
				for i, v := range got.Data {
					if want := tt.want(i, x.Data[i%8]); v != want {
						t.Fatalf("interpreter=%v: element %d: got %v, want %v (output %v)", interp, i, v, want, got.Data)
					}
				}
			}
		})
	}
}
