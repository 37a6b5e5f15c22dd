//go:build ort && cgo

package ort

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/tensor"
)

// requireORT initialises ONNX Runtime, skipping (failing under CI=true) if
// the library is not installed. (Tests of other packages use
// internal/testkit/orttest, which package ort's own tests cannot import.)
func requireORT(tb testing.TB) {
	tb.Helper()
	err := Init()
	if errors.Is(err, ErrNoLibrary) {
		testkit.Missing(tb, "ONNX Runtime oracle missing: %v", err)
	}
	require.NoError(tb, err)
}

// reference64 is a float64 reference result as a float32 tensor of the
// given shape (testkit.Close checks that the lengths agree).
func reference64(want []float64, shape ...int) *tensor.Tensor {
	t := &tensor.Tensor{Shape: shape, Data: make([]float32, len(want))}
	for i, w := range want {
		t.Data[i] = float32(w)
	}
	return t
}

func TestLibraryVersion(t *testing.T) {
	requireORT(t)
	if got, want := LibraryVersion(), Version; got != want {
		t.Errorf("LibraryVersion() = %q, want %q (LibraryPath %s)", got, want, LibraryPath())
	}
	if !Built {
		t.Error("Built = false in an ort build")
	}
}

func TestLightInception(t *testing.T) {
	requireORT(t)
	for _, name := range []string{"light_inception_v1", "light_inception_v2"} {
		t.Run(name, func(t *testing.T) {
			model := testkit.SharedFile(t, "onnx-light", name+".onnx")
			f, err := os.Open(testkit.SharedFile(t, "onnx-light", name+"_output_0.pb"))
			require.NoError(t, err)
			defer f.Close()
			want, err := onnxir.DecodeTensor(f, onnxir.Limits{})
			require.NoError(t, err)

			s, err := NewSession(model, 0)
			require.NoError(t, err)
			defer s.Close()
			if got, want := s.InputNames(), []string{"data_0"}; !slices.Equal(got, want) {
				t.Fatalf("InputNames() = %v, want %v", got, want)
			}
			if got, want := s.OutputNames(), []string{"prob_1"}; !slices.Equal(got, want) {
				t.Fatalf("OutputNames() = %v, want %v", got, want)
			}
			out, err := s.Run(map[string]*tensor.Tensor{"data_0": testkit.StandardInput(1, 3, 224, 224)})
			require.NoError(t, err)
			got := out["prob_1"]
			require.NotNil(t, got)
			wantShape := make([]int, len(want.Dims))
			for i, d := range want.Dims {
				wantShape[i] = int(d)
			}
			if !tensor.SameShape(got.Shape, wantShape) {
				t.Fatalf("output shape %v, want %v", got.Shape, wantShape)
			}
			testkit.Close(t, "prob_1", got, &tensor.Tensor{Shape: wantShape, Data: want.Float}, 1e-3, 1e-7)
		})
	}
}

// tinyNet is x[N,3,6,6] → Conv(4 filters, 3×3, pad 1) → Relu →
// GlobalAveragePool → Flatten → Gemm(transB, 5 outputs) → y[N,5], with a
// symbolic batch dimension N and seeded weights.
type tinyNet struct {
	w  []float32 // conv weight [4,3,3,3]
	b  []float32 // conv bias [4]
	fw []float32 // gemm weight [5,4]
	fb []float32 // gemm bias [5]
}

const (
	tinyC, tinyH, tinyW = 3, 6, 6
	tinyF, tinyOut      = 4, 5
)

func newTinyNet(seed uint64) tinyNet {
	r := rand.New(rand.NewPCG(seed, 0))
	u := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.Float64()*2 - 1)
		}
		return v
	}
	return tinyNet{w: u(tinyF * tinyC * 9), b: u(tinyF), fw: u(tinyOut * tinyF), fb: u(tinyOut)}
}

func dimValue(d int64) *pb.TensorShapeProto_Dimension {
	return &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
}

func dimParam(p string) *pb.TensorShapeProto_Dimension {
	return &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: p}}
}

func valueInfo(name string, elem pb.TensorProto_DataType, dims ...*pb.TensorShapeProto_Dimension) *pb.ValueInfoProto {
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem)), Shape: &pb.TensorShapeProto{Dim: dims}}}}}
}

func initializer(name string, vals []float32, dims ...int64) *pb.TensorProto {
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(pb.TensorProto_FLOAT)), FloatData: vals}
}

func intsAttr(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum(), Ints: v}
}

func intAttr(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func node(op string, in, out []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{Name: proto.String(strings.ToLower(op)), OpType: proto.String(op), Input: in, Output: out, Attribute: attrs}
}

// writeModel serialises a graph as an IR 8 / opset 13 model in a temporary
// file and returns its path.
func writeModel(tb testing.TB, g *pb.GraphProto) string {
	tb.Helper()
	m := &pb.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("inceptionzoo-ort-test"),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph:        g,
	}
	b, err := proto.Marshal(m)
	require.NoError(tb, err)
	p := filepath.Join(tb.TempDir(), "model.onnx")
	require.NoError(tb, os.WriteFile(p, b, 0o644))
	return p
}

func (n tinyNet) model(tb testing.TB) string {
	return writeModel(tb, &pb.GraphProto{
		Name:   proto.String("tiny"),
		Input:  []*pb.ValueInfoProto{valueInfo("x", pb.TensorProto_FLOAT, dimParam("N"), dimValue(tinyC), dimValue(tinyH), dimValue(tinyW))},
		Output: []*pb.ValueInfoProto{valueInfo("y", pb.TensorProto_FLOAT, dimParam("N"), dimValue(tinyOut))},
		Initializer: []*pb.TensorProto{
			initializer("w", n.w, tinyF, tinyC, 3, 3),
			initializer("b", n.b, tinyF),
			initializer("fw", n.fw, tinyOut, tinyF),
			initializer("fb", n.fb, tinyOut),
		},
		Node: []*pb.NodeProto{
			node("Conv", []string{"x", "w", "b"}, []string{"c"}, intsAttr("kernel_shape", 3, 3), intsAttr("pads", 1, 1, 1, 1)),
			node("Relu", []string{"c"}, []string{"r"}),
			node("GlobalAveragePool", []string{"r"}, []string{"p"}),
			node("Flatten", []string{"p"}, []string{"f"}, intAttr("axis", 1)),
			node("Gemm", []string{"f", "fw", "fb"}, []string{"y"}, intAttr("transB", 1)),
		},
	})
}

// reference computes the network in float64, directly from the definitions.
func (n tinyNet) reference(x *tensor.Tensor) []float64 {
	batch := x.Shape[0]
	y := make([]float64, 0, batch*tinyOut)
	at := func(b, c, i, j int) float64 {
		if i < 0 || i >= tinyH || j < 0 || j >= tinyW {
			return 0
		}
		return float64(x.Data[((b*tinyC+c)*tinyH+i)*tinyW+j])
	}
	for b := range batch {
		var pooled [tinyF]float64
		for f := range tinyF {
			for i := range tinyH {
				for j := range tinyW {
					s := float64(n.b[f])
					for c := range tinyC {
						for ki := range 3 {
							for kj := range 3 {
								s += float64(n.w[((f*tinyC+c)*3+ki)*3+kj]) * at(b, c, i+ki-1, j+kj-1)
							}
						}
					}
					pooled[f] += max(s, 0)
				}
			}
			pooled[f] /= tinyH * tinyW
		}
		for o := range tinyOut {
			s := float64(n.fb[o])
			for f := range tinyF {
				s += float64(n.fw[o*tinyF+f]) * pooled[f]
			}
			y = append(y, s)
		}
	}
	return y
}

func TestDynamicBatch(t *testing.T) {
	requireORT(t)
	net := newTinyNet(42)
	s, err := NewSession(net.model(t), 2)
	require.NoError(t, err)
	defer s.Close()
	if got, want := s.InputNames(), []string{"x"}; !slices.Equal(got, want) {
		t.Errorf("InputNames() = %v, want %v", got, want)
	}
	if got, want := s.OutputNames(), []string{"y"}; !slices.Equal(got, want) {
		t.Errorf("OutputNames() = %v, want %v", got, want)
	}
	for _, batch := range []int{2, 1, 3} {
		t.Run(fmt.Sprintf("batch%d", batch), func(t *testing.T) {
			x := testkit.RandomInput(uint64(batch), batch, tinyC, tinyH, tinyW)
			out, err := s.Run(map[string]*tensor.Tensor{"x": x})
			require.NoError(t, err)
			y := out["y"]
			require.NotNil(t, y)
			if got, want := y.Shape, []int{batch, tinyOut}; !tensor.SameShape(got, want) {
				t.Fatalf("shape %v, want %v", got, want)
			}
			testkit.Close(t, "y", y, reference64(net.reference(x), batch, tinyOut), 1e-3, 1e-4)
		})
	}
}

func TestRunConcurrent(t *testing.T) {
	requireORT(t)
	net := newTinyNet(7)
	s, err := NewSession(net.model(t), 1)
	require.NoError(t, err)
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			x := testkit.RandomInput(uint64(100+g), 2, tinyC, tinyH, tinyW)
			for range 5 {
				out, err := s.Run(map[string]*tensor.Tensor{"x": x})
				if err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
				testkit.Close(t, fmt.Sprintf("goroutine %d y", g), out["y"], reference64(net.reference(x), 2, tinyOut), 1e-3, 1e-4)
			}
		})
	}
	wg.Wait()
}

func TestRunErrors(t *testing.T) {
	requireORT(t)
	s, err := NewSession(newTinyNet(1).model(t), 1)
	require.NoError(t, err)
	defer s.Close()
	good := testkit.RandomInput(1, 1, tinyC, tinyH, tinyW)
	tests := []struct {
		name    string
		inputs  map[string]*tensor.Tensor
		wantErr error  // sentinel, or nil for any error
		wantMsg string // substring of the error
	}{
		{name: "no inputs", inputs: nil, wantMsg: "got 0 inputs"},
		{name: "wrong name", inputs: map[string]*tensor.Tensor{"z": good}, wantMsg: `missing input "x"`},
		{name: "extra input", inputs: map[string]*tensor.Tensor{"x": good, "z": good}, wantMsg: "got 2 inputs"},
		{name: "nil tensor", inputs: map[string]*tensor.Tensor{"x": nil}, wantMsg: "is nil"},
		{name: "short data", inputs: map[string]*tensor.Tensor{"x": {Shape: []int{1, 3, 6, 6}, Data: make([]float32, 10)}}, wantMsg: "needs 108 elements"},
		{name: "negative dim", inputs: map[string]*tensor.Tensor{"x": {Shape: []int{-1, 3, 6, 6}}}, wantMsg: "negative"},
		{name: "empty", inputs: map[string]*tensor.Tensor{"x": tensor.New(0, 3, 6, 6)}, wantErr: ErrUnsupported},
		{name: "scalar", inputs: map[string]*tensor.Tensor{"x": tensor.New()}, wantErr: ErrUnsupported},
		{name: "wrong rank", inputs: map[string]*tensor.Tensor{"x": tensor.New(3, 6, 6)}, wantMsg: "run"},
		{name: "wrong channels", inputs: map[string]*tensor.Tensor{"x": tensor.New(1, 4, 6, 6)}, wantMsg: "run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.Run(tc.inputs)
			if err == nil {
				t.Fatalf("Run succeeded with %v, want an error", out)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
	// The session still works after the failures.
	_, err = s.Run(map[string]*tensor.Tensor{"x": good})
	require.NoError(t, err)
}

func TestClose(t *testing.T) {
	requireORT(t)
	s, err := NewSession(newTinyNet(1).model(t), 1)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "second Close")
	_, err = s.Run(map[string]*tensor.Tensor{"x": tensor.New(1, tinyC, tinyH, tinyW)})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: got %v, want ErrClosed", err)
	}
}

func TestNewSessionErrors(t *testing.T) {
	requireORT(t)
	garbage := filepath.Join(t.TempDir(), "garbage.onnx")
	require.NoError(t, os.WriteFile(garbage, []byte("not a model"), 0o644))
	int64In := writeModel(t, &pb.GraphProto{
		Name:   proto.String("cast"),
		Input:  []*pb.ValueInfoProto{valueInfo("i", pb.TensorProto_INT64, dimValue(2))},
		Output: []*pb.ValueInfoProto{valueInfo("y", pb.TensorProto_FLOAT, dimValue(2))},
		Node:   []*pb.NodeProto{node("Cast", []string{"i"}, []string{"y"}, intAttr("to", int64(pb.TensorProto_FLOAT)))},
	})
	int64Out := writeModel(t, &pb.GraphProto{
		Name:   proto.String("cast"),
		Input:  []*pb.ValueInfoProto{valueInfo("x", pb.TensorProto_FLOAT, dimValue(2))},
		Output: []*pb.ValueInfoProto{valueInfo("y", pb.TensorProto_INT64, dimValue(2))},
		Node:   []*pb.NodeProto{node("Cast", []string{"x"}, []string{"y"}, intAttr("to", int64(pb.TensorProto_INT64)))},
	})
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{"missing file", filepath.Join(t.TempDir(), "none.onnx"), nil},
		{"garbage", garbage, nil},
		{"int64 input", int64In, ErrUnsupported},
		{"int64 output", int64Out, ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSession(tc.path, 1)
			if err == nil {
				s.Close()
				t.Fatal("NewSession succeeded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// procStatusKB returns a "kB" field of /proc/self/status (VmRSS, VmHWM).
func procStatusKB(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /proc/self/status", field)
}

// benchSession is one light_inception_v1 session kept for all invocations
// of a benchmark, and the peak-RSS growth measured while it was created and
// first run.
type benchSession struct {
	once   sync.Once
	s      *Session
	x      *tensor.Tensor
	peakMB float64 // NaN if /proc could not tell
	err    error
}

// lightV1Bench holds a session per intra-op thread count.
var lightV1Bench = map[int]*benchSession{1: {}, DefaultIntraOpThreads: {}}

// BenchmarkLightInceptionV1 times ONNX Runtime on light_inception_v1 at
// batch 1 with 1 and DefaultIntraOpThreads intra-op threads, after 3
// warm-up runs, and reports the median and the peak-RSS growth (VmHWM after
// loading and the warm-up minus VmRSS before, with the peak reset through
// /proc/self/clear_refs; meaningful for the first sub-benchmark, later ones
// share the process's allocator). Run with
//
//	CGO_ENABLED=1 go test -tags ort -run '^$' -bench LightInceptionV1/threads=2 -benchtime 20x ./internal/ort/
func BenchmarkLightInceptionV1(b *testing.B) {
	requireORT(b)
	model := testkit.SharedFile(b, "onnx-light", "light_inception_v1.onnx")
	for _, threads := range []int{DefaultIntraOpThreads, 1} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			benchLight(b, model, threads, lightV1Bench[threads])
		})
	}
}

func benchLight(b *testing.B, model string, threads int, st *benchSession) {
	st.once.Do(func() {
		st.peakMB = math.NaN()
		// Writing 5 resets VmHWM to the current RSS (Linux >= 4.0).
		reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		base, baseErr := procStatusKB("VmRSS")
		st.x = testkit.StandardInput(1, 3, 224, 224)
		if st.s, st.err = NewSession(model, threads); st.err != nil {
			return
		}
		for range 3 {
			if _, st.err = st.s.Run(map[string]*tensor.Tensor{"data_0": st.x}); st.err != nil {
				return
			}
		}
		if hwm, err := procStatusKB("VmHWM"); reset == nil && baseErr == nil && err == nil {
			st.peakMB = float64(hwm-base) / 1024
		}
	})
	require.NoError(b, st.err)
	in := map[string]*tensor.Tensor{"data_0": st.x}
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := st.s.Run(in); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(times[0].Microseconds())/1000, "min-ms")
	if !math.IsNaN(st.peakMB) {
		b.ReportMetric(st.peakMB, "peakRSS-MB")
	}
}
