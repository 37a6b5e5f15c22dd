package nn

import "fmt"

// Builder assembles a Graph node by node, for graphs that are not block
// trees: graphs imported from ONNX files and generated test graphs. Every
// node is validated and its shape, parameters and MACs inferred as Lower
// does. A Builder is not safe for concurrent use.
type Builder struct {
	l *lowerer
}

// NewBuilder starts a graph whose input (node 0) has per-sample shape in.
func NewBuilder(in Shape) (*Builder, error) {
	for _, d := range in {
		if d <= 0 {
			return nil, fmt.Errorf("%w: input shape %v", ErrShape, in)
		}
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: empty input shape", ErrShape)
	}
	l := &lowerer{g: &Graph{}, seen: map[string]bool{}}
	l.g.Nodes = append(l.g.Nodes, &Node{ID: 0, Op: Input{}, Out: append(Shape(nil), in...)})
	return &Builder{l: l}, nil
}

// Add appends a node applying op to the outputs of the given nodes and
// returns its ID. op is a primitive block (Conv, BatchNorm, ReLU, …),
// Concat (any number of inputs) or Add (two inputs); composite blocks
// (Sequential, Branches, Residual, Tap) are rejected. Parameter paths are
// path + ".weight" and so on, and must be unique in the graph.
func (b *Builder) Add(path string, op Block, inputs ...int) (int, error) {
	switch op.(type) {
	case nil, Input, Sequential, Branches, Residual, Tap:
		return 0, fmt.Errorf("%w: %s: Builder.Add takes a primitive op, got %T", ErrShape, path, op)
	case Concat:
		if len(inputs) == 0 {
			return 0, fmt.Errorf("%w: %s: Concat needs inputs", ErrShape, path)
		}
	case Add:
		if len(inputs) != 2 {
			return 0, fmt.Errorf("%w: %s: Add needs 2 inputs, got %d", ErrShape, path, len(inputs))
		}
	default:
		if len(inputs) != 1 {
			return 0, fmt.Errorf("%w: %s: %T needs 1 input, got %d", ErrShape, path, op, len(inputs))
		}
	}
	for _, in := range inputs {
		if in < 0 || in >= len(b.l.g.Nodes) {
			return 0, fmt.Errorf("%w: %s: input node %d of %d", ErrShape, path, in, len(b.l.g.Nodes))
		}
	}
	id, err := b.l.add(path, op, inputs...)
	if err != nil {
		return 0, err
	}
	n := b.l.g.Nodes[id]
	bi := BlockInfo{Path: path, Kind: blockKind(op), In: n.In[0], Out: n.Out, Node: id, MACs: n.MACs}
	for _, p := range n.Params {
		if p.Trainable() {
			bi.Params += int64(p.Numel())
		} else {
			bi.Buffers += int64(p.Numel())
		}
	}
	b.l.g.Blocks = append(b.l.g.Blocks, bi)
	return id, nil
}

// Shape returns the per-sample output shape of node id (nil if there is
// no such node).
func (b *Builder) Shape(id int) Shape {
	if id < 0 || id >= len(b.l.g.Nodes) {
		return nil
	}
	return b.l.g.Nodes[id].Out
}

// Graph finishes the graph with main output node out and the given
// auxiliary outputs. The Builder must not be used afterwards.
func (b *Builder) Graph(out int, aux ...AuxOutput) (*Graph, error) {
	g := b.l.g
	for _, id := range append([]int{out}, auxNodes(aux)...) {
		if id <= 0 || id >= len(g.Nodes) {
			return nil, fmt.Errorf("%w: output node %d of %d (the input cannot be an output)", ErrShape, id, len(g.Nodes))
		}
	}
	g.Output = out
	g.Aux = append([]AuxOutput(nil), aux...)
	b.l = nil
	return g, nil
}

func auxNodes(aux []AuxOutput) []int {
	ids := make([]int, len(aux))
	for i, a := range aux {
		ids[i] = a.Node
	}
	return ids
}
