package zoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/registry"
	bninception "github.com/inceptionzoo/inception/variants/bn"
)

// Metadata keys ExportONNX adds to every export (besides
// convert.MetaModel, the zoo name).
const (
	MetaPreprocess = "inceptionzoo.preprocess" // the nn.Preprocess preset, as JSON
	MetaClasses    = "inceptionzoo.classes"    // classifier width, decimal
	MetaOutput     = "inceptionzoo.output"     // "logits" or "probabilities"
)

// foreignNames maps a zoo name to the naming of its foreign ONNX files:
// for a parameter path, the tensor name the file uses. Models not listed
// import by parameter path or by structure only (see package convert).
var foreignNames = map[string]func(string) string{
	// ONNX Model Zoo inception_v1 (Caffe2): "inception_3a/1x1_w_0".
	"inception-v1":        Caffe2Name,
	"inception-v1-caffe2": Caffe2Name,
	// ONNX Model Zoo inception_v2 (Caffe2, with SpatialBN and Scale names).
	"inception-v2": bninception.ONNXName,
}

// Caffe2Name returns the Caffe2 / ONNX Model Zoo tensor name of a Caffe
// parameter path: the layer path with "." read as "/", then "_w_0" for a
// weight or "_b_0" for a bias (conv1.7x7_s2.weight ↔ conv1/7x7_s2_w_0,
// loss3.classifier.bias ↔ loss3/classifier_b_0). Other paths give "".
func Caffe2Name(path string) string {
	i := strings.LastIndexByte(path, '.')
	if i <= 0 {
		return ""
	}
	suffix := map[string]string{"weight": "_w_0", "bias": "_b_0"}[path[i+1:]]
	if suffix == "" {
		return ""
	}
	return strings.ReplaceAll(path[:i], ".", "/") + suffix
}

// ExportONNX writes the model as ONNX (see convert.Export). The model
// name, the preprocessing preset, the class count and the output kind are
// added to the metadata; opts.ModelName defaults to the zoo name.
func (m *Model) ExportONNX(w io.Writer, opts convert.ExportOptions) error {
	if opts.ModelName == "" {
		opts.ModelName = m.Spec.Name
	}
	pre, err := json.Marshal(m.Spec.Preprocess)
	if err != nil {
		return fmt.Errorf("zoo: %s: preprocessing preset: %w", m.Spec.Name, err)
	}
	meta := map[string]string{
		MetaPreprocess: string(pre),
		MetaClasses:    strconv.Itoa(m.Graph.OutputShape()[0]),
		MetaOutput:     string(m.Spec.Output),
	}
	for k, v := range opts.Metadata {
		meta[k] = v
	}
	opts.Metadata = meta
	if err := convert.Export(w, m.Graph, m.Params, opts); err != nil {
		return fmt.Errorf("zoo: %s: %w", m.Spec.Name, err)
	}
	return nil
}

// importFile decodes the ONNX file at path (finite weights only) and maps
// its weights onto g.
func importFile(spec registry.Entry, g *nn.Graph, path string) (nn.Params, error) {
	f, err := onnx.DecodeFile(path, onnx.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: weights: %w", spec.Name, err)
	}
	p, _, err := convert.Import(g, f, convert.ImportOptions{Names: foreignNames[spec.Name]})
	if err != nil {
		if errors.Is(err, convert.ErrTransformInput) && spec.HasTransform {
			return nil, fmt.Errorf("zoo: %s: weights %s: %w (zoo.WithTransformInput toggles it)", spec.Name, path, err)
		}
		return nil, fmt.Errorf("zoo: %s: weights %s: %w", spec.Name, path, err)
	}
	return p, nil
}
