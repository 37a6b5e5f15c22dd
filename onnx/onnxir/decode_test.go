package onnxir

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
)

func TestDecodeLightInception(t *testing.T) {
	tests := []struct {
		file  string
		nodes int
		ops   map[string]int
	}{
		{"light_inception_v1.onnx", 237, map[string]int{"Conv": 57, "Relu": 57, "MaxPool": 13, "LRN": 2, "Concat": 9,
			"AveragePool": 1, "Dropout": 1, "Reshape": 2, "Gemm": 1, "Softmax": 1, "ConstantOfShape": 93}},
		{"light_inception_v2.onnx", 916, map[string]int{"Conv": 69, "BatchNormalization": 69, "Mul": 69, "Add": 69,
			"Unsqueeze": 138, "Relu": 69, "MaxPool": 5, "AveragePool": 8, "Concat": 10, "Reshape": 1, "Gemm": 1,
			"Softmax": 1, "ConstantOfShape": 407}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			g, err := DecodeFile(sharedFile(t, tt.file), DecodeOptions{})
			if err != nil {
				t.Fatalf("DecodeFile: %v", err)
			}
			if got := len(g.Nodes); got != tt.nodes {
				t.Errorf("nodes: got %d, want %d", got, tt.nodes)
			}
			if got := g.OpCounts(); !reflect.DeepEqual(got, tt.ops) {
				t.Errorf("op counts:\ngot  %v\nwant %v", got, tt.ops)
			}
			wantIn := []ValueInfo{{Name: "data_0", DType: Float32, Shape: []Dim{{Value: 1}, {Value: 3}, {Value: 224}, {Value: 224}}}}
			if !reflect.DeepEqual(g.Inputs, wantIn) {
				t.Errorf("inputs: got %+v, want %+v", g.Inputs, wantIn)
			}
			if len(g.Outputs) != 1 || g.Outputs[0].Name != "prob_1" {
				t.Errorf("outputs: got %+v, want [prob_1]", g.Outputs)
			}
			if g.Opset != 9 || g.IRVersion != 3 {
				t.Errorf("opset, ir: got %d, %d, want 9, 3", g.Opset, g.IRVersion)
			}
			// Topological order: every input is defined before use.
			avail := map[string]bool{"": true}
			for _, in := range g.Inputs {
				avail[in.Name] = true
			}
			for name := range g.Initializers {
				avail[name] = true
			}
			for _, n := range g.Nodes {
				for _, in := range n.Inputs {
					if !avail[in] {
						t.Fatalf("node %q uses %q before it is produced", n.Name, in)
					}
				}
				for _, out := range n.Outputs {
					avail[out] = true
				}
			}
			// Attribute accessors on a real node.
			for _, n := range g.Nodes {
				if n.OpType != "Conv" {
					continue
				}
				ks, err := n.Ints("kernel_shape", nil)
				if err != nil || len(ks) != 2 {
					t.Errorf("Conv %q kernel_shape: got %v, %v, want 2 ints", n.Name, ks, err)
				}
				if _, err := n.Float("kernel_shape", 0); !errors.Is(err, ErrFormat) {
					t.Errorf("Float(kernel_shape): got %v, want ErrFormat", err)
				}
				if g, err := n.Int("group", 1); err != nil || g != 1 {
					t.Errorf("Int(group): got %d, %v, want 1, nil", g, err)
				}
				break
			}
		})
	}
}

func TestDecodeTensorOutputFile(t *testing.T) {
	for _, name := range []string{"light_inception_v1_output_0.pb", "light_inception_v2_output_0.pb"} {
		f, err := os.Open(sharedFile(t, name))
		if err != nil {
			t.Fatal(err)
		}
		tensor, err := DecodeTensor(f, DefaultLimits)
		f.Close()
		if err != nil {
			t.Fatalf("DecodeTensor(%s): %v", name, err)
		}
		if got, want := tensor.Dims, []int64{1, 1000}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s dims: got %v, want %v", name, got, want)
		}
		if got, want := len(tensor.Float), 1000; got != want {
			t.Errorf("%s len: got %d, want %d", name, got, want)
		}
	}
}

func TestEncodeTensorRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	data := []float32{1, -2, 3.5, 0, 1e-30, 7}
	if err := EncodeTensor(&buf, "t", []int64{2, 3}, data); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeTensor(&buf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Tensor{Name: "t", Dims: []int64{2, 3}, DType: Float32, Float: data}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if err := EncodeTensor(&buf, "bad", []int64{2, 2}, data); !errors.Is(err, ErrFormat) {
		t.Errorf("EncodeTensor size mismatch: got %v, want ErrFormat", err)
	}
}

func TestDecodeTensorTypes(t *testing.T) {
	tests := []struct {
		name  string
		tp    *pb.TensorProto
		float []float32
		ints  []int64
	}{
		{"float16 raw", &pb.TensorProto{Dims: []int64{3}, DataType: proto.Int32(int32(Float16)), RawData: []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00}},
			[]float32{1, -2, 5.9604645e-08}, nil},
		{"bfloat16 typed", &pb.TensorProto{Dims: []int64{2}, DataType: proto.Int32(int32(BFloat16)), Int32Data: []int32{0x3f80, 0x4049}},
			[]float32{1, 3.140625}, nil},
		{"double", &pb.TensorProto{Dims: []int64{2}, DataType: proto.Int32(int32(Float64)), DoubleData: []float64{0.5, -1}},
			[]float32{0.5, -1}, nil},
		{"int8 raw", &pb.TensorProto{Dims: []int64{2}, DataType: proto.Int32(int32(Int8)), RawData: []byte{0xff, 0x7f}},
			nil, []int64{-1, 127}},
		{"bool", &pb.TensorProto{Dims: []int64{2}, DataType: proto.Int32(int32(Bool)), Int32Data: []int32{1, 0}},
			nil, []int64{1, 0}},
		{"int64 scalar", &pb.TensorProto{DataType: proto.Int32(int32(Int64)), Int64Data: []int64{-5}},
			nil, []int64{-5}},
		{"uint32", &pb.TensorProto{Dims: []int64{1}, DataType: proto.Int32(int32(Uint32)), Uint64Data: []uint64{4000000000}},
			nil, []int64{4000000000}},
		{"empty", &pb.TensorProto{Dims: []int64{0, 5}, DataType: proto.Int32(int32(Float32))},
			[]float32{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeTensor(bytes.NewReader(mustMarshal(tt.tp)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Float, tt.float) || !reflect.DeepEqual(got.Int, tt.ints) {
				t.Errorf("got Float %v Int %v, want Float %v Int %v", got.Float, got.Int, tt.float, tt.ints)
			}
		})
	}
}

func TestDecodeValid(t *testing.T) {
	m := graphWith(func(g *pb.GraphProto) {
		// Out of order on purpose: relu before add.
		g.Node[0], g.Node[1] = g.Node[1], g.Node[0]
		g.Input = append(g.Input, &pb.ValueInfoProto{Name: proto.String("n"), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
			TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(Int64)), Shape: &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{
				{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}}}}}}})
		// The initializer is also declared as a graph input (IR < 4 style).
		g.Input = append(g.Input, vi("w", 4))
		g.Node = append(g.Node, node("", "Clip", []string{"y", "", ""}, []string{"z"}))
	})
	m.MetadataProps = []*pb.StringStringEntryProto{{Key: proto.String("k"), Value: proto.String("v")}}
	g, err := Decode(bytes.NewReader(mustMarshal(m)), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, n := range g.Nodes {
		order = append(order, n.Name)
	}
	if want := []string{"add", "relu", "#2"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order: got %v, want %v", order, want)
	}
	if got, want := len(g.Inputs), 2; got != want {
		t.Fatalf("inputs: got %d (%+v), want %d", got, g.Inputs, want)
	}
	if got, want := g.Inputs[1].Shape, []Dim{{Value: -1, Param: "N"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("symbolic shape: got %+v, want %+v", got, want)
	}
	if got, want := g.Initializers["w"].Float, []float32{1, 2, 3, 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("w: got %v, want %v", got, want)
	}
	if g.Metadata["k"] != "v" {
		t.Errorf("metadata: got %v, want k=v", g.Metadata)
	}
	if err := g.CheckOps(map[string]bool{"Add": true, "Relu": true}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("CheckOps: got %v, want ErrUnsupported for Clip", err)
	}
}

func TestNonFiniteOption(t *testing.T) {
	b := mustMarshal(graphWith(func(g *pb.GraphProto) { g.Initializer[0].RawData = rawFloat(1, float32NaN(), 3, float32Inf()) }))
	if _, err := Decode(bytes.NewReader(b), DecodeOptions{}); !errors.Is(err, ErrFormat) {
		t.Errorf("default: got %v, want ErrFormat", err)
	}
	if _, err := Decode(bytes.NewReader(b), DecodeOptions{AllowNonFinite: true}); err != nil {
		t.Errorf("AllowNonFinite: got %v, want nil", err)
	}
}

func TestExternalData(t *testing.T) {
	base := prepareExtDir(t)
	if err := os.MkdirAll(filepath.Join(base, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "sub", "w.bin"), append(make([]byte, 4), rawFloat(5, 6, 7, 8)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("weights.bin", filepath.Join(base, "inside.bin")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		kv   []string
		want []float32
	}{
		{"plain", []string{"location", "weights.bin"}, []float32{1, 2, 3, 4}},
		{"offset and length", []string{"location", "sub/w.bin", "offset", "4", "length", "16"}, []float32{5, 6, 7, 8}},
		{"symlink inside", []string{"location", "inside.bin"}, []float32{1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustMarshal(graphWith(func(g *pb.GraphProto) { g.Initializer[0] = extTensor("w", []int64{4}, tt.kv...) }))
			model := filepath.Join(base, "m.onnx")
			if err := os.WriteFile(model, b, 0o600); err != nil {
				t.Fatal(err)
			}
			g, err := DecodeFile(model, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Initializers["w"].Float; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// External bytes limit.
	b := mustMarshal(graphWith(func(g *pb.GraphProto) { g.Initializer[0] = extTensor("w", []int64{4}, "location", "weights.bin") }))
	_, err := Decode(bytes.NewReader(b), DecodeOptions{BaseDir: base, Limits: Limits{MaxExternalDataBytes: 8}})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("MaxExternalDataBytes: got %v, want ErrLimit", err)
	}
}

func TestErrorTypes(t *testing.T) {
	b := mustMarshal(graphWith(func(g *pb.GraphProto) { g.Node[1].Input = []string{"ghost"} }))
	_, err := Decode(bytes.NewReader(b), DecodeOptions{})
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Node != "relu" || ne.Op != "Relu" {
		t.Fatalf("got %#v, want *NodeError for relu", err)
	}
	b = mustMarshal(graphWith(func(g *pb.GraphProto) { g.Initializer[0].Dims = []int64{5} }))
	_, err = Decode(bytes.NewReader(b), DecodeOptions{})
	var te *TensorError
	if !errors.As(err, &te) || te.Tensor != "w" {
		t.Fatalf("got %#v, want *TensorError for w", err)
	}
	if !errors.Is(ErrLimit, ErrFormat) || !errors.Is(ErrUnsafePath, ErrFormat) {
		t.Error("ErrLimit and ErrUnsafePath must wrap ErrFormat")
	}
}

// TestReadLimited reads inputs of known size (bytes.Reader, a file) and
// of unknown size (a plain io.Reader), including one longer than its
// limit: the same bytes come back, or ErrLimit.
func TestReadLimited(t *testing.T) {
	data := bytes.Repeat([]byte("onnx"), 1000)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, max := range []int64{4000, 3999} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]io.Reader{
			"bytes.Reader": bytes.NewReader(data),
			"file":         f,
			"io.Reader":    io.MultiReader(bytes.NewReader(data)),
		} {
			got, err := readLimited(r, max)
			if max < int64(len(data)) {
				if !errors.Is(err, ErrLimit) {
					t.Errorf("%s, max %d: got %v, want ErrLimit", name, max, err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s, max %d: got %d bytes, %v; want the %d bytes", name, max, len(got), err, len(data))
			}
		}
		f.Close()
	}
}
