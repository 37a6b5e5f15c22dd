//go:build ort && cgo

package onnx_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/tensor"
)

// This file cross-checks the pure-Go runner (onnx.Load) against ONNX
// Runtime, the project's oracle, on the ONNX suite's light Inception graphs
// with seeded random weights (onnx.RandomizeConstantWeights). Run with
//
//	CGO_ENABLED=1 go test -tags ort ./onnx/   (or: make ort)

const sharedLight = "../../shared/onnx-light"

// missing fails the test under CI=true and skips it otherwise.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// requireORT initialises ONNX Runtime, skipping (failing under CI=true)
// when the library is not installed.
func requireORT(tb testing.TB) {
	tb.Helper()
	err := ort.Init()
	if errors.Is(err, ort.ErrNoLibrary) {
		missing(tb, "ONNX Runtime oracle missing: %v (install it with ./scripts/setup.sh)", err)
	}
	require.NoError(tb, err)
}

// readShared returns the bytes of a file of the shared onnx-light folder,
// skipping (failing under CI=true) when it is absent.
func readShared(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sharedLight, name))
	if errors.Is(err, os.ErrNotExist) {
		missing(tb, "shared test data missing: %v (check out the shared folder as ../shared beside the repository)", err)
	}
	require.NoError(tb, err)
	return b
}

// standardInput is the ONNX suite's input: element i is i/n.
func standardInput(shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	n := float32(len(t.Data))
	for i := range t.Data {
		t.Data[i] = float32(i) / n
	}
	return t
}

// randomInput is U(-1, 1) from the seeded stream "x".
func randomInput(seed uint64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	r := nn.NewRand(seed, "x")
	for i := range t.Data {
		t.Data[i] = r.Uniform(-1, 1)
	}
	return t
}

// closeness compares got with want element by element and reports every
// element outside |got-want| <= atol + rtol*|want| as a test error (the
// first few by index). It returns the largest absolute difference.
func closeness(tb testing.TB, what string, got, want *tensor.Tensor, rtol, atol float64) float64 {
	tb.Helper()
	require.NotNil(tb, got, what)
	require.NotNil(tb, want, what)
	require.Equal(tb, want.Shape, got.Shape, "%s: shape", what)
	var maxAbs float64
	bad := 0
	for i, w := range want.Data {
		d := math.Abs(float64(got.Data[i]) - float64(w))
		maxAbs = math.Max(maxAbs, d)
		if !(d <= atol+rtol*math.Abs(float64(w))) {
			if bad < 5 {
				tb.Errorf("%s[%d]: got %v, want %v (|diff| %.3g)", what, i, got.Data[i], w, d)
			}
			bad++
		}
	}
	if bad > 0 {
		tb.Errorf("%s: %d of %d elements out of tolerance (rtol %g, atol %g)", what, bad, len(want.Data), rtol, atol)
	}
	return maxAbs
}

// maxDiff is max |a-b|.
func maxDiff(a, b *tensor.Tensor) float64 {
	var m float64
	for i := range a.Data {
		m = math.Max(m, math.Abs(float64(a.Data[i])-float64(b.Data[i])))
	}
	return m
}

// spread is max - min.
func spread(t *tensor.Tensor) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range t.Data {
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	return hi - lo
}

// exposeGemm returns model with the output of its (single) Gemm node — the
// classifier's logits — added as a second graph output, and that output's
// name.
func exposeGemm(tb testing.TB, model []byte) ([]byte, string) {
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

// TestORTRandomizedLight runs the light Inception graphs with seeded random
// weights, and the classifier's logits exposed as a second output, in our
// runner and in ONNX Runtime on the same file and inputs (the suite's
// standard input and a random one): probabilities and logits agree within
// rtol 1e-3, atol 1e-4.
//
// The comparison is only meaningful if the outputs carry information, so the
// oracle's outputs must be far from uniform, and the logits must change
// between the two inputs by more than 1000·atol and by more than 100 times
// the largest disagreement. For v1 the probabilities must change by more
// than 100·atol too. Randomized v2 is the opposite of flat: its logits have
// a spread of 35-100 that hardly depends on the input (they change by about
// 0.2-0.4 between the inputs), so its softmax saturates and the
// probabilities move by 1e-7 to 1e-2 only; for v2 the logits are the
// sensitive comparison.
func TestORTRandomizedLight(t *testing.T) {
	requireORT(t)
	const rtol, atol = 1e-3, 1e-4
	models := []struct {
		name          string
		probSensitive bool // the probabilities change with the input by >= 100·atol
	}{
		{"light_inception_v1", true},
		{"light_inception_v2", false},
	}
	for _, mdl := range models {
		src := readShared(t, mdl.name+".onnx")
		for _, seed := range []uint64{1, 7, 2024} {
			t.Run(fmt.Sprintf("%s/seed=%d", mdl.name, seed), func(t *testing.T) {
				rb, err := onnx.RandomizeConstantWeights(src, seed)
				require.NoError(t, err)
				rb, logits := exposeGemm(t, rb)
				path := filepath.Join(t.TempDir(), mdl.name+".onnx")
				require.NoError(t, os.WriteFile(path, rb, 0o644))

				ours, err := onnx.LoadReader(bytes.NewReader(rb), onnx.LoadOptions{})
				require.NoError(t, err)
				oracle, err := ort.NewSession(path, 2)
				require.NoError(t, err)
				defer oracle.Close()

				inputs := []*tensor.Tensor{standardInput(1, 3, 224, 224), randomInput(seed, 1, 3, 224, 224)}
				var probs, logs []*tensor.Tensor
				var maxErr float64
				for k, x := range inputs {
					got, err := ours.Run(map[string]*tensor.Tensor{"data_0": x})
					require.NoError(t, err)
					want, err := oracle.Run(map[string]*tensor.Tensor{"data_0": x})
					require.NoError(t, err)
					dp := closeness(t, fmt.Sprintf("input %d prob_1", k), got["prob_1"], want["prob_1"], rtol, atol)
					dl := closeness(t, fmt.Sprintf("input %d %s", k, logits), got[logits], want[logits], rtol, atol)
					maxErr = math.Max(maxErr, dl)
					t.Logf("input %d: max |ours-ORT| probabilities %.3g, logits %.3g (ORT: logit spread %.3g, max probability %.4f)",
						k, dp, dl, spread(want[logits]), maxOf(want["prob_1"]))
					probs = append(probs, want["prob_1"])
					logs = append(logs, want[logits])
				}

				dp, dl := maxDiff(probs[0], probs[1]), maxDiff(logs[0], logs[1])
				t.Logf("ORT outputs change between the inputs by: probabilities %.3g, logits %.3g", dp, dl)
				for k, p := range probs {
					if got := maxOf(p); got < 10.0/1000 {
						t.Errorf("input %d: max probability %.4g, want >= 0.01 (10x uniform)", k, got)
					}
				}
				if dl < 1000*atol || dl < 100*maxErr {
					t.Errorf("logits change by %.3g between the inputs, want >= %g and >= 100x the max error %.3g", dl, 1000*atol, maxErr)
				}
				if mdl.probSensitive && dp < 100*atol {
					t.Errorf("probabilities change by %.3g between the inputs, want >= %g", dp, 100*atol)
				}
			})
		}
	}
}

func maxOf(t *tensor.Tensor) float64 {
	m := math.Inf(-1)
	for _, v := range t.Data {
		m = math.Max(m, float64(v))
	}
	return m
}
