package zoo

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/inceptionzoo/inception/onnx/convert"
)

// Metadata keys ExportONNX adds to every export (besides
// convert.MetaModel, the zoo name). WithWeights reads them back, and
// ReadMetadata returns them.
const (
	MetaPreprocess = "inceptionzoo.preprocess" // the spec.Preprocess preset, as JSON
	MetaClasses    = "inceptionzoo.classes"    // classifier width, decimal
	MetaLabels     = "inceptionzoo.labels"     // label set name (package labels)
	// MetaClassNames holds the class names of a model trained on its own
	// classes (a JSON array, index i naming class i), written by
	// ExportONNX when the model has them (see WithClassNames).
	MetaClassNames = "inceptionzoo.class_names"
	MetaOutput     = "inceptionzoo.output" // "logits" or "probabilities"
	// MetaWeights says where the weights came from: "seeded" (the
	// documented initialisation, not trained), "pretrained:<model.tag>",
	// or "file:<base name>".
	MetaWeights = "inceptionzoo.weights"
	// MetaTrained is written by the trainer ("inception train ...").
	MetaTrained = "inceptionzoo.trained"
)

// ExportONNX writes the model as ONNX (see convert.Export). The model
// name, the preprocessing preset, the class count and the output kind are
// added to the metadata; opts.ModelName defaults to the zoo name.
func (m *Model) ExportONNX(w io.Writer, opts convert.ExportOptions) error {
	if err := m.checkHead(); err != nil {
		return fmt.Errorf("%w; export the full model (its metadata records the classifier)", err)
	}
	if opts.ModelName == "" {
		opts.ModelName = m.Spec.Name
	}
	pre, err := json.Marshal(m.Spec.Preprocess)
	if err != nil {
		return fmt.Errorf("zoo: %s: preprocessing preset: %w", m.Spec.Name, err)
	}
	meta := map[string]string{
		MetaPreprocess: string(pre),
		MetaClasses:    strconv.Itoa(m.Classes()),
		MetaOutput:     string(m.Spec.Output),
	}
	if o := m.weightsOrigin(); o != "" {
		meta[MetaWeights] = o
	}
	if m.Spec.Labels != "" {
		meta[MetaLabels] = m.Spec.Labels
	}
	if m.names != nil {
		b, err := json.Marshal(m.names)
		if err != nil {
			return fmt.Errorf("zoo: %s: class names: %w", m.Spec.Name, err)
		}
		meta[MetaClassNames] = string(b)
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

// weightsOrigin is the MetaWeights value of m; "" when unknown (a model
// made by New from parameters, e.g. by the trainer).
func (m *Model) weightsOrigin() string {
	switch {
	case m.seeded:
		return "seeded"
	case m.tag != nil:
		return "pretrained:" + m.Spec.Ref(m.tag)
	case m.source != "":
		return "file:" + filepath.Base(m.source)
	}
	return ""
}
