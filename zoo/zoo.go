// Package zoo is the front door: Load a registered Inception model by name,
// run it, and inspect it.
//
//	m, err := zoo.Load("inception-v3.tv_in1k", zoo.Pretrained())
//	top, err := m.Predict(x, 5) // x is a [N, 3, 299, 299] tensor
//
// A name is a registry name or alias, optionally with a weight tag
// ("inception-v3.tf_in1k", see package spec). Weights come from the tag's
// published file (Pretrained), from a file (WithWeights: ONNX, PyTorch
// checkpoint or safetensors, told apart by their content), or else from a
// seeded, documented initialisation (nn.InitParams): the same seed gives
// the same weights on every machine and Go version. The weights decide the
// model's input size, class count, labels and preprocessing; options can
// set them explicitly, and a combination that cannot be right (a file
// trained at 28x28 loaded at 96x96, say) is an error naming both values.
// A Model is safe for concurrent use.
package zoo

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/tensor"
)

// DefaultSeed is the weight seed when no WithSeed option is given.
const DefaultSeed = 1

type config struct {
	reg        *registry.Registry
	opts       nn.Options
	seed       uint64
	weights    string            // file to take the weights from (see WithWeights)
	pretrained *pretrainedConfig // fetch a tag's file first (see Pretrained)
	size       [2]int            // WithInputSize: height, width; 0 means from the weights
	preprocess *spec.Preprocess  // WithPreprocess
	noHead     bool              // WithoutHead
	truncate   string            // TruncateAt
	layers     []string          // WithLayers
	names      []string          // WithClassNames
	ctx        context.Context
}

// Option configures Load.
type Option func(*config)

// WithClasses sets the classifier width (default: the weights' or the
// model's). Weights with another width do not load.
func WithClasses(n int) Option { return func(c *config) { c.opts.Classes = n } }

// WithSeed sets the seed of the deterministic weight initialisation.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithAux builds the auxiliary heads of models that have them; their
// outputs come from ForwardAll.
func WithAux() Option { return func(c *config) { c.opts.Aux = true } }

// WithTransformInput prepends torchvision's transform_input where the model
// has it. A tag whose weights need it (torchvision's) switches it on by
// itself; a bare file never does.
func WithTransformInput() Option { return func(c *config) { c.opts.TransformInput = true } }

// WithWeights takes the weights from the file at path instead of the
// seeded initialisation. The format is told from the content: ONNX (the
// zoo's exports, torch.onnx.export files with BatchNorm folded or not, the
// ONNX Model Zoo files), a PyTorch checkpoint (torch.save, zip or legacy;
// a state dict at the top level or under "state_dict" or "model") or a
// safetensors file. Tensors are matched to parameters by name (the
// parameter paths are the upstream keys; a tag's Keys mapping is tried
// too). Mismatches are reported like torch's strict load_state_dict:
// missing and unexpected keys and shape mismatches, each naming the first
// few; keys of heads the model was built without (auxiliary heads) are
// dropped. A file that records its input size (an ONNX graph input) sets
// the model's input size.
func WithWeights(path string) Option { return func(c *config) { c.weights = path } }

// WithInputSize sets the input height and width (timm's img_size). Weights
// that record another size are refused, naming both.
func WithInputSize(h, w int) Option { return func(c *config) { c.size = [2]int{h, w} } }

// WithPreprocess sets the preprocessing PredictImage applies, instead of
// the weights' preset.
func WithPreprocess(p spec.Preprocess) Option { return func(c *config) { c.preprocess = &p } }

// WithClassNames names the classes of a model trained on classes of its
// own (a fine-tuned head); index i names class i. Labels returns them and
// ExportONNX records them, so a file made from the model names its classes
// (MetaClassNames). Their number must be the model's class count.
func WithClassNames(names ...string) Option {
	return func(c *config) { c.names = append([]string(nil), names...) }
}

// WithRegistry looks the name up in r instead of registry.Default.
func WithRegistry(r *registry.Registry) Option { return func(c *config) { c.reg = r } }

// Model is a loaded model: its spec (with the input size, classes, labels
// and preprocessing of the loaded weights), block tree, lowered graph,
// parameters and compiled plan.
type Model struct {
	Spec   registry.Entry
	Block  nn.Block
	Graph  *nn.Graph
	Params nn.Params
	exec   *engine.Model
	tag    *spec.Tag
	seeded bool
	source string    // where the weights came from: a path, or "" for seeded
	names  []string  // class names of its own (WithClassNames, MetaClassNames)
	fx     *features // embedding, layers and taps (features.go)
}

// Load builds the named model and compiles it; see LoadContext.
func Load(name string, opts ...Option) (*Model, error) {
	return LoadContext(context.Background(), name, opts...)
}

// LoadContext builds the model a reference names ("inception-v3" or
// "inception-v3.tf_in1k"), takes its weights as the options say
// (Pretrained, WithWeights, or seeded), and compiles it. ctx bounds
// downloads. Options:
//
//   - Pretrained (PretrainedFile, PretrainedCache, …): the tag's published
//     file (the default tag for a bare name), fetched into the cache;
//   - WithWeights(path): a file in any supported format;
//   - WithInputSize, WithClasses, WithAux, WithTransformInput,
//     WithPreprocess: the model's configuration;
//   - WithSeed: the seed of the initialisation when no weights are loaded;
//   - WithRegistry: look the name up in another registry.
//
// Errors: registry.ErrNotFound (unknown name), spec.ErrTag (unknown tag),
// ErrNoWeights (Pretrained on a model without tags), weights.ErrUnavailable
// (offline), ErrMismatch (weights that do not fit).
func LoadContext(ctx context.Context, name string, opts ...Option) (*Model, error) {
	c := config{reg: registry.Default, seed: DefaultSeed, ctx: ctx}
	for _, o := range opts {
		o(&c)
	}
	return c.load(name)
}

// New compiles a model from its parts; Load is the usual way in. p must fit
// g exactly.
func New(e registry.Entry, b nn.Block, g *nn.Graph, p nn.Params) (*Model, error) {
	return newModel(e, b, g, p, false, nil)
}

// Tag returns the weight tag whose file the model was loaded from, or nil
// (seeded weights, or a file given by WithWeights).
func (m *Model) Tag() *spec.Tag { return m.tag }

// Seeded reports whether the weights are the seeded initialisation rather
// than trained weights: no weights were loaded, or the file loaded records
// that it holds seeded weights (an export of a seeded model).
func (m *Model) Seeded() bool { return m.seeded }

// Source returns where the weights came from: the file's path, or "" for
// seeded weights.
func (m *Model) Source() string { return m.source }

// Input returns the per-sample input shape, e.g. [3 299 299].
func (m *Model) Input() nn.Shape { return m.Graph.InputShape() }

// Classes returns the width of the main output, the classifier's; 0 for
// a model loaded WithoutHead.
func (m *Model) Classes() int {
	if m.fx.headless {
		return 0
	}
	return m.Graph.OutputShape()[0]
}

// Preprocess returns the input pipeline of the loaded weights (see
// package preprocess).
func (m *Model) Preprocess() spec.Preprocess { return m.Spec.Preprocess }

// Name returns the model's reference: "name.tag" when loaded from a tag,
// else the registry name.
func (m *Model) Name() string {
	if m.tag != nil {
		return m.Spec.Ref(m.tag)
	}
	return m.Spec.Name
}

// Forward runs the model on x, shaped [N, C, H, W] as Spec.Input says, and
// returns the main output [N, classes].
func (m *Model) Forward(x *tensor.Tensor) (*tensor.Tensor, error) { return m.exec.Run(x) }

// ForwardAll returns the main output followed by the auxiliary outputs
// (present when loaded WithAux), in Graph.Aux order.
func (m *Model) ForwardAll(x *tensor.Tensor) ([]*tensor.Tensor, error) { return m.exec.RunAll(x) }

// Prediction is one class of a top-k answer. Score is a probability.
type Prediction struct {
	Index int
	Label string
	Score float32
}

// Predict runs the model and returns the k most probable classes of each
// sample, most probable first, with their labels (Labels). Logits are
// turned into probabilities with a softmax. A NaN or infinity in x, or in an output row, is an error
// wrapping ErrNonFinite that names the sample (no top-k is computed from
// it); PredictSamples reports such samples one by one instead.
func (m *Model) Predict(x *tensor.Tensor, k int) ([][]Prediction, error) {
	if err := m.checkHead(); err != nil {
		return nil, err
	}
	if at := firstNonFinite(x.Data); at >= 0 {
		return nil, fmt.Errorf("zoo: %s: %w: input value %d (sample %d) is %v", m.Spec.Name, ErrNonFinite, at, sampleOf(x, at), x.Data[at])
	}
	y, err := m.Forward(x)
	if err != nil {
		return nil, err
	}
	if at := firstNonFinite(y.Data); at >= 0 {
		return nil, fmt.Errorf("zoo: %s: %w: output %d of sample %d is %v", m.Spec.Name, ErrNonFinite, at%y.Shape[1], at/y.Shape[1], y.Data[at])
	}
	return m.TopK(y, k), nil
}

// TopK turns outputs of m ([N, classes], logits or probabilities as the
// spec says) into the k most probable classes of each row, with their
// labels; scores are probabilities.
func (m *Model) TopK(y *tensor.Tensor, k int) [][]Prediction {
	top := topK(y, k, m.Spec.Output == spec.Logits)
	names := m.Labels()
	for _, row := range top {
		label(row, names)
	}
	return top
}

// label sets the Label of each prediction whose class has a name.
func label(top []Prediction, names []string) {
	for r := range top {
		if top[r].Index < len(names) {
			top[r].Label = names[top[r].Index]
		}
	}
}

// sampleOf returns the batch index of flat element i of x.
func sampleOf(x *tensor.Tensor, i int) int {
	if len(x.Shape) == 0 || x.Shape[0] == 0 {
		return 0
	}
	return i / (len(x.Data) / x.Shape[0])
}

// TopK returns the k largest entries of each row of scores ([N, classes]),
// largest first, with their scores as given (k is at most the number of
// classes). Rows must be finite (Predict and PredictSamples check): a row
// with an infinity or a NaN has no meaningful order.
func TopK(scores *tensor.Tensor, k int) [][]Prediction { return topK(scores, k, false) }

// TopKLogits is TopK on logits: each row is turned into probabilities
// (softmax) first.
func TopKLogits(logits *tensor.Tensor, k int) [][]Prediction { return topK(logits, k, true) }

func topK(y *tensor.Tensor, k int, softmax bool) [][]Prediction {
	n, classes := y.Shape[0], y.Shape[1]
	k = min(max(k, 0), classes)
	out := make([][]Prediction, n)
	for b := 0; b < n; b++ {
		row := y.Data[b*classes : (b+1)*classes]
		p := make([]float32, classes)
		copy(p, row)
		if softmax {
			mx := math.Inf(-1)
			for _, v := range p {
				mx = math.Max(mx, float64(v))
			}
			sum := 0.0
			for i, v := range p {
				e := math.Exp(float64(v) - mx)
				p[i] = float32(e)
				sum += e
			}
			for i := range p {
				p[i] = float32(float64(p[i]) / sum)
			}
		}
		idx := make([]int, classes)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return p[idx[i]] > p[idx[j]] })
		for _, i := range idx[:k] {
			out[b] = append(out[b], Prediction{Index: i, Score: p[i]})
		}
	}
	return out
}

// Summary describes a model block by block.
type Summary struct {
	Name    string         `json:"name"`
	Input   nn.Shape       `json:"input"`
	Output  nn.Shape       `json:"output"`
	Params  int64          `json:"params"`
	Buffers int64          `json:"buffers"`
	MACs    int64          `json:"macs"`
	Blocks  []nn.BlockInfo `json:"blocks"`
}

// Summary returns per-block output shapes, parameters and MACs, and totals
// (auxiliary heads included when loaded WithAux).
func (m *Model) Summary() Summary {
	p, b, macs := m.Graph.Totals()
	return Summary{Name: m.Spec.Name, Input: m.Graph.InputShape(), Output: m.Graph.OutputShape(),
		Params: p, Buffers: b, MACs: macs, Blocks: m.Graph.Blocks}
}
