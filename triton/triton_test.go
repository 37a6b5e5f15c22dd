package triton_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/serve"
	_ "github.com/inceptionzoo/inception/serve/inferencepb"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/triton"
	"github.com/inceptionzoo/inception/triton/modelconfigpb"
	"github.com/inceptionzoo/inception/zoo"
)

// parseConfig reads a config.pbtxt with Triton's schema (the generated
// bindings); unknown fields fail.
func parseConfig(t *testing.T, path string) *modelconfigpb.ModelConfig {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c modelconfigpb.ModelConfig
	if err := (prototext.UnmarshalOptions{}).Unmarshal(b, &c); err != nil {
		t.Fatalf("%s does not parse as Triton's ModelConfig: %v\n%s", path, err, b)
	}
	return &c
}

func TestWriteRepository(t *testing.T) {
	m, err := serve.LoadModel(t.Context(), "inception-v1-d2l=../assets/inception-v1-d2l-fmnist28.onnx", serve.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	modelDir, err := triton.WriteRepository(dir, m.Model, triton.Options{MaxBatch: 16, MaxQueueDelay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "inception-v1-d2l"); modelDir != want {
		t.Errorf("model directory %s, want %s", modelDir, want)
	}
	c := parseConfig(t, filepath.Join(modelDir, "config.pbtxt"))
	if c.GetName() != "inception-v1-d2l" || c.GetPlatform() != "onnxruntime_onnx" || c.GetMaxBatchSize() != 16 {
		t.Errorf("name %q, platform %q, max_batch_size %d; want inception-v1-d2l, onnxruntime_onnx, 16", c.GetName(), c.GetPlatform(), c.GetMaxBatchSize())
	}
	if len(c.GetInput()) != 1 || len(c.GetOutput()) != 1 {
		t.Fatalf("%d inputs, %d outputs; want 1, 1", len(c.GetInput()), len(c.GetOutput()))
	}
	in, out := c.GetInput()[0], c.GetOutput()[0]
	if in.GetName() != "input" || in.GetDataType() != modelconfigpb.DataType_TYPE_FP32 || in.GetFormat() != modelconfigpb.ModelInput_FORMAT_NCHW ||
		!slices.Equal(in.GetDims(), []int64{1, 28, 28}) {
		t.Errorf("input %v, want \"input\" TYPE_FP32 FORMAT_NCHW dims [1 28 28] (no batch dimension)", in)
	}
	if out.GetName() != "output" || out.GetDataType() != modelconfigpb.DataType_TYPE_FP32 || !slices.Equal(out.GetDims(), []int64{10}) ||
		out.GetLabelFilename() != "labels.txt" {
		t.Errorf("output %v, want \"output\" TYPE_FP32 dims [10] label_filename labels.txt", out)
	}
	if d := c.GetDynamicBatching(); d == nil || d.GetMaxQueueDelayMicroseconds() != 2000 {
		t.Errorf("dynamic_batching %v, want max_queue_delay_microseconds 2000", d)
	}

	// The model file: the config's tensor names and shapes (batch
	// symbolic), and the model's outputs.
	om, err := onnx.Load(filepath.Join(modelDir, "1", "model.onnx"), onnx.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := om.Graph()
	if len(g.Inputs) != 1 || g.Inputs[0].Name != in.GetName() || len(g.Outputs) != 1 || g.Outputs[0].Name != out.GetName() {
		t.Fatalf("model.onnx inputs %v outputs %v; want the config's names", g.Inputs, g.Outputs)
	}
	if g.Inputs[0].Shape[0].Value >= 0 {
		t.Errorf("model.onnx batch dimension %v, want symbolic (max_batch_size > 0 needs it)", g.Inputs[0].Shape[0])
	}
	for i, d := range in.GetDims() {
		if g.Inputs[0].Shape[i+1].Value != d {
			t.Errorf("model.onnx input dim %d = %v, config says %d", i+1, g.Inputs[0].Shape[i+1], d)
		}
	}
	x := testkit.RandomInput(3, 2, 1, 28, 28)
	want, err := m.Model.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := om.Run(map[string]*tensor.Tensor{"input": x})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Close(t, "model.onnx output", outs["output"], want, 1e-4, 1e-5)

	labels, err := os.ReadFile(filepath.Join(modelDir, "labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(labels), "\n"), "\n"); !slices.Equal(got, m.Model.Labels()) {
		t.Errorf("labels.txt %q, want %q", got, m.Model.Labels())
	}

	// Writing again replaces the files in place.
	if _, err := triton.WriteRepository(dir, m.Model, triton.Options{MaxBatch: 4}); err != nil {
		t.Fatal(err)
	}
	if c := parseConfig(t, filepath.Join(modelDir, "config.pbtxt")); c.GetMaxBatchSize() != 4 {
		t.Errorf("rewritten max_batch_size %d, want 4", c.GetMaxBatchSize())
	}
}

// TestConfigParseIsStrict: the bindings are a subset of Triton's schema;
// the test above is meaningful only if text outside it fails to parse.
func TestConfigParseIsStrict(t *testing.T) {
	for _, text := range []string{
		`name: "m" sequence_batching {}`,
		`name: "m" input [{ name: "x" data_type: TYPE_FP33 }]`,
		`name: "m" max_batch_size: "eight"`,
		`platform: "onnxruntime_onnx" dims: [1]`,
	} {
		var c modelconfigpb.ModelConfig
		if err := prototext.Unmarshal([]byte(text), &c); err == nil {
			t.Errorf("prototext.Unmarshal(%q) succeeded, want an error", text)
		}
	}
	var c modelconfigpb.ModelConfig
	if err := prototext.Unmarshal([]byte("# comment\nname: \"m\"\nmax_batch_size: 8\ninput [{ name: \"input\" data_type: TYPE_FP32 dims: [3, 224, 224] }]\ndynamic_batching { }"), &c); err != nil {
		t.Errorf("a Triton-style config with comments and list syntax: %v", err)
	}
}

func TestOptionsRefused(t *testing.T) {
	m, err := zoo.Load("inception-v1-tv", zoo.WithAux())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := triton.Config(m, triton.Options{}); !errors.Is(err, triton.ErrConfig) {
		t.Errorf("model with aux heads: %v, want ErrConfig", err)
	}
	m, err = zoo.Load("inception-v1-d2l")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []triton.Options{{Name: "../x"}, {Name: "a/b"}, {MaxBatch: -1}} {
		if _, err := triton.WriteRepository(t.TempDir(), m, o); !errors.Is(err, triton.ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", o, err)
		}
	}
}

// TestSchemasCoexist: Triton's model config and the inference protocol
// share the proto package "inference"; both register in one binary.
func TestSchemasCoexist(t *testing.T) {
	for _, name := range []protoreflect.FullName{"inference.ModelConfig", "inference.ModelInferRequest"} {
		if _, err := protoregistry.GlobalTypes.FindMessageByName(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := protoregistry.GlobalFiles.FindDescriptorByName("inference.GRPCInferenceService"); err != nil {
		t.Errorf("inference.GRPCInferenceService: %v", err)
	}
}

func ExampleWriteRepository() {
	m, err := zoo.Load("inception-v1-d2l") // or with zoo.WithWeights / zoo.Pretrained
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "triton-repo")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if _, err := triton.WriteRepository(dir, m, triton.Options{MaxBatch: 8}); err != nil {
		log.Fatal(err)
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			fmt.Println(filepath.ToSlash(rel))
		}
		return err
	})
	c, err := triton.Config(m, triton.Options{MaxBatch: 8})
	if err != nil {
		log.Fatal(err)
	}
	in := c.GetInput()[0]
	fmt.Println(c.GetPlatform(), c.GetMaxBatchSize(), in.GetName(), in.GetDataType(), in.GetDims())
	// Output:
	// inception-v1-d2l/1/model.onnx
	// inception-v1-d2l/config.pbtxt
	// inception-v1-d2l/labels.txt
	// onnxruntime_onnx 8 input TYPE_FP32 [1 96 96]
}
