package zoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/inceptionzoo/inception/internal/regular"
	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/statedict"
)

// weightsFile is a decoded weight file and the facts it records about the
// model it belongs to.
type weightsFile struct {
	path   string
	format spec.Format
	graph  *onnxir.Graph        // ONNX files
	sd     *statedict.StateDict // PyTorch checkpoints and safetensors files

	model   string           // the zoo model it was exported from ("" unknown)
	input   nn.Shape         // per-sample input it records (nil unknown)
	classes int              // classifier width it records (0 unknown)
	labels  string           // label set it records
	names   []string         // class names it records (MetaClassNames)
	pre     *spec.Preprocess // preprocessing it records
	seeded  bool             // it says its weights are the seeded initialisation
}

// Metadata is what a weight file says about the model it holds, as
// ReadMetadata returns it; zero fields are not recorded.
type Metadata struct {
	Format     spec.Format
	Model      string           // zoo model name (exports of this project)
	Input      nn.Shape         // per-sample input shape
	Classes    int              // classifier width
	Labels     string           // label set name
	ClassNames []string         // class names of a model trained on its own classes
	Preprocess *spec.Preprocess // input pipeline
	Weights    string           // MetaWeights: "seeded", "pretrained:<ref>", "file:<name>"
	Trained    string           // MetaTrained
}

// ReadMetadata returns what the weight file at path records about its
// model (the metadata ExportONNX writes, and the input shape of an ONNX
// graph). Models are looked up in registry.Default.
func ReadMetadata(path string) (Metadata, error) {
	f, err := openWeights(path)
	if err != nil {
		return Metadata{}, err
	}
	md := Metadata{Format: f.format, Model: f.model, Input: f.input, Classes: f.classes, Labels: f.labels, ClassNames: f.names, Preprocess: f.pre}
	if md.Labels == "" && md.Model != "" {
		// An export that records its model and the model's class count
		// but no label set (older exports) has the model's labels.
		if e, err := registry.Lookup(md.Model); err == nil && (md.Classes == 0 || md.Classes == e.Classes) {
			md.Labels = e.Labels
		}
	}
	if f.graph != nil {
		md.Weights = f.graph.Metadata[MetaWeights]
		md.Trained = f.graph.Metadata[MetaTrained]
	}
	return md, nil
}

// sniffLen is how many leading bytes detectFormat looks at.
const sniffLen = statedict.DetectSize

// detectFormat tells a weight file's format from its first bytes, never
// from its name.
func detectFormat(head []byte) (spec.Format, error) {
	switch statedict.Detect(head) {
	case statedict.TorchZip, statedict.TorchLegacy:
		return spec.PyTorch, nil
	case statedict.Safetensors:
		return spec.Safetensors, nil
	case statedict.ONNX:
		return spec.ONNX, nil
	}
	return "", nil // unknown: the ONNX decoder gives the precise error
}

// openWeights reads the weight file at path, which must be a regular file
// (a FIFO or a device would block or never end).
func openWeights(path string) (*weightsFile, error) {
	fh, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(fh, head)
	fh.Close()
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("weights %s: %w", path, err)
	}
	format, err := detectFormat(head[:n])
	if err != nil {
		return nil, fmt.Errorf("weights %s: %w", path, err)
	}
	switch format {
	case spec.ONNX:
		return openONNX(path)
	case "":
		f, err := openONNX(path)
		if err != nil {
			return nil, fmt.Errorf("%w (it is not a PyTorch checkpoint or a safetensors file either)", err)
		}
		return f, nil
	}
	return openStateDict(path, format)
}

// openONNX decodes an ONNX file (finite weights only) and reads the facts
// it records: the zoo metadata of our exports, and the input shape of its
// single image input.
func openONNX(path string) (*weightsFile, error) {
	g, err := onnxir.DecodeFile(path, onnxir.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	f := &weightsFile{path: path, format: spec.ONNX, graph: g}
	md := g.Metadata
	f.model = md[convert.MetaModel]
	f.seeded = md[MetaWeights] == "seeded"
	if v, ok := md[MetaClasses]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("weights %s: metadata %s=%q is not a class count", path, MetaClasses, v)
		}
		f.classes = n
	}
	if v, ok := md[MetaLabels]; ok {
		if _, err := labels.Size(v); err != nil {
			return nil, fmt.Errorf("weights %s: metadata %s: %w", path, MetaLabels, err)
		}
		f.labels = v
	}
	if v, ok := md[MetaClassNames]; ok {
		if err := json.Unmarshal([]byte(v), &f.names); err != nil {
			return nil, fmt.Errorf("weights %s: metadata %s: %w", path, MetaClassNames, err)
		}
		if f.classes > 0 && len(f.names) != f.classes {
			return nil, fmt.Errorf("weights %s: metadata %s names %d classes, %s says %d", path, MetaClassNames, len(f.names), MetaClasses, f.classes)
		}
	}
	if v, ok := md[MetaPreprocess]; ok {
		var p spec.Preprocess
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return nil, fmt.Errorf("weights %s: metadata %s: %w", path, MetaPreprocess, err)
		}
		if p.Name == "" {
			p.Name = "custom"
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("weights %s: metadata %s: %w", path, MetaPreprocess, err)
		}
		f.pre = &p
	}
	if len(g.Inputs) == 1 && len(g.Inputs[0].Shape) == 4 {
		d := g.Inputs[0].Shape
		if d[1].Value > 0 && d[2].Value > 0 && d[3].Value > 0 && d[2].Value <= spec.MaxSide && d[3].Value <= spec.MaxSide && d[1].Value <= 4 {
			f.input = nn.Shape{int(d[1].Value), int(d[2].Value), int(d[3].Value)}
		}
	}
	return f, nil
}

// params maps the file's tensors onto g's parameters.
func (f *weightsFile) params(e registry.Entry, tag *spec.Tag, o nn.Options, input nn.Shape, g *nn.Graph) (nn.Params, error) {
	switch f.format {
	case spec.PyTorch, spec.Safetensors:
		return f.stateDictParams(e, tag, o, input, g)
	case spec.ONNX:
		p, _, err := convert.Import(g, f.graph, convert.ImportOptions{Names: keysFor(e, tag, spec.ONNX)})
		if err != nil {
			if errors.Is(err, convert.ErrTransformInput) && e.HasTransform {
				return nil, fmt.Errorf("zoo: %s: weights %s: %w (zoo.WithTransformInput toggles it)", e.Name, f.path, err)
			}
			return nil, fmt.Errorf("zoo: %s: weights %s: %w", e.Name, f.path, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("zoo: %s: weights %s: format %s", e.Name, f.path, f.format)
}

// keysFor returns the tensor naming to try for a file of the given format:
// the tag's, or for a bare file the first naming among the model's tags of
// that format (nil: parameter paths only).
func keysFor(e registry.Entry, tag *spec.Tag, format spec.Format) func(string) string {
	if tag != nil {
		return tag.Keys
	}
	for i := range e.Tags {
		if e.Tags[i].Format == format && e.Tags[i].Keys != nil {
			return e.Tags[i].Keys
		}
	}
	return nil
}
