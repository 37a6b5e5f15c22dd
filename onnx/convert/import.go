package convert

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/tensor"
)

// Import errors. Every error of Import wraps ErrImport.
var (
	// ErrImport reports an ONNX file whose weights do not fit the model.
	ErrImport = errors.New("convert: weights do not fit the model")
	// ErrTransformInput reports that the file and the model disagree on
	// torchvision's transform_input. errors.Is(err, ErrImport) also holds.
	ErrTransformInput = fmt.Errorf("%w: transform_input differs", ErrImport)
)

// Strategy names how Import matched the file's weights to the parameters.
type Strategy string

// Strategies, in the order Import tries them.
const (
	ByName      Strategy = "name"      // tensor names are the parameter paths
	ByNaming    Strategy = "naming"    // tensor names are ImportOptions.Names(path)
	ByStructure Strategy = "structure" // Conv/Gemm/BatchNormalization nodes in order
)

// ImportOptions configure Import.
type ImportOptions struct {
	// Names maps a parameter path to the tensor name a foreign file uses
	// for it ("" if none); nil skips the naming strategy.
	Names func(path string) string
}

// ImportWeights maps the weights of f onto g's parameters with Import's
// strategies and no naming function.
func ImportWeights(g *nn.Graph, f *onnxir.Graph) (nn.Params, error) {
	p, _, err := Import(g, f, ImportOptions{})
	return p, err
}

// Import maps the weights of f onto g's parameters, checking every shape,
// and reports the strategy that matched (see the package documentation).
// Every parameter is assigned exactly once and every weight of f is used
// (single-element tensors excepted); otherwise the error names the first
// layer that does not fit and both shapes. The returned tensors may share
// memory with f's initializers.
func Import(g *nn.Graph, f *onnxir.Graph, opts ImportOptions) (nn.Params, Strategy, error) {
	if g == nil || f == nil {
		return nil, "", fmt.Errorf("%w: nil graph", ErrImport)
	}
	ws, err := weights(f)
	if err != nil {
		return nil, "", err
	}
	if err := checkTransform(g, f); err != nil {
		return nil, "", err
	}
	specs := g.Params()
	type attempt struct {
		s       Strategy
		matched int
		err     error
	}
	var tries []attempt
	namings := []struct {
		s    Strategy
		name func(string) string
	}{{ByName, func(p string) string { return p }}}
	if opts.Names != nil {
		namings = append(namings, struct {
			s    Strategy
			name func(string) string
		}{ByNaming, opts.Names})
	}
	for _, nm := range namings {
		p, matched, err := byNames(specs, ws, nm.name)
		if matched == len(specs) {
			if err != nil {
				return nil, "", err
			}
			return p, nm.s, nil
		}
		tries = append(tries, attempt{nm.s, matched, err})
	}
	p, serr := byStructure(g, f, ws)
	if serr == nil {
		return p, ByStructure, nil
	}
	best := attempt{}
	for _, t := range tries {
		if t.matched > best.matched {
			best = t
		}
	}
	if best.matched*2 >= len(specs) && best.err != nil {
		return nil, "", fmt.Errorf("%w (by %s: %d of %d parameters found; by structure: %v)", best.err, best.s, best.matched, len(specs), serr)
	}
	return nil, "", serr
}

// weight is one weight tensor of a file: an initializer, or a
// ConstantOfShape output (fill) materialised only once its shape is known
// to fit.
type weight struct {
	name string
	dims []int64
	t    *onnxir.Tensor // nil for a ConstantOfShape fill
	fill float32
}

func (w *weight) numel() int64 {
	n := int64(1)
	for _, d := range w.dims {
		n *= d
	}
	return n
}

// data returns the weight's values; dims must already have been checked.
func (w *weight) data() []float32 {
	if w.t != nil {
		return w.t.Float
	}
	d := make([]float32, w.numel())
	for i := range d {
		d[i] = w.fill
	}
	return d
}

func shapeString(d []int64) string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func sameShape(d []int64, s []int) bool {
	if len(d) != len(s) {
		return false
	}
	for i := range d {
		if d[i] != int64(s[i]) {
			return false
		}
	}
	return true
}

// fits reports whether a file tensor of dims can fill a parameter of
// shape s: the same dims, or the same dims once size-1 axes are dropped
// (Caffe2 stores the classifier weight as [1, 1, out, in] and reshapes it
// in the graph; per-channel tensors may be [C, 1, 1]).
func fits(d []int64, s []int) bool {
	if sameShape(d, s) {
		return true
	}
	var a []int64
	var b []int
	for _, x := range d {
		if x != 1 {
			a = append(a, x)
		}
	}
	for _, x := range s {
		if x != 1 {
			b = append(b, x)
		}
	}
	return sameShape(a, b)
}

// constants returns the tensors of Constant nodes by output name.
func constants(f *onnxir.Graph) map[string]*onnxir.Tensor {
	c := map[string]*onnxir.Tensor{}
	for _, n := range f.Nodes {
		if n.OpType != "Constant" || len(n.Outputs) != 1 {
			continue
		}
		if t, err := n.Tensor("value"); err == nil && t != nil {
			c[n.Outputs[0]] = t
		} else if v, err := n.Ints("value_ints", nil); err == nil && v != nil {
			c[n.Outputs[0]] = &onnxir.Tensor{Dims: []int64{int64(len(v))}, DType: onnxir.Int64, Int: v}
		}
	}
	return c
}

// weights collects the file's weights by value name: FLOAT-family
// initializers and ConstantOfShape outputs with a constant shape.
func weights(f *onnxir.Graph) (map[string]*weight, error) {
	ws := map[string]*weight{}
	for name, t := range f.Initializers {
		if t.Float != nil {
			ws[name] = &weight{name: name, dims: t.Dims, t: t}
		}
	}
	consts := constants(f)
	for _, n := range f.Nodes {
		if n.OpType != "ConstantOfShape" || len(n.Inputs) != 1 || len(n.Outputs) != 1 {
			continue
		}
		shape := f.Initializers[n.Inputs[0]]
		if shape == nil {
			shape = consts[n.Inputs[0]]
		}
		if shape == nil || shape.Int == nil || len(shape.Dims) != 1 {
			continue // computed shape: not a weight
		}
		for _, d := range shape.Int {
			if d < 0 {
				return nil, fmt.Errorf("%w: ConstantOfShape %q: negative dimension in %v", ErrImport, n.Name, shape.Int)
			}
		}
		var fill float32
		v, err := n.Tensor("value")
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrImport, err)
		}
		if v != nil {
			if v.Float == nil {
				continue // an integer fill is not a float weight
			}
			if len(v.Float) != 1 {
				return nil, fmt.Errorf("%w: ConstantOfShape %q: value has %d elements, want 1", ErrImport, n.Name, len(v.Float))
			}
			fill = v.Float[0]
		}
		ws[n.Outputs[0]] = &weight{name: n.Outputs[0], dims: append([]int64(nil), shape.Int...), fill: fill}
	}
	return ws, nil
}

// byNames assigns every parameter from the file tensor name(path). matched
// counts the parameters whose tensor exists. err names the first missing or
// mismatching parameter, or the first unused weight of the file.
func byNames(specs []nn.ParamSpec, ws map[string]*weight, name func(string) string) (nn.Params, int, error) {
	p := nn.Params{}
	used := map[string]bool{}
	matched := 0
	var first error
	for _, s := range specs {
		n := name(s.Path)
		w, ok := ws[n]
		if n == "" || !ok {
			if first == nil {
				first = fmt.Errorf("%w: parameter %s %v: no tensor %q in the file", ErrImport, s.Path, s.Shape, n)
			}
			continue
		}
		matched++
		if used[n] {
			if first == nil {
				first = fmt.Errorf("%w: parameter %s: tensor %q is already assigned", ErrImport, s.Path, n)
			}
			continue
		}
		used[n] = true
		if !fits(w.dims, s.Shape) {
			if first == nil {
				first = fmt.Errorf("%w: parameter %s: file tensor %q has shape %s, want %v", ErrImport, s.Path, n, shapeString(w.dims), s.Shape)
			}
			continue
		}
		p[s.Path] = &tensor.Tensor{Shape: append([]int(nil), s.Shape...), Data: w.data()}
	}
	if first != nil {
		return nil, matched, first
	}
	if err := unused(ws, used); err != nil {
		return nil, matched, err
	}
	return p, matched, nil
}

// unused returns an error naming the first (by name) file weight with more
// than one element that no parameter took.
func unused(ws map[string]*weight, used map[string]bool) error {
	var left []string
	for n, w := range ws {
		if !used[n] && w.numel() > 1 {
			left = append(left, n)
		}
	}
	if len(left) == 0 {
		return nil
	}
	sort.Strings(left)
	return fmt.Errorf("%w: file tensor %q %s (and %d more) is not a parameter of the model", ErrImport, left[0], shapeString(ws[left[0]].dims), len(left)-1)
}

// FoldedBNVar returns the running variance that, with gamma 1 and mean 0,
// makes a BatchNorm with epsilon eps the identity as the engine computes
// it: the float32 v nearest to 1 − eps, chosen among its neighbours so
// that float64(v) + float64(eps) is closest to 1.
func FoldedBNVar(eps float32) float32 {
	v := float32(1 - float64(eps))
	best, bestErr := v, math.Inf(1)
	for _, c := range []float32{math.Nextafter32(v, 0), v, math.Nextafter32(v, 2)} {
		if e := math.Abs(float64(c) + float64(eps) - 1); e < bestErr {
			best, bestErr = c, e
		}
	}
	return best
}

// layerError names a zoo layer and the file node it was matched with.
func layerError(n *nn.Node, fn *onnxir.Node, format string, args ...any) error {
	at := ""
	if fn != nil {
		at = fmt.Sprintf(" (file node %q, %s)", fn.Name, fn.OpType)
	}
	return fmt.Errorf("%w: layer %s (%s)%s: %s", ErrImport, n.Path, opName(n.Op), at, fmt.Sprintf(format, args...))
}

// structural state: the file's parameterised nodes in topological order.
type structural struct {
	g    *nn.Graph
	f    *onnxir.Graph
	ws   map[string]*weight
	p    nn.Params
	cons map[string][]*onnxir.Node // value name → consuming nodes
}

func (s *structural) weight(fn *onnxir.Node, i int) (*weight, error) {
	if i >= len(fn.Inputs) || fn.Inputs[i] == "" {
		return nil, nil
	}
	w, ok := s.ws[fn.Inputs[i]]
	if !ok {
		return nil, fmt.Errorf("%w: file node %q (%s): input %d %q is not a constant weight", ErrImport, fn.Name, fn.OpType, i, fn.Inputs[i])
	}
	return w, nil
}

// set assigns parameter kind of n from w, checking the shape.
func (s *structural) set(n *nn.Node, fn *onnxir.Node, kind nn.ParamKind, w *weight) error {
	spec, ok := n.Param(kind)
	if !ok {
		return layerError(n, fn, "the file has a tensor %q the layer has no parameter for", w.name)
	}
	if !fits(w.dims, spec.Shape) {
		return layerError(n, fn, "file tensor %q has shape %s, want %v for %s", w.name, shapeString(w.dims), spec.Shape, spec.Path)
	}
	s.p[spec.Path] = &tensor.Tensor{Shape: append([]int(nil), spec.Shape...), Data: w.data()}
	return nil
}

func (s *structural) fill(n *nn.Node, kind nn.ParamKind, v float32) {
	spec, ok := n.Param(kind)
	if !ok {
		return
	}
	t := tensor.New(spec.Shape...)
	for i := range t.Data {
		t.Data[i] = v
	}
	s.p[spec.Path] = t
}

var paramOps = map[string]bool{"Conv": true, "Gemm": true, "MatMul": true, "BatchNormalization": true}

// byStructure matches the file's Conv, Gemm, MatMul and BatchNormalization
// nodes, in topological order, one to one with g's Conv, Linear and
// BatchNorm nodes in graph order.
func byStructure(g *nn.Graph, f *onnxir.Graph, ws map[string]*weight) (nn.Params, error) {
	s := &structural{g: g, f: f, ws: ws, p: nn.Params{}, cons: map[string][]*onnxir.Node{}}
	var fnodes []*onnxir.Node
	for _, n := range f.Nodes {
		for _, in := range n.Inputs {
			s.cons[in] = append(s.cons[in], n)
		}
		if paramOps[n.OpType] {
			if n.OpType == "MatMul" {
				if _, ok := ws[n.Inputs[len(n.Inputs)-1]]; !ok {
					continue // activation × activation: not a layer
				}
			}
			fnodes = append(fnodes, n)
		}
	}
	var znodes []*nn.Node
	for _, n := range g.Nodes {
		if len(n.Params) > 0 {
			znodes = append(znodes, n)
		}
	}
	i, j := 0, 0
	for i < len(znodes) && j < len(fnodes) {
		n, fn := znodes[i], fnodes[j]
		var step int
		var err error
		switch op := n.Op.(type) {
		case nn.Conv:
			step, err = s.conv(n, op, fn, znodes[i+1:], fnodes[j+1:])
		case nn.BatchNorm:
			step, err = 1, s.bn(n, op, fn)
		case nn.Linear:
			step, err = 1, s.linear(n, fn)
		default:
			err = layerError(n, fn, "the structural import cannot map a %s; name the file's tensors by parameter path", opName(n.Op))
		}
		if err != nil {
			return nil, err
		}
		i += step
		j++
	}
	if i < len(znodes) {
		n := znodes[i]
		return nil, layerError(n, nil, "the file has no further Conv, Gemm or BatchNormalization node (%d of %d layers matched)", i, len(znodes))
	}
	if j < len(fnodes) {
		fn := fnodes[j]
		return nil, fmt.Errorf("%w: file node %q (%s) has no layer left in the model (all %d layers matched)", ErrImport, fn.Name, fn.OpType, len(znodes))
	}
	if err := s.p.Check(g); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImport, err)
	}
	return s.p, nil
}

// checkTransform compares whether something (transform_input) sits
// between the input and the first conv, in the file and in the model.
func checkTransform(g *nn.Graph, f *onnxir.Graph) error {
	var fc *onnxir.Node
	for _, n := range f.Nodes {
		if n.OpType == "Conv" {
			fc = n
			break
		}
	}
	var zc *nn.Node
	for _, n := range g.Nodes {
		if _, ok := n.Op.(nn.Conv); ok {
			zc = n
			break
		}
	}
	if fc == nil || zc == nil || len(fc.Inputs) == 0 || len(f.Inputs) != 1 || len(zc.Inputs) != 1 {
		return nil
	}
	fileHas := fc.Inputs[0] != f.Inputs[0].Name
	_, modelHas := g.Nodes[zc.Inputs[0]].Op.(nn.Affine)
	switch {
	case fileHas && !modelHas && zc.Inputs[0] == 0 && isTransform(f, fc.Inputs[0]):
		return fmt.Errorf("%w: the file transforms its input before the first Conv %q (torchvision's transform_input); load the model with transform_input (zoo.WithTransformInput)", ErrTransformInput, fc.Name)
	case !fileHas && modelHas:
		return fmt.Errorf("%w: the file's first Conv %q reads the input directly but the model applies transform_input; load it without transform_input", ErrTransformInput, fc.Name)
	}
	return nil
}

// isTransform reports whether value v is computed from the graph input by
// elementwise and indexing ops only (torchvision's transform_input:
// Gather/Slice, Unsqueeze, Mul, Add, Concat), rather than by a layer.
func isTransform(f *onnxir.Graph, v string) bool {
	prod := map[string]*onnxir.Node{}
	for _, n := range f.Nodes {
		for _, o := range n.Outputs {
			prod[o] = n
		}
	}
	ok := map[string]bool{"Gather": true, "Slice": true, "Unsqueeze": true, "Mul": true, "Add": true,
		"Sub": true, "Div": true, "Concat": true, "Constant": true, "Identity": true, "Split": true, "Squeeze": true}
	seen := map[string]bool{}
	stack := []string{v}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[x] {
			continue
		}
		seen[x] = true
		n := prod[x]
		if n == nil {
			continue // graph input or initializer
		}
		if !ok[n.OpType] {
			return false
		}
		stack = append(stack, n.Inputs...)
	}
	return true
}

func attrInts(fn *onnxir.Node, name string, def []int64) ([]int64, error) {
	v, err := fn.Ints(name, def)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImport, err)
	}
	return v, nil
}

func equalInts(a []int64, b ...int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != int64(b[i]) {
			return false
		}
	}
	return true
}

// conv matches a Conv; with a folded BatchNorm it also fills the next
// layer and returns step 2.
func (s *structural) conv(n *nn.Node, op nn.Conv, fn *onnxir.Node, zrest []*nn.Node, frest []*onnxir.Node) (int, error) {
	if fn.OpType != "Conv" {
		return 0, layerError(n, fn, "want a Conv node")
	}
	w, err := s.weight(fn, 1)
	if err != nil {
		return 0, err
	}
	if w == nil {
		return 0, layerError(n, fn, "the Conv has no weight")
	}
	if err := s.set(n, fn, nn.Weight, w); err != nil {
		return 0, err
	}
	if ap, _ := fn.String("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "" {
		return 0, layerError(n, fn, "auto_pad %s is not supported; want explicit pads", ap)
	}
	checks := []struct {
		attr string
		def  []int64
		want []int
	}{
		{"strides", []int64{1, 1}, []int{or1(op.Stride[0]), or1(op.Stride[1])}},
		{"pads", []int64{0, 0, 0, 0}, []int{op.Pad.T, op.Pad.L, op.Pad.B, op.Pad.R}},
		{"dilations", []int64{1, 1}, []int{or1(op.Dilation[0]), or1(op.Dilation[1])}},
	}
	for _, c := range checks {
		got, err := attrInts(fn, c.attr, c.def)
		if err != nil {
			return 0, err
		}
		if !equalInts(got, c.want...) {
			return 0, layerError(n, fn, "%s %v, want %v", c.attr, got, c.want)
		}
	}
	if grp, err := fn.Int("group", 1); err != nil || grp != int64(or1(op.Groups)) {
		return 0, layerError(n, fn, "group %d, want %d", grp, or1(op.Groups))
	}
	b, err := s.weight(fn, 2)
	if err != nil {
		return 0, err
	}
	_, hasBias := n.Param(nn.Bias)
	switch {
	case b == nil && !hasBias:
		return 1, nil
	case b == nil && hasBias:
		return 0, layerError(n, fn, "the layer has a bias, the file's Conv has none")
	case hasBias:
		return 1, s.set(n, fn, nn.Bias, b)
	}
	// File bias, no layer bias: a BatchNorm folded into the conv.
	if len(zrest) == 0 {
		return 0, layerError(n, fn, "the file's Conv has a bias %s; the layer has none and no BatchNorm follows", shapeString(b.dims))
	}
	bn, ok := zrest[0].Op.(nn.BatchNorm)
	if !ok || len(zrest[0].Inputs) != 1 || zrest[0].Inputs[0] != n.ID {
		return 0, layerError(n, fn, "the file's Conv has a bias %s; the layer has none and no BatchNorm follows", shapeString(b.dims))
	}
	if len(frest) > 0 && frest[0].OpType == "BatchNormalization" && len(frest[0].Inputs) > 0 && frest[0].Inputs[0] == fn.Outputs[0] {
		return 0, layerError(n, fn, "the file's Conv has a bias and a BatchNormalization; the layer has no bias")
	}
	next := zrest[0]
	if err := s.set(next, fn, nn.Bias, b); err != nil {
		return 0, err
	}
	s.fill(next, nn.Weight, 1)
	s.fill(next, nn.RunningMean, 0)
	s.fill(next, nn.RunningVar, FoldedBNVar(bn.Eps))
	return 2, nil
}

func (s *structural) bn(n *nn.Node, op nn.BatchNorm, fn *onnxir.Node) error {
	if fn.OpType != "BatchNormalization" {
		return layerError(n, fn, "want a BatchNormalization node")
	}
	eps, err := fn.Float("epsilon", 1e-5)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrImport, err)
	}
	if math.Abs(float64(eps)-float64(op.Eps)) > 1e-6*float64(op.Eps) {
		return layerError(n, fn, "epsilon %g, want %g", eps, op.Eps)
	}
	kinds := []nn.ParamKind{nn.Weight, nn.Bias, nn.RunningMean, nn.RunningVar}
	for i, k := range kinds {
		w, err := s.weight(fn, i+1)
		if err != nil {
			return err
		}
		if w == nil {
			return layerError(n, fn, "input %d is missing", i+1)
		}
		if k == nn.Weight && op.NoScale {
			if !sameShape(w.dims, []int{n.Out[0]}) {
				return layerError(n, fn, "scale %q has shape %s, want [%d]", w.name, shapeString(w.dims), n.Out[0])
			}
			for _, v := range w.data() {
				if v != 1 {
					return layerError(n, fn, "the layer has no scale, the file's scale %q is not all ones", w.name)
				}
			}
			continue
		}
		if err := s.set(n, fn, k, w); err != nil {
			return err
		}
	}
	return nil
}

func (s *structural) linear(n *nn.Node, fn *onnxir.Node) error {
	spec, _ := n.Param(nn.Weight)
	out, in := spec.Shape[0], spec.Shape[1]
	var w, b *weight
	transB := int64(0)
	switch fn.OpType {
	case "Gemm":
		ta, err1 := fn.Int("transA", 0)
		tb, err2 := fn.Int("transB", 0)
		alpha, err3 := fn.Float("alpha", 1)
		beta, err4 := fn.Float("beta", 1)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return fmt.Errorf("%w: %w", ErrImport, err)
		}
		if ta != 0 || alpha != 1 || beta != 1 {
			return layerError(n, fn, "Gemm with transA %d, alpha %g, beta %g is not a plain linear layer", ta, alpha, beta)
		}
		transB = tb
		var err error
		if w, err = s.weight(fn, 1); err != nil {
			return err
		}
		if b, err = s.weight(fn, 2); err != nil {
			return err
		}
	case "MatMul":
		var err error
		if w, err = s.weight(fn, 1); err != nil {
			return err
		}
	default:
		return layerError(n, fn, "want a Gemm or MatMul node")
	}
	if w == nil {
		return layerError(n, fn, "the %s has no weight", fn.OpType)
	}
	switch {
	case transB == 1 && sameShape(w.dims, []int{out, in}):
		if err := s.set(n, fn, nn.Weight, w); err != nil {
			return err
		}
	case transB == 0 && sameShape(w.dims, []int{in, out}):
		src := w.data()
		t := tensor.New(out, in)
		for r := 0; r < in; r++ {
			for c := 0; c < out; c++ {
				t.Data[c*in+r] = src[r*out+c]
			}
		}
		s.p[spec.Path] = t
	default:
		want := []int{out, in}
		if transB == 0 {
			want = []int{in, out}
		}
		return layerError(n, fn, "file tensor %q has shape %s, want %v", w.name, shapeString(w.dims), want)
	}
	bs, hasBias := n.Param(nn.Bias)
	switch {
	case b == nil && hasBias:
		return layerError(n, fn, "the layer has a bias, the file's %s has none", fn.OpType)
	case b != nil && !hasBias:
		return layerError(n, fn, "the file's %s has a bias, the layer has none", fn.OpType)
	case b != nil:
		if !sameShape(b.dims, bs.Shape) && !sameShape(b.dims, []int{1, out}) {
			return layerError(n, fn, "bias %q has shape %s, want %v", b.name, shapeString(b.dims), bs.Shape)
		}
		s.p[bs.Path] = &tensor.Tensor{Shape: []int{out}, Data: b.data()}
	}
	return nil
}
