package engine

import (
	"fmt"
	"slices"
	"sync"

	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/nn"
)

// Compile builds a plan for g with parameters p. p must hold exactly the
// parameters of g (see nn.Params.Check); it is not retained: folded copies
// of the weights are.
func Compile(g *nn.Graph, p nn.Params) (*Model, error) {
	return CompileWith(g, p, Options{})
}

// Options configure CompileWith.
type Options struct {
	// Taps are IDs of nodes of the graph whose values RunNodes returns
	// besides the model outputs, e.g. the output of an intermediate block.
	// The plan treats a tapped value as a model output: it is computed as
	// its own step's result (a BatchNorm or ReLU after a tapped conv is
	// not folded into it), never overwritten by an in-place op or shared
	// with a later value, and kept alive to the end of the run, from where
	// it is copied once into the result. Taps cost that buffer and, when a
	// tap splits a fused chain, the unfused steps; nothing else changes.
	Taps []int
}

// CompileWith is Compile with options: the plan also keeps the values of
// o.Taps for RunNodes. A tap that is not a node of g is an error.
func CompileWith(g *nn.Graph, p nn.Params, o Options) (*Model, error) {
	if err := p.Check(g); err != nil {
		return nil, err
	}
	for _, t := range o.Taps {
		if t < 0 || t >= len(g.Nodes) {
			return nil, fmt.Errorf("%w: tap %d is not a node of the graph (0 to %d)", ErrInput, t, len(g.Nodes)-1)
		}
	}
	c := &compiler{g: g, p: p, m: &Model{graph: g, pools: map[int]*sync.Pool{}}}
	return c.compile(o.Taps)
}

// compiler turns a graph into a Model in three passes: compile groups the
// nodes into steps (a conv, linear or per-channel affine with the
// BatchNorms, scales and ReLU that follow it), assignStorage (storage.go)
// places every value, and makeStep (steps.go) builds each step's kernel
// call with folded, packed weights. runtime.go runs the result.
type compiler struct {
	g     *nn.Graph
	p     nn.Params
	m     *Model
	cons  [][]int // consumers, with -1 for a model output
	owner []int   // node ID → ID of the step output it is folded into (or itself)
	view  []int   // node ID → node whose storage it shares (identity ops, in-place ops)
	// wbuf is reused for the folded weights of every conv (kernels.NewConv
	// does not retain them), so that a load makes no garbage per layer.
	wbuf []float32
}

func (c *compiler) single(id int) (int, bool) {
	if len(c.cons[id]) == 1 && c.cons[id][0] >= 0 {
		return c.cons[id][0], true
	}
	return 0, false
}

func (c *compiler) compile(taps []int) (*Model, error) {
	g := c.g
	c.cons = g.Consumers()
	c.m.outputs = append(c.m.outputs, g.Output)
	for _, a := range g.Aux {
		c.m.outputs = append(c.m.outputs, a.Node)
	}
	c.m.models = len(c.m.outputs)
	for _, t := range taps {
		if !slices.Contains(c.m.outputs, t) {
			c.m.outputs = append(c.m.outputs, t)
		}
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
				_, bn := nx.Op.(nn.BatchNorm)
				_, scale := nx.Op.(nn.ChannelScale)
				_, affine := nx.Op.(nn.Affine)
				_, relu := nx.Op.(nn.ReLU)
				if (bn || scale || affine) && !isLinear && !lastIsReLU(chain) {
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

// channelAffine returns the per-channel affine map of a BatchNorm,
// ChannelScale or Affine node.
func (c *compiler) channelAffine(n *nn.Node) kernels.Affine {
	ch := n.Out[0]
	switch op := n.Op.(type) {
	case nn.BatchNorm:
		return kernels.BatchNormAffine(c.param(n, nn.Weight), c.param(n, nn.Bias),
			c.param(n, nn.RunningMean), c.param(n, nn.RunningVar), op.Eps)
	case nn.ChannelScale:
		w, b := c.param(n, nn.Weight), c.param(n, nn.Bias)
		a := kernels.IdentityAffine(ch)
		for i := 0; i < ch; i++ {
			a.Scale[i] = float64(w[i])
			if b != nil {
				a.Shift[i] = float64(b[i])
			}
		}
		return a
	case nn.Affine:
		a := kernels.IdentityAffine(ch)
		for i := 0; i < ch; i++ {
			a.Scale[i] = float64(op.Scale[i])
			a.Shift[i] = float64(op.Shift[i])
		}
		return a
	}
	panic(fmt.Sprintf("engine: channelAffine of %T", n.Op))
}

// chainAffine composes the per-channel affines of a chain's nodes (those
// after the head when skipHead) and reports whether it ends in a ReLU.
func (c *compiler) chainAffine(chain []*nn.Node, skipHead bool) (a kernels.Affine, relu bool) {
	a = kernels.IdentityAffine(chain[0].Out[0])
	for k, x := range chain {
		if k == 0 && skipHead {
			continue
		}
		if _, ok := x.Op.(nn.ReLU); ok {
			relu = true
			continue
		}
		a = a.Then(c.channelAffine(x))
	}
	return a, relu
}

// fold returns the weights and bias of a conv or linear head node with the
// per-channel affines of the chain folded in (kernels.Affine.Fold), and
// whether the chain ends in a ReLU.
func (c *compiler) fold(chain []*nn.Node) (w, b []float32, relu bool) {
	return c.foldInto(chain, nil)
}

// foldInto is fold writing the weights into dst when it is long enough
// (see kernels.Affine.FoldInto).
func (c *compiler) foldInto(chain []*nn.Node, dst []float32) (w, b []float32, relu bool) {
	head := chain[0]
	a, relu := c.chainAffine(chain, true)
	w, b = a.FoldInto(dst, c.param(head, nn.Weight), c.param(head, nn.Bias), head.Out[0])
	return w, b, relu
}
