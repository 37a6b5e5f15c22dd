package conformance

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// Golden-output conventions (see the package documentation).
const (
	// GoldenWeightSeed is the zoo.WithSeed seed of the weights goldens
	// are produced with.
	GoldenWeightSeed = 1
	// GoldenInputSeed and GoldenInputKey give the input:
	// nn.NewRand(GoldenInputSeed, GoldenInputKey), uniform in ±1,
	// row-major.
	GoldenInputSeed = 1
	GoldenInputKey  = "input"
	// GoldenOpset is the opset of the export ONNX Runtime runs.
	GoldenOpset = 13
	// MaxStoredInput is the largest input (in bytes of float32 data)
	// stored as input_0.pb; larger inputs are regenerated from the seed.
	MaxStoredInput = 64 << 10
	// MinSpreadFactor: the spread of a golden's logits minus the
	// classifier bias must exceed MinSpreadFactor·atol.
	MinSpreadFactor = 100
	// UpdateCommand regenerates the goldens with ONNX Runtime.
	UpdateCommand = "CGO_ENABLED=1 go test -tags ort ./conformance -update (or: make goldens; needs scripts/setup.sh)"
)

//go:embed testdata
var testdata embed.FS

// Goldens returns the committed goldens (conformance/testdata, embedded in
// the package): one directory per model, as LoadGolden reads them.
func Goldens() fs.FS {
	sub, err := fs.Sub(testdata, "testdata")
	if err != nil { // cannot happen: "testdata" is a valid path
		panic(err)
	}
	return sub
}

// Spec is a golden's spec.json: how its output was produced.
type Spec struct {
	Model       string     `json:"model"`
	Reference   string     `json:"reference"` // the implementation that produced output_0.pb
	Opset       int        `json:"opset"`
	WeightSeed  uint64     `json:"weight_seed"` // zoo.WithSeed
	InputSeed   uint64     `json:"input_seed"`  // nn.NewRand(InputSeed, InputKey)
	InputKey    string     `json:"input_key"`
	InputRange  [2]float32 `json:"input_range"` // uniform in [lo, hi)
	InputShape  []int      `json:"input_shape"`
	InputFile   bool       `json:"input_file"` // input_0.pb is stored too
	OutputShape []int      `json:"output_shape"`
	Params      int64      `json:"params"` // trainable parameters of the exported model
	RTol        float64    `json:"rtol"`
	ATol        float64    `json:"atol"`
	// LogitSpread is max − min of output_0.pb; NetworkSpread the same of
	// output_0.pb minus the classifier bias (the part the layers below
	// the classifier decide).
	LogitSpread   float64 `json:"logit_spread"`
	NetworkSpread float64 `json:"network_spread"`
	Command       string  `json:"command"` // how to regenerate it
}

// Tolerance returns the spec's tolerance.
func (s *Spec) Tolerance() Tolerance { return Tolerance{RTol: s.RTol, ATol: s.ATol} }

// Golden is a loaded golden: its spec, its input (regenerated from the
// spec, and checked against input_0.pb where stored) and its output.
type Golden struct {
	Spec   Spec
	Input  *tensor.Tensor
	Output *tensor.Tensor
}

// GoldenInput returns the deterministic input a spec describes.
func GoldenInput(s *Spec) *tensor.Tensor {
	return uniform(s.InputShape, s.InputSeed, s.InputKey, s.InputRange)
}

func uniform(shape []int, seed uint64, key string, rng [2]float32) *tensor.Tensor {
	x := tensor.New(shape...)
	r := nn.NewRand(seed, key)
	for i := range x.Data {
		x.Data[i] = r.Uniform(rng[0], rng[1])
	}
	return x
}

// LoadGolden reads fsys/name/{spec.json, output_0.pb[, input_0.pb]}. A
// missing spec.json is an error wrapping ErrNoGolden that says how to
// create it; anything malformed or inconsistent wraps ErrGolden.
func LoadGolden(fsys fs.FS, name string) (*Golden, error) {
	b, err := fs.ReadFile(fsys, name+"/spec.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w for %s: create it with %s", ErrNoGolden, name, UpdateCommand)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrGolden, name, err)
	}
	g := &Golden{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g.Spec); err != nil {
		return nil, fmt.Errorf("%w: %s/spec.json: %w", ErrGolden, name, err)
	}
	s := &g.Spec
	switch {
	case s.Model != name:
		return nil, fmt.Errorf("%w: %s/spec.json names model %q", ErrGolden, name, s.Model)
	case len(s.InputShape) != 4 || slices.ContainsFunc(s.InputShape, func(d int) bool { return d <= 0 || d > 4096 }):
		return nil, fmt.Errorf("%w: %s/spec.json: input shape %v", ErrGolden, name, s.InputShape)
	case nn.Shape(s.InputShape).Numel() > 1<<26:
		return nil, fmt.Errorf("%w: %s/spec.json: input shape %v is too large", ErrGolden, name, s.InputShape)
	case len(s.OutputShape) != 2 || s.OutputShape[0] != s.InputShape[0] || s.OutputShape[1] <= 0:
		return nil, fmt.Errorf("%w: %s/spec.json: output shape %v for input %v", ErrGolden, name, s.OutputShape, s.InputShape)
	case !(s.RTol > 0 && s.ATol > 0 && s.RTol < 1 && s.ATol < 1):
		return nil, fmt.Errorf("%w: %s/spec.json: tolerance rtol %g atol %g", ErrGolden, name, s.RTol, s.ATol)
	case !(s.InputRange[0] < s.InputRange[1]) || s.InputKey == "":
		return nil, fmt.Errorf("%w: %s/spec.json: input range %v key %q", ErrGolden, name, s.InputRange, s.InputKey)
	}
	g.Input = GoldenInput(s)
	g.Output, err = readTensor(fsys, name+"/output_0.pb", s.OutputShape)
	if err != nil {
		return nil, err
	}
	if i := finite(g.Output.Data); i >= 0 {
		return nil, fmt.Errorf("%w: %s/output_0.pb: element %d is %v", ErrGolden, name, i, g.Output.Data[i])
	}
	if s.InputFile {
		in, err := readTensor(fsys, name+"/input_0.pb", s.InputShape)
		if err != nil {
			return nil, err
		}
		for i, v := range in.Data {
			if math.Float32bits(v) != math.Float32bits(g.Input.Data[i]) {
				return nil, fmt.Errorf("%w: %s/input_0.pb element %d is %v, the spec's seed gives %v", ErrGolden, name, i, v, g.Input.Data[i])
			}
		}
	}
	return g, nil
}

func readTensor(fsys fs.FS, path string, shape []int) (*tensor.Tensor, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGolden, err)
	}
	defer f.Close()
	t, err := onnxir.DecodeTensor(f, onnxir.Limits{})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrGolden, path, err)
	}
	dims := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		dims[i] = int(d)
	}
	if !slices.Equal(dims, shape) || t.Float == nil {
		return nil, fmt.Errorf("%w: %s: %v tensor %v, want float %v", ErrGolden, path, t.DType, dims, shape)
	}
	return &tensor.Tensor{Shape: dims, Data: t.Float}, nil
}

// ClassifierBias returns the bias of the Linear layer that produces the
// graph's main output (through any Flatten, Dropout or Softmax after it),
// or nil when there is none (no bias, or no Linear).
func ClassifierBias(g *nn.Graph, p nn.Params) []float32 {
	n := g.Nodes[g.Output]
	for {
		switch n.Op.(type) {
		case nn.Linear:
			if s, ok := n.Param(nn.Bias); ok && p[s.Path] != nil {
				return p[s.Path].Data
			}
			return nil
		case nn.Flatten, nn.Dropout:
			if len(n.Inputs) != 1 {
				return nil
			}
			n = g.Nodes[n.Inputs[0]]
		default:
			return nil
		}
	}
}

// NetworkSpread returns the spread (max − min over every element) of the
// outputs y ([N, classes]) minus the classifier bias: the part of the
// logits that the network below the classifier decides. A golden whose
// network spread is not far above the tolerance cannot tell a working
// network from a broken one.
func NetworkSpread(g *nn.Graph, p nn.Params, y *tensor.Tensor) float64 {
	bias := ClassifierBias(g, p)
	v := make([]float32, len(y.Data))
	copy(v, y.Data)
	if c := len(bias); c > 0 && len(v)%c == 0 {
		for i := range v {
			v[i] -= bias[i%c]
		}
	}
	return spread(v)
}

// runORT exports m at opset to a file in dir and runs it with ONNX
// Runtime on x.
func runORT(m *zoo.Model, opset int, x *tensor.Tensor, dir string) (*tensor.Tensor, error) {
	if err := ort.Init(); err != nil {
		return nil, oracleErr(err)
	}
	path := filepath.Join(dir, m.Spec.Name+".onnx")
	defer os.Remove(path)
	if err := exportFile(m, path, opset); err != nil {
		return nil, err
	}
	s, err := ort.NewSession(path, ort.DefaultIntraOpThreads)
	if err != nil {
		return nil, oracleErr(err)
	}
	defer s.Close()
	out, err := s.Run(map[string]*tensor.Tensor{"input": x})
	if err != nil {
		return nil, fmt.Errorf("conformance: %s: onnxruntime: %w", m.Spec.Name, err)
	}
	y := out["output"]
	if y == nil {
		return nil, fmt.Errorf("conformance: %s: onnxruntime gave no \"output\"", m.Spec.Name)
	}
	return y, nil
}

// oracleErr marks a missing ONNX Runtime (library not installed, binding
// not built) as ErrOracle; other errors pass through.
func oracleErr(err error) error {
	if errors.Is(err, ort.ErrNoLibrary) || errors.Is(err, ort.ErrNotBuilt) {
		return fmt.Errorf("%w: ONNX Runtime: %w", ErrOracle, err)
	}
	return err
}

func exportFile(m *zoo.Model, path string, opset int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	if err := m.ExportONNX(f, convert.ExportOptions{Opset: opset}); err != nil {
		f.Close()
		return fmt.Errorf("conformance: export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("conformance: export: %w", err)
	}
	return nil
}

// UpdateGolden produces the golden of a registered model with ONNX
// Runtime and writes it to dir/name: the model is loaded with
// GoldenWeightSeed, exported at GoldenOpset, and ONNX Runtime's output on
// the golden input is output_0.pb. It refuses (ErrInsensitive) a golden
// whose network spread is below MinSpreadFactor·atol. Without the ort
// build tag it returns an error wrapping ErrOracle.
func UpdateGolden(reg *registry.Registry, name, dir string) (*Spec, error) {
	m, err := zoo.Load(name, zoo.WithRegistry(reg), zoo.WithSeed(GoldenWeightSeed))
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	in := append([]int{1}, m.Spec.Input...)
	params, _, _ := m.Graph.Totals()
	s := &Spec{
		Model: m.Spec.Name, Opset: GoldenOpset,
		WeightSeed: GoldenWeightSeed, InputSeed: GoldenInputSeed, InputKey: GoldenInputKey,
		InputRange: [2]float32{-1, 1}, InputShape: in, InputFile: 4*nn.Shape(in).Numel() <= MaxStoredInput,
		Params: params, RTol: DefaultTolerance.RTol, ATol: DefaultTolerance.ATol, Command: UpdateCommand,
	}
	x := GoldenInput(s)
	tmp, err := os.MkdirTemp("", "conformance-golden-")
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	defer os.RemoveAll(tmp)
	y, err := runORT(m, GoldenOpset, x, tmp)
	if err != nil {
		return nil, err
	}
	s.Reference = fmt.Sprintf("onnxruntime %s on inceptionzoo export opset %d", ort.LibraryVersion(), GoldenOpset)
	s.OutputShape = y.Shape
	if want := []int{1, m.Spec.Classes}; !slices.Equal(y.Shape, want) {
		return nil, fmt.Errorf("%w: %s: onnxruntime output shape %v, want %v", ErrGolden, name, y.Shape, want)
	}
	if i := finite(y.Data); i >= 0 {
		return nil, fmt.Errorf("%w: %s: onnxruntime output element %d is %v", ErrGolden, name, i, y.Data[i])
	}
	s.LogitSpread = spread(y.Data)
	s.NetworkSpread = NetworkSpread(m.Graph, m.Params, y)
	if s.NetworkSpread <= MinSpreadFactor*s.ATol {
		return nil, fmt.Errorf("%w: %s: network spread %.3g ≤ %d·atol: choose another seed or input scale", ErrInsensitive, name, s.NetworkSpread, MinSpreadFactor)
	}
	out := filepath.Join(dir, name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	files := map[string]func() ([]byte, error){
		"output_0.pb": func() ([]byte, error) { return encode("output_0", y) },
		"spec.json": func() ([]byte, error) {
			b, err := json.MarshalIndent(s, "", "  ")
			return append(b, '\n'), err
		},
	}
	if s.InputFile {
		files["input_0.pb"] = func() ([]byte, error) { return encode("input_0", x) }
	} else if err := os.Remove(filepath.Join(out, "input_0.pb")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	for f, enc := range files {
		b, err := enc()
		if err != nil {
			return nil, fmt.Errorf("conformance: %s/%s: %w", name, f, err)
		}
		if err := os.WriteFile(filepath.Join(out, f), b, 0o644); err != nil {
			return nil, fmt.Errorf("conformance: %w", err)
		}
	}
	return s, nil
}

func encode(name string, t *tensor.Tensor) ([]byte, error) {
	dims := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = int64(d)
	}
	var b bytes.Buffer
	err := onnxir.EncodeTensor(&b, name, dims, t.Data)
	return b.Bytes(), err
}
