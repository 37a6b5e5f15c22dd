package onnx

import (
	"fmt"
	"math"
	"strings"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/tensor"
)

// Lowering onto the engine. A graph whose run-time part is a CNN of the
// engine's vocabulary on one float input of fixed per-image shape — Conv,
// BatchNormalization, per-channel Mul/Add/Sub/Div by constants, Relu,
// MaxPool, AveragePool, GlobalAveragePool, LRN, Concat on channels, Add and
// Sub of two values, Flatten/Reshape to [N, features], Gemm and MatMul by
// constant weights, Softmax on features, convert.Export's adaptive average
// pool, and Identity, Dropout and Cast to float as no-ops — is rebuilt as an nn.Graph (nn.Builder) and compiled by
// engine.Compile, so it runs exactly like a zoo model: BatchNorm and
// scales folded into convs, ReLU fused, concat branches written in place,
// packed weights, buffers by liveness, images of a batch in parallel.
// Anything else runs on the interpreter (Model.Executor says why).

// notLowered reports why a graph stays on the interpreter.
type notLowered struct{ why string }

func (e *notLowered) Error() string { return e.why }

func cannot(format string, args ...any) error {
	return &notLowered{why: fmt.Sprintf(format, args...)}
}

// lowering is the state of one lowering attempt.
type lowering struct {
	m      *Model
	p1, p2 *plan // the model planned at batch 1 and batch 2
	b      *nn.Builder
	params nn.Params
	node   map[int]int // slot → nn node ID
	paths  map[string]bool
	// readers lists the run-time steps reading each slot; outputs marks
	// graph outputs; done marks steps already lowered with an earlier one
	// (a multi-node pattern).
	readers map[int][]step
	outputs map[int]bool
	done    map[*lnode]bool
}

// lower tries to rebuild the model's run-time nodes as an engine model. It
// returns the engine model, or nil and the reason it does not fit; err is
// a real error of the model (its declared shapes do not compute, a limit
// is exceeded), which Load reports.
func (m *Model) lower() (*engine.Model, string, error) {
	if len(m.g.Inputs) != 1 || m.hasInt {
		return nil, fmt.Sprintf("the engine takes one float input, the model has %d inputs", len(m.g.Inputs)), nil
	}
	in := m.g.Inputs[0]
	if in.Shape == nil || len(in.Shape) < 2 {
		return nil, fmt.Sprintf("input %q has no declared [N, ...] shape", in.Name), nil
	}
	shape := make([]int, len(in.Shape))
	for k, d := range in.Shape[1:] {
		if d.Value <= 0 {
			return nil, fmt.Sprintf("input %q has a symbolic or empty dimension %d", in.Name, k+1), nil
		}
		shape[k+1] = int(d.Value)
	}
	if r := len(shape); r != 2 && r != 4 {
		return nil, fmt.Sprintf("input %q has rank %d; the engine takes [N, C, H, W] or [N, F]", in.Name, r), nil
	}
	at := func(n int) (*plan, error) {
		s := append([]int{n}, shape[1:]...)
		if err := checkShape(s, m.opts.Decode.Limits); err != nil {
			return nil, err
		}
		return m.inferPlan([]*value{meta(s, false)}, newBudget(m.lim, "planning for input shapes"))
	}
	p1, err := at(1)
	if err != nil {
		return nil, "", err
	}
	p2, err := at(2)
	if err != nil {
		return nil, fmt.Sprintf("the graph does not compute at batch 2: %v", err), nil
	}
	if len(p1.steps) != len(p2.steps) {
		return nil, "the graph computes different steps at batches 1 and 2", nil
	}
	lw := &lowering{m: m, p1: p1, p2: p2, params: nn.Params{}, node: map[int]int{m.inSlot[0]: 0}, paths: map[string]bool{}}
	if lw.b, err = nn.NewBuilder(nn.Shape(shape[1:])); err != nil {
		return nil, err.Error(), nil
	}
	lw.readers, lw.outputs, lw.done = map[int][]step{}, map[int]bool{}, map[*lnode]bool{}
	for _, st := range p1.steps {
		for _, s := range st.ln.in {
			if s >= 0 {
				lw.readers[s] = append(lw.readers[s], st)
			}
		}
	}
	for _, s := range m.outSlt {
		lw.outputs[s] = true
	}
	for i, st := range p1.steps {
		if st.ln != p2.steps[i].ln {
			return nil, "the graph computes different steps at batches 1 and 2", nil
		}
		if lw.done[st.ln] {
			continue
		}
		if err := lw.step(st); err != nil {
			if nl, ok := err.(*notLowered); ok {
				return nil, fmt.Sprintf("node %q (%s): %s", st.ln.n.Name, st.ln.n.OpType, nl.why), nil
			}
			return nil, fmt.Sprintf("node %q (%s): %v", st.ln.n.Name, st.ln.n.OpType, err), nil
		}
	}
	outs := make([]int, len(m.outSlt))
	for k, s := range m.outSlt {
		id, ok := lw.node[s]
		if !ok || id == 0 {
			return nil, fmt.Sprintf("output %q is not computed by the engine's part of the graph", m.g.Outputs[k].Name), nil
		}
		outs[k] = id
	}
	var aux []nn.AuxOutput
	for k, id := range outs[1:] {
		aux = append(aux, nn.AuxOutput{Name: m.g.Outputs[k+1].Name, Node: id})
	}
	g, err := lw.b.Graph(outs[0], aux...)
	if err != nil {
		return nil, err.Error(), nil
	}
	em, err := engine.Compile(g, lw.params)
	if err != nil {
		return nil, fmt.Sprintf("engine.Compile: %v", err), nil
	}
	return em, "", nil
}

// batched checks that a run-time value has shape [n, s...] at batch n with
// the same s at both batches, and returns s.
func (lw *lowering) batched(slot int) (nn.Shape, error) {
	a, b := lw.p1.vals[slot], lw.p2.vals[slot]
	if a == nil || b == nil || a.known || a.isInt {
		return nil, cannot("value %q is not a float value computed at run time", lw.m.names[slot])
	}
	if len(a.shape) < 2 || len(a.shape) != len(b.shape) || a.shape[0] != 1 || b.shape[0] != 2 || !sameInts(a.shape[1:], b.shape[1:]) {
		return nil, cannot("value %q has shape %v at batch 1 and %v at batch 2, not [N, ...]", lw.m.names[slot], a.shape, b.shape)
	}
	return nn.Shape(a.shape[1:]), nil
}

// constant returns the data of a constant input (nil for an omitted
// optional input).
func (lw *lowering) constant(slot int) (*value, error) {
	if slot < 0 {
		return nil, nil
	}
	v := lw.m.consts[slot]
	if v == nil || v.isInt {
		// Values computed from the input shape differ between batch
		// sizes; the engine's weights cannot.
		return nil, cannot("input %q is not a float constant of the model", lw.m.names[slot])
	}
	return v, nil
}

// path returns a unique nn path for a node.
func (lw *lowering) path(n *onnxir.Node) string {
	p := strings.ReplaceAll(n.Name, ".", "_")
	if p == "" {
		p = "node"
	}
	base := p
	for k := 2; lw.paths[p]; k++ {
		p = fmt.Sprintf("%s_%d", base, k)
	}
	lw.paths[p] = true
	return p
}

// add appends an nn node reading the given slots and binds out to it.
func (lw *lowering) add(n *onnxir.Node, op nn.Block, out int, ins ...int) (string, error) {
	ids := make([]int, len(ins))
	for k, s := range ins {
		id, ok := lw.node[s]
		if !ok {
			return "", cannot("input %q is not computed by the engine's part of the graph", lw.m.names[s])
		}
		ids[k] = id
	}
	path := lw.path(n)
	id, err := lw.b.Add(path, op, ids...)
	if err != nil {
		return "", cannot("%v", err)
	}
	lw.node[out] = id
	return path, nil
}

func (lw *lowering) param(path string, shape []int, data []float32) {
	lw.params[path] = &tensor.Tensor{Shape: shape, Data: data}
}

// step lowers one run-time node.
func (lw *lowering) step(st step) error {
	ln := st.ln
	n := ln.n
	if len(ln.out) != 1 {
		return cannot("%d outputs", len(ln.out))
	}
	out := ln.out[0]
	oshape, err := lw.batched(out)
	if err != nil {
		return err
	}
	// run-time (batched) inputs and constant inputs, in input order
	var rt []int
	var cs []*value
	for _, s := range ln.in {
		if s < 0 {
			cs = append(cs, nil)
			continue
		}
		if v := lw.p1.vals[s]; v != nil && v.known {
			if v.isInt {
				// Integer shape inputs (Reshape, Unsqueeze) are fine: the
				// output shape check decides.
				cs = append(cs, nil)
				continue
			}
			c, err := lw.constant(s)
			if err != nil {
				return err
			}
			cs = append(cs, c)
			continue
		}
		if _, err := lw.batched(s); err != nil {
			return err
		}
		rt = append(rt, s)
		cs = append(cs, nil)
	}
	if len(rt) == 0 {
		return cannot("no run-time input")
	}
	x := rt[0]
	xshape, _ := lw.batched(x)
	alias := func() error {
		if !sameInts(xshape, oshape) {
			return cannot("output shape %v differs from input shape %v", oshape, xshape)
		}
		id, ok := lw.node[x]
		if !ok {
			return cannot("input %q is not computed by the engine's part of the graph", lw.m.names[x])
		}
		lw.node[out] = id
		return nil
	}
	one := func() error {
		if len(rt) != 1 || ln.in[0] != x {
			return cannot("want one run-time input, the first")
		}
		return nil
	}
	switch o := ln.op.(type) {
	case *convOp:
		cp := st.prep.(*convPrep)
		if len(xshape) != 3 {
			return cannot("1-D convolution")
		}
		if err := one(); err != nil {
			return err
		}
		w, err := lw.constant(ln.in[1])
		if err != nil {
			return err
		}
		var bias *value
		if len(ln.in) > 2 {
			if bias, err = lw.constant(ln.in[2]); err != nil {
				return err
			}
		}
		p := cp.p
		op := nn.Conv{Out: p.OutC, Kernel: [2]int{p.KH, p.KW}, Stride: [2]int{p.StrideH, p.StrideW},
			Pad: nn.Pad{T: p.PadT, L: p.PadL, B: p.PadB, R: p.PadR}, Dilation: [2]int{p.DilH, p.DilW}, Groups: p.Groups, Bias: bias != nil}
		path, err := lw.add(n, op, out, x)
		if err != nil {
			return err
		}
		lw.param(path+".weight", w.shape, w.f)
		if bias != nil {
			lw.param(path+".bias", []int{p.OutC}, bias.f)
		}
		return nil
	case *bnOp:
		if err := one(); err != nil {
			return err
		}
		if !(o.eps > 0) {
			return cannot("epsilon %v: the engine's BatchNorm needs a positive epsilon", o.eps)
		}
		var ps [4]*value
		for k := range ps {
			if ps[k], err = lw.constant(ln.in[k+1]); err != nil {
				return err
			}
		}
		path, err := lw.add(n, nn.BatchNorm{Eps: o.eps}, out, x)
		if err != nil {
			return err
		}
		c := []int{xshape[0]}
		lw.param(path+".weight", c, ps[0].f)
		lw.param(path+".bias", c, ps[1].f)
		lw.param(path+".running_mean", c, ps[2].f)
		lw.param(path+".running_var", c, ps[3].f)
		return nil
	case reluOp:
		if err := one(); err != nil {
			return err
		}
		_, err := lw.add(n, nn.ReLU{}, out, x)
		return err
	case *clipOp:
		if err := one(); err != nil {
			return err
		}
		lo, hi := o.lo, o.hi
		if !o.attrs {
			lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
			if len(cs) > 1 && cs[1] != nil {
				lo = cs[1].f[0]
			}
			if len(cs) > 2 && cs[2] != nil {
				hi = cs[2].f[0]
			}
		}
		if lo != 0 || !(hi >= math.MaxFloat32) {
			return cannot("Clip(%v, %v) is not a ReLU", lo, hi)
		}
		_, err := lw.add(n, nn.ReLU{}, out, x)
		return err
	case *poolOp:
		if err := one(); err != nil {
			return err
		}
		if len(xshape) != 3 {
			return cannot("1-D pooling")
		}
		pp := st.prep.(kernels.PoolParams)
		k, s := [2]int{pp.KH, pp.KW}, [2]int{pp.StrideH, pp.StrideW}
		pad := nn.Pad{T: pp.PadT, L: pp.PadL, B: pp.PadB, R: pp.PadR}
		var op nn.Block
		if o.max {
			op = nn.MaxPool{Kernel: k, Stride: s, Pad: pad, Dilation: [2]int{pp.DilH, pp.DilW}, CeilMode: pp.CeilMode}
		} else {
			op = nn.AvgPool{Kernel: k, Stride: s, Pad: pad, CeilMode: pp.CeilMode, CountIncludePad: o.countPad}
		}
		_, err := lw.add(n, op, out, x)
		return err
	case globalAvgOp:
		if err := one(); err != nil {
			return err
		}
		if len(xshape) != 3 {
			return cannot("input rank %d", len(xshape)+1)
		}
		_, err := lw.add(n, nn.GlobalAvgPool{}, out, x)
		return err
	case *lrnOp:
		if err := one(); err != nil {
			return err
		}
		if len(xshape) != 3 {
			return cannot("input rank %d", len(xshape)+1)
		}
		_, err := lw.add(n, nn.LRN{Size: o.size, Alpha: o.alpha, Beta: o.beta, Bias: o.bias}, out, x)
		return err
	case *concatOp:
		if st.prep.(concatPrep).axis != 1 || len(rt) != len(ln.in) {
			return cannot("concatenation on axis %d of constants or values other than channels", st.prep.(concatPrep).axis)
		}
		_, err := lw.add(n, nn.Concat{}, out, rt...)
		return err
	case *binOp:
		return lw.binary(n, o.kind, ln, cs, rt, xshape, out)
	case *reshapeOp, *dropoutOp:
		if err := one(); err != nil {
			return err
		}
		if len(oshape) == 1 && len(xshape) == 3 {
			_, err := lw.add(n, nn.Flatten{}, out, x)
			return err
		}
		if len(oshape) == 2 && len(xshape) == 3 && oshape[0] == xshape[0] && oshape[1] == xshape[1]*xshape[2] {
			return lw.adaptivePool(n, x, xshape, out)
		}
		return alias()
	case *castOp:
		if o.to != onnxir.Float32 && o.to != onnxir.Float64 {
			return cannot("Cast to %v", o.to)
		}
		if err := one(); err != nil {
			return err
		}
		return alias()
	case *gemmOp:
		return lw.gemm(n, o, st.prep.(gemmPrep), ln, cs, rt, xshape, out)
	case matmulOp:
		mp := st.prep.(*matmulPrep)
		if err := one(); err != nil {
			return err
		}
		w := cs[1]
		if len(xshape) != 1 || w == nil || len(w.shape) != 2 {
			return cannot("MatMul of %v by %v: want [N, K] by a constant [K, M]", xshape, w)
		}
		wt := make([]float32, mp.n*mp.k)
		for i := 0; i < mp.k; i++ {
			for j := 0; j < mp.n; j++ {
				wt[j*mp.k+i] = w.f[i*mp.n+j]
			}
		}
		path, err := lw.add(n, nn.Linear{Out: mp.n}, out, x)
		if err != nil {
			return err
		}
		lw.param(path+".weight", []int{mp.n, mp.k}, wt)
		return nil
	case *softmaxOp:
		if err := one(); err != nil {
			return err
		}
		sp := st.prep.(softmaxPrep)
		if len(xshape) != 1 || sp.inner != 1 || sp.outer != 1 {
			return cannot("softmax over %v is not over the features of [N, F]", xshape)
		}
		_, err := lw.add(n, nn.Softmax{}, out, x)
		return err
	}
	return cannot("no engine op")
}

// binary lowers Add, Sub, Mul and Div: of two run-time values of one shape
// (Add and Sub only) to nn.Add, and of a run-time value and a per-channel
// or scalar constant to nn.Affine.
func (lw *lowering) binary(n *onnxir.Node, kind binKind, ln *lnode, cs []*value, rt []int, xshape nn.Shape, out int) error {
	if len(rt) == 2 {
		a, b := rt[0], rt[1]
		bs, _ := lw.batched(b)
		if !sameInts(xshape, bs) || ln.in[0] != a {
			return cannot("operands of shapes %v and %v", xshape, bs)
		}
		switch kind {
		case opAdd:
			_, err := lw.add(n, nn.Add{Scale: 1}, out, a, b)
			return err
		case opSub:
			_, err := lw.add(n, nn.Add{Scale: -1}, out, a, b)
			return err
		}
		return cannot("product or quotient of two run-time values")
	}
	x := rt[0]
	xFirst := ln.in[0] == x
	c := cs[0]
	if xFirst {
		c = cs[1]
	}
	ch := xshape[0]
	per, ok := perChannel(c, len(xshape)+1, ch)
	if !ok {
		return cannot("constant %v is not per channel of %v", c.shape, xshape)
	}
	scale, shift := make([]float32, ch), make([]float32, ch)
	for i := range scale {
		k := per(i)
		switch {
		case kind == opAdd:
			scale[i], shift[i] = 1, k
		case kind == opMul:
			scale[i] = k
		case kind == opSub && xFirst:
			scale[i], shift[i] = 1, -k
		case kind == opSub:
			scale[i], shift[i] = -1, k
		case kind == opDiv && xFirst:
			if k == 0 {
				return cannot("division by a zero constant")
			}
			scale[i] = float32(1 / float64(k))
		default:
			return cannot("division of a constant by a run-time value")
		}
	}
	_, err := lw.add(n, nn.Affine{Scale: scale, Shift: shift}, out, x)
	return err
}

// perChannel returns the per-channel value of a constant broadcast against
// a rank-r [N, C, ...] value: a scalar, or a tensor whose only non-1
// dimension is the channel axis.
func perChannel(c *value, r, ch int) (func(int) float32, bool) {
	if c == nil || len(c.shape) > r || len(c.f) == 0 {
		return nil, false
	}
	per := false
	for k, d := range c.shape {
		axis := k + r - len(c.shape)
		switch {
		case d == 1:
		case axis == 1 && d == ch:
			per = true
		default:
			return nil, false
		}
	}
	if per {
		return func(i int) float32 { return c.f[i] }, true
	}
	return func(int) float32 { return c.f[0] }, true
}

// gemm lowers Gemm(A, B, C) with A the run-time [N, K] value and B, C
// constants to nn.Linear with weight alpha·B (transposed as needed) and
// bias beta·C.
func (lw *lowering) gemm(n *onnxir.Node, o *gemmOp, gp gemmPrep, ln *lnode, cs []*value, rt []int, xshape nn.Shape, out int) error {
	if len(rt) != 1 || ln.in[0] != rt[0] || o.transA || len(xshape) != 1 {
		return cannot("Gemm whose A is not the run-time [N, K] value")
	}
	b := cs[1]
	if b == nil {
		return cannot("Gemm with a run-time B")
	}
	var c *value
	if len(cs) > 2 {
		c = cs[2]
		if c == nil && ln.in[2] >= 0 {
			return cannot("Gemm with a run-time C")
		}
	}
	w := make([]float32, gp.n*gp.k)
	for j := 0; j < gp.n; j++ {
		for i := 0; i < gp.k; i++ {
			v := b.f[i*gp.n+j]
			if o.transB {
				v = b.f[j*gp.k+i]
			}
			w[j*gp.k+i] = float32(float64(o.alpha) * float64(v))
			if o.alpha == 1 {
				w[j*gp.k+i] = v
			}
		}
	}
	var bias []float32
	if c != nil && o.beta != 0 {
		st, ok := broadcastTo(c.shape, []int{1, gp.n})
		if !ok || len(c.shape) == 2 && c.shape[0] != 1 {
			return cannot("Gemm C %v is not a row", c.shape)
		}
		bias = make([]float32, gp.n)
		for j := range bias {
			v := c.f[j*st[1]]
			bias[j] = v
			if o.beta != 1 {
				bias[j] = float32(float64(o.beta) * float64(v))
			}
		}
	}
	path, err := lw.add(n, nn.Linear{Out: gp.n, Bias: bias != nil}, out, rt[0])
	if err != nil {
		return err
	}
	lw.param(path+".weight", []int{gp.n, gp.k}, w)
	if bias != nil {
		lw.param(path+".bias", []int{gp.n}, bias)
	}
	return nil
}

// only returns the one run-time step reading slot, if exactly one does
// and slot is not a graph output.
func (lw *lowering) only(slot int) (step, bool) {
	rs := lw.readers[slot]
	if len(rs) != 1 || lw.outputs[slot] {
		return step{}, false
	}
	return rs[0], true
}

// adaptivePool lowers convert.Export's form of a non-uniform adaptive
// average pool — Reshape [N, C, H, W] to [N, C, H·W], MatMul by the
// constant bin-averaging matrix [H·W, oh·ow], Reshape to [N, C, oh, ow] —
// to nn.AdaptiveAvgPool, when the matrix is exactly PyTorch's bins
// (start ⌊i·H/oh⌋, end ⌈(i+1)·H/oh⌉) as that exporter writes them. flat is
// the first Reshape's output.
func (lw *lowering) adaptivePool(n *onnxir.Node, x int, xshape nn.Shape, flat int) error {
	c, h, w := xshape[0], xshape[1], xshape[2]
	mm, ok := lw.only(flat)
	if _, isMM := mm.ln.op.(matmulOp); !ok || !isMM || mm.ln.in[0] != flat || len(mm.ln.out) != 1 {
		return cannot("[N, %d, %d] is not read by one MatMul (an adaptive pool)", c, h*w)
	}
	bins, err := lw.constant(mm.ln.in[1])
	if err != nil || len(bins.shape) != 2 || bins.shape[0] != h*w {
		return cannot("MatMul %q: not by a constant [%d, K] bin matrix", mm.ln.n.Name, h*w)
	}
	last, ok := lw.only(mm.ln.out[0])
	if _, isRS := last.ln.op.(*reshapeOp); !ok || !isRS || last.ln.in[0] != mm.ln.out[0] || len(last.ln.out) != 1 {
		return cannot("MatMul %q: not followed by one Reshape (an adaptive pool)", mm.ln.n.Name)
	}
	os, err := lw.batched(last.ln.out[0])
	if err != nil {
		return err
	}
	if len(os) != 3 || os[0] != c || os[1]*os[2] != bins.shape[1] {
		return cannot("Reshape %q to %v: not [%d, oh, ow] with oh·ow = %d", last.ln.n.Name, os, c, bins.shape[1])
	}
	oh, ow := os[1], os[2]
	want := make([]float32, h*w*oh*ow)
	for i := 0; i < oh; i++ {
		h0, h1 := i*h/oh, ((i+1)*h+oh-1)/oh
		for j := 0; j < ow; j++ {
			w0, w1 := j*w/ow, ((j+1)*w+ow-1)/ow
			v := float32(1 / float64((h1-h0)*(w1-w0)))
			for y := h0; y < h1; y++ {
				for xx := w0; xx < w1; xx++ {
					want[(y*w+xx)*oh*ow+i*ow+j] = v
				}
			}
		}
	}
	for i, v := range want {
		if bins.f[i] != v {
			return cannot("MatMul %q: its [%d, %d] matrix is not an adaptive pool's bins", mm.ln.n.Name, h*w, oh*ow)
		}
	}
	if _, err := lw.add(n, nn.AdaptiveAvgPool{Out: [2]int{oh, ow}}, last.ln.out[0], x); err != nil {
		return err
	}
	lw.done[mm.ln], lw.done[last.ln] = true, true
	return nil
}
