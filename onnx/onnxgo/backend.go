package onnxgo

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	ogo "github.com/owulveryck/onnx-go"
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/iterator"
	gt "gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/onnx"
)

// Errors. Errors from compiling or running the rebuilt model also wrap the
// onnx package's sentinels (onnx.ErrFormat, onnx.ErrUnsupported,
// onnx.ErrInput).
var (
	// ErrGraph reports a graph the Backend cannot rebuild from what onnx-go
	// handed it: no operations, a value produced twice, operator inputs
	// with missing positions, a value that is used but is neither produced,
	// an initializer nor a graph input, or nodes not created by the Backend.
	ErrGraph = errors.New("onnxgo: cannot rebuild the graph")
	// ErrInput reports a graph input that was not set, or set to a tensor
	// the Backend cannot convert.
	ErrInput = errors.New("onnxgo: bad input")
	// ErrUnsupported reports an attribute or tensor type the Backend cannot
	// express in ONNX.
	ErrUnsupported = errors.New("onnxgo: unsupported")
	// ErrOpset reports contradictory opset evidence in the graph (see the
	// package documentation), or a WithOpset value outside
	// onnxir.MinOpset..onnxir.MaxOpset.
	ErrOpset = errors.New("onnxgo: no opset fits the graph")
)

// DefaultOpset is the opset the Backend assumes when the graph's evidence
// allows it (see the package documentation).
const DefaultOpset = 13

// Option configures a Backend.
type Option func(*Backend)

// WithOpset sets the default-domain opset of the rebuilt model instead of
// inferring it.
func WithOpset(opset int) Option { return func(b *Backend) { b.opset = opset } }

// WithLoadOptions sets the options the rebuilt model is loaded with (limits,
// maximum batch size, activation memory).
func WithLoadOptions(o onnx.LoadOptions) Option { return func(b *Backend) { b.load = o } }

// Backend implements onnx-go's Backend (OperationCarrier and gonum's
// graph.DirectedWeightedBuilder) and ComputationBackend (Run). Create it with
// New and hand it to onnx-go's NewModel.
type Backend struct {
	mu    sync.Mutex
	opset int
	load  onnx.LoadOptions

	nodes    []*Node // by ID: IDs are dense from 0 in NewNode order
	added    []bool  // AddNode was called
	nextID   int64
	last     int64                      // ID of the most recently added node, -1 before any
	edges    map[int64]map[int64][]edge // from → to → every edge set, in call order
	ops      []operation
	producer map[int64]int // output node ID → index in ops
	err      error         // first misuse of the builder, reported by Compile and Run

	compiled *compiled
}

// edge is an edge of the gonum view: from an operation's output node to
// one of its input nodes, weighted by the input's position.
type edge struct {
	from, to *Node
	w        float64
}

func (e edge) From() graph.Node         { return e.from }
func (e edge) To() graph.Node           { return e.to }
func (e edge) ReversedEdge() graph.Edge { return edge{from: e.to, to: e.from, w: e.w} }
func (e edge) Weight() float64          { return e.w }
func (e edge) String() string           { return fmt.Sprintf("%d→%d (%g)", e.from.id, e.to.id, e.w) }

// edgeList returns every edge u → v set so far. b.mu must be held.
func (b *Backend) edgeList(u, v int64) []edge { return b.edges[u][v] }

// fail records the first misuse of the builder interface as an ErrGraph.
// b.mu must be held.
func (b *Backend) fail(format string, a ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("%w: "+format, append([]any{ErrGraph}, a...)...)
	}
}

type operation struct {
	opType string
	attrs  map[string]any
	outs   []*Node
}

// New returns an empty Backend.
func New(opts ...Option) *Backend {
	b := &Backend{last: -1, edges: map[int64]map[int64][]edge{}, producer: map[int64]int{}}
	for _, o := range opts {
		o(b)
	}
	return b
}

var (
	_ ogo.Backend     = (*Backend)(nil)
	_ ogo.DataCarrier = (*Node)(nil)
	_ ogo.Namer       = (*Node)(nil)
	_ ogo.Documenter  = (*Node)(nil)
)

// Node is a value of the graph: a graph input, an initializer or the output
// of an operation. It carries a gorgonia tensor (onnx-go's DataCarrier) and
// a name (Namer).
type Node struct {
	b    *Backend
	id   int64
	name string
	desc string
	t    gt.Tensor

	sets int  // SetTensor calls while decoding
	init bool // an initializer that is also a graph input (set twice while decoding)
	user bool // set after decoding: a graph input's value (SetInput)
}

// ID returns the node's ID, dense from 0 in creation order.
func (n *Node) ID() int64 { return n.id }

// SetName sets the value's name.
func (n *Node) SetName(name string) {
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	n.name = name
}

// GetName returns the value's name.
func (n *Node) GetName() string {
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	return n.name
}

// SetDescription sets a free-form description (onnx-go's Documenter).
func (n *Node) SetDescription(d string) {
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	n.desc = d
}

// GetDescription returns the description.
func (n *Node) GetDescription() string {
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	return n.desc
}

// SetTensor stores t on the node. While onnx-go decodes, this carries
// placeholders and initializers; afterwards (once an operation has been
// applied) it is a graph input's value, or a new value for an initializer.
func (n *Node) SetTensor(t gt.Tensor) error {
	b := n.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if t == nil {
		return fmt.Errorf("%w: nil tensor for %q", ErrInput, n.name)
	}
	switch {
	case len(b.ops) > 0:
		n.user = true
		if b.compiled != nil && b.compiled.isConst[n.id] {
			b.compiled = nil // an initializer changed: recompile
		}
	case n.id == b.last && n.sets == 0:
		n.sets = 1 // a placeholder, or a new initializer: told apart at compile
	default:
		n.sets++
		n.init = true
	}
	n.t = t
	return nil
}

// GetTensor returns the node's tensor: after Run, an output's value.
func (n *Node) GetTensor() gt.Tensor {
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	return n.t
}

// String names the node for debugging.
func (n *Node) String() string { return fmt.Sprintf("%d:%q", n.id, n.name) }

// NewNode returns a new node with a fresh ID; AddNode adds it.
func (b *Backend) NewNode() graph.Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := &Node{b: b, id: b.nextID}
	b.nextID++
	b.nodes = append(b.nodes, n)
	b.added = append(b.added, false)
	return n
}

// own returns g as a node of this Backend, or nil.
func (b *Backend) own(g graph.Node) *Node {
	n, ok := g.(*Node)
	if !ok || n == nil || n.b != b {
		return nil
	}
	return n
}

// AddNode adds a node returned by NewNode. Other nodes, and adding a node
// twice, are recorded as an error that Compile and Run report (gonum's
// builders panic instead).
func (b *Backend) AddNode(g graph.Node) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.own(g)
	if n == nil {
		b.fail("AddNode: node %v was not created by this backend's NewNode", g)
		return
	}
	if b.added[n.id] {
		b.fail("AddNode: node %d added twice", n.id)
		return
	}
	b.added[n.id] = true
	b.last = n.id
}

// NewWeightedEdge returns an edge from → to with weight w; SetWeightedEdge
// adds it.
func (b *Backend) NewWeightedEdge(from, to graph.Node, w float64) graph.WeightedEdge {
	f, t := b.own(from), b.own(to)
	if f == nil || t == nil {
		b.mu.Lock()
		b.fail("NewWeightedEdge: nodes %v, %v were not created by this backend", from, to)
		b.mu.Unlock()
		return nil
	}
	return edge{from: f, to: t, w: w}
}

// SetWeightedEdge records e. onnx-go links an operation's output node to
// its input nodes, weighted by input position. Unlike gonum's graphs, every
// call is kept, so a node using the same value at two positions keeps both.
func (b *Backend) SetWeightedEdge(e graph.WeightedEdge) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ed, ok := e.(edge)
	if !ok {
		b.fail("SetWeightedEdge: edge %v was not created by this backend", e)
		return
	}
	f, t := ed.from, ed.to
	if !b.added[f.id] || !b.added[t.id] {
		b.fail("SetWeightedEdge: edge %v between nodes not added", ed)
		return
	}
	if b.edges[f.id] == nil {
		b.edges[f.id] = map[int64][]edge{}
	}
	b.edges[f.id][t.id] = append(b.edges[f.id][t.id], ed)
	b.compiled = nil
}

// ApplyOperation records an operation producing outputs.
func (b *Backend) ApplyOperation(op ogo.Operation, outputs ...graph.Node) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	if op.Name == "" {
		return fmt.Errorf("%w: operation without a type", ErrGraph)
	}
	if len(outputs) == 0 {
		return fmt.Errorf("%w: %s without outputs", ErrGraph, op.Name)
	}
	for k, v := range op.Attributes {
		if _, err := attrProto(k, v); err != nil {
			return fmt.Errorf("%s: %w", op.Name, err)
		}
	}
	outs := make([]*Node, len(outputs))
	for i, g := range outputs {
		n := b.own(g)
		if n == nil || !b.added[n.id] {
			return fmt.Errorf("%w: %s output %d (%v) is not a node of this backend", ErrGraph, op.Name, i, g)
		}
		if n.name != "" { // "" is the omitted optional output
			if k, dup := b.producer[n.id]; dup {
				return fmt.Errorf("%w: value %q produced by %s and by operation %d (%s)", ErrGraph, n.name, op.Name, k, b.ops[k].opType)
			}
			b.producer[n.id] = len(b.ops)
		}
		outs[i] = n
	}
	b.ops = append(b.ops, operation{opType: op.Name, attrs: op.Attributes, outs: outs})
	b.compiled = nil
	return nil
}

// Node returns the node with the given ID, or nil.
func (b *Backend) Node(id int64) graph.Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id < 0 || id >= int64(len(b.nodes)) || !b.added[id] {
		return nil
	}
	return b.nodes[id]
}

// Nodes returns the added nodes in ID order.
func (b *Backend) Nodes() graph.Nodes {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ns []graph.Node
	for i, n := range b.nodes {
		if b.added[i] {
			ns = append(ns, n)
		}
	}
	return iterator.NewOrderedNodes(ns)
}

// From returns the nodes id has edges to (an operation's inputs).
func (b *Backend) From(id int64) graph.Nodes {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sortedNodes(keys(b.edges[id]))
}

// To returns the nodes with edges to id (the operations consuming it).
func (b *Backend) To(id int64) graph.Nodes {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []int64
	for from, tos := range b.edges {
		if _, ok := tos[id]; ok {
			ids = append(ids, from)
		}
	}
	return b.sortedNodes(ids)
}

func keys(m map[int64][]edge) []int64 {
	ids := make([]int64, 0, len(m))
	for k := range m {
		ids = append(ids, k)
	}
	return ids
}

func (b *Backend) sortedNodes(ids []int64) graph.Nodes {
	slices.Sort(ids)
	ns := make([]graph.Node, len(ids))
	for i, id := range ids {
		ns[i] = b.nodes[id]
	}
	return iterator.NewOrderedNodes(ns)
}

// HasEdgeBetween reports an edge in either direction.
func (b *Backend) HasEdgeBetween(x, y int64) bool {
	return b.HasEdgeFromTo(x, y) || b.HasEdgeFromTo(y, x)
}

// HasEdgeFromTo reports an edge u → v.
func (b *Backend) HasEdgeFromTo(u, v int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.edgeList(u, v)) > 0
}

// Edge returns the edge u → v (the last one set), or nil.
func (b *Backend) Edge(u, v int64) graph.Edge {
	if e := b.WeightedEdge(u, v); e != nil {
		return e
	}
	return nil
}

// WeightedEdge returns the edge u → v (the last one set), or nil.
func (b *Backend) WeightedEdge(u, v int64) graph.WeightedEdge {
	b.mu.Lock()
	defer b.mu.Unlock()
	es := b.edgeList(u, v)
	if len(es) == 0 {
		return nil
	}
	return es[len(es)-1]
}

// Weight returns the weight of the edge x → y (the last one set), 0 for
// x == y, and +Inf with false when there is no edge, as gonum's simple
// graphs do.
func (b *Backend) Weight(x, y int64) (float64, bool) {
	if x == y {
		return 0, true
	}
	if e := b.WeightedEdge(x, y); e != nil {
		return e.Weight(), true
	}
	return math.Inf(1), false
}
