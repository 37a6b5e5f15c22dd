// Package zoo is the front door: Load a registered Inception model by name,
// run it, and inspect it.
//
//	m, err := zoo.Load("inception-v1")
//	probs, err := m.Predict(x, 5) // x is a [N, 3, 224, 224] tensor
//
// Weights come from an ONNX file (WithWeights), from the model's published
// files (Pretrained), or else from a seeded, documented initialisation
// (nn.InitParams): the same seed gives the same weights on every machine and
// Go version. A Model is safe for concurrent use.
package zoo

import (
	"fmt"
	"math"
	"sort"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
)

// DefaultSeed is the weight seed when no WithSeed option is given.
const DefaultSeed = 1

type config struct {
	reg        *registry.Registry
	opts       nn.Options
	seed       uint64
	weights    string            // ONNX file to take the weights from (see WithWeights)
	pretrained *pretrainedConfig // fetch Spec.Weights first (see Pretrained)
}

// Option configures Load.
type Option func(*config)

// WithClasses sets the classifier width (default: the model's).
func WithClasses(n int) Option { return func(c *config) { c.opts.Classes = n } }

// WithSeed sets the seed of the deterministic weight initialisation.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithAux builds the auxiliary heads of models that have them; their
// outputs come from ForwardAll.
func WithAux() Option { return func(c *config) { c.opts.Aux = true } }

// WithTransformInput prepends torchvision's transform_input where the model
// has it.
func WithTransformInput() Option { return func(c *config) { c.opts.TransformInput = true } }

// WithWeights takes the weights from the ONNX file at path instead of the
// seeded initialisation: the file is decoded with onnx.DecodeFile (finite
// weights only) and mapped by convert.Import, which accepts the zoo's own
// exports, torch.onnx.export files (BatchNorm folded or not) and, for
// inception-v1 and inception-v2, the ONNX Model Zoo's Caffe2 names. A file
// that does not fit is an error naming the first layer and both shapes.
func WithWeights(path string) Option { return func(c *config) { c.weights = path } }

// WithRegistry looks the name up in r instead of registry.Default.
func WithRegistry(r *registry.Registry) Option { return func(c *config) { c.reg = r } }

// Model is a loaded model: its spec, block tree, lowered graph, parameters
// and compiled plan.
type Model struct {
	Spec   registry.Entry
	Block  nn.Block
	Graph  *nn.Graph
	Params nn.Params
	exec   *engine.Model
}

// Load builds the named model (a name or alias from the registry) with
// seeded weights and compiles it.
func Load(name string, opts ...Option) (*Model, error) {
	c := config{reg: registry.Default, seed: DefaultSeed}
	for _, o := range opts {
		o(&c)
	}
	spec, err := c.reg.Lookup(name)
	if err != nil {
		return nil, err
	}
	if c.opts.Aux && !spec.HasAux {
		return nil, fmt.Errorf("zoo: %s has no auxiliary heads", spec.Name)
	}
	if c.opts.TransformInput && !spec.HasTransform {
		return nil, fmt.Errorf("zoo: %s has no transform_input option", spec.Name)
	}
	if c.opts.Classes < 0 {
		return nil, fmt.Errorf("zoo: class count %d must be positive", c.opts.Classes)
	}
	b, err := spec.Build(c.opts)
	if err != nil {
		return nil, fmt.Errorf("zoo: building %s: %w", spec.Name, err)
	}
	g, err := nn.Lower(b, spec.Input)
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w", spec.Name, err)
	}
	want := spec.Classes
	if c.opts.Classes > 0 {
		want = c.opts.Classes
	}
	if out := g.OutputShape(); len(out) != 1 || out[0] != want {
		return nil, fmt.Errorf("zoo: %s: builder output shape %v, spec says %d classes", spec.Name, out, want)
	}
	spec.Classes = want
	if c.pretrained != nil {
		if c.weights, err = c.pretrained.resolve(spec, c.weights); err != nil {
			return nil, err
		}
	}
	if c.weights != "" {
		p, err := importFile(spec, g, c.weights)
		if err != nil {
			return nil, err
		}
		return New(spec, b, g, p)
	}
	return New(spec, b, g, nn.InitParams(g, c.seed))
}

// New compiles a model from its parts; Load is the usual way in. p must fit
// g exactly.
func New(spec registry.Entry, b nn.Block, g *nn.Graph, p nn.Params) (*Model, error) {
	exec, err := engine.Compile(g, p)
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w", spec.Name, err)
	}
	return &Model{Spec: spec, Block: b, Graph: g, Params: p, exec: exec}, nil
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
// sample, most probable first. Logits are turned into probabilities with a
// softmax.
func (m *Model) Predict(x *tensor.Tensor, k int) ([][]Prediction, error) {
	y, err := m.Forward(x)
	if err != nil {
		return nil, err
	}
	return TopK(y, k, m.Spec.Output == nn.Logits), nil
}

// TopK returns the k largest entries of each row of y ([N, classes]);
// with softmax set, rows are converted from logits to probabilities first.
func TopK(y *tensor.Tensor, k int, softmax bool) [][]Prediction {
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
