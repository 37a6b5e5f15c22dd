// Package spec describes the models the zoo knows: each architecture (its
// builder, reference counts, input and head) and its pretrained weight
// files, the tags. Every fact about a model or a weight file lives in one
// spec value in the variant package that defines the model; the registry,
// the zoo, the CLI and the exporters read it from there.
//
// Names resolve like timm's: "inception-v3.tf_in1k" is the architecture
// inception-v3 with its tag tf_in1k; the bare name "inception-v3" is the
// architecture, whose default tag (the first one) Pretrained loads.
//
// A Tag says everything needed to use its file: where to download it and how
// to verify it (weights.File), its format, the input size and class count it
// was trained with, the label set, the preprocessing preset, whether
// torchvision's transform_input applies, how its tensor names map onto the
// model's parameter paths, and its licence.
package spec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/weights"
)

// Output says what a model's main output is.
type Output string

// Output kinds.
const (
	Logits        Output = "logits"
	Probabilities Output = "probabilities"
)

// Format is a weight file's container format.
type Format string

// Weight file formats. zoo.WithWeights detects the format of a file by its
// content; a Tag states it so that a download can be checked before use.
const (
	ONNX        Format = "onnx"        // ONNX ModelProto; initializers named by Keys
	PyTorch     Format = "pytorch"     // torch.save state dict (zip or legacy)
	Safetensors Format = "safetensors" // Hugging Face safetensors
)

// ErrTag reports a tag name the model does not have.
var ErrTag = errors.New("spec: unknown weight tag")

// Model is a registered architecture and its pretrained weight tags.
type Model struct {
	Name        string
	Aliases     []string
	Family      string // "inception-v1", "bn-inception", …
	Paper       string // citation with an arXiv id
	Description string

	// Input is the per-sample input shape the architecture is defined at,
	// e.g. [3, 224, 224]; a tag may train it at another size.
	Input nn.Shape
	// Classes is the default classifier width and Labels names its classes
	// (a labels set name; "" when the classes have no names).
	Classes int
	Labels  string
	Output  Output
	// Preprocess is the architecture's nominal input pipeline, used when
	// the weights do not say theirs (seeded weights, a bare file).
	Preprocess Preprocess

	// FeaturesL2 says that the model's embedding (zoo.Model.Features, the
	// classifier's input) is used L2-normalised, as facenet's face
	// embeddings are: Features divides each row by its Euclidean norm.
	FeaturesL2 bool

	RefParams    int64 // parameters with default options, from the reference implementation
	RefParamsAux int64 // parameters with auxiliary heads; 0 if the model has none
	RefMACs      int64 // Conv+Linear multiply-accumulates at Input, no aux
	HasAux       bool
	HasTransform bool
	Quirks       []string

	// Tags are the published weight files, the default (preferred) first.
	Tags []Tag

	Build func(nn.Options) (nn.Block, error)
}

// Tag is one published pretrained weight file of a model and everything
// needed to use it.
type Tag struct {
	Name        string // e.g. "tf_in1k"; unique within the model
	Description string
	File        weights.File // download identity: cache name, URL, size, digest
	Format      Format

	Input   nn.Shape // per-sample input the weights were trained at; nil: the model's
	Classes int      // classifier width of the file; 0: the model's
	Labels  string   // label set; "" with Classes 0: the model's
	// Preprocess is the pipeline the weights were trained with.
	Preprocess Preprocess
	// TransformInput is torchvision's transform_input, which torchvision
	// switches on for its own Inception checkpoints.
	TransformInput bool
	// Keys maps a parameter path of the model to the tensor name in the
	// file; nil means the file uses the parameter paths themselves.
	Keys func(path string) string

	License string // SPDX identifier or a short statement
	Source  string // who publishes the file, and where it is documented
	Notes   string // how it was produced, what maps onto what, caveats
}

// Ref is the full name of the tag: "model.tag".
func (m *Model) Ref(t *Tag) string { return m.Name + "." + t.Name }

// Tag returns the tag called name; "" names the default tag. A model
// without tags has no default.
func (m *Model) Tag(name string) (*Tag, error) {
	if len(m.Tags) == 0 {
		return nil, fmt.Errorf("%w: %s has no published weights", ErrTag, m.Name)
	}
	if name == "" {
		return &m.Tags[0], nil
	}
	var names []string
	for i := range m.Tags {
		if m.Tags[i].Name == name {
			return &m.Tags[i], nil
		}
		names = append(names, m.Tags[i].Name)
	}
	return nil, fmt.Errorf("%w: %s has no tag %q (have %s)", ErrTag, m.Name, name, strings.Join(names, ", "))
}

// Split cuts a model reference "name.tag" into the name and the tag; a
// reference without a dot has an empty tag. Model names never contain a
// dot (Validate checks it), tags may.
func Split(ref string) (name, tag string) {
	name, tag, _ = strings.Cut(ref, ".")
	return name, tag
}

// InputOf returns the per-sample input shape of the tag's weights.
func (m *Model) InputOf(t *Tag) nn.Shape {
	if t != nil && len(t.Input) > 0 {
		return t.Input
	}
	return m.Input
}

// ClassesOf returns the class count of the tag's weights and its label set.
func (m *Model) ClassesOf(t *Tag) (int, string) {
	if t != nil && t.Classes > 0 {
		return t.Classes, t.Labels
	}
	if t != nil && t.Labels != "" {
		return m.Classes, t.Labels
	}
	return m.Classes, m.Labels
}

// Validate checks the facts a registry relies on: a name without dots, a
// builder, an input shape, a class count, a valid preset, and tags with
// unique names, complete download facts and valid presets.
func (m *Model) Validate() error {
	switch {
	case m.Name == "":
		return errors.New("empty name")
	case strings.ContainsAny(m.Name, ". \t"):
		return fmt.Errorf("name %q contains a dot or a space", m.Name)
	case m.Build == nil:
		return fmt.Errorf("%q has no builder", m.Name)
	case len(m.Input) == 0 || m.Classes <= 0:
		return fmt.Errorf("%q needs an input shape and a class count", m.Name)
	}
	for _, a := range m.Aliases {
		if strings.ContainsAny(a, ". \t") || a == "" {
			return fmt.Errorf("%q: alias %q is empty or contains a dot or a space", m.Name, a)
		}
	}
	if m.Preprocess != (Preprocess{}) {
		if err := m.Preprocess.Validate(); err != nil {
			return fmt.Errorf("%q: %w", m.Name, err)
		}
	}
	seen := map[string]bool{}
	for i := range m.Tags {
		t := &m.Tags[i]
		if t.Name == "" || strings.ContainsAny(t.Name, " \t/") {
			return fmt.Errorf("%q: tag %d has an invalid name %q", m.Name, i, t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("%q: tag %q appears twice", m.Name, t.Name)
		}
		seen[t.Name] = true
		switch t.Format {
		case ONNX, PyTorch, Safetensors:
		default:
			return fmt.Errorf("%s: format %q (want onnx, pytorch or safetensors)", m.Ref(t), t.Format)
		}
		if err := t.File.Validate(); err != nil {
			return fmt.Errorf("%s: %w", m.Ref(t), err)
		}
		if err := t.Preprocess.Validate(); err != nil {
			return fmt.Errorf("%s: %w", m.Ref(t), err)
		}
		if in := m.InputOf(t); len(in) != 3 || in[0] != t.Preprocess.Channels() {
			return fmt.Errorf("%s: input %v does not fit the %d-channel preset %s", m.Ref(t), in, t.Preprocess.Channels(), t.Preprocess.Norm.Name)
		}
		if in := m.InputOf(t); in[1] != t.Preprocess.Crop || in[2] != t.Preprocess.Crop {
			return fmt.Errorf("%s: input %v, preset crops %dx%d", m.Ref(t), in, t.Preprocess.Crop, t.Preprocess.Crop)
		}
		if t.TransformInput && !m.HasTransform {
			return fmt.Errorf("%s: transform_input set, but %s has none", m.Ref(t), m.Name)
		}
		if t.License == "" || t.Source == "" {
			return fmt.Errorf("%s: needs a licence and a source", m.Ref(t))
		}
	}
	return nil
}
