package onnx

import (
	"math"

	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// op is a compiled operator. Attributes are validated when it is compiled
// (at Load); infer validates input shapes and computes output metadata
// (shape, type, and data when it depends on shapes only, as for Shape)
// and a prepared state for exec; exec computes outputs into preallocated
// values. exec never panics on what infer accepted; it may still fail on
// data (an out-of-range index) with an ErrInput error.
type op interface {
	// infer receives one value per node input (nil for an omitted optional
	// input; known inputs carry data) and returns one value per node
	// output.
	infer(in []*value) (out []*value, prep any, err error)
	exec(rc *runCtx, prep any, in, out []*value) error
}

// workspacer is implemented by ops that need runCtx.ws scratch space.
type workspacer interface {
	workspace(prep any) int
}

type compileFn func(n *onnxir.Node, opset int64) (op, error)

// opTable maps each supported op_type to its compiler.
var opTable = map[string]compileFn{
	"Conv": compileConv, "MaxPool": compilePool, "AveragePool": compilePool,
	"GlobalAveragePool": compileGlobalAvgPool, "LRN": compileLRN,
	"BatchNormalization": compileBN, "Relu": compileRelu, "Concat": compileConcat,
	"Add": compileBinary, "Sub": compileBinary, "Mul": compileBinary, "Div": compileBinary,
	"Sum": compileSum, "Gemm": compileGemm, "MatMul": compileMatMul,
	"Flatten": compileFlatten, "Reshape": compileReshape, "Softmax": compileSoftmax,
	"Dropout": compileDropout, "Identity": compileIdentity, "Constant": compileConstant,
	"ConstantOfShape": compileConstantOfShape, "Unsqueeze": compileUnsqueeze,
	"Squeeze": compileSqueeze, "Gather": compileGather, "Shape": compileShape,
	"Pad": compilePad, "Clip": compileClip, "Transpose": compileTranspose, "Cast": compileCast,
}

// maxAttrDim bounds kernel sizes, strides, dilations and pads so that the
// shape arithmetic cannot overflow; larger values are ErrUnsupported.
const maxAttrDim = 1 << 24

// usedOutputs is the number of outputs up to the last non-empty one.
func usedOutputs(n *onnxir.Node) int {
	k := len(n.Outputs)
	for k > 0 && n.Outputs[k-1] == "" {
		k--
	}
	return max(k, 1)
}

// arity checks the input count (minIn required, non-empty) and the output
// count; extra outputs are ErrUnsupported.
func arity(n *onnxir.Node, minIn, maxIn, maxOut int) error {
	if len(n.Inputs) < minIn || len(n.Inputs) > maxIn {
		return formatErr("%d inputs, want %d to %d", len(n.Inputs), minIn, maxIn)
	}
	for k := 0; k < minIn; k++ {
		if n.Inputs[k] == "" {
			return formatErr("required input %d is empty", k)
		}
	}
	if u := usedOutputs(n); u > maxOut {
		return unsupportedErr("%d outputs; only the first %d are supported", u, maxOut)
	}
	return nil
}

func needFloat(what string, v *value) error {
	if v.isInt {
		return unsupportedErr("%s is an integer tensor %v; this operator needs float", what, v)
	}
	return nil
}

func needInt(what string, v *value) error {
	if !v.isInt {
		return formatErr("%s must be an integer tensor, got %v", what, v)
	}
	return nil
}

// knownInts returns the data of an integer input that shapes depend on.
func knownInts(what string, v *value) ([]int64, error) {
	if err := needInt(what, v); err != nil {
		return nil, err
	}
	if !v.known {
		return nil, unsupportedErr("%s is computed from tensor data (data-dependent shapes are not supported)", what)
	}
	return v.i, nil
}

func checkAttrDims(name string, v []int64, lo int64) error {
	for _, x := range v {
		if x < lo {
			return formatErr("attribute %s = %v: values must be >= %d", name, v, lo)
		}
		if x > maxAttrDim {
			return unsupportedErr("attribute %s = %v: values above %d", name, v, maxAttrDim)
		}
	}
	return nil
}

// spatial holds the validated attributes shared by Conv and the pools.
type spatial struct {
	autoPad                      string
	kernel, strides, pads, dilat []int64
}

func compileSpatial(n *onnxir.Node) (spatial, error) {
	var s spatial
	var err error
	if s.autoPad, err = n.String("auto_pad", "NOTSET"); err != nil {
		return s, err
	}
	switch s.autoPad {
	case "NOTSET", "", "SAME_UPPER", "SAME_LOWER", "VALID":
	default:
		return s, formatErr("auto_pad %q", s.autoPad)
	}
	for _, a := range []struct {
		name string
		dst  *[]int64
		lo   int64
	}{{"kernel_shape", &s.kernel, 1}, {"strides", &s.strides, 1}, {"pads", &s.pads, 0}, {"dilations", &s.dilat, 1}} {
		if *a.dst, err = n.Ints(a.name, nil); err != nil {
			return s, err
		}
		if err := checkAttrDims(a.name, *a.dst, a.lo); err != nil {
			return s, err
		}
	}
	if s.kernel != nil {
		for _, a := range []struct {
			name string
			v    []int64
			mul  int
		}{{"strides", s.strides, 1}, {"pads", s.pads, 2}, {"dilations", s.dilat, 1}} {
			if a.v != nil && len(a.v) != a.mul*len(s.kernel) {
				return s, formatErr("%s %v has %d values for a %d-D kernel_shape %v", a.name, a.v, len(a.v), len(s.kernel), s.kernel)
			}
		}
	}
	return s, nil
}

// resolve checks the per-axis attributes against sp spatial dims (kernel k)
// and returns strides, dilations and begin/end pads.
func (s spatial) resolve(in, k []int) (str, dil, pb, pe []int, err error) {
	sp := len(in)
	get := func(name string, v []int64, def int, want int) ([]int, error) {
		out := make([]int, want)
		if v == nil {
			for i := range out {
				out[i] = def
			}
			return out, nil
		}
		if len(v) != want {
			return nil, formatErr("%s %v has %d values, want %d for %d spatial dims", name, v, len(v), want, sp)
		}
		for i, x := range v {
			out[i] = int(x)
		}
		return out, nil
	}
	if str, err = get("strides", s.strides, 1, sp); err != nil {
		return
	}
	if dil, err = get("dilations", s.dilat, 1, sp); err != nil {
		return
	}
	pb, pe = make([]int, sp), make([]int, sp)
	switch s.autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		for i := range in {
			out := (in[i] + str[i] - 1) / str[i]
			total := max(0, (out-1)*str[i]+(k[i]-1)*dil[i]+1-in[i])
			small := total / 2
			if s.autoPad == "SAME_UPPER" {
				pb[i], pe[i] = small, total-small
			} else {
				pb[i], pe[i] = total-small, small
			}
		}
	case "VALID":
	default:
		var p []int
		if p, err = get("pads", s.pads, 0, 2*sp); err != nil {
			return
		}
		copy(pb, p[:sp])
		copy(pe, p[sp:])
	}
	for i := range in {
		if in[i]+pb[i]+pe[i] < (k[i]-1)*dil[i]+1 {
			err = formatErr("spatial dim %d: input %d with pads %d+%d is smaller than the kernel extent %d (kernel %d, dilation %d)",
				i, in[i], pb[i], pe[i], (k[i]-1)*dil[i]+1, k[i], dil[i])
			return
		}
	}
	return
}

// ---- Conv ----

type convOp struct {
	spatial
	group int64
	relu  bool // fused by Load
}

type convPrep struct {
	p  kernels.ConvParams
	ws int // im2col workspace of kernels.Conv2D
	// constW is set when the weights (and bias) are known when planning;
	// buildPlan then sets prepared, the packed convolution.
	constW   bool
	prepared *kernels.Conv
}

func compileConv(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 2, 3, 1); err != nil {
		return nil, err
	}
	s, err := compileSpatial(n)
	if err != nil {
		return nil, err
	}
	g, err := n.Int("group", 1)
	if err != nil {
		return nil, err
	}
	if g < 1 || g > maxAttrDim {
		return nil, formatErr("group %d must be in 1..%d", g, maxAttrDim)
	}
	return &convOp{spatial: s, group: g}, nil
}

func (c *convOp) infer(in []*value) ([]*value, any, error) {
	x, w := in[0], in[1]
	if err := needFloat("X", x); err != nil {
		return nil, nil, err
	}
	if err := needFloat("W", w); err != nil {
		return nil, nil, err
	}
	r := len(x.shape)
	if r == 5 {
		return nil, nil, unsupportedErr("3-D convolution (X %v)", x.shape)
	}
	if r != 3 && r != 4 {
		return nil, nil, formatErr("X %v: want rank 3 or 4 (N, C, [H,] W)", x.shape)
	}
	if len(w.shape) != r {
		return nil, nil, formatErr("W %v and X %v have different ranks", w.shape, x.shape)
	}
	k := w.shape[2:]
	if c.kernel != nil {
		if len(c.kernel) != r-2 {
			return nil, nil, formatErr("kernel_shape %v does not match X %v", c.kernel, x.shape)
		}
		for i, v := range c.kernel {
			if int(v) != k[i] {
				return nil, nil, formatErr("kernel_shape %v does not match W %v", c.kernel, w.shape)
			}
		}
	}
	g := int(c.group)
	N, C, M := x.shape[0], x.shape[1], w.shape[0]
	if C == 0 || M == 0 || C%g != 0 || M%g != 0 || w.shape[1]*g != C {
		return nil, nil, formatErr("X %v and W %v do not fit group %d (need C = W[1]*group and group | M)", x.shape, w.shape, g)
	}
	for _, d := range k {
		if d == 0 {
			return nil, nil, formatErr("W %v has an empty kernel", w.shape)
		}
	}
	for _, d := range x.shape[2:] {
		if d == 0 {
			return nil, nil, formatErr("X %v has an empty spatial dim", x.shape)
		}
	}
	str, dil, pb, pe, err := c.resolve(x.shape[2:], k)
	if err != nil {
		return nil, nil, err
	}
	if len(in) > 2 && in[2] != nil {
		if err := needFloat("B", in[2]); err != nil {
			return nil, nil, err
		}
		if len(in[2].shape) != 1 || in[2].shape[0] != M {
			return nil, nil, formatErr("B %v: want [%d] (W %v)", in[2].shape, M, w.shape)
		}
	}
	p := kernels.ConvParams{N: N, C: C, OutC: M, Groups: g, H: 1, KH: 1, StrideH: 1, DilH: 1}
	last := r - 3
	p.W, p.KW, p.StrideW, p.DilW, p.PadL, p.PadR = x.shape[r-1], k[last], str[last], dil[last], pb[last], pe[last]
	if r == 4 {
		p.H, p.KH, p.StrideH, p.DilH, p.PadT, p.PadB = x.shape[2], k[0], str[0], dil[0], pb[0], pe[0]
	}
	oh := nn.ConvOut(p.H, p.KH, p.StrideH, p.PadT, p.PadB, p.DilH)
	ow := nn.ConvOut(p.W, p.KW, p.StrideW, p.PadL, p.PadR, p.DilW)
	cp := &convPrep{p: p}
	direct := g > 1 && C == g
	if !(p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadT+p.PadB+p.PadL+p.PadR == 0) && !direct {
		f := float64(C/g) * float64(p.KH) * float64(p.KW) * float64(oh) * float64(ow)
		if f > 1<<40 {
			return nil, nil, limitErr("convolution workspace of %.0f elements", f)
		}
		cp.ws = int(f)
	}
	cp.constW = in[1].known && (len(in) < 3 || in[2] == nil || in[2].known)
	out := []int{N, M, ow}
	if r == 4 {
		out = []int{N, M, oh, ow}
	}
	return []*value{meta(out, false)}, cp, nil
}

func (c *convOp) workspace(prep any) int {
	cp := prep.(*convPrep)
	if cp.prepared != nil {
		return 0
	}
	return cp.ws
}

func (c *convOp) exec(rc *runCtx, prep any, in, out []*value) error {
	cp := prep.(*convPrep)
	var bias []float32
	if len(in) > 2 && in[2] != nil {
		bias = in[2].f
	}
	if cp.p.N == 0 {
		return nil
	}
	x, ws := in[0].f, rc.ws
	if cp.prepared != nil {
		cp.prepared.Run(cp.p.N, x, out[0].f, cp.p.OutC, 0)
		return nil
	}
	kernels.Conv2D(cp.p, x, in[1].f, out[0].f, cp.p.OutC, 0, ws[:cp.ws], kernels.Epilogue{Bias: bias, ReLU: c.relu})
	return nil
}

// ---- MaxPool, AveragePool ----

type poolOp struct {
	spatial
	max, ceil, countPad bool
}

func compilePool(n *onnxir.Node, opset int64) (op, error) {
	maxOut := 1
	if err := arity(n, 1, 1, 2); err != nil {
		return nil, err
	}
	if usedOutputs(n) > maxOut {
		return nil, unsupportedErr("MaxPool Indices output")
	}
	s, err := compileSpatial(n)
	if err != nil {
		return nil, err
	}
	if s.kernel == nil {
		return nil, formatErr("kernel_shape is required")
	}
	p := &poolOp{spatial: s, max: n.OpType == "MaxPool"}
	if p.ceil, err = boolAttr(n, "ceil_mode"); err != nil {
		return nil, err
	}
	if p.max {
		// storage_order only orders the Indices output, which is
		// unsupported; it must still be 0 or 1.
		if _, err := boolAttr(n, "storage_order"); err != nil {
			return nil, err
		}
	} else {
		if p.countPad, err = boolAttr(n, "count_include_pad"); err != nil {
			return nil, err
		}
		for _, d := range s.dilat {
			if d != 1 {
				return nil, unsupportedErr("AveragePool dilations %v", s.dilat)
			}
		}
	}
	for i, pd := range s.pads {
		k := s.kernel[i%len(s.kernel)]
		d := int64(1)
		if s.dilat != nil {
			d = s.dilat[i%len(s.kernel)]
		}
		if pd >= (k-1)*d+1 {
			return nil, formatErr("pads %v: each pad must be smaller than the kernel extent (kernel_shape %v)", s.pads, s.kernel)
		}
	}
	return p, nil
}

func (p *poolOp) infer(in []*value) ([]*value, any, error) {
	x := in[0]
	if err := needFloat("X", x); err != nil {
		return nil, nil, err
	}
	r := len(x.shape)
	if r == 5 {
		return nil, nil, unsupportedErr("3-D pooling (X %v)", x.shape)
	}
	if r != 3 && r != 4 {
		return nil, nil, formatErr("X %v: want rank 3 or 4", x.shape)
	}
	if len(p.kernel) != r-2 {
		return nil, nil, formatErr("kernel_shape %v does not match X %v", p.kernel, x.shape)
	}
	k := make([]int, r-2)
	for i, v := range p.kernel {
		k[i] = int(v)
	}
	for _, d := range x.shape[2:] {
		if d == 0 {
			return nil, nil, formatErr("X %v has an empty spatial dim", x.shape)
		}
	}
	str, dil, pb, pe, err := p.resolve(x.shape[2:], k)
	if err != nil {
		return nil, nil, err
	}
	pp := kernels.PoolParams{N: x.shape[0], C: x.shape[1], H: 1, KH: 1, StrideH: 1, DilH: 1, DilW: 1,
		CeilMode: p.ceil && (p.autoPad == "NOTSET" || p.autoPad == "")}
	last := r - 3
	pp.W, pp.KW, pp.StrideW, pp.DilW, pp.PadL, pp.PadR = x.shape[r-1], k[last], str[last], dil[last], pb[last], pe[last]
	if r == 4 {
		pp.H, pp.KH, pp.StrideH, pp.DilH, pp.PadT, pp.PadB = x.shape[2], k[0], str[0], dil[0], pb[0], pe[0]
	}
	oh, ow := pp.OutHW()
	if oh <= 0 || ow <= 0 {
		return nil, nil, formatErr("X %v pools to an empty output", x.shape)
	}
	out := []int{pp.N, pp.C, ow}
	if r == 4 {
		out = []int{pp.N, pp.C, oh, ow}
	}
	return []*value{meta(out, false)}, pp, nil
}

func (p *poolOp) exec(_ *runCtx, prep any, in, out []*value) error {
	pp := prep.(kernels.PoolParams)
	if pp.N == 0 || pp.C == 0 {
		return nil
	}
	if p.max {
		kernels.MaxPool2D(pp, in[0].f, out[0].f, pp.C, 0)
	} else {
		kernels.AvgPool2D(pp, p.countPad, in[0].f, out[0].f, pp.C, 0)
	}
	return nil
}

// ---- GlobalAveragePool ----

type globalAvgOp struct{}

func compileGlobalAvgPool(n *onnxir.Node, _ int64) (op, error) {
	return globalAvgOp{}, arity(n, 1, 1, 1)
}

func (globalAvgOp) infer(in []*value) ([]*value, any, error) {
	x := in[0]
	if err := needFloat("X", x); err != nil {
		return nil, nil, err
	}
	if len(x.shape) < 3 {
		return nil, nil, formatErr("X %v: want rank >= 3", x.shape)
	}
	if prod(x.shape[2:]) == 0 {
		return nil, nil, formatErr("X %v has an empty spatial dim", x.shape)
	}
	out := cloneInts(x.shape)
	for i := 2; i < len(out); i++ {
		out[i] = 1
	}
	return []*value{meta(out, false)}, nil, nil
}

func (globalAvgOp) exec(_ *runCtx, _ any, in, out []*value) error {
	s := in[0].shape
	kernels.GlobalAvgPool(s[0], s[1], prod(s[2:]), in[0].f, out[0].f)
	return nil
}

// ---- LRN ----

type lrnOp struct {
	size              int
	alpha, beta, bias float32
}

func compileLRN(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 1, 1, 1); err != nil {
		return nil, err
	}
	size, err := n.Int("size", 0)
	if err != nil {
		return nil, err
	}
	if _, ok := n.Attrs["size"]; !ok {
		return nil, formatErr("attribute size is required")
	}
	if size < 1 || size > maxAttrDim {
		return nil, formatErr("size %d must be in 1..%d", size, maxAttrDim)
	}
	o := &lrnOp{size: int(size)}
	if o.alpha, err = finiteFloat(n, "alpha", 1e-4); err != nil {
		return nil, err
	}
	if o.beta, err = finiteFloat(n, "beta", 0.75); err != nil {
		return nil, err
	}
	if o.bias, err = finiteFloat(n, "bias", 1); err != nil {
		return nil, err
	}
	// y = x / (bias + alpha/size·Σx²)^beta: with alpha < 0 or bias <= 0
	// the base can be zero or negative, and the output Inf or NaN.
	if o.alpha < 0 || o.bias <= 0 {
		return nil, formatErr("alpha %v, bias %v: want alpha >= 0 and bias > 0 (otherwise (bias + alpha/size·Σx²)^beta can be NaN)", o.alpha, o.bias)
	}
	return o, nil
}

func (o *lrnOp) infer(in []*value) ([]*value, any, error) {
	if err := needFloat("X", in[0]); err != nil {
		return nil, nil, err
	}
	if len(in[0].shape) < 2 {
		return nil, nil, formatErr("X %v: want rank >= 2", in[0].shape)
	}
	return []*value{meta(in[0].shape, false)}, nil, nil
}

func (o *lrnOp) exec(_ *runCtx, _ any, in, out []*value) error {
	s := in[0].shape
	if prod(s) == 0 {
		return nil
	}
	kernels.LRN(s[0], s[1], prod(s[2:]), o.size, o.alpha, o.beta, o.bias, in[0].f, out[0].f)
	return nil
}

// ---- BatchNormalization (inference) ----

type bnOp struct{ eps float32 }

func compileBN(n *onnxir.Node, opset int64) (op, error) {
	if err := arity(n, 5, 5, 5); err != nil {
		return nil, err
	}
	if t, err := boolAttr(n, "training_mode"); err != nil {
		return nil, err
	} else if t {
		return nil, unsupportedErr("training_mode=1")
	}
	if sp, err := n.Int("spatial", 1); err != nil {
		return nil, err
	} else if sp != 0 && sp != 1 {
		return nil, formatErr("attribute spatial = %d, want 0 or 1", sp)
	} else if sp != 1 && opset < 9 {
		return nil, unsupportedErr("spatial=%d", sp)
	}
	if usedOutputs(n) > 1 {
		return nil, unsupportedErr("training outputs (mean, var, saved statistics)")
	}
	if _, err := finiteFloat(n, "momentum", 0.9); err != nil {
		return nil, err
	}
	eps, err := finiteFloat(n, "epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	if eps < 0 {
		// x / sqrt(var + eps) is NaN wherever var < -eps.
		return nil, formatErr("epsilon %v is negative", eps)
	}
	return &bnOp{eps: eps}, nil
}

func (o *bnOp) infer(in []*value) ([]*value, any, error) {
	x := in[0]
	for k, v := range in {
		if err := needFloat([]string{"X", "scale", "B", "mean", "var"}[k], v); err != nil {
			return nil, nil, err
		}
	}
	if len(x.shape) < 2 {
		return nil, nil, formatErr("X %v: want rank >= 2", x.shape)
	}
	for k, v := range in[1:] {
		if len(v.shape) != 1 || v.shape[0] != x.shape[1] {
			return nil, nil, formatErr("%s %v: want [%d] for X %v", []string{"scale", "B", "mean", "var"}[k], v.shape, x.shape[1], x.shape)
		}
	}
	return []*value{meta(x.shape, false)}, nil, nil
}

func (o *bnOp) exec(_ *runCtx, _ any, in, out []*value) error {
	s := in[0].shape
	scale, shift := kernels.BatchNormAffine(in[1].f, in[2].f, in[3].f, in[4].f, o.eps).Float32()
	kernels.ChannelAffine(s[0], s[1], prod(s[2:]), in[0].f, scale, shift, false, out[0].f)
	return nil
}

// ---- Relu ----

type reluOp struct{}

func compileRelu(n *onnxir.Node, _ int64) (op, error) { return reluOp{}, arity(n, 1, 1, 1) }

func (reluOp) infer(in []*value) ([]*value, any, error) {
	return []*value{meta(in[0].shape, in[0].isInt)}, nil, nil
}

func (reluOp) exec(_ *runCtx, _ any, in, out []*value) error {
	if in[0].isInt {
		for k, v := range in[0].i {
			out[0].i[k] = max(v, 0)
		}
		return nil
	}
	kernels.ReLU(in[0].f, out[0].f)
	return nil
}

// ---- Softmax ----

type softmaxOp struct {
	axis   int64
	legacy bool // opset < 13: coerce to 2-D at axis
}

type softmaxPrep struct{ outer, dim, inner int }

func compileSoftmax(n *onnxir.Node, opset int64) (op, error) {
	if err := arity(n, 1, 1, 1); err != nil {
		return nil, err
	}
	o := &softmaxOp{legacy: opset < 13}
	def := int64(-1)
	if o.legacy {
		def = 1
	}
	var err error
	o.axis, err = n.Int("axis", def)
	return o, err
}

func (o *softmaxOp) infer(in []*value) ([]*value, any, error) {
	x := in[0]
	if err := needFloat("input", x); err != nil {
		return nil, nil, err
	}
	r := len(x.shape)
	if r == 0 {
		return nil, nil, formatErr("input is a scalar")
	}
	a, err := normAxis(o.axis, r, false)
	if err != nil {
		return nil, nil, err
	}
	p := softmaxPrep{outer: prod(x.shape[:a]), dim: x.shape[a], inner: prod(x.shape[a+1:])}
	if o.legacy {
		p.dim *= p.inner
		p.inner = 1
	}
	return []*value{meta(x.shape, false)}, p, nil
}

func (o *softmaxOp) exec(_ *runCtx, prep any, in, out []*value) error {
	p := prep.(softmaxPrep)
	if p.outer*p.dim*p.inner == 0 {
		return nil
	}
	x, y := in[0].f, out[0].f
	if p.inner == 1 {
		kernels.Softmax(p.outer, p.dim, x, y)
		return nil
	}
	for o := 0; o < p.outer; o++ {
		base := o * p.dim * p.inner
		for i := 0; i < p.inner; i++ {
			m := x[base+i]
			for d := 0; d < p.dim; d++ {
				m = max(m, x[base+d*p.inner+i])
			}
			var s float64
			for d := 0; d < p.dim; d++ {
				e := math.Exp(float64(x[base+d*p.inner+i] - m))
				s += e
				y[base+d*p.inner+i] = float32(e)
			}
			for d := 0; d < p.dim; d++ {
				y[base+d*p.inner+i] = float32(float64(y[base+d*p.inner+i]) / s)
			}
		}
	}
	return nil
}

// ---- Gemm ----

type gemmOp struct {
	alpha, beta    float32
	transA, transB bool
}

type gemmPrep struct{ m, n, k int }

func compileGemm(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 2, 3, 1); err != nil {
		return nil, err
	}
	o := &gemmOp{}
	var err error
	if o.alpha, err = finiteFloat(n, "alpha", 1); err != nil {
		return nil, err
	}
	if o.beta, err = finiteFloat(n, "beta", 1); err != nil {
		return nil, err
	}
	if o.transA, err = boolAttr(n, "transA"); err != nil {
		return nil, err
	}
	if o.transB, err = boolAttr(n, "transB"); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *gemmOp) infer(in []*value) ([]*value, any, error) {
	a, b := in[0], in[1]
	if err := needFloat("A", a); err != nil {
		return nil, nil, err
	}
	if err := needFloat("B", b); err != nil {
		return nil, nil, err
	}
	if len(a.shape) != 2 || len(b.shape) != 2 {
		return nil, nil, formatErr("A %v and B %v must be matrices", a.shape, b.shape)
	}
	m, k := a.shape[0], a.shape[1]
	if o.transA {
		m, k = k, m
	}
	k2, n := b.shape[0], b.shape[1]
	if o.transB {
		k2, n = n, k2
	}
	if k != k2 {
		return nil, nil, formatErr("A %v (transA=%v) and B %v (transB=%v): inner dimensions %d and %d differ", a.shape, o.transA, b.shape, o.transB, k, k2)
	}
	if len(in) > 2 && in[2] != nil {
		c := in[2]
		if err := needFloat("C", c); err != nil {
			return nil, nil, err
		}
		if _, ok := broadcastTo(c.shape, []int{m, n}); !ok {
			return nil, nil, formatErr("C %v does not broadcast to [%d %d]", c.shape, m, n)
		}
	}
	return []*value{meta([]int{m, n}, false)}, gemmPrep{m, n, k}, nil
}

func (o *gemmOp) exec(_ *runCtx, prep any, in, out []*value) error {
	p := prep.(gemmPrep)
	y := out[0].f
	beta := float32(0)
	if len(in) > 2 && in[2] != nil && o.beta != 0 {
		c := in[2]
		st, _ := broadcastTo(c.shape, []int{p.m, p.n})
		for i := 0; i < p.m; i++ {
			for j := 0; j < p.n; j++ {
				y[i*p.n+j] = c.f[i*st[0]+j*st[1]]
			}
		}
		beta = o.beta
	}
	if p.m == 0 || p.n == 0 {
		return nil
	}
	lda, ldb := p.k, p.n
	if o.transA {
		lda = p.m
	}
	if o.transB {
		ldb = p.k
	}
	kernels.Sgemm(o.transA, o.transB, p.m, p.n, p.k, o.alpha, in[0].f, max(lda, 1), in[1].f, max(ldb, 1), beta, y, p.n)
	return nil
}

// broadcastTo returns the strides of shape s unidirectionally broadcast to
// out (0 along broadcast dims), or ok=false.
func broadcastTo(s, out []int) ([]int, bool) {
	if len(s) > len(out) {
		return nil, false
	}
	st := make([]int, len(out))
	stride := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(s))
		if j < 0 {
			continue
		}
		switch s[j] {
		case out[i]:
			if out[i] != 1 {
				st[i] = stride
			}
		case 1:
		default:
			return nil, false
		}
		stride *= s[j]
	}
	return st, true
}

// ---- MatMul ----

type matmulOp struct{}

type matmulPrep struct {
	m, n, k      int
	batch        []int
	sa, sb       []int // batch strides (elements) of A and B
	squeezeShape []int
}

func compileMatMul(n *onnxir.Node, _ int64) (op, error) { return matmulOp{}, arity(n, 2, 2, 1) }

func (matmulOp) infer(in []*value) ([]*value, any, error) {
	a, b := in[0], in[1]
	if err := needFloat("A", a); err != nil {
		return nil, nil, err
	}
	if err := needFloat("B", b); err != nil {
		return nil, nil, err
	}
	as, bs := a.shape, b.shape
	if len(as) == 0 || len(bs) == 0 {
		return nil, nil, formatErr("A %v and B %v: scalars are not matrices", as, bs)
	}
	aVec, bVec := len(as) == 1, len(bs) == 1
	if aVec {
		as = []int{1, as[0]}
	}
	if bVec {
		bs = []int{bs[0], 1}
	}
	m, k := as[len(as)-2], as[len(as)-1]
	k2, n := bs[len(bs)-2], bs[len(bs)-1]
	if k != k2 {
		return nil, nil, formatErr("A %v and B %v: inner dimensions %d and %d differ", a.shape, b.shape, k, k2)
	}
	batch, ok := broadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if !ok {
		return nil, nil, formatErr("A %v and B %v: batch dimensions do not broadcast", a.shape, b.shape)
	}
	sa, _ := broadcastTo(as[:len(as)-2], batch)
	sb, _ := broadcastTo(bs[:len(bs)-2], batch)
	out := append(cloneInts(batch), m, n)
	if aVec {
		out = append(cloneInts(batch), n)
	}
	if bVec {
		out = out[:len(out)-1]
	}
	return []*value{meta(out, false)}, &matmulPrep{m: m, n: n, k: k, batch: batch, sa: sa, sb: sb}, nil
}

func (matmulOp) exec(_ *runCtx, prep any, in, out []*value) error {
	p := prep.(*matmulPrep)
	if p.m == 0 || p.n == 0 {
		return nil
	}
	a, b, y := in[0].f, in[1].f, out[0].f
	nb := prod(p.batch)
	idx := make([]int, len(p.batch))
	for t := 0; t < nb; t++ {
		ao, bo := 0, 0
		for i, v := range idx {
			ao += v * p.sa[i]
			bo += v * p.sb[i]
		}
		ao *= p.m * p.k
		bo *= p.k * p.n
		yo := t * p.m * p.n
		kernels.Sgemm(false, false, p.m, p.n, p.k, 1, a[ao:], max(p.k, 1), b[bo:], p.n, 0, y[yo:yo+p.m*p.n], p.n)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < p.batch[i] {
				break
			}
			idx[i] = 0
		}
	}
	return nil
}

// ---- Dropout (inference) ----

type dropoutOp struct {
	outputs int
	opset   int64
}

func compileDropout(n *onnxir.Node, opset int64) (op, error) {
	if err := arity(n, 1, 3, 2); err != nil {
		return nil, err
	}
	if r, err := finiteFloat(n, "ratio", 0.5); err != nil {
		return nil, err
	} else if r < 0 || r >= 1 {
		return nil, formatErr("ratio %v outside [0, 1)", r)
	}
	return &dropoutOp{outputs: usedOutputs(n), opset: opset}, nil
}

func (o *dropoutOp) infer(in []*value) ([]*value, any, error) {
	if len(in) > 2 && in[2] != nil {
		t := in[2]
		if !t.known {
			return nil, nil, unsupportedErr("training_mode computed at run time")
		}
		for _, v := range t.ints() {
			if v != 0 {
				return nil, nil, unsupportedErr("training_mode=true")
			}
		}
	}
	outs := []*value{meta(in[0].shape, in[0].isInt)}
	if o.outputs > 1 {
		outs = append(outs, meta(in[0].shape, true))
	}
	return outs, nil, nil
}

func (o *dropoutOp) exec(_ *runCtx, _ any, in, out []*value) error {
	copyValue(in[0], out[0])
	if len(out) > 1 {
		for k := range out[1].i {
			out[1].i[k] = 1
		}
	}
	return nil
}

func copyValue(src, dst *value) {
	if src.isInt {
		copy(dst.i, src.i)
	} else {
		copy(dst.f, src.f)
	}
}

// ---- Clip ----

type clipOp struct {
	attrs  bool // opset < 11: min/max attributes
	lo, hi float32
}

func compileClip(n *onnxir.Node, opset int64) (op, error) {
	if err := arity(n, 1, 3, 1); err != nil {
		return nil, err
	}
	o := &clipOp{attrs: opset < 11}
	var err error
	if o.lo, err = n.Float("min", -math.MaxFloat32); err != nil {
		return nil, err
	}
	if o.hi, err = n.Float("max", math.MaxFloat32); err != nil {
		return nil, err
	}
	if o.lo != o.lo || o.hi != o.hi {
		return nil, formatErr("min %v, max %v: NaN bound", o.lo, o.hi)
	}
	if o.attrs && len(n.Inputs) > 1 {
		return nil, formatErr("Clip-%d takes min/max as attributes, not inputs", opset)
	}
	return o, nil
}

func (o *clipOp) infer(in []*value) ([]*value, any, error) {
	x := in[0]
	for k, v := range in[1:] {
		if v == nil {
			continue
		}
		if v.numel() != 1 || v.isInt != x.isInt {
			return nil, nil, formatErr("%s %v must be a scalar of the input's type (%v)", []string{"min", "max"}[k], v, x)
		}
	}
	return []*value{meta(x.shape, x.isInt)}, nil, nil
}

func (o *clipOp) exec(_ *runCtx, _ any, in, out []*value) error {
	x := in[0]
	if x.isInt {
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if len(in) > 1 && in[1] != nil {
			lo = in[1].i[0]
		}
		if len(in) > 2 && in[2] != nil {
			hi = in[2].i[0]
		}
		for k, v := range x.i {
			out[0].i[k] = min(max(v, lo), hi)
		}
		return nil
	}
	lo, hi := o.lo, o.hi
	if !o.attrs {
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
		if len(in) > 1 && in[1] != nil {
			lo = in[1].f[0]
		}
		if len(in) > 2 && in[2] != nil {
			hi = in[2].f[0]
		}
	}
	for k, v := range x.f {
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		out[0].f[k] = v
	}
	return nil
}

// ---- Cast ----

type castOp struct{ to onnxir.DType }

func compileCast(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 1, 1, 1); err != nil {
		return nil, err
	}
	to, err := n.Int("to", -1)
	if err != nil {
		return nil, err
	}
	if _, ok := n.Attrs["to"]; !ok {
		return nil, formatErr("attribute to is required")
	}
	// saturate only affects casts to 8-bit floats, which are unsupported;
	// it must still be 0 or 1.
	if _, err := boolAttr(n, "saturate"); err != nil {
		return nil, err
	}
	d := onnxir.DType(to)
	switch d {
	case onnxir.Float32, onnxir.Float16, onnxir.Float64, onnxir.BFloat16, onnxir.Uint8, onnxir.Int8, onnxir.Uint16, onnxir.Int16, onnxir.Int32, onnxir.Int64, onnxir.Uint32, onnxir.Uint64, onnxir.Bool:
	default:
		return nil, unsupportedErr("Cast to %v", d)
	}
	return &castOp{to: d}, nil
}

func (o *castOp) infer(in []*value) ([]*value, any, error) {
	return []*value{meta(in[0].shape, !o.to.IsFloat())}, nil, nil
}

func (o *castOp) exec(_ *runCtx, _ any, in, out []*value) error {
	x, y := in[0], out[0]
	if o.to.IsFloat() {
		for k := range y.f {
			var v float32
			if x.isInt {
				v = float32(x.i[k])
			} else {
				v = x.f[k]
			}
			switch o.to {
			case onnxir.Float16:
				h, _ := onnxir.Float32ToFloat16(v) // beyond the range: ±Inf, as Cast wants
				v = onnxir.Float16ToFloat32(h)
			case onnxir.BFloat16:
				v = onnxir.BFloat16ToFloat32(onnxir.Float32ToBFloat16(v))
			}
			y.f[k] = v
		}
		return nil
	}
	for k := range y.i {
		var v int64
		if x.isInt {
			v = x.i[k]
		} else {
			f := float64(x.f[k])
			switch {
			case o.to == onnxir.Bool:
				if f != 0 {
					v = 1
				}
			case f != f:
				v = 0
			case f >= 9.2e18:
				v = math.MaxInt64
			case f <= -9.2e18:
				v = math.MinInt64
			default:
				v = int64(f)
			}
		}
		y.i[k] = wrapInt(v, o.to)
	}
	return nil
}

// wrapInt converts v to integer type d with two's-complement wrap-around.
func wrapInt(v int64, d onnxir.DType) int64 {
	switch d {
	case onnxir.Uint8:
		return int64(uint8(v))
	case onnxir.Int8:
		return int64(int8(v))
	case onnxir.Uint16:
		return int64(uint16(v))
	case onnxir.Int16:
		return int64(int16(v))
	case onnxir.Int32:
		return int64(int32(v))
	case onnxir.Uint32:
		return int64(uint32(v))
	case onnxir.Bool:
		if v != 0 {
			return 1
		}
		return 0
	}
	return v
}

// ---- arithmetic estimates (Limits.MaxFoldOps) ----

func (c *convOp) cost(prep any, _, out []*value) float64 {
	p := prep.(*convPrep).p
	return float64(out[0].numel()) * float64(p.C/p.Groups) * float64(p.KH) * float64(p.KW)
}

func (p *poolOp) cost(prep any, _, out []*value) float64 {
	pp := prep.(kernels.PoolParams)
	return float64(out[0].numel()) * float64(pp.KH) * float64(pp.KW)
}

func (o *lrnOp) cost(_ any, in, _ []*value) float64 {
	return float64(in[0].numel()) * float64(o.size+2)
}

func (o *gemmOp) cost(prep any, _, _ []*value) float64 {
	p := prep.(gemmPrep)
	return float64(p.m) * float64(p.n) * float64(p.k+1)
}

func (matmulOp) cost(prep any, _, _ []*value) float64 {
	p := prep.(*matmulPrep)
	return float64(prod(p.batch)) * float64(p.m) * float64(p.n) * float64(p.k+1)
}
