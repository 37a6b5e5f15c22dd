package onnxgo_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	ogo "github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxgo"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// lightInputs says how each light graph's data input is set: by name for
// v1, whose first graph input is a bias (IR 3 lists the initializers as
// graph inputs, and onnx-go's SetInput(i) addresses the i-th of them), with
// SetInput(0) for v2, whose first graph input is data_0.
var lightInputs = []struct {
	name      string
	byName    bool
	wantOpset int64 // inferred: v1 has Dropout's ratio attribute, v2 Unsqueeze's axes
}{
	{"light_inception_v1", true, 11},
	{"light_inception_v2", false, 12},
}

func setLightInput(t *testing.T, m *ogo.Model, byName bool, x *tensor.Tensor) {
	t.Helper()
	if byName {
		setByName(t, m, "data_0", x)
		return
	}
	require.NoError(t, m.SetInput(0, toGT(x)))
}

// TestLightInceptionShipped decodes the ONNX suite's light Inception
// graphs with onnx-go into the Backend and checks the output against the
// shipped output_0.pb for the standard input (the suite's tolerance, rtol
// 1e-3, atol 1e-7). With every weight a ConstantOfShape, that output is
// uniform; TestLightInceptionRandomized is the numerical check.
func TestLightInceptionShipped(t *testing.T) {
	for _, tc := range lightInputs {
		t.Run(tc.name, func(t *testing.T) {
			data := testkit.ReadShared(t, "onnx-light", tc.name+".onnx")
			want, err := onnxir.DecodeTensor(bytes.NewReader(testkit.ReadShared(t, "onnx-light", tc.name+"_output_0.pb")), onnxir.Limits{})
			require.NoError(t, err)
			m, b := decode(t, data)
			setLightInput(t, m, tc.byName, testkit.StandardInput(1, 3, 224, 224))
			got := outputs(t, m, b)
			require.Len(t, got, 1)
			wt := &tensor.Tensor{Shape: []int{1, 1000}, Data: want.Float}
			testkit.Close(t, "prob_1", got[0], wt, 1e-3, 1e-7)
			rebuilt, err := b.Model()
			require.NoError(t, err)
			if got, want := rebuilt.Graph().Opset, tc.wantOpset; got != want {
				t.Errorf("inferred opset %d, want %d", got, want)
			}
		})
	}
}

// TestLightInceptionRandomized decodes the light graphs with seeded random
// weights (testkit.RandomizeConstantWeights) through onnx-go and compares the
// Backend's output with the onnx runner on the same file (which
// ../ort_test.go checks against ONNX Runtime), rtol 1e-3, atol 1e-4, for
// two inputs whose outputs differ by much more than atol.
func TestLightInceptionRandomized(t *testing.T) {
	for _, tc := range lightInputs {
		t.Run(tc.name, func(t *testing.T) {
			data, err := testkit.RandomizeConstantWeights(testkit.ReadShared(t, "onnx-light", tc.name+".onnx"), 5)
			require.NoError(t, err)
			direct, err := onnx.LoadReader(bytes.NewReader(data), onnx.LoadOptions{})
			require.NoError(t, err)
			m, b := decode(t, data)
			var ys []*tensor.Tensor
			for k, x := range []*tensor.Tensor{testkit.StandardInput(1, 3, 224, 224), testkit.RandomInput(5, 1, 3, 224, 224)} {
				setLightInput(t, m, tc.byName, x)
				got := outputs(t, m, b)[0]
				want, err := direct.Run(map[string]*tensor.Tensor{"data_0": x})
				require.NoError(t, err)
				d := testkit.Close(t, fmt.Sprintf("input %d prob_1", k), got, want["prob_1"], 1e-3, 1e-4)
				t.Logf("input %d: max |onnx-go backend - runner| %.3g", k, d)
				ys = append(ys, got)
			}
			// The randomized v2 saturates its softmax (see ../ort_test.go),
			// so its probabilities move less than v1's.
			if d := testkit.MaxDiff(ys[0], ys[1]); d < 1e-6 {
				t.Errorf("outputs change by %.3g between the inputs: the comparison shows nothing", d)
			}
		})
	}
}

// TestSetInputAddressesNodeIDs shows onnx-go's SetInput quirk on
// light_inception_v1 (whose first graph input is a bias): SetInput(0)
// replaces that weight, and Run reports that data_0 was never set instead
// of running on a placeholder.
func TestSetInputAddressesNodeIDs(t *testing.T) {
	m, b := decode(t, testkit.ReadShared(t, "onnx-light", "light_inception_v1.onnx"))
	n, ok := m.GetNodeByName("conv1/7x7_s2_b_0")
	require.True(t, ok)
	require.Equal(t, int64(0), n.ID(), "the bias is graph input 0")
	require.NoError(t, m.SetInput(0, toGT(testkit.StandardInput(1, 3, 224, 224))))
	err := b.Run()
	require.ErrorIs(t, err, onnxgo.ErrInput)
	require.Contains(t, err.Error(), `"data_0"`)
}

const gorgonnxHelperEnv = "INCEPTION_ONNXGO_GORGONNX_MODEL"

// TestGorgonnxHelper runs only in the child process started by
// TestGorgonnxCannotRunLightV1: it decodes the model named by the
// environment with onnx-go's gorgonia backend and reports the outcome on
// stdout. A panic in gorgonia's VM goroutine kills this process, not the
// parent test.
func TestGorgonnxHelper(t *testing.T) {
	path := os.Getenv(gorgonnxHelperEnv)
	if path == "" {
		t.Skip("helper for TestGorgonnxCannotRunLightV1")
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	g := gorgonnx.NewGraph()
	m := ogo.NewModel(g)
	if err := m.UnmarshalBinary(data); err != nil {
		fmt.Printf("GORGONNX-FAILED decode: %v\n", err)
		return
	}
	n, ok := m.GetNodeByName("data_0")
	require.True(t, ok)
	require.NoError(t, n.(ogo.DataCarrier).SetTensor(toGT(testkit.StandardInput(1, 3, 224, 224))))
	if err := g.Run(); err != nil {
		fmt.Printf("GORGONNX-FAILED run: %v\n", err)
		return
	}
	fmt.Println("GORGONNX-RAN")
}

// TestGorgonnxCannotRunLightV1 shows the point of the Backend: onnx-go's
// own gorgonia backend cannot run the randomized light_inception_v1 (it
// has no LRN, no AveragePool and mishandles asymmetric pool pads), while
// ours does (TestLightInceptionRandomized). gorgonnx runs in a child
// process so that a panic in its VM goroutine cannot take the test binary
// down; a crash counts as a failure to run, a result as a test failure.
func TestGorgonnxCannotRunLightV1(t *testing.T) {
	data, err := testkit.RandomizeConstantWeights(testkit.ReadShared(t, "onnx-light", "light_inception_v1.onnx"), 5)
	require.NoError(t, err)
	path := t.TempDir() + "/light_v1_random.onnx"
	require.NoError(t, os.WriteFile(path, data, 0o644))
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestGorgonnxHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), gorgonnxHelperEnv+"="+path)
	out, err := cmd.CombinedOutput()
	text := string(out)
	switch {
	case strings.Contains(text, "GORGONNX-RAN"):
		t.Fatalf("gorgonnx ran light_inception_v1; the package documentation's claim is out of date:\n%s", text)
	case strings.Contains(text, "GORGONNX-FAILED"):
		line := text[strings.Index(text, "GORGONNX-FAILED"):]
		line, _, _ = strings.Cut(line, "\n")
		t.Logf("gorgonnx: %s", line)
		require.Contains(t, line, "LRN", "gorgonnx should fail on the first LRN")
	case err != nil:
		t.Logf("gorgonnx crashed the child process (%v):\n%s", err, text)
	default:
		t.Fatalf("helper reported nothing:\n%s", text)
	}
}

// TestZooExports exports zoo models (opset 13), decodes each file with
// onnx-go into the Backend, and compares with the zoo's own engine at
// batch 2, rtol 1e-3, atol 1e-4; the two samples' outputs must differ by
// more than 100·atol. The default run covers the small inception-v1-d2l
// and inception-v1 (also at opset 9); INCEPTION_ONNXGO_ALL=1 covers every
// registered model (onnx-go converts float data element by element, so
// the big ones take a while).
func TestZooExports(t *testing.T) {
	type job struct {
		model string
		opset int
	}
	jobs := []job{{"inception-v1-d2l", 13}, {"inception-v1", 13}, {"inception-v1", 9}}
	if os.Getenv("INCEPTION_ONNXGO_ALL") == "1" {
		jobs = nil
		for _, name := range registry.Names() {
			jobs = append(jobs, job{name, 13})
		}
	}
	for _, j := range jobs {
		t.Run(fmt.Sprintf("%s/opset=%d", j.model, j.opset), func(t *testing.T) {
			t0 := time.Now()
			zm, err := zoo.Load(j.model)
			require.NoError(t, err)
			var buf bytes.Buffer
			require.NoError(t, zm.ExportONNX(&buf, convert.ExportOptions{Opset: j.opset}))
			m, b := decode(t, buf.Bytes())
			tDecode := time.Since(t0)

			x := testkit.RandomInput(3, append([]int{2}, zm.Spec.Input...)...)
			require.NoError(t, m.SetInput(0, toGT(x)))
			got := outputs(t, m, b)
			require.NotEmpty(t, got)
			want, err := zm.Forward(x)
			require.NoError(t, err)
			d := testkit.Close(t, "output", got[0], want, 1e-3, 1e-4)
			c := zm.Spec.Classes
			var spread float64
			for i := range c {
				spread = math.Max(spread, math.Abs(float64(want.Data[i]-want.Data[c+i])))
			}
			if spread < 1e-2 {
				t.Errorf("the two samples' outputs differ by at most %.3g: the comparison shows nothing", spread)
			}
			rebuilt, err := b.Model()
			require.NoError(t, err)
			t.Logf("max |onnx-go backend - engine| %.3g (samples differ by %.3g); opset %d; %d MB; load+export+decode %v, total %v",
				d, spread, rebuilt.Graph().Opset, buf.Len()>>20, tDecode.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
		})
	}
}

// TestDecodeErrorsPassThrough checks that onnx-go's own decoding errors
// reach the caller and leave the Backend unusable rather than half-built.
func TestDecodeErrorsPassThrough(t *testing.T) {
	b := onnxgo.New()
	m := ogo.NewModel(b)
	require.Error(t, m.UnmarshalBinary([]byte("not a model")))
	err := b.Run()
	if !errors.Is(err, onnxgo.ErrGraph) {
		t.Errorf("Run after a failed decode: got %v, want ErrGraph", err)
	}
}
