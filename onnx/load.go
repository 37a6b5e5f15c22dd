package onnx

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// LoadOptions configures Load and LoadReader.
type LoadOptions struct {
	// Decode configures decoding (limits, external data, non-finite
	// weights). Its Limits also bound the rank and element count of every
	// tensor the model computes.
	Decode onnxir.DecodeOptions
	// Limits bounds what Load and Run compute and keep; zero fields take
	// DefaultLimits values.
	Limits Limits
	// Interpret runs the model on the interpreter even when its graph fits
	// the engine (see Model.Executor): for comparisons and debugging.
	Interpret bool
}

// maxCachedPlans bounds the number of cached execution plans (input
// shapes) of one model; Limits.MaxPlanBytes bounds their memory.
const maxCachedPlans = 64

// SupportedOps returns the default-domain operators Load accepts (a new
// map on each call).
func SupportedOps() map[string]bool {
	m := map[string]bool{}
	for k := range opTable {
		m[k] = true
	}
	return m
}

// Model is a compiled ONNX model. It is immutable after Load and safe for
// concurrent Run calls.
type Model struct {
	g    *onnxir.Graph
	opts LoadOptions
	lim  Limits // opts.Limits with defaults

	// eng runs the model when its graph fits the engine (lower.go);
	// otherwise why says why not and the interpreter below runs it.
	eng *engine.Model
	why string

	names  []string       // slot -> value name
	slotOf map[string]int // value name -> slot
	consts []*value       // slot -> constant (initializers and folded values), or nil
	nodes  []*lnode       // nodes left to run, topologically sorted
	inSlot []int          // per g.Inputs
	outSlt []int          // per g.Outputs
	hasInt bool           // some graph input is an integer tensor

	mu        sync.Mutex
	plans     map[string]*plan      // cached plans by input shapes
	order     []string              // plan keys, oldest first
	groups    map[string]*packGroup // packed conv weights by input geometry
	planBytes int64                 // the cached plans' and groups' bytes
}

// lnode is a compiled node: its operator and its input/output slots (-1 for
// an omitted optional input).
type lnode struct {
	n   *onnxir.Node
	op  op
	in  []int
	out []int
}

// Load decodes the model at path (see DecodeFile) and compiles it.
func Load(path string, opts LoadOptions) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	if opts.Decode.BaseDir == "" {
		opts.Decode.BaseDir = filepath.Dir(path)
	}
	return LoadReader(f, opts)
}

// LoadReader decodes a model from r and compiles it: every operator is
// checked against SupportedOps() and its attributes are validated,
// everything that does not depend on graph inputs is computed, and the
// graph is compiled onto the engine when it fits (see the package
// documentation), else for the interpreter (BatchNormalization and
// per-channel Mul/Add by constants folded into the preceding Conv, ReLU
// fused). Either way, when the declared input shapes are concrete (a
// symbolic batch counts as 1) they are planned here, so that shape errors
// surface here rather than in Run.
func LoadReader(r io.Reader, opts LoadOptions) (*Model, error) {
	opts.Decode.Limits = opts.Decode.Limits.WithDefaults()
	g, err := onnxir.Decode(r, opts.Decode)
	if err != nil {
		return nil, err
	}
	return compile(g, opts)
}

func compile(g *onnxir.Graph, opts LoadOptions) (*Model, error) {
	if err := g.CheckOps(SupportedOps()); err != nil {
		return nil, err
	}
	l := opts.Decode.Limits
	m := &Model{g: g, opts: opts, lim: opts.Limits.withDefaults(), slotOf: map[string]int{},
		plans: map[string]*plan{}, groups: map[string]*packGroup{}}
	slot := func(name string) int {
		if name != "" {
			if s, ok := m.slotOf[name]; ok {
				return s
			}
		}
		s := len(m.names)
		m.names = append(m.names, name)
		m.consts = append(m.consts, nil)
		if name != "" {
			m.slotOf[name] = s
		}
		return s
	}
	inits := make([]string, 0, len(g.Initializers))
	for name := range g.Initializers {
		inits = append(inits, name)
	}
	sort.Strings(inits)
	for _, name := range inits {
		v, err := valueFromTensor(g.Initializers[name], l)
		if err != nil {
			return nil, &TensorError{Tensor: name, Err: err}
		}
		m.consts[slot(name)] = v
	}
	for _, in := range g.Inputs {
		if in.Shape != nil {
			if len(in.Shape) > l.MaxRank {
				return nil, &TensorError{Tensor: in.Name, Err: limitErr("rank %d exceeds MaxRank %d", len(in.Shape), l.MaxRank)}
			}
		}
		if !in.DType.IsFloat() {
			m.hasInt = true
		}
		m.inSlot = append(m.inSlot, slot(in.Name))
	}
	for _, n := range g.Nodes {
		mk := opTable[n.OpType]
		err := checkAttrNames(n)
		var o op
		if err == nil {
			o, err = mk(n, g.Opset)
		}
		if err != nil {
			var ne *NodeError
			if errors.As(err, &ne) {
				return nil, err
			}
			return nil, n.Wrap(err)
		}
		ln := &lnode{n: n, op: o}
		for _, in := range n.Inputs {
			if in == "" {
				ln.in = append(ln.in, -1)
			} else {
				ln.in = append(ln.in, slot(in))
			}
		}
		for k := 0; k < usedOutputs(n); k++ {
			out := ""
			if k < len(n.Outputs) {
				out = n.Outputs[k]
			}
			ln.out = append(ln.out, slot(out))
		}
		m.nodes = append(m.nodes, ln)
	}
	for _, out := range g.Outputs {
		m.outSlt = append(m.outSlt, m.slotOf[out.Name])
	}
	if err := m.foldConstants(); err != nil {
		return nil, err
	}
	if opts.Interpret {
		m.why = "LoadOptions.Interpret is set"
	} else {
		eng, why, err := m.lower()
		if err != nil {
			return nil, err
		}
		if eng != nil {
			// The engine holds folded, packed copies of the weights.
			m.eng, m.nodes, m.consts = eng, nil, nil
			return m, nil
		}
		m.why = why
	}
	m.fuse()
	if shapes, ok := m.declaredShapes(); ok && !m.hasInt {
		key := make([]string, len(shapes))
		for k, v := range shapes {
			key[k] = fmt.Sprint(v.shape)
		}
		if _, err := m.planFor(shapes, key); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// foldConstants runs, once, every node whose inputs are all constants,
// within one budget of Limits.MaxFoldBytes and MaxFoldOps.
func (m *Model) foldConstants() error {
	l := m.opts.Decode.Limits
	b := newBudget(m.lim, "constant folding")
	var rest []*lnode
	for _, ln := range m.nodes {
		ins := make([]*value, len(ln.in))
		all := true
		for k, s := range ln.in {
			if s < 0 {
				continue
			}
			if m.consts[s] == nil {
				all = false
				break
			}
			ins[k] = m.consts[s]
		}
		if !all {
			rest = append(rest, ln)
			continue
		}
		outs, err := evalNode(ln, ins, l, b)
		if err != nil {
			return err
		}
		for k, s := range ln.out {
			m.consts[s] = outs[k]
		}
	}
	m.nodes = rest
	return nil
}

// evalNode infers and executes ln on known inputs, allocating its outputs;
// their bytes, the scratch space and the node's arithmetic (see cost) are
// charged to b before anything is allocated or computed.
func evalNode(ln *lnode, ins []*value, l onnxir.Limits, b *budget) ([]*value, error) {
	outs, prep, err := ln.op.infer(ins)
	if err != nil {
		return nil, ln.n.Wrap(err)
	}
	var bytes int64
	for _, o := range outs {
		if o == nil {
			continue
		}
		if err := checkShape(o.shape, l); err != nil {
			return nil, ln.n.Wrap(err)
		}
		bytes += int64(o.numel()) * o.elemSize()
	}
	ws := 0
	if w, ok := ln.op.(workspacer); ok {
		ws = w.workspace(prep)
		if int64(ws) > l.MaxTensorElements {
			return nil, ln.n.Wrap(limitErr("workspace of %d elements exceeds MaxTensorElements %d", ws, l.MaxTensorElements))
		}
	}
	if err := b.charge(bytes+4*int64(ws), cost(ln.op, prep, ins, outs)); err != nil {
		return nil, ln.n.Wrap(err)
	}
	rc := &runCtx{ws: make([]float32, ws)}
	for _, o := range outs {
		if o != nil {
			o.alloc()
		}
	}
	if err := ln.op.exec(rc, prep, ins, outs); err != nil {
		return nil, ln.n.Wrap(err)
	}
	return outs, nil
}

// coster is implemented by ops whose arithmetic is more than one operation
// per element read and written.
type coster interface {
	cost(prep any, in, out []*value) float64
}

// cost estimates the operations of one node (see Limits.MaxFoldOps),
// saturating at MaxInt64.
func cost(o op, prep any, in, out []*value) int64 {
	var c float64
	if k, ok := o.(coster); ok {
		c = k.cost(prep, in, out)
	} else {
		for _, v := range append(append([]*value(nil), in...), out...) {
			if v != nil {
				c += float64(v.numel())
			}
		}
	}
	if c >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(c)
}

// uses counts the readers of each slot (graph outputs count as readers).
func (m *Model) uses() []int {
	u := make([]int, len(m.names))
	for _, ln := range m.nodes {
		for _, s := range ln.in {
			if s >= 0 {
				u[s]++
			}
		}
	}
	for _, s := range m.outSlt {
		u[s] += 2 // never fold away a graph output
	}
	return u
}

// fuse folds BatchNormalization, per-channel Mul/Add by constants (the
// Caffe2 Scale pattern) and Relu into the preceding 2-D Conv when its
// weights are constant and each intermediate value has no other reader.
func (m *Model) fuse() {
	uses := m.uses()
	reader := map[int]*lnode{}
	for _, ln := range m.nodes {
		for _, s := range ln.in {
			if s >= 0 {
				reader[s] = ln
			}
		}
	}
	removed := map[*lnode]bool{}
	for _, ln := range m.nodes {
		c, ok := ln.op.(*convOp)
		if !ok || removed[ln] || len(ln.in) < 2 || ln.in[1] < 0 {
			continue
		}
		w := m.consts[ln.in[1]]
		if w == nil || w.isInt || len(w.shape) != 4 || w.shape[0] == 0 || len(w.f) == 0 {
			continue
		}
		var b *value
		if len(ln.in) > 2 && ln.in[2] >= 0 {
			if b = m.consts[ln.in[2]]; b == nil || b.isInt || len(b.f) != w.shape[0] {
				continue
			}
		}
		outC := w.shape[0]
		chain := kernels.IdentityAffine(outC)
		cur := ln.out[0]
		relu, changed := false, false
		for !relu && uses[cur] == 1 {
			next := reader[cur]
			if next == nil || removed[next] || len(next.out) == 0 {
				break
			}
			var ok bool
			var a kernels.Affine
			switch o := next.op.(type) {
			case *bnOp:
				a, ok = m.bnAffine(o, next, cur, outC)
			case *binOp:
				a, ok = m.constAffine(o, next, cur, outC)
			case reluOp:
				ok, relu = next.in[0] == cur, true
			}
			if !ok {
				break
			}
			for _, s := range next.out[1:] {
				if s >= 0 && uses[s] > 0 {
					ok = false
				}
			}
			if !ok {
				break
			}
			if a.Scale != nil {
				chain = chain.Then(a)
			}
			removed[next] = true
			cur = next.out[0]
			changed = true
		}
		if !changed {
			continue
		}
		var bias []float32
		if b != nil {
			bias = b.f
		}
		wf, bf := chain.Fold(w.f, bias, outC)
		nc := *c
		nc.relu = relu
		ws := m.newConst(ln.n.Name+"/folded_w", &value{shape: cloneInts(w.shape), f: wf, known: true})
		bs := m.newConst(ln.n.Name+"/folded_b", &value{shape: []int{outC}, f: bf, known: true})
		ln.op = &nc
		ln.in = []int{ln.in[0], ws, bs}
		ln.out = []int{cur}
	}
	var rest []*lnode
	for _, ln := range m.nodes {
		if !removed[ln] {
			rest = append(rest, ln)
		}
	}
	m.nodes = rest
}

func (m *Model) newConst(name string, v *value) int {
	s := len(m.names)
	m.names = append(m.names, name)
	m.consts = append(m.consts, v)
	return s
}

// bnAffine returns an inference BatchNormalization reading cur, with
// constant parameters of outC channels, as a per-channel affine map.
func (m *Model) bnAffine(o *bnOp, ln *lnode, cur, outC int) (kernels.Affine, bool) {
	if len(ln.in) != 5 || ln.in[0] != cur {
		return kernels.Affine{}, false
	}
	var p [4][]float32
	for k := range p {
		s := ln.in[k+1]
		if s < 0 || m.consts[s] == nil || m.consts[s].isInt || len(m.consts[s].f) != outC {
			return kernels.Affine{}, false
		}
		p[k] = m.consts[s].f
	}
	for _, v := range p[3] {
		if !(float64(v)+float64(o.eps) > 0) {
			return kernels.Affine{}, false // leave a non-positive variance to the runtime op
		}
	}
	return kernels.BatchNormAffine(p[0], p[1], p[2], p[3], o.eps), true
}

// constAffine returns x*s, x+s, x-s or x/s, with x the value cur and s a
// constant per-channel (or scalar) tensor, as a per-channel affine map.
func (m *Model) constAffine(o *binOp, ln *lnode, cur, outC int) (kernels.Affine, bool) {
	if len(ln.in) != 2 || ln.in[0] == ln.in[1] {
		return kernels.Affine{}, false
	}
	other, xFirst := ln.in[1], true
	if ln.in[0] != cur {
		if ln.in[1] != cur {
			return kernels.Affine{}, false
		}
		other, xFirst = ln.in[0], false
	}
	c := m.consts[other]
	if other < 0 || c == nil || c.isInt {
		return kernels.Affine{}, false
	}
	at, ok := perChannel(c, 4, outC)
	if !ok {
		return kernels.Affine{}, false
	}
	a := kernels.IdentityAffine(outC)
	for ch := 0; ch < outC; ch++ {
		k := float64(at(ch))
		switch {
		case o.kind == opAdd:
			a.Shift[ch] = k
		case o.kind == opMul:
			a.Scale[ch] = k
		case o.kind == opSub && xFirst:
			a.Shift[ch] = -k
		case o.kind == opSub:
			a.Scale[ch], a.Shift[ch] = -1, k
		default:
			return kernels.Affine{}, false // Div stays a run-time op
		}
	}
	return a, true
}

// declaredShapes returns the declared input shapes with a symbolic first
// dimension taken as 1; ok is false when another dimension is unknown.
func (m *Model) declaredShapes() ([]*value, bool) {
	var vs []*value
	for _, in := range m.g.Inputs {
		if in.Shape == nil {
			return nil, false
		}
		s := make([]int, len(in.Shape))
		for k, d := range in.Shape {
			switch {
			case d.Value >= 0:
				s[k] = int(d.Value)
			case k == 0:
				s[k] = 1
			default:
				return nil, false
			}
		}
		if checkShape(s, m.opts.Decode.Limits) != nil {
			return nil, false
		}
		vs = append(vs, meta(s, !in.DType.IsFloat()))
	}
	return vs, true
}

// Executor says what runs the model: "engine" when its graph was compiled
// onto the engine (it then runs exactly as a zoo model does), or
// "interpreter: " and the reason it does not fit the engine.
func (m *Model) Executor() string {
	if m.eng != nil {
		return "engine"
	}
	return "interpreter: " + m.why
}

// Graph returns the decoded graph the model was compiled from.
func (m *Model) Graph() *onnxir.Graph { return m.g }

// InputNames returns the names of the graph inputs Run expects, in model
// order.
func (m *Model) InputNames() []string {
	var s []string
	for _, in := range m.g.Inputs {
		s = append(s, in.Name)
	}
	return s
}

// OutputNames returns the names of the graph outputs, in model order.
func (m *Model) OutputNames() []string {
	var s []string
	for _, out := range m.g.Outputs {
		s = append(s, out.Name)
	}
	return s
}
