// Package triton writes zoo models as NVIDIA Triton Inference Server model
// repositories, so that a model served here by `inception serve` can move
// to Triton (and its ONNX Runtime backend, on GPUs) unchanged, speaking
// the same Open Inference Protocol:
//
//	DIR/NAME/config.pbtxt   the model configuration (ModelConfig, protobuf text format)
//	DIR/NAME/1/model.onnx   the model, exported by zoo (input "input", output "output")
//	DIR/NAME/labels.txt     the class labels, one per line, when known
//
// The configuration has platform "onnxruntime_onnx", max_batch_size,
// the input (TYPE_FP32, format FORMAT_NCHW, dims without the batch
// dimension) and the output (TYPE_FP32, [classes], label_filename), and
// dynamic_batching with a maximum queue delay, the settings of `inception
// serve --max-batch --max-delay`. It is written from the generated
// bindings of Triton's model_config.proto (package modelconfigpb), so it
// parses with Triton's schema.
package triton

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/triton/modelconfigpb"
	"github.com/inceptionzoo/inception/zoo"
)

// Repository layout and names.
const (
	ConfigFile = "config.pbtxt"
	ModelFile  = "model.onnx" // the ONNX Runtime backend's default file name
	LabelsFile = "labels.txt"
	Version    = "1"
	// Platform is the model's platform: ONNX Runtime running an ONNX file.
	Platform = "onnxruntime_onnx"
	// InputName and OutputName are the tensor names of the zoo's exports.
	InputName  = "input"
	OutputName = "output"
)

// Defaults of Options' zero fields (the serve package's defaults).
const (
	DefaultMaxBatch      = 8
	DefaultMaxQueueDelay = 5 * time.Millisecond
)

// ErrConfig reports a model or option a Triton repository cannot hold.
var ErrConfig = errors.New("triton: invalid configuration")

// Options configure Config and WriteRepository. Zero fields take defaults.
type Options struct {
	// Name is the model's name and directory (default: the zoo name).
	Name string
	// MaxBatch is max_batch_size, the largest batch Triton forms or
	// accepts (default DefaultMaxBatch).
	MaxBatch int
	// MaxQueueDelay is the dynamic batcher's max_queue_delay_microseconds
	// (default DefaultMaxQueueDelay; negative: 0, no waiting).
	MaxQueueDelay time.Duration
	// Opset is the ONNX opset of model.onnx (default
	// convert.DefaultExportOpset).
	Opset int
}

func (o Options) withDefaults(m *zoo.Model) (Options, error) {
	if o.Name == "" {
		o.Name = m.Spec.Name
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxQueueDelay == 0 {
		o.MaxQueueDelay = DefaultMaxQueueDelay
	}
	if o.MaxQueueDelay < 0 {
		o.MaxQueueDelay = 0
	}
	switch {
	case o.MaxBatch < 1 || o.MaxBatch > 1<<30:
		return o, fmt.Errorf("%w: max batch %d: want at least 1", ErrConfig, o.MaxBatch)
	case o.Name == "." || o.Name == ".." || strings.ContainsAny(o.Name, `/\`) || strings.ContainsRune(o.Name, 0):
		return o, fmt.Errorf("%w: model name %q is not a directory name", ErrConfig, o.Name)
	case len(m.Graph.Aux) > 0:
		return o, fmt.Errorf("%w: %s has auxiliary outputs; a Triton repository serves the main output: load it without aux heads", ErrConfig, m.Spec.Name)
	}
	return o, nil
}

// Config returns the Triton model configuration of m.
func Config(m *zoo.Model, o Options) (*modelconfigpb.ModelConfig, error) {
	o, err := o.withDefaults(m)
	if err != nil {
		return nil, err
	}
	in, out := m.Graph.InputShape(), m.Graph.OutputShape()
	dims := func(s []int) []int64 {
		d := make([]int64, len(s))
		for i, v := range s {
			d[i] = int64(v)
		}
		return d
	}
	input := &modelconfigpb.ModelInput{Name: InputName, DataType: modelconfigpb.DataType_TYPE_FP32, Dims: dims(in)}
	if len(in) == 3 {
		input.Format = modelconfigpb.ModelInput_FORMAT_NCHW
	}
	output := &modelconfigpb.ModelOutput{Name: OutputName, DataType: modelconfigpb.DataType_TYPE_FP32, Dims: dims(out)}
	if labels := m.Labels(); len(labels) > 0 {
		output.LabelFilename = LabelsFile
	}
	return &modelconfigpb.ModelConfig{
		Name:         o.Name,
		Platform:     Platform,
		MaxBatchSize: int32(o.MaxBatch),
		Input:        []*modelconfigpb.ModelInput{input},
		Output:       []*modelconfigpb.ModelOutput{output},
		SchedulingChoice: &modelconfigpb.ModelConfig_DynamicBatching{DynamicBatching: &modelconfigpb.ModelDynamicBatching{
			MaxQueueDelayMicroseconds: uint64(o.MaxQueueDelay / time.Microsecond),
		}},
	}, nil
}

// MarshalConfig returns the configuration as config.pbtxt text.
func MarshalConfig(c *modelconfigpb.ModelConfig) ([]byte, error) {
	b, err := prototext.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("triton: %w", err)
	}
	head := "# Triton model configuration (ModelConfig, model_config.proto) written by\n# github.com/inceptionzoo/inception (inception export --triton).\n"
	return append([]byte(head), b...), nil
}

// WriteRepository writes m as model o.Name of the Triton model repository
// dir (created if missing): config.pbtxt, 1/model.onnx and, when the
// model's labels are known, labels.txt. Every file is written atomically;
// other version directories are left alone. It returns the model's
// directory.
func WriteRepository(dir string, m *zoo.Model, o Options) (string, error) {
	o, err := o.withDefaults(m)
	if err != nil {
		return "", err
	}
	cfg, err := Config(m, o)
	if err != nil {
		return "", err
	}
	text, err := MarshalConfig(cfg)
	if err != nil {
		return "", err
	}
	var onnx bytes.Buffer
	if err := m.ExportONNX(&onnx, convert.ExportOptions{Opset: o.Opset}); err != nil {
		return "", err
	}
	modelDir := filepath.Join(dir, o.Name)
	if err := os.MkdirAll(filepath.Join(modelDir, Version), 0o755); err != nil {
		return "", fmt.Errorf("triton: %w", err)
	}
	write := func(path string, data []byte) error {
		return atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
	}
	if err := write(filepath.Join(modelDir, Version, ModelFile), onnx.Bytes()); err != nil {
		return "", err
	}
	if labels := m.Labels(); len(labels) > 0 {
		for i, l := range labels {
			if strings.ContainsAny(l, "\r\n") {
				return "", fmt.Errorf("%w: label %d %q has a line break", ErrConfig, i, l)
			}
		}
		if err := write(filepath.Join(modelDir, LabelsFile), []byte(strings.Join(labels, "\n")+"\n")); err != nil {
			return "", err
		}
	}
	// The configuration last: a repository with a config has its model.
	if err := write(filepath.Join(modelDir, ConfigFile), text); err != nil {
		return "", err
	}
	return modelDir, nil
}
