package nn

// Options configure a model builder. The zero value of a field means the
// model's default.
type Options struct {
	Classes        int  // classifier width; 0 means the model's default
	Aux            bool // build the auxiliary heads, where the model has them
	TransformInput bool // prepend torchvision's transform_input remapping, where the model has it
}

// Output says what a model's main output is.
type Output string

// Output kinds.
const (
	Logits        Output = "logits"
	Probabilities Output = "probabilities"
)

// Preprocess is the input pipeline a model's weights expect: decode, resize
// the shorter side to Resize with Interpolation, centre-crop Crop×Crop,
// scale values to [0, Range] (1 or 255), reorder channels (BGR if set),
// then per-channel (x − Mean) / Std in the scaled units.
type Preprocess struct {
	Resize        int
	Crop          int
	Interpolation string // "bilinear" or "bicubic"
	Range         float32
	BGR           bool
	Grayscale     bool
	Mean, Std     []float32
}

// Spec describes a registered model: its metadata and its builder.
type Spec struct {
	Name         string
	Aliases      []string
	Family       string // "inception-v1", "bn-inception", …
	Paper        string // citation with an arXiv id
	Description  string
	Input        Shape // per-sample input shape, e.g. [3, 224, 224]
	Classes      int
	Output       Output
	Preprocess   Preprocess
	RefParams    int64 // parameters with default options, from the reference implementation
	RefParamsAux int64 // parameters with auxiliary heads; 0 if the model has none
	RefMACs      int64 // Conv+Linear multiply-accumulates at Input, no aux
	HasAux       bool
	HasTransform bool
	Quirks       []string
	Weights      []WeightFile // known pretrained weight files, most preferred first
	Build        func(Options) (Block, error)
}

// WeightFile describes a published pretrained weight file for a model.
type WeightFile struct {
	Name    string // short name, e.g. "onnx-model-zoo-googlenet-12"
	URL     string
	SHA256  string // hex digest of the whole file
	Size    int64  // bytes
	Format  string // "onnx"
	Source  string // who published it
	License string
	Notes   string // opset, how the file maps onto the zoo model, caveats
}
