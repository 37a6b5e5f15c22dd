package nn

import (
	"errors"
	"fmt"
	"strings"
)

// ErrShape reports a block that cannot accept its input shape or an invalid
// block definition.
var ErrShape = errors.New("nn: invalid block or shape")

// Shape is a per-sample shape, batch excluded: [C, H, W] for feature maps,
// [F] for vectors.
type Shape []int

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = itoa(d)
	}
	return strings.Join(parts, "x")
}

// Numel returns the element count of one sample.
func (s Shape) Numel() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Input is the op of a Graph's first node, the model input.
type Input struct{}

// Concat is the op Branches lowers to: its inputs concatenated on channels.
type Concat struct{}

// Add is the op Residual lowers to: Inputs[0] + Scale·Inputs[1], then ReLU
// if set.
type Add struct {
	Scale float32
	ReLU  bool
}

func (Input) BlockName() string  { return "" }
func (Concat) BlockName() string { return "" }
func (Add) BlockName() string    { return "" }

// ParamKind says what a parameter is for.
type ParamKind int

// Parameter kinds.
const (
	Weight ParamKind = iota
	Bias
	RunningMean
	RunningVar
)

// ParamSpec describes one parameter tensor of a node.
type ParamSpec struct {
	Path  string // full path, e.g. "inception3a.branch1.conv.weight"
	Kind  ParamKind
	Shape []int
}

// Trainable reports whether the parameter is learned (weights, biases,
// gamma, beta) rather than a statistics buffer.
func (p ParamSpec) Trainable() bool { return p.Kind == Weight || p.Kind == Bias }

// Numel returns the element count.
func (p ParamSpec) Numel() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Node is one op of a lowered Graph.
type Node struct {
	ID     int
	Path   string // block path of the op, "" for the root
	Op     Block  // a primitive block, or Input, Concat or Add
	Inputs []int  // producer node IDs
	In     []Shape
	Out    Shape
	Params []ParamSpec
	MACs   int64 // multiply-accumulates per sample (Conv and Linear only)
}

// Param returns the node's parameter of the given kind, if any.
func (n *Node) Param(kind ParamKind) (ParamSpec, bool) {
	for _, p := range n.Params {
		if p.Kind == kind {
			return p, true
		}
	}
	return ParamSpec{}, false
}

// AuxOutput names an auxiliary model output produced by a Tap's head.
type AuxOutput struct {
	Name string // the Tap's path
	Node int
}

// BlockInfo summarises one block of the tree (composite or primitive), in
// tree order.
type BlockInfo struct {
	Path  string `json:"path"`
	Depth int    `json:"depth"`
	Kind  string `json:"kind"` // Go type name, e.g. "Conv", "Branches"
	In    Shape  `json:"in"`
	Out   Shape  `json:"out"`
	// Node is the ID of the graph node holding the block's output (for a
	// Tap, the node it passes through).
	Node    int   `json:"-"`
	Params  int64 `json:"params"`  // trainable parameters
	Buffers int64 `json:"buffers"` // running statistics
	MACs    int64 `json:"macs"`
}

// Graph is a block tree lowered at one input shape.
type Graph struct {
	Nodes  []*Node // Nodes[0] is the Input node; topological order
	Output int
	Aux    []AuxOutput
	Blocks []BlockInfo
}

// InputShape returns the per-sample input shape.
func (g *Graph) InputShape() Shape { return g.Nodes[0].Out }

// OutputShape returns the per-sample shape of the main output.
func (g *Graph) OutputShape() Shape { return g.Nodes[g.Output].Out }

// Params returns every parameter spec in graph order.
func (g *Graph) Params() []ParamSpec {
	var ps []ParamSpec
	for _, n := range g.Nodes {
		ps = append(ps, n.Params...)
	}
	return ps
}

// Totals returns the trainable parameter count, the buffer count and the
// MACs per sample of the whole graph, auxiliary heads included.
func (g *Graph) Totals() (params, buffers, macs int64) {
	for _, n := range g.Nodes {
		for _, p := range n.Params {
			if p.Trainable() {
				params += int64(p.Numel())
			} else {
				buffers += int64(p.Numel())
			}
		}
		macs += n.MACs
	}
	return
}

// Consumers returns, for each node ID, the IDs of the nodes reading it.
func (g *Graph) Consumers() [][]int {
	c := make([][]int, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			c[in] = append(c[in], n.ID)
		}
	}
	return c
}

// Lower walks root at the per-sample input shape in and returns its Graph.
// It validates every block, infers every shape and parameter shape, and
// rejects duplicate parameter paths.
func Lower(root Block, in Shape) (*Graph, error) {
	for _, d := range in {
		if d <= 0 {
			return nil, fmt.Errorf("%w: input shape %v", ErrShape, in)
		}
	}
	l := &lowerer{g: &Graph{}, seen: map[string]bool{}}
	l.g.Nodes = append(l.g.Nodes, &Node{ID: 0, Op: Input{}, Out: append(Shape(nil), in...)})
	out, err := l.lower(root, "", 0, 0)
	if err != nil {
		return nil, err
	}
	l.g.Output = out
	return l.g, nil
}

type lowerer struct {
	g    *Graph
	seen map[string]bool
}

func join(parent, name string) string {
	switch {
	case name == "":
		return parent
	case parent == "":
		return name
	}
	return parent + "." + name
}

func blockKind(b Block) string {
	s := fmt.Sprintf("%T", b)
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// lower lowers b on the output of node x and returns the node of b's output.
func (l *lowerer) lower(b Block, parent string, x, depth int) (int, error) {
	if b == nil {
		return 0, fmt.Errorf("%w: nil block under %q", ErrShape, parent)
	}
	path := join(parent, b.BlockName())
	info := len(l.g.Blocks)
	l.g.Blocks = append(l.g.Blocks, BlockInfo{Path: path, Depth: depth, Kind: blockKind(b), In: l.g.Nodes[x].Out})
	first := len(l.g.Nodes)
	var out int
	var err error
	switch v := b.(type) {
	case Sequential:
		out = x
		for _, c := range v.Layers {
			if out, err = l.lower(c, path, out, depth+1); err != nil {
				return 0, err
			}
		}
	case Branches:
		if len(v.Paths) == 0 {
			return 0, fmt.Errorf("%w: %s: Branches with no paths", ErrShape, path)
		}
		ins := make([]int, len(v.Paths))
		for i, c := range v.Paths {
			if ins[i], err = l.lower(c, path, x, depth+1); err != nil {
				return 0, err
			}
		}
		if out, err = l.add(path, Concat{}, ins...); err != nil {
			return 0, err
		}
	case Residual:
		r, err := l.lower(v.Body, path, x, depth+1)
		if err != nil {
			return 0, err
		}
		if v.Scale == 0 {
			v.Scale = 1
		}
		if out, err = l.add(path, Add{Scale: v.Scale, ReLU: v.ReLU}, x, r); err != nil {
			return 0, err
		}
	case Tap:
		h, err := l.lower(v.Head, path, x, depth+1)
		if err != nil {
			return 0, err
		}
		l.g.Aux = append(l.g.Aux, AuxOutput{Name: path, Node: h})
		out = x
	default:
		if out, err = l.add(path, b, x); err != nil {
			return 0, err
		}
	}
	bi := &l.g.Blocks[info]
	bi.Out = l.g.Nodes[out].Out
	bi.Node = out
	for _, n := range l.g.Nodes[first:] {
		bi.MACs += n.MACs
		for _, p := range n.Params {
			if p.Trainable() {
				bi.Params += int64(p.Numel())
			} else {
				bi.Buffers += int64(p.Numel())
			}
		}
	}
	return out, nil
}

// add appends a node for a primitive or structural op.
func (l *lowerer) add(path string, op Block, inputs ...int) (int, error) {
	n := &Node{ID: len(l.g.Nodes), Path: path, Op: op, Inputs: inputs}
	for _, in := range inputs {
		n.In = append(n.In, l.g.Nodes[in].Out)
	}
	if err := infer(n); err != nil {
		return 0, err
	}
	for _, p := range n.Params {
		if l.seen[p.Path] {
			return 0, fmt.Errorf("%w: duplicate parameter path %q", ErrShape, p.Path)
		}
		l.seen[p.Path] = true
	}
	l.g.Nodes = append(l.g.Nodes, n)
	return n.ID, nil
}
