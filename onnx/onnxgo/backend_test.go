package onnxgo_test

import (
	"errors"
	"math"
	"testing"

	ogo "github.com/owulveryck/onnx-go"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/graph"
	"google.golang.org/protobuf/proto"
	gt "gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/onnxgo"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/tensor"
)

// TestGraphs decodes small models through onnx-go into the Backend and
// checks what it rebuilds (inputs, outputs, opset) and computes.
func TestGraphs(t *testing.T) {
	x := testkit.RandomInput(1, 2, 3)
	x2 := testkit.RandomInput(2, 2, 3)
	elementwise := func(f func(i int, v float32) float32) func() []*tensor.Tensor {
		return func() []*tensor.Tensor {
			y := tensor.New(x.Shape...)
			for i, v := range x.Data {
				y.Data[i] = f(i, v)
			}
			return []*tensor.Tensor{y}
		}
	}
	c := []float32{1, -2, 3}
	tests := []struct {
		name        string
		data        []byte
		inputs      map[string]*tensor.Tensor // set through GetNodeByName
		byIndex     []*tensor.Tensor          // set through Model.SetInput(i)
		want        func() []*tensor.Tensor
		wantOpset   int64
		wantInputs  []string
		wantOutputs []string // of the rebuilt model
	}{
		{
			name: "repeated input",
			data: model(t, 8, 13, &pb.GraphProto{
				Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 3)},
				Node: []*pb.NodeProto{node("Add", []string{"x", "x"}, []string{"y"})},
			}),
			byIndex:   []*tensor.Tensor{x},
			want:      elementwise(func(_ int, v float32) float32 { return v + v }),
			wantOpset: 13, wantInputs: []string{"x"}, wantOutputs: []string{"y"},
		},
		{
			name: "constant node",
			data: model(t, 8, 13, &pb.GraphProto{
				Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 3)},
				Node: []*pb.NodeProto{
					node("Constant", nil, []string{"c"}, tensorAttr("value", floatInit("", c, 3))),
					node("Add", []string{"x", "c"}, []string{"y"}),
				},
			}),
			byIndex:   []*tensor.Tensor{x},
			want:      elementwise(func(i int, v float32) float32 { return v + c[i%3] }),
			wantOpset: 13, wantInputs: []string{"x"}, wantOutputs: []string{"y"},
		},
		{
			name: "omitted optional input",
			data: model(t, 8, 13, &pb.GraphProto{
				Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 3)},
				Initializer: []*pb.TensorProto{floatInit("hi", []float32{0.25})},
				Node:        []*pb.NodeProto{node("Clip", []string{"x", "", "hi"}, []string{"y"})},
			}),
			byIndex:   []*tensor.Tensor{x},
			want:      elementwise(func(_ int, v float32) float32 { return min(v, 0.25) }),
			wantOpset: 13, wantInputs: []string{"x"}, wantOutputs: []string{"y"},
		},
		{
			// IR 3 lists initializers as graph inputs, here before x as
			// in light_inception_v1: x must be set by name.
			name: "IR 3 initializer input",
			data: model(t, 3, 9, &pb.GraphProto{
				Input:       []*pb.ValueInfoProto{vi("w", 3), vi("x", 2, 3)},
				Output:      []*pb.ValueInfoProto{vi("y", 2, 3)},
				Initializer: []*pb.TensorProto{floatInit("w", c, 3)},
				Node:        []*pb.NodeProto{node("Mul", []string{"x", "w"}, []string{"y"})},
			}),
			inputs:    map[string]*tensor.Tensor{"x": x},
			want:      elementwise(func(i int, v float32) float32 { return v * c[i%3] }),
			wantOpset: 13, wantInputs: []string{"x"}, wantOutputs: []string{"y"},
		},
		{
			name: "opset from Unsqueeze axes attribute",
			data: model(t, 6, 11, &pb.GraphProto{
				Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 1, 3)},
				Node: []*pb.NodeProto{node("Unsqueeze", []string{"x"}, []string{"y"}, intsAttr("axes", 1))},
			}),
			byIndex: []*tensor.Tensor{x},
			want: func() []*tensor.Tensor {
				y := tensor.New(2, 1, 3)
				copy(y.Data, x.Data)
				return []*tensor.Tensor{y}
			},
			wantOpset: 12, wantInputs: []string{"x"}, wantOutputs: []string{"y"},
		},
		{
			name: "opset from Dropout ratio and ceil_mode",
			data: model(t, 5, 10, &pb.GraphProto{
				Input: []*pb.ValueInfoProto{vi("x", "N", 1, 1, 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 1, 1, 2)},
				Node: []*pb.NodeProto{
					node("MaxPool", []string{"x"}, []string{"p"}, intsAttr("kernel_shape", 1, 2), intsAttr("strides", 1, 2),
						&pb.AttributeProto{Name: proto.String("ceil_mode"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(1)}),
					node("Dropout", []string{"p"}, []string{"y"}, floatAttr("ratio", 0.5)),
				},
			}),
			inputs: map[string]*tensor.Tensor{"x": {Shape: []int{2, 1, 1, 3}, Data: x.Data}},
			want: func() []*tensor.Tensor {
				y := tensor.New(2, 1, 1, 2)
				for b := range 2 {
					r := x.Data[3*b:]
					y.Data[2*b], y.Data[2*b+1] = max(r[0], r[1]), r[2]
				}
				return []*tensor.Tensor{y}
			},
			wantOpset: 11, wantInputs: []string{"x"}, wantOutputs: []string{"y"},
		},
		{
			// value_info values become outputs of the rebuilt model too
			// (onnx-go does not tell them from graph outputs).
			name: "value_info",
			data: model(t, 8, 13, &pb.GraphProto{
				Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 3)},
				ValueInfo: []*pb.ValueInfoProto{vi("r", "N", 3)},
				Node: []*pb.NodeProto{
					node("Relu", []string{"x"}, []string{"r"}),
					node("Sub", []string{"x", "r"}, []string{"y"}),
				},
			}),
			byIndex:   []*tensor.Tensor{x},
			want:      elementwise(func(_ int, v float32) float32 { return v - max(v, 0) }),
			wantOpset: 13, wantInputs: []string{"x"}, wantOutputs: []string{"r", "y"},
		},
		{
			name: "two inputs, two outputs",
			data: model(t, 8, 13, &pb.GraphProto{
				Input:  []*pb.ValueInfoProto{vi("a", "N", 3), vi("b", "N", 3)},
				Output: []*pb.ValueInfoProto{vi("d", "N", 3), vi("s", "N", 3)},
				Node: []*pb.NodeProto{
					node("Sub", []string{"a", "b"}, []string{"d"}),
					node("Add", []string{"b", "a"}, []string{"s"}),
				},
			}),
			byIndex: []*tensor.Tensor{x, x2},
			want: func() []*tensor.Tensor {
				d, s := tensor.New(2, 3), tensor.New(2, 3)
				for i := range x.Data {
					d.Data[i], s.Data[i] = x.Data[i]-x2.Data[i], x.Data[i]+x2.Data[i]
				}
				return []*tensor.Tensor{d, s}
			},
			wantOpset: 13, wantInputs: []string{"a", "b"}, wantOutputs: []string{"d", "s"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, b := decode(t, tc.data)
			for name, v := range tc.inputs {
				setByName(t, m, name, v)
			}
			for i, v := range tc.byIndex {
				require.NoError(t, m.SetInput(i, toGT(v)))
			}
			got := outputs(t, m, b)
			want := tc.want()
			require.Len(t, got, len(want))
			for i := range want {
				testkit.Close(t, "output", got[i], want[i], 0, 0)
			}
			rebuilt, err := b.Model()
			require.NoError(t, err)
			if got, want := rebuilt.Graph().Opset, tc.wantOpset; got != want {
				t.Errorf("opset %d, want %d", got, want)
			}
			require.Equal(t, tc.wantInputs, rebuilt.InputNames(), "inputs")
			require.Equal(t, tc.wantOutputs, rebuilt.OutputNames(), "outputs")
		})
	}
}

// TestDynamicBatch runs one decoded model at batch sizes 1 and 3:
// onnx-go drops the symbolic batch dimension, and the rebuilt model
// declares no input shape.
func TestDynamicBatch(t *testing.T) {
	m, b := decode(t, model(t, 8, 13, &pb.GraphProto{
		Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 3)},
		Node: []*pb.NodeProto{node("Relu", []string{"x"}, []string{"y"})},
	}))
	for _, batch := range []int{1, 3} {
		x := testkit.RandomInput(uint64(batch), batch, 3)
		require.NoError(t, m.SetInput(0, toGT(x)))
		y := outputs(t, m, b)[0]
		require.Equal(t, []int{batch, 3}, y.Shape)
		for i, v := range x.Data {
			if got, want := y.Data[i], max(v, 0); got != want {
				t.Fatalf("batch %d: y[%d] = %v, want %v", batch, i, got, want)
			}
		}
	}
}

// TestInitializerUpdate sets an initializer's tensor after decoding: the
// next Run recompiles with the new value.
func TestInitializerUpdate(t *testing.T) {
	m, b := decode(t, model(t, 8, 13, &pb.GraphProto{
		Input: []*pb.ValueInfoProto{vi("x", 3)}, Output: []*pb.ValueInfoProto{vi("y", 3)},
		Initializer: []*pb.TensorProto{floatInit("w", []float32{1, 2, 3}, 3)},
		Node:        []*pb.NodeProto{node("Mul", []string{"x", "w"}, []string{"y"})},
	}))
	one := &tensor.Tensor{Shape: []int{3}, Data: []float32{1, 1, 1}}
	require.NoError(t, m.SetInput(0, toGT(one)))
	require.Equal(t, []float32{1, 2, 3}, outputs(t, m, b)[0].Data)
	setByName(t, m, "w", &tensor.Tensor{Shape: []int{3}, Data: []float32{4, 5, 6}})
	require.Equal(t, []float32{4, 5, 6}, outputs(t, m, b)[0].Data)
}

func TestErrors(t *testing.T) {
	relu := model(t, 8, 13, &pb.GraphProto{
		Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 3)},
		Node: []*pb.NodeProto{node("Relu", []string{"x"}, []string{"y"})},
	})
	tests := []struct {
		name    string
		run     func(t *testing.T) error
		wantErr []error
	}{
		{"run before decoding", func(*testing.T) error { return onnxgo.New().Run() }, []error{onnxgo.ErrGraph}},
		{"input not set", func(t *testing.T) error { _, b := decode(t, relu); return b.Run() }, []error{onnxgo.ErrInput}},
		{"input of an unsupported type", func(t *testing.T) error {
			m, b := decode(t, relu)
			require.NoError(t, m.SetInput(0, gt.New(gt.WithShape(1, 3), gt.WithBacking([]uint8{1, 2, 3}))))
			return b.Run()
		}, []error{onnxgo.ErrInput, onnxgo.ErrUnsupported}},
		{"input of the wrong rank", func(t *testing.T) error {
			m, b := decode(t, model(t, 8, 13, &pb.GraphProto{
				Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 6)},
				Node: []*pb.NodeProto{node("Concat", []string{"x", "x"}, []string{"y"},
					&pb.AttributeProto{Name: proto.String("axis"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(1)})},
			}))
			require.NoError(t, m.SetInput(0, gt.New(gt.WithShape(3), gt.WithBacking([]float32{1, 2, 3}))))
			return b.Run()
		}, []error{onnx.ErrFormat}},
		{"dangling value", func(t *testing.T) error {
			_, b := decode(t, model(t, 8, 13, &pb.GraphProto{
				Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 3)},
				Node: []*pb.NodeProto{node("Add", []string{"x", "z"}, []string{"y"})},
			}))
			return b.Compile()
		}, []error{onnxgo.ErrGraph}},
		{"operator the runner lacks", func(t *testing.T) error {
			_, b := decode(t, model(t, 8, 13, &pb.GraphProto{
				Input: []*pb.ValueInfoProto{vi("x", "N", 3)}, Output: []*pb.ValueInfoProto{vi("y", "N", 3)},
				Node: []*pb.NodeProto{node("Acosh", []string{"x"}, []string{"y"})},
			}))
			return b.Compile()
		}, []error{onnx.ErrUnsupported}},
		{"contradictory opset evidence", func(t *testing.T) error {
			_, b := decode(t, model(t, 8, 13, &pb.GraphProto{
				Input:       []*pb.ValueInfoProto{vi("x", 3)},
				Output:      []*pb.ValueInfoProto{vi("y", 1, 1, 3)},
				Initializer: []*pb.TensorProto{{Name: proto.String("axes"), Dims: []int64{1}, DataType: proto.Int32(int32(pb.TensorProto_INT64)), Int64Data: []int64{0}}},
				Node: []*pb.NodeProto{
					node("Unsqueeze", []string{"x"}, []string{"u"}, intsAttr("axes", 0)),
					node("Unsqueeze", []string{"u", "axes"}, []string{"y"}),
				},
			}))
			return b.Compile()
		}, []error{onnxgo.ErrOpset}},
		{"WithOpset out of range", func(t *testing.T) error {
			_, b := decode(t, relu, onnxgo.WithOpset(3))
			return b.Compile()
		}, []error{onnxgo.ErrOpset}},
		{"foreign node", func(t *testing.T) error {
			b := onnxgo.New()
			b.AddNode(onnxgo.New().NewNode())
			return b.Compile()
		}, []error{onnxgo.ErrGraph}},
		{"node added twice", func(t *testing.T) error {
			b := onnxgo.New()
			n := b.NewNode()
			b.AddNode(n)
			b.AddNode(n)
			return b.ApplyOperation(ogo.Operation{Name: "Relu"}, n)
		}, []error{onnxgo.ErrGraph}},
		{"attribute of an unknown type", func(t *testing.T) error {
			b := onnxgo.New()
			n := b.NewNode()
			b.AddNode(n)
			return b.ApplyOperation(ogo.Operation{Name: "Relu", Attributes: map[string]any{"x": struct{}{}}}, n)
		}, []error{onnxgo.ErrUnsupported}},
		{"value produced twice", func(t *testing.T) error {
			b := onnxgo.New()
			n := b.NewNode().(*onnxgo.Node)
			n.SetName("v")
			b.AddNode(n)
			require.NoError(t, b.ApplyOperation(ogo.Operation{Name: "Relu"}, n))
			return b.ApplyOperation(ogo.Operation{Name: "Relu"}, n)
		}, []error{onnxgo.ErrGraph}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t)
			require.Error(t, err)
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("got %v, want an error wrapping %v", err, want)
				}
			}
		})
	}
}

// TestGonumGraph checks the gonum graph view of a decoded model: edges
// go from an operation's output to its inputs, weighted by position.
func TestGonumGraph(t *testing.T) {
	m, b := decode(t, model(t, 8, 13, &pb.GraphProto{
		Input: []*pb.ValueInfoProto{vi("a", 3), vi("c", 3)}, Output: []*pb.ValueInfoProto{vi("y", 3)},
		Node: []*pb.NodeProto{node("Sub", []string{"c", "a"}, []string{"y"})},
	}))
	id := func(name string) int64 {
		n, ok := m.GetNodeByName(name)
		require.True(t, ok, name)
		return n.ID()
	}
	a, c, y := id("a"), id("c"), id("y")
	require.Equal(t, []int64{0, 1}, []int64{a, c}, "graph inputs get the first IDs (onnx-go's SetInput relies on it)")
	ids := func(ns graph.Nodes) []int64 {
		var out []int64
		for ns.Next() {
			out = append(out, ns.Node().ID())
		}
		return out
	}
	require.Equal(t, []int64{a, c}, ids(b.From(y)))
	require.Equal(t, []int64{y}, ids(b.To(a)))
	require.Empty(t, ids(b.From(a)))
	require.Len(t, ids(b.Nodes()), 3)
	tests := []struct {
		name   string
		u, v   int64
		want   float64
		wantOK bool
	}{
		{"first input", y, c, 0, true},
		{"second input", y, a, 1, true},
		{"reverse", a, y, math.Inf(1), false},
		{"self", a, a, 0, true},
	}
	for _, tc := range tests {
		got, ok := b.Weight(tc.u, tc.v)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: Weight(%d, %d) = %v, %v, want %v, %v", tc.name, tc.u, tc.v, got, ok, tc.want, tc.wantOK)
		}
	}
	require.True(t, b.HasEdgeFromTo(y, a))
	require.False(t, b.HasEdgeFromTo(a, y))
	require.True(t, b.HasEdgeBetween(a, y))
	require.Nil(t, b.Edge(a, y))
	require.NotNil(t, b.Edge(y, a))
	require.Nil(t, b.Node(99))
	require.Nil(t, b.Node(-1))
}
