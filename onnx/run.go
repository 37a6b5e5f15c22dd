package onnx

import (
	"github.com/inceptionzoo/inception/internal/liveness"
	"github.com/inceptionzoo/inception/onnx/onnxir"

	"fmt"
	"strings"
	"sync"

	"github.com/inceptionzoo/inception/tensor"
)

// runCtx carries per-Run scratch space.
type runCtx struct {
	ws []float32 // Conv2D workspace
}

// plan is the execution plan for one set of input shapes: every value's
// shape, the values computable from shapes alone (computed once), the steps
// left for run time, and a buffer assignment by liveness.
type plan struct {
	vals   []*value // per slot: known data, or shape-only metadata
	steps  []step
	buf    []int // per slot: arena buffer, or -1 (fresh allocation)
	bufLen []int
	wsLen  int
	arenas sync.Pool // *arena
}

type step struct {
	ln   *lnode
	prep any
}

type arena struct {
	bufs [][]float32
	ws   []float32
}

// planFor returns the plan for the given input metadata (float inputs
// shape-only, integer inputs with data). Plans for float-only inputs are
// cached per shape; models with integer inputs plan every Run, since their
// values may decide shapes.
func (m *Model) planFor(ins []*value, key []string) (*plan, error) {
	cache := !m.hasInt
	k := strings.Join(key, ";")
	if cache {
		m.mu.Lock()
		defer m.mu.Unlock()
		if p, ok := m.plans[k]; ok {
			return p, nil
		}
	}
	p, err := m.buildPlan(ins)
	if err != nil {
		return nil, err
	}
	if cache && len(m.plans) < maxCachedPlans {
		m.plans[k] = p
	}
	return p, nil
}

func (m *Model) buildPlan(ins []*value) (*plan, error) {
	l := m.opts.Decode.Limits
	p := &plan{vals: append([]*value(nil), m.consts...)}
	for k, s := range m.inSlot {
		p.vals[s] = ins[k]
	}
	for _, ln := range m.nodes {
		in := make([]*value, len(ln.in))
		known := true
		for k, s := range ln.in {
			if s < 0 {
				continue
			}
			in[k] = p.vals[s]
			if in[k] == nil {
				return nil, ln.n.Wrap(formatErr("input %q is not available", m.names[s]))
			}
			known = known && in[k].known
		}
		if known {
			outs, err := evalNode(ln, in, l)
			if err != nil {
				return nil, err
			}
			for k, s := range ln.out {
				p.vals[s] = outs[k]
			}
			continue
		}
		outs, prep, err := ln.op.infer(in)
		if err != nil {
			return nil, ln.n.Wrap(err)
		}
		allKnown := true
		for _, o := range outs {
			allKnown = allKnown && o != nil && o.known
		}
		if len(outs) != len(ln.out) {
			return nil, ln.n.Wrap(formatErr("operator produced %d outputs, node has %d", len(outs), len(ln.out)))
		}
		for k, o := range outs {
			if o == nil {
				o = meta([]int{0}, false)
				outs[k] = o
			}
			if err := checkShape(o.shape, l); err != nil {
				return nil, ln.n.Wrap(fmt.Errorf("output %q: %w", m.names[ln.out[k]], err))
			}
			p.vals[ln.out[k]] = o
		}
		if allKnown {
			continue // computed from shapes alone (Shape)
		}
		if w, ok := ln.op.(workspacer); ok {
			ws := w.workspace(prep)
			if int64(ws) > l.MaxTensorElements {
				return nil, ln.n.Wrap(limitErr("workspace of %d elements exceeds MaxTensorElements %d", ws, l.MaxTensorElements))
			}
			p.wsLen = max(p.wsLen, ws)
		}
		p.steps = append(p.steps, step{ln: ln, prep: prep})
	}
	if err := p.assignBuffers(m); err != nil {
		return nil, err
	}
	return p, nil
}

// assignBuffers shares float buffers between runtime values whose lifetimes
// do not overlap (liveness.Assign, the engine's planner too): a value lives
// from the step that writes it to the last step that reads it, however
// many times that step reads it. Graph outputs and integer values get
// fresh allocations.
func (p *plan) assignBuffers(m *Model) error {
	p.buf = make([]int, len(p.vals))
	for k := range p.buf {
		p.buf[k] = -1
	}
	isOut := map[int]bool{}
	for _, s := range m.outSlt {
		isOut[s] = true
	}
	last := map[int]int{}
	for i, st := range p.steps {
		for _, s := range st.ln.in {
			if s >= 0 {
				last[s] = i
			}
		}
	}
	var vals []liveness.Value
	var slots []int
	total := int64(p.wsLen) * 4
	for i, st := range p.steps {
		for _, s := range st.ln.out {
			v := p.vals[s]
			if v.isInt || isOut[s] {
				total += int64(v.numel()) * 8
				continue
			}
			end := i
			if l, ok := last[s]; ok && l > i {
				end = l
			}
			vals = append(vals, liveness.Value{Size: v.numel(), Def: i, Last: end})
			slots = append(slots, s)
		}
	}
	lp := liveness.Assign(vals)
	for k, s := range slots {
		p.buf[s] = lp.Buffer[k]
	}
	p.bufLen = lp.Sizes
	total += 4 * lp.Total()
	if total > m.opts.MaxActivationBytes {
		return limitErr("a run needs %d bytes of activations, over MaxActivationBytes %d", total, m.opts.MaxActivationBytes)
	}
	return nil
}

// execute runs the plan on runtime inputs (indexed like Model.inSlot).
func (m *Model) execute(p *plan, ins []*value) ([]*value, error) {
	a, _ := p.arenas.Get().(*arena)
	if a == nil {
		a = &arena{bufs: make([][]float32, len(p.bufLen)), ws: make([]float32, p.wsLen)}
		for k, n := range p.bufLen {
			a.bufs[k] = make([]float32, n)
		}
	}
	defer p.arenas.Put(a)
	vals := append([]*value(nil), p.vals...)
	for k, s := range m.inSlot {
		vals[s] = ins[k]
	}
	rc := &runCtx{ws: a.ws}
	for _, st := range p.steps {
		in := make([]*value, len(st.ln.in))
		for k, s := range st.ln.in {
			if s >= 0 {
				in[k] = vals[s]
			}
		}
		out := make([]*value, len(st.ln.out))
		for k, s := range st.ln.out {
			mv := p.vals[s]
			v := &value{shape: mv.shape, isInt: mv.isInt, known: true}
			if b := p.buf[s]; b >= 0 {
				v.f = a.bufs[b][:mv.numel()]
			} else {
				v.alloc()
			}
			out[k] = v
			vals[s] = v
		}
		if err := st.ln.op.exec(rc, st.prep, in, out); err != nil {
			return nil, st.ln.n.Wrap(err)
		}
	}
	res := make([]*value, len(m.outSlt))
	fresh := map[int]bool{}
	for _, st := range p.steps {
		for _, s := range st.ln.out {
			fresh[s] = p.buf[s] < 0
		}
	}
	for k, s := range m.outSlt {
		v := vals[s]
		if !fresh[s] {
			c := &value{shape: cloneInts(v.shape), isInt: v.isInt, known: true}
			c.i = append([]int64{}, v.i...)
			c.f = append([]float32{}, v.f...)
			if c.isInt {
				c.f = nil
			} else {
				c.i = nil
			}
			v = c
		}
		res[k] = v
	}
	return res, nil
}

// checkInputs validates the runtime inputs against the declared inputs and
// returns the plan key.
func (m *Model) checkInputs(ins []*value) ([]string, error) {
	l := m.opts.Decode.Limits
	key := make([]string, len(ins))
	for k, in := range m.g.Inputs {
		v := ins[k]
		want := "float"
		if !in.DType.IsFloat() {
			want = "integer"
		}
		if v.isInt == in.DType.IsFloat() {
			return nil, &TensorError{Tensor: in.Name, Err: inputErr("got %v, the model declares a %s (%v) input", v, want, in.DType)}
		}
		if err := checkShape(v.shape, l); err != nil {
			return nil, &TensorError{Tensor: in.Name, Err: fmt.Errorf("%w: %w", ErrInput, err)}
		}
		n := v.numel()
		if (v.isInt && len(v.i) != n) || (!v.isInt && len(v.f) != n) {
			return nil, &TensorError{Tensor: in.Name, Err: inputErr("shape %v needs %d elements, got %d", v.shape, n, len(v.f)+len(v.i))}
		}
		if in.Shape != nil {
			if err := m.checkDims(in, v.shape); err != nil {
				return nil, &TensorError{Tensor: in.Name, Err: err}
			}
		}
		key[k] = fmt.Sprint(v.shape)
	}
	return key, nil
}

func (m *Model) checkDims(in onnxir.ValueInfo, got []int) error {
	decl := make([]string, len(in.Shape))
	for k, d := range in.Shape {
		if d.Value >= 0 {
			decl[k] = fmt.Sprint(d.Value)
		} else if d.Param != "" {
			decl[k] = d.Param
		} else {
			decl[k] = "?"
		}
	}
	declared := "[" + strings.Join(decl, " ") + "]"
	if len(got) != len(in.Shape) {
		return inputErr("shape %v has rank %d, the model declares %s", got, len(got), declared)
	}
	for k, d := range in.Shape {
		switch {
		case k == 0 && int64(got[0]) != d.Value:
			if got[0] < 1 || got[0] > m.opts.MaxBatch {
				return inputErr("shape %v: batch %d outside 1..%d (declared %s)", got, got[0], m.opts.MaxBatch, declared)
			}
		case k > 0 && d.Value >= 0 && int64(got[k]) != d.Value:
			return inputErr("shape %v does not match the declared shape %s (dim %d)", got, declared, k)
		}
	}
	return nil
}

func (m *Model) run(ins []*value) ([]*value, error) {
	key, err := m.checkInputs(ins)
	if err != nil {
		return nil, err
	}
	planIns := make([]*value, len(ins))
	for k, v := range ins {
		if v.isInt {
			planIns[k] = v
		} else {
			planIns[k] = meta(v.shape, false)
		}
	}
	p, err := m.planFor(planIns, key)
	if err != nil {
		return nil, err
	}
	return m.execute(p, ins)
}

// Run evaluates the model. inputs maps every graph input name (see
// InputNames) to a float32 tensor; each input's shape must match the
// declared one except the first (batch) dimension, which may be anything
// from 1 to LoadOptions.MaxBatch. The result maps every graph output name
// to a new tensor owned by the caller (integer outputs are converted to
// float32). Errors: a *TensorError wrapping ErrInput for a bad input, a
// *NodeError wrapping ErrFormat (the graph cannot compute these shapes),
// ErrUnsupported (a data-dependent shape) or ErrInput (bad data, such as
// an out-of-range Gather index). Run never panics and never modifies its
// inputs. Models with integer inputs need RunTensors.
func (m *Model) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	ins := make([]*value, len(m.g.Inputs))
	for k, in := range m.g.Inputs {
		t, ok := inputs[in.Name]
		if !ok || t == nil {
			return nil, &TensorError{Tensor: in.Name, Err: inputErr("missing input")}
		}
		if !in.DType.IsFloat() {
			return nil, &TensorError{Tensor: in.Name, Err: inputErr("integer (%v) input: use RunTensors", in.DType)}
		}
		ins[k] = &value{shape: t.Shape, f: t.Data, known: true}
	}
	for k := range inputs {
		if err := m.isInput(k); err != nil {
			return nil, err
		}
	}
	outs, err := m.run(ins)
	if err != nil {
		return nil, err
	}
	res := make(map[string]*tensor.Tensor, len(outs))
	for k, o := range m.g.Outputs {
		res[o.Name] = &tensor.Tensor{Shape: cloneInts(outs[k].shape), Data: outs[k].floats()}
	}
	return res, nil
}

// RunTensors is Run on decoded ONNX tensors: integer and boolean inputs
// are accepted (as onnxir.Tensor.Int), and integer outputs are returned as int64
// tensors. Float outputs have DType onnxir.Float32, integer outputs onnxir.Int64.
func (m *Model) RunTensors(inputs map[string]*onnxir.Tensor) (map[string]*onnxir.Tensor, error) {
	l := m.opts.Decode.Limits
	ins := make([]*value, len(m.g.Inputs))
	for k, in := range m.g.Inputs {
		t, ok := inputs[in.Name]
		if !ok || t == nil {
			return nil, &TensorError{Tensor: in.Name, Err: inputErr("missing input")}
		}
		v, err := valueFromTensor(t, l)
		if err != nil {
			return nil, &TensorError{Tensor: in.Name, Err: fmt.Errorf("%w: %w", ErrInput, err)}
		}
		ins[k] = v
	}
	for k := range inputs {
		if err := m.isInput(k); err != nil {
			return nil, err
		}
	}
	outs, err := m.run(ins)
	if err != nil {
		return nil, err
	}
	res := make(map[string]*onnxir.Tensor, len(outs))
	for k, o := range m.g.Outputs {
		v := outs[k]
		t := &onnxir.Tensor{Name: o.Name, Dims: make([]int64, len(v.shape))}
		for j, d := range v.shape {
			t.Dims[j] = int64(d)
		}
		if v.isInt {
			t.DType, t.Int = onnxir.Int64, v.i
		} else {
			t.DType, t.Float = onnxir.Float32, v.f
		}
		res[o.Name] = t
	}
	return res, nil
}

func (m *Model) isInput(name string) error {
	for _, in := range m.g.Inputs {
		if in.Name == name {
			return nil
		}
	}
	names := m.InputNames()
	if len(names) > 8 {
		names = append(names[:8:8], "...")
	}
	return &TensorError{Tensor: name, Err: inputErr("not an input of the model (%d inputs: %s)", len(m.g.Inputs), strings.Join(names, ", "))}
}
