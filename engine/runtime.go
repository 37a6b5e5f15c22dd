package engine

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/tensor"
)

// ErrInput reports an input tensor that does not fit the model.
var ErrInput = errors.New("engine: bad input")

// ErrNotKept reports a RunNodes request for a value the plan does not keep:
// a node that is neither a model output nor a tap of CompileWith.
var ErrNotKept = errors.New("engine: value not kept by the plan")

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
	outputs []int     // node IDs: main output, aux outputs, then taps (CompileWith)
	models  int       // how many of outputs are model outputs (main and aux)
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
	outs, err := m.run(x, m.outputs[:1])
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// RunAll computes the main output and the auxiliary outputs (in the order
// of Graph().Aux).
func (m *Model) RunAll(x *tensor.Tensor) ([]*tensor.Tensor, error) {
	return m.run(x, m.outputs[:m.models])
}

// Kept returns the IDs of the nodes whose values RunNodes can return: the
// main output, the auxiliary outputs, then the taps of CompileWith.
func (m *Model) Kept() []int { return append([]int(nil), m.outputs...) }

// RunNodes computes, in one pass, the values of the nodes ids for x: each
// result is [N, node output shape...], in the order of ids. Every id must
// be kept by the plan (see Kept): a model output or a tap of CompileWith;
// any other is an error wrapping ErrNotKept. The values are those the plan
// computed for the main output, each copied once from the workspace (which
// the next run reuses) into its result.
func (m *Model) RunNodes(x *tensor.Tensor, ids ...int) ([]*tensor.Tensor, error) {
	if err := m.checkKept(ids); err != nil {
		return nil, err
	}
	return m.run(x, ids)
}

// RunNodesInto is RunNodes writing into dst, one tensor per id, each
// already shaped [N, node output shape...]. In the steady state (after a
// first call at the same batch size) it does not allocate.
func (m *Model) RunNodesInto(x *tensor.Tensor, ids []int, dst []*tensor.Tensor) error {
	n, err := m.checkInput(x)
	if err != nil {
		return err
	}
	if err := m.checkKept(ids); err != nil {
		return err
	}
	if len(dst) != len(ids) {
		return fmt.Errorf("%w: %d destinations for %d values", ErrInput, len(dst), len(ids))
	}
	for i, id := range ids {
		if err := checkOut(dst[i], n, m.graph.Nodes[id].Out); err != nil {
			return fmt.Errorf("value %d (node %d %s): %w", i, id, m.graph.Nodes[id].Path, err)
		}
	}
	t := batchTasks.Get().(*batchTask)
	t.outs = ids
	for _, d := range dst {
		t.dst = append(t.dst, d.Data)
	}
	m.batch(n, x.Data, t)
	return nil
}

// checkKept checks that the plan keeps the value of every node in ids.
func (m *Model) checkKept(ids []int) error {
	for _, id := range ids {
		if !slices.Contains(m.outputs, id) {
			what := "not a node of the graph"
			if id >= 0 && id < len(m.graph.Nodes) {
				what = fmt.Sprintf("%s (%s)", m.graph.Nodes[id].Path, kindOf(m.graph.Nodes[id].Op))
			}
			return fmt.Errorf("%w: node %d %s is neither a model output nor a tap (kept: %v)", ErrNotKept, id, what, m.outputs)
		}
	}
	return nil
}

// checkOut checks that out is shaped [n, want...].
func checkOut(out *tensor.Tensor, n int, want nn.Shape) error {
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
	return nil
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
	if err := checkOut(out, n, m.graph.Nodes[m.outputs[0]].Out); err != nil {
		return err
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
			t.m.copyValue(t.dst[k][s*sz:e*sz], ws, id, e-s)
		}
		t.m.put(ws)
	}
}

// copyValue copies the value of node id for the n images of workspace ws
// into dst ([n, node shape]). A value that lives in a channel window of a
// wider buffer is gathered image by image (the plan never puts a kept value
// there, but a copy must not depend on it).
func (m *Model) copyValue(dst []float32, ws *workspace, id, n int) {
	src := ws.args.data(ws, id)
	st := m.store[id]
	c := 1
	if out := m.graph.Nodes[id].Out; len(out) > 0 {
		c = out[0]
	}
	if st.slot < 0 || st.c == 0 || (st.c == c && st.off == 0) {
		copy(dst, src[:len(dst)])
		return
	}
	per := len(dst) / n
	hw := per / c
	for b := 0; b < n; b++ {
		copy(dst[b*per:(b+1)*per], src[(b*st.c+st.off)*hw:(b*st.c+st.off+c)*hw])
	}
}

// exec runs every step on workspace ws for input data x.
func (m *Model) exec(ws *workspace, x []float32) {
	ws.args = runArgs{x: x, m: m}
	for i := range m.steps {
		m.steps[i].run(ws, &ws.args)
	}
}

// run computes the values of the kept nodes outs for x.
func (m *Model) run(x *tensor.Tensor, outs []int) ([]*tensor.Tensor, error) {
	n, err := m.checkInput(x)
	if err != nil {
		return nil, err
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

// kindOf names an op's type without its package, e.g. "Conv".
func kindOf(op nn.Block) string { return strings.TrimPrefix(fmt.Sprintf("%T", op), "nn.") }
