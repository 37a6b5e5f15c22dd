package conformance

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// Metadata is what CheckMetadata compares: the entry's reference counts
// against nn.Lower's totals for the builder's graph.
type Metadata struct {
	Model        string   `json:"model"`
	Input        nn.Shape `json:"input"`
	Classes      int      `json:"classes"`
	Params       int64    `json:"params"`
	RefParams    int64    `json:"ref_params"`
	ParamsAux    int64    `json:"params_aux,omitempty"`
	RefParamsAux int64    `json:"ref_params_aux,omitempty"`
	AuxHeads     int      `json:"aux_heads,omitempty"`
	MACs         int64    `json:"macs"`
	RefMACs      int64    `json:"ref_macs"`
}

// CheckMetadata builds the entry with default options (and with the
// auxiliary heads when HasAux), lowers it at its input shape and checks
// that the output is [Classes], that the trainable parameters and MACs
// equal RefParams and RefMACs (which must be set), that the aux build has
// heads and RefParamsAux parameters and the same main-path MACs, that a
// model without aux heads declares no RefParamsAux and refuses none, and
// that a preprocessing preset, when given, crops to the input size with
// the input's channel count. Errors wrap ErrMetadata.
func CheckMetadata(e registry.Entry) (*Metadata, error) {
	md := &Metadata{Model: e.Name, Input: e.Input, Classes: e.Classes, RefParams: e.RefParams, RefParamsAux: e.RefParamsAux, RefMACs: e.RefMACs}
	fail := func(format string, args ...any) (*Metadata, error) {
		return md, fmt.Errorf("%w: %s: %s", ErrMetadata, e.Name, fmt.Sprintf(format, args...))
	}
	g, err := lower(e, nn.Options{})
	if err != nil {
		return fail("%v", err)
	}
	md.Params, _, md.MACs = g.Totals()
	switch {
	case !slices.Equal(g.InputShape(), e.Input):
		return fail("graph input %v, entry says %v", g.InputShape(), e.Input)
	case !slices.Equal(g.OutputShape(), nn.Shape{e.Classes}):
		return fail("builder output shape %v, entry says %d classes", g.OutputShape(), e.Classes)
	case e.RefParams == 0 || e.RefMACs == 0:
		return fail("RefParams (%d) and RefMACs (%d) must be set from the reference implementation", e.RefParams, e.RefMACs)
	case md.Params != e.RefParams:
		return fail("parameters: nn.Lower counts %d, RefParams is %d", md.Params, e.RefParams)
	case md.MACs != e.RefMACs:
		return fail("MACs: nn.Lower counts %d, RefMACs is %d", md.MACs, e.RefMACs)
	case len(g.Aux) != 0:
		return fail("default build has %d auxiliary outputs", len(g.Aux))
	}
	if p := e.Preprocess; p.Crop != 0 {
		c := 3
		if p.Grayscale {
			c = 1
		}
		if !slices.Equal(e.Input, nn.Shape{c, p.Crop, p.Crop}) {
			return fail("preprocessing gives %dx%dx%d, input is %v", c, p.Crop, p.Crop, e.Input)
		}
	}
	if !e.HasAux {
		if e.RefParamsAux != 0 {
			return fail("RefParamsAux %d but HasAux is false", e.RefParamsAux)
		}
		return md, nil
	}
	ga, err := lower(e, nn.Options{Aux: true})
	if err != nil {
		return fail("aux build: %v", err)
	}
	md.ParamsAux, _, _ = ga.Totals()
	md.AuxHeads = len(ga.Aux)
	switch {
	case md.AuxHeads == 0:
		return fail("HasAux but the aux build has no auxiliary outputs")
	case md.ParamsAux != e.RefParamsAux:
		return fail("parameters with aux heads: nn.Lower counts %d, RefParamsAux is %d", md.ParamsAux, e.RefParamsAux)
	case mainMACs(ga) != md.MACs:
		return fail("aux build: main-path MACs %d, default build %d", mainMACs(ga), md.MACs)
	}
	return md, nil
}

// mainMACs sums the MACs of the nodes the main output depends on.
func mainMACs(g *nn.Graph) int64 {
	need := make([]bool, len(g.Nodes))
	need[g.Output] = true
	var macs int64
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		if !need[i] {
			continue
		}
		macs += g.Nodes[i].MACs
		for _, in := range g.Nodes[i].Inputs {
			need[in] = true
		}
	}
	return macs
}

func lower(e registry.Entry, o nn.Options) (*nn.Graph, error) {
	b, err := e.Build(o)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return nn.Lower(b, e.Input)
}

// Forward holds the engine's outputs on a golden input x (batch 1) and
// on the batch [x', x] (batch 2, x' another deterministic input).
type Forward struct {
	X1, X2 *tensor.Tensor // inputs
	Y1, Y2 *tensor.Tensor // outputs
	Batch  Diff           // Y2's second row against Y1
}

// BatchInput returns [x', x]: a second deterministic sample (key
// GoldenInputKey+".1") followed by x, a [1, …] input.
func BatchInput(x *tensor.Tensor, seed uint64) *tensor.Tensor {
	other := uniform(x.Shape, seed, GoldenInputKey+".1", [2]float32{-1, 1})
	shape := append([]int{2}, x.Shape[1:]...)
	return &tensor.Tensor{Shape: shape, Data: append(other.Data, x.Data...)}
}

// CheckForward runs m at batch 1 on x ([1, …]) and at batch 2 on
// BatchInput(x): the outputs must have shape [N, classes] and be finite,
// the second row of the batch must agree with the batch-1 output within
// tol, and the two rows must differ (a batch that repeats one sample is
// caught). Errors wrap ErrForward or ErrMismatch.
func CheckForward(m *zoo.Model, x *tensor.Tensor, tol Tolerance) (*Forward, error) {
	name := m.Spec.Name
	f := &Forward{X1: x, X2: BatchInput(x, GoldenInputSeed)}
	var err error
	for _, c := range []struct {
		x *tensor.Tensor
		y **tensor.Tensor
	}{{f.X1, &f.Y1}, {f.X2, &f.Y2}} {
		n := c.x.Shape[0]
		if *c.y, err = m.Forward(c.x); err != nil {
			return f, fmt.Errorf("%w: %s: batch %d: %w", ErrForward, name, n, err)
		}
		y := *c.y
		if want := []int{n, m.Spec.Classes}; !slices.Equal(y.Shape, want) {
			return f, fmt.Errorf("%w: %s: batch %d: output shape %v, want %v", ErrForward, name, n, y.Shape, want)
		}
		if i := finite(y.Data); i >= 0 {
			return f, fmt.Errorf("%w: %s: batch %d: output element %d %s is %v", ErrForward, name, n, i, index(y.Shape, i), y.Data[i])
		}
	}
	c := m.Spec.Classes
	f.Batch, err = compare(name, "forward", "the batch-1 output (batch independence)", f.Y1.Shape, f.Y2.Data[c:], f.Y1.Data, tol)
	if err != nil {
		return f, err
	}
	if Compare(f.Y2.Data[:c], f.Y2.Data[c:], tol).OK() {
		return f, fmt.Errorf("%w: %s: the two samples of a batch gave the same output", ErrForward, name)
	}
	return f, nil
}

// RoundTrip is the result of CheckRoundTrip.
type RoundTrip struct {
	Bytes   int64 `json:"bytes"`   // size of the export
	Weights int   `json:"weights"` // parameters compared bit for bit
	Runner  Diff  `json:"runner"`  // onnx runner against the zoo engine
}

// CheckRoundTrip exports m (default opset) to a file in dir, decodes it
// with onnxir.DecodeFile, maps it back with convert.ImportWeights and
// requires every parameter bit-identical (ErrRoundTrip); then runs the
// file with the pure-Go ONNX runner (onnx.Load) on x and compares with
// want, the zoo engine's output on x (ErrMismatch).
func CheckRoundTrip(m *zoo.Model, x, want *tensor.Tensor, tol Tolerance, dir string) (*RoundTrip, error) {
	name := m.Spec.Name
	rt := &RoundTrip{}
	path := filepath.Join(dir, name+".roundtrip.onnx")
	defer os.Remove(path)
	if err := exportFile(m, path, convert.DefaultExportOpset); err != nil {
		return rt, fmt.Errorf("%w: %s: %w", ErrRoundTrip, name, err)
	}
	if st, err := os.Stat(path); err == nil {
		rt.Bytes = st.Size()
	}
	if err := checkImport(m, path, rt); err != nil {
		return rt, err
	}
	om, err := onnx.Load(path, onnx.LoadOptions{})
	if err != nil {
		return rt, fmt.Errorf("%w: %s: onnx.Load: %w", ErrRoundTrip, name, err)
	}
	out, err := om.Run(map[string]*tensor.Tensor{"input": x})
	if err != nil {
		return rt, fmt.Errorf("%w: %s: onnx runner: %w", ErrRoundTrip, name, err)
	}
	y := out["output"]
	if y == nil || !slices.Equal(y.Shape, want.Shape) {
		return rt, fmt.Errorf("%w: %s: onnx runner output %v, want shape %v", ErrRoundTrip, name, y, want.Shape)
	}
	rt.Runner, err = compare(name, "roundtrip", "zoo engine vs onnx runner on the export (runner is got)", want.Shape, y.Data, want.Data, tol)
	return rt, err
}

// checkImport decodes path and imports its weights into m's graph.
func checkImport(m *zoo.Model, path string, rt *RoundTrip) error {
	name := m.Spec.Name
	f, err := onnxir.DecodeFile(path, onnxir.DecodeOptions{})
	if err != nil {
		return fmt.Errorf("%w: %s: onnxir.Decode: %w", ErrRoundTrip, name, err)
	}
	p, err := convert.ImportWeights(m.Graph, f)
	if err != nil {
		return fmt.Errorf("%w: %s: convert.ImportWeights: %w", ErrRoundTrip, name, err)
	}
	if err := p.Check(m.Graph); err != nil {
		return fmt.Errorf("%w: %s: imported weights: %w", ErrRoundTrip, name, err)
	}
	for _, s := range m.Graph.Params() {
		got, want := p[s.Path].Data, m.Params[s.Path].Data
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				return fmt.Errorf("%w: %s: imported %s[%d] = %v, exported %v", ErrRoundTrip, name, s.Path, i, got[i], want[i])
			}
		}
		rt.Weights++
	}
	return nil
}

// GoldenResult is the result of CheckGolden.
type GoldenResult struct {
	Reference     string    `json:"reference"`
	Tolerance     Tolerance `json:"tolerance"`
	Diff          Diff      `json:"diff"`
	LogitSpread   float64   `json:"logit_spread"`
	NetworkSpread float64   `json:"network_spread"`
}

// CheckGolden compares got, m's output on g.Input, with the golden output
// (ErrMismatch naming the model and the element), and checks that the
// golden is sensitive: the spread of its logits minus m's classifier bias
// must exceed MinSpreadFactor·atol (ErrInsensitive). m must be loaded with
// g.Spec.WeightSeed.
func CheckGolden(m *zoo.Model, g *Golden, got *tensor.Tensor, tol Tolerance) (*GoldenResult, error) {
	name := m.Spec.Name
	r := &GoldenResult{Reference: g.Spec.Reference, Tolerance: tol, LogitSpread: spread(g.Output.Data)}
	r.NetworkSpread = NetworkSpread(m.Graph, m.Params, g.Output)
	if !slices.Equal(got.Shape, g.Output.Shape) {
		return r, fmt.Errorf("%w: %s: output shape %v, golden %v", ErrMismatch, name, got.Shape, g.Output.Shape)
	}
	var err error
	r.Diff, err = compare(name, "golden", "golden "+name+"/output_0.pb from "+g.Spec.Reference, got.Shape, got.Data, g.Output.Data, tol)
	if err != nil {
		return r, err
	}
	if r.NetworkSpread <= MinSpreadFactor*tol.ATol {
		return r, fmt.Errorf("%w: %s: logits minus classifier bias spread %.3g ≤ %d·atol (%g)", ErrInsensitive, name, r.NetworkSpread, MinSpreadFactor, tol.ATol)
	}
	return r, nil
}

// CheckORT re-verifies a committed golden against live ONNX Runtime: m
// (loaded with g.Spec.WeightSeed) is exported again at g.Spec.Opset, run
// by ONNX Runtime on g.Input, and the result compared with g.Output
// within tol. Without ONNX Runtime the error wraps ErrOracle.
func CheckORT(m *zoo.Model, g *Golden, tol Tolerance, dir string) (Diff, error) {
	y, err := runORT(m, g.Spec.Opset, g.Input, dir)
	if err != nil {
		return Diff{}, err
	}
	if !slices.Equal(y.Shape, g.Output.Shape) {
		return Diff{}, fmt.Errorf("%w: %s: onnxruntime output shape %v, golden %v", ErrMismatch, m.Spec.Name, y.Shape, g.Output.Shape)
	}
	return compare(m.Spec.Name, "ort", "committed golden vs live onnxruntime (onnxruntime is got)", y.Shape, y.Data, g.Output.Data, tol)
}
