//go:build ort && cgo

package zoo_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/internal/testkit/orttest"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/convert"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// This file checks the zoo against ONNX Runtime, the project's oracle:
// models whose weights are imported from ONNX files (WithWeights) compute
// what ONNX Runtime computes on those files, and every model's export runs
// in ONNX Runtime as it runs in the engine. Run with
//
//	CGO_ENABLED=1 go test -tags ort ./zoo/   (or: make ort)

// caffePooling rewrites the light inception_v1 graph to the pooling of BVLC
// Caffe's GoogLeNet, which the zoo's inception-v1 implements: ceil-rounded
// max pools (ceil_mode, so the opset becomes 10) and the final 7×7 average
// pool without the extra end padding. The Caffe2 → ONNX conversion that
// produced the Model Zoo file dropped Caffe's ceil rounding: its stride-2
// pools round down (112 → 55 → 27 → 13 → 6 where Caffe has 56, 28, 14, 7),
// and its last average pool pads the 6×6 map to 7×7 (pads 0,0,1,1, padded
// cells not counted).
func caffePooling(tb testing.TB, model []byte) []byte {
	tb.Helper()
	var m pb.ModelProto
	require.NoError(tb, proto.Unmarshal(model, &m))
	for _, o := range m.OpsetImport {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			require.Equal(tb, int64(9), o.GetVersion(), "opset")
			o.Version = proto.Int64(10)
		}
	}
	var maxPools, avgPools int
	for _, n := range m.GetGraph().GetNode() {
		switch n.GetOpType() {
		case "MaxPool":
			n.Attribute = append(n.Attribute, &pb.AttributeProto{Name: proto.String("ceil_mode"), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(1)})
			maxPools++
		case "AveragePool":
			for _, a := range n.Attribute {
				if a.GetName() == "pads" {
					require.Equal(tb, []int64{0, 0, 1, 1}, a.Ints, "average pool pads")
					a.Ints = []int64{0, 0, 0, 0}
				}
			}
			avgPools++
		}
	}
	require.Equal(tb, 13, maxPools)
	require.Equal(tb, 1, avgPools)
	b, err := proto.Marshal(&m)
	require.NoError(tb, err)
	return b
}

// TestORTModelZooWeights imports the light Inception graphs with seeded
// random weights into inception-v1 and inception-v2 (WithWeights, Caffe2
// names) and compares the zoo model with ONNX Runtime running the same
// file, on the suite's standard input and a random one: our logits against
// the file's Gemm output (exposed as a graph output: the sensitive check)
// and our softmax against the file's probabilities, rtol 1e-3, atol 1e-4.
// The logits must change between the inputs by more than 1000·atol and 100
// times the largest disagreement.
//
// The Model Zoo inception_v1 file is Caffe2's reproduction with
// floor-rounded pools: inception-v1-caffe2 implements it and must match the
// unmodified file. The BVLC layout inception-v1 is compared with the file
// rewritten to Caffe's ceil pooling (see caffePooling); on the unmodified
// file the "modelzoo-pooling" case pins that the two layouts really
// compute different functions.
func TestORTModelZooWeights(t *testing.T) {
	orttest.Require(t)
	const rtol, atol = 1e-3, 1e-4
	for _, tc := range []struct {
		model, file, variant string
		rewrite              func(testing.TB, []byte) []byte
		wantDiffer           bool // known structural difference (see above)
	}{
		{model: "inception-v1", file: "light_inception_v1.onnx", variant: "caffe-pooling", rewrite: caffePooling},
		{model: "inception-v1", file: "light_inception_v1.onnx", variant: "modelzoo-pooling", wantDiffer: true},
		{model: "inception-v1-caffe2", file: "light_inception_v1.onnx", variant: "as-is"},
		{model: "inception-v2", file: "light_inception_v2.onnx", variant: "as-is"},
	} {
		src := testkit.ReadShared(t, "onnx-light", tc.file)
		seeds := []uint64{3, 2024}
		if tc.wantDiffer {
			seeds = seeds[:1]
		}
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("%s/%s/seed=%d", tc.model, tc.variant, seed), func(t *testing.T) {
				rb, err := testkit.RandomizeConstantWeights(src, seed)
				require.NoError(t, err)
				rb, logits := testkit.ExposeGemm(t, rb)
				if tc.rewrite != nil {
					rb = tc.rewrite(t, rb)
				}
				path := filepath.Join(t.TempDir(), tc.file)
				require.NoError(t, os.WriteFile(path, rb, 0o644))

				m, err := zoo.Load(tc.model, zoo.WithWeights(path))
				require.NoError(t, err)
				oracle, err := ort.NewSession(path, 2)
				require.NoError(t, err)
				defer oracle.Close()

				var outs []*tensor.Tensor
				var maxErr float64
				for k, x := range []*tensor.Tensor{testkit.StandardInput(1, 3, 224, 224), testkit.RandomInput(seed, 1, 3, 224, 224)} {
					got, err := m.Forward(x)
					require.NoError(t, err)
					want, err := oracle.Run(map[string]*tensor.Tensor{"data_0": x})
					require.NoError(t, err)
					// Caffe2's Gemm output is [1, 1000], as ours.
					if tc.wantDiffer {
						d := testkit.MaxDiff(got, want[logits])
						t.Logf("input %d: max |zoo-ORT| logits %.3g (known difference)", k, d)
						if d <= 1e-2 {
							t.Errorf("input %d: zoo inception-v1 (ceil pooling) agrees with the floor-pooled Model Zoo graph (max |diff| %.3g): the pooling check is not sensitive", k, d)
						}
						continue
					}
					dl := testkit.Close(t, fmt.Sprintf("input %d logits", k), got, want[logits], rtol, atol)
					dp := testkit.Close(t, fmt.Sprintf("input %d softmax", k), testkit.Softmax(got), want["prob_1"], rtol, atol)
					maxErr = math.Max(maxErr, dl)
					t.Logf("input %d: max |zoo-ORT| logits %.3g, probabilities %.3g", k, dl, dp)
					outs = append(outs, want[logits])
				}
				if tc.wantDiffer {
					return
				}
				if d := testkit.MaxDiff(outs[0], outs[1]); d < 1000*atol || d < 100*maxErr {
					t.Errorf("ORT logits change by %.3g between the inputs, want >= %g and >= 100x the max error %.3g", d, 1000*atol, maxErr)
				} else {
					t.Logf("ORT logits change by %.3g between the inputs", d)
				}
			})
		}
	}
}

// classifierBias returns the bias of the Linear layer that produces the
// model's main output (walking back through single-input ops), or nil.
func classifierBias(m *zoo.Model) *tensor.Tensor {
	n := m.Graph.Nodes[m.Graph.Output]
	for {
		if _, ok := n.Op.(nn.Linear); ok {
			if b, ok := n.Param(nn.Bias); ok {
				return m.Params[b.Path]
			}
			return nil
		}
		if len(n.Inputs) != 1 {
			return nil
		}
		n = m.Graph.Nodes[n.Inputs[0]]
	}
}

// TestORTExports exports every registered model (opset 13; inception-v1
// also at opsets 9 and 17), runs the file in ONNX Runtime at batch 1 and 2
// and compares with the engine, rtol 1e-3, atol 1e-4. Each sample's logits
// minus the classifier bias must spread over more than 1000·atol, so that
// the comparison covers more than the bias. Exports are streamed to a
// temporary file (inception-v4 and Inception-ResNet-v2 are ~170-220 MB).
func TestORTExports(t *testing.T) {
	orttest.Require(t)
	const rtol, atol = 1e-3, 1e-4
	type job struct {
		model string
		opset int
	}
	var jobs []job
	for _, name := range registry.Names() {
		jobs = append(jobs, job{name, convert.DefaultExportOpset})
		if name == "inception-v1" {
			jobs = append(jobs, job{name, 9}, job{name, 17})
		}
	}
	for _, j := range jobs {
		t.Run(fmt.Sprintf("%s/opset=%d", j.model, j.opset), func(t *testing.T) {
			t0 := time.Now()
			m, err := zoo.Load(j.model)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), j.model+".onnx")
			f, err := os.Create(path)
			require.NoError(t, err)
			require.NoError(t, m.ExportONNX(f, convert.ExportOptions{Opset: j.opset}))
			require.NoError(t, f.Close())
			fi, err := os.Stat(path)
			require.NoError(t, err)

			oracle, err := ort.NewSession(path, 2)
			require.NoError(t, err)
			defer oracle.Close()
			bias := classifierBias(m)
			require.NotNil(t, bias, "no classifier bias")

			var maxErr float64
			minSpread := math.Inf(1)
			for _, batch := range []int{1, 2} {
				x := testkit.RandomInput(uint64(10+batch), append([]int{batch}, m.Spec.Input...)...)
				want, err := m.Forward(x)
				require.NoError(t, err)
				got, err := oracle.Run(map[string]*tensor.Tensor{"input": x})
				require.NoError(t, err)
				maxErr = math.Max(maxErr, testkit.Close(t, fmt.Sprintf("batch %d output", batch), got["output"], want, rtol, atol))
				c := m.Spec.Classes
				for s := range batch {
					lo, hi := math.Inf(1), math.Inf(-1)
					for i := range c {
						v := float64(want.Data[s*c+i]) - float64(bias.Data[i])
						lo, hi = math.Min(lo, v), math.Max(hi, v)
					}
					minSpread = math.Min(minSpread, hi-lo)
				}
			}
			if minSpread < 1000*atol {
				t.Errorf("logits minus classifier bias spread over %.3g, want >= %g", minSpread, 1000*atol)
			}
			t.Logf("max |ORT-engine| %.3g; min spread of logits-bias %.3g; export %.0f MB; %v",
				maxErr, minSpread, float64(fi.Size())/1e6, time.Since(t0).Round(time.Millisecond))
		})
	}
}

// TestORTUpstreamLayouts writes seeded state dicts in the key layouts of the
// other publishers (timm's safetensors for inception-v4 and
// Inception-ResNet-v2, facenet-pytorch's zip checkpoint for
// Inception-ResNet-v1, Cadene's legacy-format BN-Inception) with
// scripts/torch_checkpoints.py (torch.save, or numpy + json for
// safetensors; num_batches_tracked entries included), loads each through
// its weight tag's configuration, and compares the engine with ONNX
// Runtime running the export of the loaded weights.
func TestORTUpstreamLayouts(t *testing.T) {
	orttest.Require(t)
	needPython(t, "torch, numpy", "python3-torch python3-numpy")
	tests := []struct{ ref, format string }{
		{"inception-v4.tf_in1k", "safetensors"},
		{"inception-resnet-v2.tf_in1k", "safetensors"},
		{"inception-resnet-v1.vggface2", "zip"},
		{"inception-bn.caffe_in1k", "legacy"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			seeded, err := zoo.Load(tt.ref)
			require.NoError(t, err)
			keys := map[string][]int{}
			for _, s := range seeded.Graph.Params() {
				keys[s.Path] = s.Shape
			}
			b, err := json.Marshal(keys)
			require.NoError(t, err)
			kf := filepath.Join(t.TempDir(), "keys.json")
			require.NoError(t, os.WriteFile(kf, b, 0o644))
			dir := checkpoint(t, "keys", kf, "--format", tt.format, "--seed", "9")
			file := filepath.Join(dir, "weights.pth")
			if tt.format == "safetensors" {
				file = filepath.Join(dir, "weights.safetensors")
			}
			m, err := zoo.Load(tt.ref, zoo.WithWeights(file))
			require.NoError(t, err)
			require.NotEqual(t, seeded.Params, m.Params)

			path := filepath.Join(t.TempDir(), "m.onnx")
			f, err := os.Create(path)
			require.NoError(t, err)
			require.NoError(t, m.ExportONNX(f, convert.ExportOptions{}))
			require.NoError(t, f.Close())
			oracle, err := ort.NewSession(path, 2)
			require.NoError(t, err)
			defer oracle.Close()
			x := testkit.RandomInput(4, append([]int{1}, m.Input()...)...)
			want, err := m.Forward(x)
			require.NoError(t, err)
			got, err := oracle.Run(map[string]*tensor.Tensor{"input": x})
			require.NoError(t, err)
			testkit.Close(t, "output", got["output"], want, 1e-3, 1e-4)
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range want.Data {
				lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
			}
			require.Greater(t, hi-lo, 0.1, "logit spread")
		})
	}
}
