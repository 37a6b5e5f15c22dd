package onnx

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/internal/liveness"
	"github.com/inceptionzoo/inception/onnx/onnxir"
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
	bytes  int64     // data of the values computed while planning (cache accounting)
	geom   string    // its packGroup's key, once cached
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
//
// The cache is bounded by maxCachedPlans and Limits.MaxPlanBytes, oldest
// plans evicted first. Its bytes are the values each plan computed from
// shapes plus, once per input geometry (the input shapes without the
// batch dimension), the packed conv weights that all plans of that
// geometry share: batch sizes never repack, other image sizes do.
func (m *Model) planFor(ins []*value, key []string) (*plan, error) {
	cache := !m.hasInt
	k := strings.Join(key, ";")
	geom := geometryKey(ins)
	var g *packGroup
	if cache {
		m.mu.Lock()
		defer m.mu.Unlock()
		if p, ok := m.plans[k]; ok {
			return p, nil
		}
		g = m.groups[geom]
	}
	if g == nil {
		g = &packGroup{convs: map[packKey]*kernels.Conv{}}
	}
	p, err := m.buildPlan(ins, g)
	if err != nil {
		return nil, err
	}
	if !cache {
		return p, nil
	}
	// The bytes caching p adds: its own, and its group's if the group is
	// not cached yet.
	need := func() int64 {
		if m.groups[geom] == nil {
			return p.bytes + g.bytes
		}
		return p.bytes
	}
	for len(m.order) > 0 && (len(m.plans) >= maxCachedPlans || m.planBytes+need() > m.lim.MaxPlanBytes) {
		m.evictOldest()
	}
	if len(m.plans) < maxCachedPlans && m.planBytes+need() <= m.lim.MaxPlanBytes {
		if m.groups[geom] == nil {
			m.groups[geom] = g
			m.planBytes += g.bytes
		}
		g.plans++
		p.geom = geom
		m.plans[k] = p
		m.order = append(m.order, k)
		m.planBytes += p.bytes
	}
	return p, nil
}

// evictOldest drops the oldest cached plan, and its group of packed
// weights when no other cached plan uses it. m.mu must be held.
func (m *Model) evictOldest() {
	old := m.order[0]
	m.order = m.order[1:]
	op := m.plans[old]
	delete(m.plans, old)
	m.planBytes -= op.bytes
	if g := m.groups[op.geom]; g != nil {
		if g.plans--; g.plans == 0 {
			m.planBytes -= g.bytes
			delete(m.groups, op.geom)
		}
	}
}

// packGroup holds the packed conv weights shared by the plans of one input
// geometry.
type packGroup struct {
	convs map[packKey]*kernels.Conv
	bytes int64 // about 4 bytes per weight
	plans int   // cached plans using the group
}

type packKey struct {
	ln   *lnode
	h, w int
}

// geometryKey is the input shapes without their batch dimension.
func geometryKey(ins []*value) string {
	parts := make([]string, len(ins))
	for k, v := range ins {
		if len(v.shape) > 0 {
			parts[k] = fmt.Sprint(v.shape[1:])
		}
		if v.isInt {
			parts[k] = fmt.Sprint(v.shape, v.i)
		}
	}
	return strings.Join(parts, ";")
}

// packedConv returns the prepared convolution of a conv node with
// constant weights w and bias b for the geometry p, packing the weights
// once per group (kernels.NewConv ignores the batch size). Weights
// computed from input shapes (not load-time constants) are packed for
// this plan only.
func (m *Model) packedConv(g *packGroup, ln *lnode, c *convOp, p kernels.ConvParams, w, b *value) *kernels.Conv {
	pack := func() *kernels.Conv {
		var bias []float32
		if b != nil {
			bias = b.f
		}
		return kernels.NewConv(p, w.f, kernels.Epilogue{Bias: bias, ReLU: c.relu})
	}
	if m.consts[ln.in[1]] == nil || (len(ln.in) > 2 && ln.in[2] >= 0 && m.consts[ln.in[2]] == nil) {
		return pack()
	}
	key := packKey{ln, p.H, p.W}
	cv, ok := g.convs[key]
	if !ok {
		cv = pack()
		g.convs[key] = cv
		g.bytes += 4 * int64(len(w.f))
	}
	return cv
}

// buildPlan plans the model for the given inputs (inferPlan), attaches
// the packed weights of convs with constant weights (from g, see
// packedConv), sizes the conv workspace and shares buffers by liveness.
func (m *Model) buildPlan(ins []*value, g *packGroup) (*plan, error) {
	p, err := m.inferPlan(ins, newBudget(m.lim, "planning for input shapes"))
	if err != nil {
		return nil, err
	}
	l := m.opts.Decode.Limits
	for _, st := range p.steps {
		if c, ok := st.ln.op.(*convOp); ok {
			cp := st.prep.(*convPrep)
			if cp.constW {
				var bias *value
				if len(st.ln.in) > 2 && st.ln.in[2] >= 0 {
					bias = p.vals[st.ln.in[2]]
				}
				cp.prepared = m.packedConv(g, st.ln, c, cp.p, p.vals[st.ln.in[1]], bias)
			}
		}
		if w, ok := st.ln.op.(workspacer); ok {
			ws := w.workspace(st.prep)
			if int64(ws) > l.MaxTensorElements {
				return nil, st.ln.n.Wrap(limitErr("workspace of %d elements exceeds MaxTensorElements %d", ws, l.MaxTensorElements))
			}
			p.wsLen = max(p.wsLen, ws)
		}
	}
	if err := p.assignBuffers(m); err != nil {
		return nil, err
	}
	return p, nil
}

// inferPlan infers every value of the model for the given inputs: nodes
// whose inputs are all known are computed (charged to b), the others get
// their output shapes and a run-time step.
func (m *Model) inferPlan(ins []*value, b *budget) (*plan, error) {
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
			outs, err := evalNode(ln, in, l, b)
			if err != nil {
				return nil, err
			}
			for k, s := range ln.out {
				p.vals[s] = outs[k]
				p.bytes += outs[k].bytes()
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
			if o.known {
				if err := b.charge(o.bytes(), int64(o.numel())); err != nil {
					return nil, ln.n.Wrap(err)
				}
				p.bytes += o.bytes()
			}
			p.vals[ln.out[k]] = o
		}
		if allKnown {
			continue // computed from shapes alone (Shape)
		}
		p.steps = append(p.steps, step{ln: ln, prep: prep})
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
	if total > m.lim.MaxActivationBytes {
		return limitErr("a run needs %d bytes of activations, over MaxActivationBytes %d", total, m.lim.MaxActivationBytes)
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
			if got[0] < 1 || got[0] > m.lim.MaxBatch {
				return inputErr("shape %v: batch %d outside 1..%d (declared %s)", got, got[0], m.lim.MaxBatch, declared)
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
	if m.eng != nil {
		return m.runEngine(ins[0])
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

// runEngine runs the model on the engine: the batch in chunks of at most
// engine.MaxBatch images, each of its outputs (main, then aux in graph
// output order) a new tensor.
func (m *Model) runEngine(x *value) ([]*value, error) {
	n := x.shape[0]
	per := len(x.f) / n
	planned, _ := m.eng.MemoryStats(1)
	outBytes := int64(0)
	shapes := make([][]int, len(m.g.Outputs))
	g := m.eng.Graph()
	ids := []int{g.Output}
	for _, a := range g.Aux {
		ids = append(ids, a.Node)
	}
	for k, id := range ids {
		shapes[k] = append([]int{n}, g.Nodes[id].Out...)
		outBytes += 4 * int64(prod(shapes[k]))
	}
	// Each image in flight has a workspace; at most 4 per core are.
	if need := planned*int64(min(n, 4*runtime.GOMAXPROCS(0))) + outBytes; need > m.lim.MaxActivationBytes {
		return nil, limitErr("a run at batch %d needs %d bytes of activations and outputs, over MaxActivationBytes %d", n, need, m.lim.MaxActivationBytes)
	}
	res := make([]*value, len(ids))
	if n <= engine.MaxBatch {
		xt := &tensor.Tensor{Shape: x.shape, Data: x.f}
		outs, err := m.eng.RunAll(xt)
		if err != nil {
			return nil, inputErr("%v", err)
		}
		for k, o := range outs {
			res[k] = &value{shape: shapes[k], f: o.Data, known: true}
		}
		return res, nil
	}
	for k := range res {
		res[k] = &value{shape: shapes[k], f: make([]float32, prod(shapes[k])), known: true}
	}
	for s := 0; s < n; s += engine.MaxBatch {
		e := min(s+engine.MaxBatch, n)
		xt := &tensor.Tensor{Shape: append([]int{e - s}, x.shape[1:]...), Data: x.f[s*per : e*per]}
		outs, err := m.eng.RunAll(xt)
		if err != nil {
			return nil, inputErr("%v", err)
		}
		for k, o := range outs {
			sz := len(o.Data) / (e - s)
			copy(res[k].f[s*sz:e*sz], o.Data)
		}
	}
	return res, nil
}
