package onnx

import (
	"bytes"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/engine"
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
				m, err := LoadReader(bytes.NewReader(b), LoadOptions{Interpret: interp})
				if err != nil {
					t.Fatal(err)
				}
				got := run1(t, m, "X", x)
				for i, v := range got.Data {
					if want := tt.want(i, x.Data[i%8]); v != want {
						t.Fatalf("interpreter=%v: element %d: got %v, want %v (output %v)", interp, i, v, want, got.Data)
					}
				}
			}
		})
	}
}

// convNet is a Conv (constant weights [outC, c, 3, 3]) and Relu on a
// symbolic-batch input [N, c, 4, 4].
func convNet(c, outC int) []byte {
	w := randFloats(1, "w", outC*c*9, -0.1, 0.1)
	return mustMarshal(model(&pb.GraphProto{
		Name: proto.String("conv"), Input: []*pb.ValueInfoProto{symVI("x", -1, int64(c), 4, 4)},
		Output:      []*pb.ValueInfoProto{symVI("y", -1, int64(outC), 4, 4)},
		Initializer: []*pb.TensorProto{floatTensor("w", []int64{int64(outC), int64(c), 3, 3}, w...)},
		Node: []*pb.NodeProto{
			node("conv", "Conv", []string{"x", "w"}, []string{"c"}, attrInts("pads", 1, 1, 1, 1)),
			node("relu", "Relu", []string{"c"}, []string{"y"}),
		},
	}))
}

func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC() // sync.Pool keeps its contents across one collection
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestPlansShareWeights runs the interpreter at eight more batch sizes
// (eight more plans): the conv weights are packed once for all of them, so
// the live heap grows by far less than one copy of the weights (issue #18
// item 15: it grew by the packed weights for every input shape).
func TestPlansShareWeights(t *testing.T) {
	if raceEnabled {
		t.Skip("heap measurements are not meaningful under the race detector")
	}
	const c, outC = 384, 384
	weights := int64(4 * outC * c * 9) // 5.3 MB
	m, err := LoadReader(bytes.NewReader(convNet(c, outC)), LoadOptions{Interpret: true})
	if err != nil {
		t.Fatal(err)
	}
	run := func(n int) {
		x := tensor.New(n, c, 4, 4)
		if _, err := m.Run(map[string]*tensor.Tensor{"x": x}); err != nil {
			t.Fatal(err)
		}
	}
	run(1)
	before := liveHeap()
	for n := 2; n <= 9; n++ {
		run(n)
	}
	grown := liveHeap() - before
	t.Logf("8 more plans: live heap %+d bytes (weights %d bytes)", grown, weights)
	if grown > weights/2 {
		t.Errorf("8 more plans grew the live heap by %d bytes, want under %d (half of one copy of the weights)", grown, weights/2)
	}
	m.mu.Lock()
	groups, plans := len(m.groups), len(m.plans)
	var packed int
	for _, g := range m.groups {
		packed += len(g.convs)
	}
	m.mu.Unlock()
	if groups != 1 || packed != 1 || plans != 9 {
		t.Errorf("%d plans, %d groups of %d packed convs, want 9 plans sharing 1 group of 1", plans, groups, packed)
	}
}

// TestPlanCacheBytes runs a graph whose plans each compute an input-sized
// tensor from its shape (ConstantOfShape(Shape(x))) at ten batch sizes
// with MaxPlanBytes for four of them: the cache must keep at most four,
// within the limit, and every run must still be right.
func TestPlanCacheBytes(t *testing.T) {
	const per = 64 * 1024 // floats per image
	b := mustMarshal(model(&pb.GraphProto{
		Name: proto.String("fill"), Input: []*pb.ValueInfoProto{symVI("x", -1, per)}, Output: []*pb.ValueInfoProto{symVI("y", -1, per)},
		Node: []*pb.NodeProto{
			node("shape", "Shape", []string{"x"}, []string{"s"}),
			node("fill", "ConstantOfShape", []string{"s"}, []string{"f"},
				&pb.AttributeProto{Name: proto.String("value"), Type: pb.AttributeProto_TENSOR.Enum(), T: floatTensor("", []int64{1}, 2)}),
			node("add", "Add", []string{"x", "f"}, []string{"y"}),
		},
	}))
	limit := int64(4 * 4 * per * 4) // four plans of batch 4 or less
	m, err := LoadReader(bytes.NewReader(b), LoadOptions{Limits: Limits{MaxPlanBytes: limit}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Executor() == "engine" {
		t.Fatal("the graph adds an input-shaped constant: it cannot be on the engine")
	}
	for _, n := range []int{1, 2, 3, 4, 1, 2, 3, 4, 2, 1} {
		x := tensor.New(n, per)
		for i := range x.Data {
			x.Data[i] = float32(i % 7)
		}
		y := run1(t, m, "x", x)
		for i, v := range y.Data {
			if v != x.Data[i]+2 {
				t.Fatalf("batch %d element %d: got %v, want %v", n, i, v, x.Data[i]+2)
			}
		}
		m.mu.Lock()
		plans, bytes := len(m.plans), m.planBytes
		m.mu.Unlock()
		if bytes > limit || plans > 4 {
			t.Fatalf("after batch %d: %d plans of %d bytes, want at most 4 within MaxPlanBytes %d", n, plans, bytes, limit)
		}
	}
}

// TestEngineBatchChunks runs a batch above engine.MaxBatch (allowed by
// Limits.MaxBatch): the engine executor runs it in chunks, and the result
// must equal the interpreter's.
func TestEngineBatchChunks(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("runs 4099 images")
	}
	b := convNet(2, 3)
	n := engine.MaxBatch + 3
	x := tensor.New(n, 2, 4, 4)
	copy(x.Data, randFloats(4, "x", len(x.Data), -1, 1))
	var outs [2]*tensor.Tensor
	for k, interp := range []bool{false, true} {
		m, err := LoadReader(bytes.NewReader(b), LoadOptions{Interpret: interp, Limits: Limits{MaxBatch: 2 * engine.MaxBatch}})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Executor() == "engine"; got == interp {
			t.Fatalf("Interpret=%v: executor %s", interp, m.Executor())
		}
		outs[k] = run1(t, m, "x", x)
	}
	if i, ok := allClose(outs[0].Data, outs[1].Data, 1e-5, 1e-6); !ok {
		t.Fatalf("element %d: engine %v, interpreter %v", i, outs[0].Data[i], outs[1].Data[i])
	}
}

// TestPlanCachePackedBytes runs a conv model at many image sizes with
// MaxPlanBytes for about three copies of its packed weights: each image
// size packs its own copy (its group), and the cache must stay within the
// limit by evicting whole groups, with every run still right.
func TestPlanCachePackedBytes(t *testing.T) {
	const c, outC = 64, 64
	w := randFloats(1, "w", outC*c*9, -0.1, 0.1)
	b := mustMarshal(model(&pb.GraphProto{
		Name: proto.String("conv"), Input: []*pb.ValueInfoProto{unshaped("x")}, // any image size
		Output:      []*pb.ValueInfoProto{unshaped("y")},
		Initializer: []*pb.TensorProto{floatTensor("w", []int64{outC, c, 3, 3}, w...)},
		Node:        []*pb.NodeProto{node("conv", "Conv", []string{"x", "w"}, []string{"y"}, attrInts("pads", 1, 1, 1, 1))},
	}))
	weights := int64(4 * len(w))
	limit := 3*weights + weights/2
	m, err := LoadReader(bytes.NewReader(b), LoadOptions{Limits: Limits{MaxPlanBytes: limit}})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := LoadReader(bytes.NewReader(b), LoadOptions{Interpret: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, hw := range []int{4, 5, 6, 7, 4, 8, 9, 5, 10} {
		x := tensor.New(1+i%2, c, hw, hw)
		copy(x.Data, randFloats(uint64(i), "x", len(x.Data), -1, 1))
		got := run1(t, m, "x", x)
		m.mu.Lock()
		used, groups := m.planBytes, len(m.groups)
		m.mu.Unlock()
		if used > limit || groups > 3 {
			t.Fatalf("image %dx%d: cache holds %d bytes in %d groups, want at most %d bytes, 3 groups", hw, hw, used, groups, limit)
		}
		// Against a fresh plan (the reference model caches nothing yet
		// for this size, or recomputes the same way).
		want := run1(t, ref, "x", x)
		if i, ok := allClose(got.Data, want.Data, 1e-6, 1e-7); !ok {
			t.Fatalf("image %dx%d element %d: got %v, want %v", hw, hw, i, got.Data[i], want.Data[i])
		}
	}
}

// unshaped is a FLOAT value of unknown rank.
func unshaped(name string) *pb.ValueInfoProto {
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(pb.TensorProto_FLOAT))}}}}
}
