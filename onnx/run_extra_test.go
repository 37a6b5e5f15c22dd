package onnx

import (
	"bytes"
	"errors"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/tensor"
)

func randFloats(seed uint64, key string, n int, lo, hi float32) []float32 {
	r := nn.NewRand(seed, key)
	out := make([]float32, n)
	for i := range out {
		out[i] = r.Uniform(lo, hi)
	}
	return out
}

func loadBytes(t *testing.T, b []byte) *Model {
	t.Helper()
	m, err := LoadReader(bytes.NewReader(b), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func run1(t *testing.T, m *Model, name string, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	out, err := m.Run(map[string]*tensor.Tensor{name: x})
	if err != nil {
		t.Fatal(err)
	}
	return out[m.OutputNames()[0]]
}

// torchFlattenGraph is what torch.onnx emits for x.view(x.size(0), -1)
// after a conv: Shape → Gather → Unsqueeze → Concat → Reshape, then Gemm.
func torchFlattenGraph(seed uint64) *pb.ModelProto {
	w := randFloats(seed, "w", 4*3*3*3, -0.3, 0.3)
	fc := randFloats(seed, "fc", 5*4*4*4, -0.1, 0.1)
	return model(&pb.GraphProto{
		Name:   proto.String("torchflatten"),
		Input:  []*pb.ValueInfoProto{symVI("x", -1, 3, 8, 8)},
		Output: []*pb.ValueInfoProto{symVI("y", -1, 5)},
		Initializer: []*pb.TensorProto{
			floatTensor("w", []int64{4, 3, 3, 3}, w...), floatTensor("fc", []int64{5, 64}, fc...),
			int64Tensor("zero", nil, 0), int64Tensor("minus1", []int64{1}, -1), int64Tensor("axes0", []int64{1}, 0),
		},
		Node: []*pb.NodeProto{
			node("conv", "Conv", []string{"x", "w"}, []string{"c"}, attrInts("pads", 1, 1, 1, 1), attrInts("strides", 2, 2)),
			node("relu", "Relu", []string{"c"}, []string{"r"}),
			node("shape", "Shape", []string{"r"}, []string{"s"}),
			node("gather", "Gather", []string{"s", "zero"}, []string{"n"}, attrInt("axis", 0)),
			node("unsq", "Unsqueeze", []string{"n", "axes0"}, []string{"n1"}),
			node("cat", "Concat", []string{"n1", "minus1"}, []string{"shp"}, attrInt("axis", 0)),
			node("reshape", "Reshape", []string{"r", "shp"}, []string{"flat"}),
			node("fc", "Gemm", []string{"flat", "fc"}, []string{"y"}, attrInt("transB", 1)),
		},
	})
}

// TestDynamicBatch runs the torch flatten pattern at several batch sizes:
// every sample's output must equal the output of running it alone, and
// each batch size gets one cached plan.
func TestDynamicBatch(t *testing.T) {
	for _, interp := range []bool{false, true} {
		m, err := LoadReader(bytes.NewReader(mustMarshal(torchFlattenGraph(1))), LoadOptions{Interpret: interp})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Executor(); (got == "engine") == interp {
			t.Fatalf("Interpret=%v: executor %q", interp, got)
		}
		checkDynamicBatch(t, m, interp)
	}
}

func checkDynamicBatch(t *testing.T, m *Model, interp bool) {
	const per = 3 * 8 * 8
	for _, n := range []int{1, 2, 5, 2} {
		x := tensor.New(n, 3, 8, 8)
		copy(x.Data, randFloats(uint64(n), "x", n*per, -1, 1))
		y := run1(t, m, "x", x)
		if !tensor.SameShape(y.Shape, []int{n, 5}) {
			t.Fatalf("batch %d: shape %v, want [%d 5]", n, y.Shape, n)
		}
		for b := 0; b < n; b++ {
			xb, _ := tensor.FromData(append([]float32(nil), x.Data[b*per:(b+1)*per]...), 1, 3, 8, 8)
			yb := run1(t, m, "x", xb)
			if i, ok := allClose(y.Data[b*5:(b+1)*5], yb.Data, 1e-5, 1e-6); !ok {
				t.Fatalf("batch %d sample %d element %d: got %v, alone %v", n, b, i, y.Data[b*5+i], yb.Data[i])
			}
		}
	}
	m.mu.Lock()
	plans := len(m.plans)
	m.mu.Unlock()
	if want := map[bool]int{false: 0, true: 3}[interp]; plans != want {
		t.Errorf("interpreter %v: %d cached plans, want %d (the engine needs none; the interpreter one per batch 1, 2, 5)", interp, plans, want)
	}
}

func TestRunInputErrors(t *testing.T) {
	m := loadBytes(t, mustMarshal(torchFlattenGraph(1)))
	tests := []struct {
		name   string
		inputs map[string]*tensor.Tensor
		substr string
	}{
		{"missing", map[string]*tensor.Tensor{}, "missing input"},
		{"extra", map[string]*tensor.Tensor{"x": tensor.New(1, 3, 8, 8), "z": tensor.New(1)}, `"z"`},
		{"rank", map[string]*tensor.Tensor{"x": tensor.New(1, 3, 8)}, "[1 3 8] has rank 3, the model declares [N 3 8 8]"},
		{"dim", map[string]*tensor.Tensor{"x": tensor.New(1, 3, 8, 9)}, "[1 3 8 9] does not match the declared shape [N 3 8 8]"},
		{"batch", map[string]*tensor.Tensor{"x": tensor.New(0, 3, 8, 8)}, "batch 0 outside 1..4096"},
		{"data", map[string]*tensor.Tensor{"x": {Shape: []int{1, 3, 8, 8}, Data: make([]float32, 5)}}, "needs 192 elements, got 5"},
	}
	for _, tt := range tests {
		_, err := m.Run(tt.inputs)
		var te *TensorError
		if !errors.Is(err, ErrInput) || !errors.As(err, &te) || !strings.Contains(err.Error(), tt.substr) {
			t.Errorf("%s: got %v, want a *TensorError wrapping ErrInput containing %q", tt.name, err, tt.substr)
		}
	}
}

// TestLoadRejects builds graphs with unsupported operators and invalid
// attributes: Load must fail with the right sentinel and name the node.
func TestLoadRejects(t *testing.T) {
	conv := func(attrs ...*pb.AttributeProto) *pb.ModelProto {
		return model(&pb.GraphProto{
			Name: proto.String("g"), Input: []*pb.ValueInfoProto{vi("x", 1, 4, 5, 5)}, Output: []*pb.ValueInfoProto{vi("y")},
			Initializer: []*pb.TensorProto{floatTensor("w", []int64{2, 4, 3, 3}, make([]float32, 72)...)},
			Node:        []*pb.NodeProto{node("theconv", "Conv", []string{"x", "w"}, []string{"y"}, attrs...)},
		})
	}
	unary := func(op string, outs []string, attrs ...*pb.AttributeProto) *pb.ModelProto {
		return model(&pb.GraphProto{
			Name: proto.String("g"), Input: []*pb.ValueInfoProto{vi("x", 1, 4, 5, 5)}, Output: []*pb.ValueInfoProto{vi(outs[0])},
			Node: []*pb.NodeProto{node("thenode", op, []string{"x"}, outs, attrs...)},
		})
	}
	tests := []struct {
		name string
		m    *pb.ModelProto
		node string
		want error
	}{
		{"unsupported op", unary("Tanh", []string{"y"}), "thenode", ErrUnsupported},
		{"stride 0", conv(attrInts("strides", 0, 1)), "theconv", ErrFormat},
		{"negative pad", conv(attrInts("pads", -1, 0, 0, 0)), "theconv", ErrFormat},
		{"huge pad", conv(attrInts("pads", 1<<40, 0, 0, 0)), "theconv", ErrUnsupported},
		{"kernel 0", conv(attrInts("kernel_shape", 0, 3)), "theconv", ErrFormat},
		{"kernel mismatch", conv(attrInts("kernel_shape", 5, 5)), "theconv", ErrFormat},
		{"group", conv(attrInt("group", 3)), "theconv", ErrFormat},
		{"group 0", conv(attrInt("group", 0)), "theconv", ErrFormat},
		{"auto_pad", conv(attrStr("auto_pad", "FULL")), "theconv", ErrFormat},
		{"kernel > input", conv(attrInts("dilations", 4, 4)), "theconv", ErrFormat},
		{"maxpool indices", unary("MaxPool", []string{"y", "idx"}, attrInts("kernel_shape", 2, 2)), "thenode", ErrUnsupported},
		{"maxpool no kernel", unary("MaxPool", []string{"y"}), "thenode", ErrFormat},
		{"maxpool pad >= kernel", unary("MaxPool", []string{"y"}, attrInts("kernel_shape", 2, 2), attrInts("pads", 2, 0, 0, 0)), "thenode", ErrFormat},
		{"lrn size 0", unary("LRN", []string{"y"}, attrInt("size", 0)), "thenode", ErrFormat},
		{"pad reflect", unary("Pad", []string{"y"}, attrStr("mode", "reflect")), "thenode", ErrUnsupported},
		{"softmax axis", unary("Softmax", []string{"y"}, attrInt("axis", 4)), "thenode", ErrFormat},
		{"cast string", unary("Cast", []string{"y"}, attrInt("to", int64(onnxir.String))), "thenode", ErrUnsupported},
		{"flatten axis", unary("Flatten", []string{"y"}, attrInt("axis", 5)), "thenode", ErrFormat},
	}
	for _, tt := range tests {
		_, err := LoadReader(bytes.NewReader(mustMarshal(tt.m)), LoadOptions{})
		var ne *NodeError
		if !errors.Is(err, tt.want) || !errors.As(err, &ne) || ne.Node != tt.node {
			t.Errorf("%s: got %v, want a *NodeError for %q wrapping %v", tt.name, err, tt.node, tt.want)
		}
	}
	bn := model(&pb.GraphProto{
		Name: proto.String("g"), Input: []*pb.ValueInfoProto{vi("x", 1, 2, 3, 3)}, Output: []*pb.ValueInfoProto{vi("y")},
		Initializer: []*pb.TensorProto{floatTensor("s", []int64{2}, 1, 1), floatTensor("b", []int64{2}, 0, 0),
			floatTensor("mu", []int64{2}, 0, 0), floatTensor("v", []int64{2}, 1, 1)},
		Node: []*pb.NodeProto{node("bn", "BatchNormalization", []string{"x", "s", "b", "mu", "v"}, []string{"y"}, attrInt("training_mode", 1))},
	})
	bn.OpsetImport[0].Version = proto.Int64(15)
	if _, err := LoadReader(bytes.NewReader(mustMarshal(bn)), LoadOptions{}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `"bn"`) {
		t.Errorf("BN training_mode: got %v, want ErrUnsupported naming bn", err)
	}
}

// TestFusionMatchesUnfused checks the Conv+BN+Mul+Add+Relu folding: the
// same graph with its parameters fed as inputs (which Load cannot fold)
// must give the same result.
func TestFusionMatchesUnfused(t *testing.T) {
	const c = 6
	params := map[string][]float32{
		"w": randFloats(2, "w", c*4*3*3, -0.3, 0.3), "cb": randFloats(2, "cb", c, -0.1, 0.1),
		"s": randFloats(2, "s", c, 0.8, 1.2), "b": randFloats(2, "b", c, -0.1, 0.1),
		"mu": randFloats(2, "mu", c, -0.1, 0.1), "v": randFloats(2, "v", c, 0.5, 1.5),
		"k": randFloats(2, "k", c, 0.8, 1.2), "o": randFloats(2, "o", c, -0.5, 0.5),
	}
	dims := map[string][]int64{"w": {c, 4, 3, 3}, "cb": {c}, "s": {c}, "b": {c}, "mu": {c}, "v": {c}, "k": {c, 1, 1}, "o": {1, c, 1, 1}}
	names := []string{"w", "cb", "s", "b", "mu", "v", "k", "o"}
	build := func(asInputs bool) *pb.ModelProto {
		g := &pb.GraphProto{
			Name: proto.String("g"), Input: []*pb.ValueInfoProto{vi("x", 2, 4, 7, 7)}, Output: []*pb.ValueInfoProto{vi("y")},
			Node: []*pb.NodeProto{
				node("conv", "Conv", []string{"x", "w", "cb"}, []string{"c"}, attrInts("pads", 1, 1, 1, 1)),
				node("bn", "BatchNormalization", []string{"c", "s", "b", "mu", "v"}, []string{"n"}, attrF("epsilon", 1e-3)),
				node("mul", "Mul", []string{"k", "n"}, []string{"m"}),
				node("add", "Add", []string{"m", "o"}, []string{"a"}),
				node("relu", "Relu", []string{"a"}, []string{"y"}),
			},
		}
		for _, n := range names {
			if asInputs {
				g.Input = append(g.Input, vi(n, dims[n]...))
			} else {
				g.Initializer = append(g.Initializer, floatTensor(n, dims[n], params[n]...))
			}
		}
		return model(g)
	}
	for _, interp := range []bool{false, true} {
		checkFusion(t, interp, build, params, dims, names)
	}
}

func checkFusion(t *testing.T, interp bool, build func(bool) *pb.ModelProto, params map[string][]float32, dims map[string][]int64, names []string) {
	fused, err := LoadReader(bytes.NewReader(mustMarshal(build(false))), LoadOptions{Interpret: interp})
	if err != nil {
		t.Fatal(err)
	}
	if interp && len(fused.nodes) != 1 {
		t.Fatalf("fused graph has %d nodes, want 1 (Conv with BN, Mul, Add, Relu folded)", len(fused.nodes))
	}
	if !interp {
		if fused.Executor() != "engine" {
			t.Fatalf("executor %q, want engine", fused.Executor())
		}
		// The engine folds BN, Mul, Add and fuses Relu: one step.
		if prof, err := fused.eng.Profile(tensor.New(1, 4, 7, 7), 1); err != nil || len(prof) != 1 {
			t.Fatalf("engine plan: %d steps (%v), want 1", len(prof), err)
		}
	}
	plain := loadBytes(t, mustMarshal(build(true)))
	if plain.Executor() == "engine" {
		t.Fatal("weights fed as inputs: the graph cannot be on the engine")
	}
	x := randFloats(3, "x", 2*4*7*7, -1, 1)
	ins := map[string]*onnxir.Tensor{"x": {Dims: []int64{2, 4, 7, 7}, DType: onnxir.Float32, Float: x}}
	got, err := fused.RunTensors(ins)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		ins[n] = &onnxir.Tensor{Dims: dims[n], DType: onnxir.Float32, Float: params[n]}
	}
	want, err := plain.RunTensors(ins)
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := allClose(got["y"].Float, want["y"].Float, 1e-4, 1e-5); !ok {
		t.Fatalf("element %d: fused %v, unfused %v", i, got["y"].Float[i], want["y"].Float[i])
	}
	var zeros int
	for _, v := range want["y"].Float {
		if v == 0 {
			zeros++
		}
	}
	if zeros == 0 || zeros == len(want["y"].Float) {
		t.Errorf("%d of %d outputs are 0: the test does not exercise ReLU", zeros, len(want["y"].Float))
	}
}

// TestConcurrentRun runs the light v1 graph from 16 goroutines; all
// results must be identical to a sequential run.
func TestConcurrentRun(t *testing.T) {
	b, err := os.ReadFile(sharedFile(t, "light_inception_v1.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	// Random weights make the output depend on every element; under the
	// race detector (which this test is for) randomizing costs too much.
	if !raceEnabled {
		if b, err = testkit.RandomizeConstantWeights(b, 5); err != nil {
			t.Fatal(err)
		}
	}
	m := loadBytes(t, b)
	x := standardInput(1, 3, 224, 224)
	want := run1(t, m, "data_0", x)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	results := make([]*tensor.Tensor, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := m.Run(map[string]*tensor.Tensor{"data_0": x})
			if err != nil {
				errs <- err
				return
			}
			results[g] = out["prob_1"]
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for g, r := range results {
		for i := range want.Data {
			if r.Data[i] != want.Data[i] {
				t.Fatalf("goroutine %d element %d: %v, sequential %v", g, i, r.Data[i], want.Data[i])
			}
		}
	}
}

// TestRandomizedLightSensitivity runs the randomized light graphs: the
// probabilities must sum to 1, be far from uniform, and change with the
// input. (The numerical reference for these files is ONNX Runtime, wired
// by the conformance suite.) For v2 the folded model must also agree with
// the same graph with every weight fed as an input, which Load cannot
// fold.
func TestRandomizedLightSensitivity(t *testing.T) {
	if raceEnabled {
		t.Skip("numerical test; too slow under the race detector (TestConcurrentRun covers races)")
	}
	for _, name := range []string{"light_inception_v1", "light_inception_v2"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(sharedFile(t, name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			rb, err := testkit.RandomizeConstantWeights(b, 11)
			if err != nil {
				t.Fatal(err)
			}
			m := loadBytes(t, rb)
			x1 := standardInput(1, 3, 224, 224)
			x2 := tensor.New(1, 3, 224, 224)
			copy(x2.Data, randFloats(1, "x2", len(x2.Data), 0, 1))
			p1, p2 := run1(t, m, "data_0", x1), run1(t, m, "data_0", x2)
			var sum, maxP, diff float64
			for i, v := range p1.Data {
				sum += float64(v)
				maxP = math.Max(maxP, float64(v))
				diff = math.Max(diff, math.Abs(float64(v-p2.Data[i])))
			}
			if math.Abs(sum-1) > 1e-4 {
				t.Errorf("probabilities sum to %v", sum)
			}
			if maxP < 2e-3 {
				t.Errorf("max probability %v: output is (nearly) uniform", maxP)
			}
			if diff < 1e-5 {
				t.Errorf("max change %v between two inputs: output does not depend on the input", diff)
			}
			if name != "light_inception_v2" {
				return
			}
			unfused := weightsAsInputs(t, rb)
			ins := map[string]*onnxir.Tensor{"data_0": {Dims: []int64{1, 3, 224, 224}, DType: onnxir.Float32, Float: x2.Data}}
			g := m.Graph()
			for n, w := range g.Initializers {
				if w.DType.IsFloat() {
					ins[n] = w
				}
			}
			um, err := LoadReader(bytes.NewReader(unfused), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(um.nodes) <= len(m.nodes) {
				t.Fatalf("unfused model has %d nodes, fused %d: nothing was folded", len(um.nodes), len(m.nodes))
			}
			got, err := um.RunTensors(ins)
			if err != nil {
				t.Fatal(err)
			}
			if i, ok := allClose(p2.Data, got["prob_1"].Float, 1e-3, 1e-6); !ok {
				t.Fatalf("element %d: fused %v, unfused %v", i, p2.Data[i], got["prob_1"].Float[i])
			}
		})
	}
}

// weightsAsInputs moves every float initializer of a model to a graph
// input, so that nothing can be folded at Load.
func weightsAsInputs(t *testing.T, b []byte) []byte {
	var m pb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	declared := map[string]bool{}
	for _, in := range g.Input {
		declared[in.GetName()] = true
	}
	var keep []*pb.TensorProto
	for _, init := range g.Initializer {
		if onnxir.DType(init.GetDataType()).IsFloat() {
			if !declared[init.GetName()] {
				g.Input = append(g.Input, vi(init.GetName(), init.Dims...))
			}
			continue
		}
		keep = append(keep, init)
	}
	g.Initializer = keep
	return mustMarshal(&m)
}

// TestLoadDuplicateNodeOutput is a FuzzLoad finding: a node listing the
// same output twice must be ErrFormat naming the node.
func TestLoadDuplicateNodeOutput(t *testing.T) {
	b := mustMarshal(graphWith(func(g *pb.GraphProto) {
		g.Node[1].Output = []string{"y", "y"}
	}))
	_, err := LoadReader(bytes.NewReader(b), LoadOptions{})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `"relu"`) {
		t.Fatalf("got %v, want ErrFormat naming node relu", err)
	}
}
