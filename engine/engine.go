package engine

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/tensor"
)

// ErrInput reports an input tensor that does not fit the model.
var ErrInput = errors.New("engine: bad input")

// MaxBatch bounds the batch size of one Run, so that a hostile caller
// cannot make Run allocate without limit.
const MaxBatch = 4096

// Model is a compiled plan. It is safe for concurrent use.
type Model struct {
	graph   *nn.Graph
	steps   []step
	store   []storage // per node: where its value lives
	slotLen []int     // per-sample float32s of each buffer slot
	group   int       // images per workspace in batch calls, see groupSize
	outputs []int     // node IDs: main output, then aux outputs
	mu      sync.Mutex
	pools   map[int]*sync.Pool // batch size → *workspace
}

// storage locates a node's value: a buffer slot (or the input, slot -1)
// and a channel window of a wider tensor.
type storage struct {
	slot   int
	off, c int // channel offset and the tensor's total channels (0: whole)
	hw     int // spatial size per channel
}

type workspace struct {
	n       int
	args    runArgs
	bufs    [][]float32
	scratch []float32
}

// step is one kernel invocation.
type step struct {
	name string // node path, for errors and profiles
	kind string // op type of the first node, e.g. "Conv"
	macs int64  // MACs per image of the first node
	out  int    // output node ID
	in   []int  // input node IDs
	run  func(ws *workspace, args *runArgs)
	// scratch returns the per-call scratch this step needs at batch n.
	scratch func(n int) int
}

type runArgs struct {
	x []float32
	m *Model
}

func (a *runArgs) data(ws *workspace, id int) []float32 {
	st := a.m.store[id]
	if st.slot < 0 {
		return a.x
	}
	return ws.bufs[st.slot]
}

// Compile builds a plan for g with parameters p. p must hold exactly the
// parameters of g (see nn.Params.Check); it is not retained: folded copies
// of the weights are.
func Compile(g *nn.Graph, p nn.Params) (*Model, error) {
	if err := p.Check(g); err != nil {
		return nil, err
	}
	c := &compiler{g: g, p: p, m: &Model{graph: g, pools: map[int]*sync.Pool{}}}
	return c.compile()
}

// MemoryStats reports the activation memory of one Run at batch n:
// Planned is the bytes of the buffer slots the plan allocates (values share
// slots when their lifetimes do not overlap, concat branches write in place,
// element-wise ops run in place) for one image: a batch runs groups of
// images (one image, or up to four for small models) each on a workspace
// of its own size, at most GOMAXPROCS groups at a time, so Planned does not
// grow with n. Unshared is the
// bytes of all node values of the whole batch if each had its own buffer
// (the input excluded in both).
func (m *Model) MemoryStats(n int) (planned, unshared int64) {
	for _, l := range m.slotLen {
		planned += int64(l)
	}
	for _, nd := range m.graph.Nodes[1:] {
		unshared += int64(nd.Out.Numel())
	}
	return 4 * planned, 4 * int64(n) * unshared
}

// Graph returns the graph the model was compiled from.
func (m *Model) Graph() *nn.Graph { return m.graph }

// Run computes the main output for x of shape [N, input shape...].
func (m *Model) Run(x *tensor.Tensor) (*tensor.Tensor, error) {
	outs, err := m.run(x, false)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// RunAll computes the main output and the auxiliary outputs (in the order
// of Graph().Aux).
func (m *Model) RunAll(x *tensor.Tensor) ([]*tensor.Tensor, error) {
	return m.run(x, true)
}

func (m *Model) checkInput(x *tensor.Tensor) (int, error) {
	in := m.graph.InputShape()
	if x == nil || len(x.Shape) != len(in)+1 {
		var got []int
		if x != nil {
			got = x.Shape
		}
		return 0, fmt.Errorf("%w: input shape %v, want [N %v]", ErrInput, got, in)
	}
	for i, d := range in {
		if x.Shape[i+1] != d {
			return 0, fmt.Errorf("%w: input shape %v, want [N %v]", ErrInput, x.Shape, in)
		}
	}
	n := x.Shape[0]
	if n < 1 || n > MaxBatch {
		return 0, fmt.Errorf("%w: batch %d outside [1, %d]", ErrInput, n, MaxBatch)
	}
	if len(x.Data) != n*in.Numel() {
		return 0, fmt.Errorf("%w: input has %d values, shape %v needs %d", ErrInput, len(x.Data), x.Shape, n*in.Numel())
	}
	return n, nil
}

// RunInto computes the main output for x into out, which must already have
// the output shape [N, output shape...]. In the steady state (after a first
// call at the same batch size) it does not allocate.
func (m *Model) RunInto(x, out *tensor.Tensor) error {
	n, err := m.checkInput(x)
	if err != nil {
		return err
	}
	want := m.graph.Nodes[m.outputs[0]].Out
	ok := out != nil && len(out.Shape) == len(want)+1 && out.Shape[0] == n && len(out.Data) == n*want.Numel()
	for i := 0; ok && i < len(want); i++ {
		ok = out.Shape[i+1] == want[i]
	}
	if !ok {
		var got []int
		if out != nil {
			got = out.Shape
		}
		return fmt.Errorf("%w: output shape %v, want [%d %v]", ErrInput, got, n, want)
	}
	t := batchTasks.Get().(*batchTask)
	t.outs = m.outputs[:1]
	t.dst = append(t.dst[:0], out.Data)
	m.batch(n, x.Data, t)
	return nil
}

// batch runs the n images of x (flattened) in groups of m.group images (at
// most), each group on a workspace of its size, and copies the outputs
// t.outs into t.dst; it puts t back into batchTasks. Small groups keep
// their activations in cache from one layer to the next (a whole batch per
// layer streams every layer's input from memory, which measured 15-40%
// slower per image at batch 8 on inception-v1-tv); models with small
// activations run several images per layer (inception-v1-d2l: 11% faster
// at batch 8 in groups of 4). With GOMAXPROCS > 1 and n > 1 the groups run
// in parallel, one per core, each with its own workspace and with kernels
// that do not split their work further: whole images scale across cores
// far better than the row and column tiles of one layer. Results are
// identical either way.
func (m *Model) batch(n int, x []float32, t *batchTask) {
	procs := runtime.GOMAXPROCS(0)
	g := max(1, min(m.group, (n+procs-1)/procs))
	t.m, t.x, t.n, t.g = m, x, n, g
	groups := (n + g - 1) / g
	if groups == 1 || procs == 1 {
		t.Run(0, groups)
	} else {
		kernels.Parallel(groups, t)
	}
	clear(t.dst)
	*t = batchTask{dst: t.dst[:0]}
	batchTasks.Put(t)
}

// maxGroup and groupFloats bound the images run together on one workspace:
// at most maxGroup (so that Linear keeps its per-image dot products, see
// kernels.Linear) and at most groupFloats activation floats in all.
const (
	maxGroup    = 4
	groupFloats = 1 << 21
)

// groupSize returns the images per workspace for a model whose workspace
// holds perImage floats per image.
func groupSize(perImage int) int {
	g := 1
	for g < maxGroup && 2*g*perImage <= groupFloats {
		g *= 2
	}
	return g
}

var batchTasks = sync.Pool{New: func() any { return new(batchTask) }}

// batchTask is one batch call: Run(lo, hi) runs the groups [lo, hi) of g
// images each (the last one may be smaller).
type batchTask struct {
	m    *Model
	x    []float32
	n, g int
	outs []int       // output node IDs
	dst  [][]float32 // per output: [n, output shape] destination
}

// Run implements kernels.RangeTask.
func (t *batchTask) Run(lo, hi int) {
	inSz := len(t.x) / t.n
	for s := lo * t.g; s < min(hi*t.g, t.n); s += t.g {
		e := min(s+t.g, t.n)
		ws := t.m.get(e - s)
		t.m.exec(ws, t.x[s*inSz:e*inSz])
		for k, id := range t.outs {
			sz := len(t.dst[k]) / t.n
			copy(t.dst[k][s*sz:e*sz], ws.args.data(ws, id)[:(e-s)*sz])
		}
		t.m.put(ws)
	}
}

// exec runs every step on workspace ws for input data x.
func (m *Model) exec(ws *workspace, x []float32) {
	ws.args = runArgs{x: x, m: m}
	for i := range m.steps {
		m.steps[i].run(ws, &ws.args)
	}
}

func (m *Model) run(x *tensor.Tensor, all bool) ([]*tensor.Tensor, error) {
	n, err := m.checkInput(x)
	if err != nil {
		return nil, err
	}
	outs := m.outputs
	if !all {
		outs = outs[:1]
	}
	res := make([]*tensor.Tensor, len(outs))
	for i, id := range outs {
		res[i] = tensor.New(append([]int{n}, m.graph.Nodes[id].Out...)...)
	}
	t := batchTasks.Get().(*batchTask)
	t.outs = outs
	for _, r := range res {
		t.dst = append(t.dst, r.Data)
	}
	m.batch(n, x.Data, t)
	return res, nil
}

func (m *Model) get(n int) *workspace {
	m.mu.Lock()
	p, ok := m.pools[n]
	if !ok {
		p = &sync.Pool{}
		m.pools[n] = p
	}
	m.mu.Unlock()
	if ws, ok := p.Get().(*workspace); ok {
		return ws
	}
	ws := &workspace{n: n, bufs: make([][]float32, len(m.slotLen))}
	for i, l := range m.slotLen {
		ws.bufs[i] = make([]float32, l*n)
	}
	s := 0
	for i := range m.steps {
		if f := m.steps[i].scratch; f != nil {
			s = max(s, f(n))
		}
	}
	ws.scratch = make([]float32, s)
	return ws
}

func (m *Model) put(ws *workspace) {
	m.mu.Lock()
	p := m.pools[ws.n]
	m.mu.Unlock()
	p.Put(ws)
}

// ---- compilation ----

type compiler struct {
	g     *nn.Graph
	p     nn.Params
	m     *Model
	cons  [][]int // consumers, with -1 for a model output
	owner []int   // node ID → ID of the step output it is folded into (or itself)
	view  []int   // node ID → node whose storage it shares (identity ops, in-place ops)
}

func (c *compiler) single(id int) (int, bool) {
	if len(c.cons[id]) == 1 && c.cons[id][0] >= 0 {
		return c.cons[id][0], true
	}
	return 0, false
}

func (c *compiler) compile() (*Model, error) {
	g := c.g
	c.cons = g.Consumers()
	c.m.outputs = append(c.m.outputs, g.Output)
	for _, a := range g.Aux {
		c.m.outputs = append(c.m.outputs, a.Node)
	}
	for _, o := range c.m.outputs {
		c.cons[o] = append(c.cons[o], -1)
	}
	c.owner = make([]int, len(g.Nodes))
	c.view = make([]int, len(g.Nodes))
	for i := range c.owner {
		c.owner[i] = -1
		c.view[i] = i
	}
	var plan []planItem
	for _, n := range g.Nodes[1:] {
		if c.owner[n.ID] >= 0 {
			continue // folded into an earlier step
		}
		chain := []*nn.Node{n}
		switch n.Op.(type) {
		case nn.Conv, nn.Linear, nn.BatchNorm, nn.ChannelScale, nn.Affine:
			cur := n
			_, isLinear := n.Op.(nn.Linear)
			for {
				next, ok := c.single(cur.ID)
				if !ok {
					break
				}
				nx := g.Nodes[next]
				_, affine := nx.Op.(nn.BatchNorm)
				_, scale := nx.Op.(nn.ChannelScale)
				_, relu := nx.Op.(nn.ReLU)
				if (affine || scale) && !isLinear && !lastIsReLU(chain) {
					chain = append(chain, nx)
				} else if relu && !lastIsReLU(chain) {
					chain = append(chain, nx)
				} else {
					break
				}
				cur = nx
			}
		}
		last := chain[len(chain)-1]
		for _, x := range chain {
			c.owner[x.ID] = last.ID
		}
		plan = append(plan, planItem{node: n, chain: chain})
	}
	// Identity ops share their input's storage.
	for _, pd := range plan {
		switch pd.node.Op.(type) {
		case nn.Dropout, nn.Flatten:
			if len(pd.chain) == 1 {
				c.view[pd.node.ID] = c.root(pd.node.Inputs[0])
			}
		}
	}
	c.assignStorage(plan)
	per := 0
	for _, l := range c.m.slotLen {
		per += l
	}
	c.m.group = groupSize(per)
	for _, pd := range plan {
		s, err := c.makeStep(pd.node, pd.chain)
		if err != nil {
			return nil, err
		}
		if s != nil {
			c.m.steps = append(c.m.steps, *s)
		}
	}
	return c.m, nil
}

func lastIsReLU(chain []*nn.Node) bool {
	_, ok := chain[len(chain)-1].Op.(nn.ReLU)
	return ok
}

type planItem struct {
	node  *nn.Node
	chain []*nn.Node
}

func (c *compiler) root(id int) int {
	for c.view[id] != id {
		id = c.view[id]
	}
	return id
}

// outID is the node whose value a plan item produces.
func (pi planItem) outID() int { return pi.chain[len(pi.chain)-1].ID }

// assignStorage decides where every value lives: concat inputs written in
// place into the concat output, element-wise ops in place, and buffer
// slots shared between values whose lifetimes do not overlap.
func (c *compiler) assignStorage(plan []planItem) {
	g := c.g
	nodes := len(g.Nodes)
	// Concat aliasing, outermost first (reverse topological order).
	type alias struct {
		parent int // concat node
		off    int
	}
	into := make([]*alias, nodes)
	producer := map[int]planItem{}
	for _, pi := range plan {
		producer[pi.outID()] = pi
	}
	for i := len(plan) - 1; i >= 0; i-- {
		pi := plan[i]
		if _, ok := pi.node.Op.(nn.Concat); !ok {
			continue
		}
		off := 0
		for _, in := range pi.node.Inputs {
			src, ok := producer[in]
			canWrite := false
			if ok && len(c.cons[in]) == 1 && c.view[in] == in {
				switch src.node.Op.(type) {
				case nn.Conv, nn.MaxPool, nn.AvgPool, nn.Concat:
					canWrite = true
				}
			}
			if canWrite {
				into[in] = &alias{parent: pi.node.ID, off: off}
			}
			off += g.Nodes[in].Out[0]
		}
	}
	// In-place element-wise ops: the output reuses the input's storage when
	// this op is the input's only reader.
	for _, pi := range plan {
		switch pi.node.Op.(type) {
		case nn.ReLU, nn.BatchNorm, nn.ChannelScale, nn.Affine:
			in := pi.node.Inputs[0]
			if in != 0 && len(c.cons[in]) == 1 && into[in] == nil && c.view[in] == in && into[pi.outID()] == nil {
				c.view[pi.outID()] = in
			}
		case nn.Add:
			r := pi.node.Inputs[1]
			if r != 0 && len(c.cons[r]) == 1 && into[r] == nil && c.view[r] == r && into[pi.outID()] == nil {
				c.view[pi.outID()] = r
			}
		}
	}
	// Resolve each value to a root storage: follow views and concat aliases.
	c.m.store = make([]storage, nodes)
	type rootInfo struct {
		id     int
		off, c int
	}
	var resolve func(id int) rootInfo
	resolve = func(id int) rootInfo {
		if id == 0 {
			return rootInfo{id: 0}
		}
		if v := c.view[id]; v != id {
			return resolve(v)
		}
		if a := into[id]; a != nil {
			p := resolve(a.parent)
			total := p.c
			if total == 0 {
				total = g.Nodes[a.parent].Out[0]
			}
			return rootInfo{id: p.id, off: p.off + a.off, c: total}
		}
		return rootInfo{id: id}
	}
	roots := make([]rootInfo, nodes)
	for i := range g.Nodes {
		roots[i] = resolve(i)
	}
	// Liveness of each root: from the first step writing it to the last
	// step reading it; model outputs live to the end.
	first := map[int]int{}
	last := map[int]int{}
	for si, pi := range plan {
		r := roots[pi.outID()].id
		if _, ok := first[r]; !ok {
			first[r] = si
		}
		last[r] = max(last[r], si)
		for _, x := range pi.chain {
			for _, in := range x.Inputs {
				rr := roots[in].id
				last[rr] = max(last[rr], si)
			}
		}
	}
	for _, o := range c.m.outputs {
		last[roots[o].id] = len(plan)
	}
	// Greedy slot assignment in step order.
	slotOf := map[int]int{}
	var freeAt []int // slot → step after which it is free
	for si, pi := range plan {
		r := roots[pi.outID()].id
		if r == 0 || first[r] != si {
			continue
		}
		if _, ok := slotOf[r]; ok {
			continue
		}
		size := g.Nodes[r].Out.Numel()
		best := -1
		for s, f := range freeAt {
			if f < si && (best < 0 || abs(c.m.slotLen[s]-size) < abs(c.m.slotLen[best]-size)) {
				best = s
			}
		}
		if best < 0 {
			best = len(freeAt)
			freeAt = append(freeAt, 0)
			c.m.slotLen = append(c.m.slotLen, 0)
		}
		c.m.slotLen[best] = max(c.m.slotLen[best], size)
		freeAt[best] = last[r]
		slotOf[r] = best
	}
	for i := range g.Nodes {
		r := roots[i]
		st := storage{slot: -1}
		if r.id != 0 {
			st.slot = slotOf[r.id]
			st.off, st.c = r.off, r.c
		}
		out := g.Nodes[i].Out
		if len(out) == 3 {
			st.hw = out[1] * out[2]
		}
		c.m.store[i] = st
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// dst returns the output window of node id: the buffer, the total channel
// count of the tensor it lives in and its channel offset.
func (c *compiler) dst(id int) (slot int, total, off int) {
	st := c.m.store[id]
	total = st.c
	if total == 0 {
		total = c.g.Nodes[id].Out[0]
	}
	return st.slot, total, st.off
}

func (c *compiler) param(n *nn.Node, kind nn.ParamKind) []float32 {
	s, ok := n.Param(kind)
	if !ok {
		return nil
	}
	return c.p[s.Path].Data
}

// channelAffine returns the per-channel scale and shift of a BatchNorm or
// ChannelScale node, computed in float64.
func (c *compiler) channelAffine(n *nn.Node) (scale, shift []float64) {
	ch := n.Out[0]
	scale = make([]float64, ch)
	shift = make([]float64, ch)
	switch op := n.Op.(type) {
	case nn.BatchNorm:
		gamma, beta := c.param(n, nn.Weight), c.param(n, nn.Bias)
		mean, vr := c.param(n, nn.RunningMean), c.param(n, nn.RunningVar)
		for i := 0; i < ch; i++ {
			gm := 1.0
			if gamma != nil {
				gm = float64(gamma[i])
			}
			s := gm / math.Sqrt(float64(vr[i])+float64(op.Eps))
			scale[i] = s
			shift[i] = float64(beta[i]) - float64(mean[i])*s
		}
	case nn.ChannelScale:
		w, b := c.param(n, nn.Weight), c.param(n, nn.Bias)
		for i := 0; i < ch; i++ {
			scale[i] = float64(w[i])
			if b != nil {
				shift[i] = float64(b[i])
			}
		}
	case nn.Affine:
		for i := 0; i < ch; i++ {
			scale[i] = float64(op.Scale[i])
			shift[i] = float64(op.Shift[i])
		}
	}
	return
}

// fold returns the weights and bias of a conv or linear head node after
// composing the per-channel affines of the chain, and whether the chain
// ends in a ReLU.
func (c *compiler) fold(chain []*nn.Node) (w, b []float32, relu bool) {
	head := chain[0]
	w0 := c.param(head, nn.Weight)
	b0 := c.param(head, nn.Bias)
	out := head.Out[0]
	per := len(w0) / out
	wf := make([]float64, len(w0))
	bf := make([]float64, out)
	for i := range w0 {
		wf[i] = float64(w0[i])
	}
	for i := range bf {
		if b0 != nil {
			bf[i] = float64(b0[i])
		}
	}
	for _, x := range chain[1:] {
		if _, ok := x.Op.(nn.ReLU); ok {
			relu = true
			continue
		}
		s, t := c.channelAffine(x)
		for o := 0; o < out; o++ {
			for j := o * per; j < (o+1)*per; j++ {
				wf[j] *= s[o]
			}
			bf[o] = bf[o]*s[o] + t[o]
		}
	}
	w = make([]float32, len(wf))
	for i := range wf {
		w[i] = float32(wf[i])
	}
	b = make([]float32, out)
	for i := range bf {
		b[i] = float32(bf[i])
	}
	return w, b, relu
}
