package gorgon

import (
	"errors"
	"fmt"
	"math"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/nn"
)

// ErrUnsupported reports a block the back end does not train.
var ErrUnsupported = errors.New("gorgon: unsupported")

// Config configures Build.
type Config struct {
	// Batch is the fixed mini-batch size of the expression graph.
	Batch int
	// Trainable selects the parameters to learn among the trainable ones
	// (weights and biases); nil learns all of them. The others are
	// constants of the graph (gradients still flow through them).
	Trainable func(nn.ParamSpec) bool
	// BNMomentum is the running-statistics momentum of BatchNorm in
	// training mode (PyTorch's convention); 0 means 0.1.
	BNMomentum float64
	// DropoutAsIdentity trains Dropout blocks as the identity (their
	// inference behaviour) instead of seeded inverted dropout.
	DropoutAsIdentity bool
	// Seed seeds the dropout masks: a mask is a pure function of (Seed,
	// the block's path, the step number; see Net.SetStep).
	Seed uint64
	// AuxWeight, if positive, builds the graph's auxiliary heads (nn.Tap)
	// and adds each head's mean cross-entropy times AuxWeight to the loss
	// (GoogLeNet: 0.3, Inception v3: 0.4). 0 leaves the heads out.
	AuxWeight float64
}

// Net is a lowered zoo graph built as a gorgonia expression graph with a
// softmax cross-entropy loss, ready for forward and backward passes.
//
// Parameters are shared, not copied: every parameter node's value is a
// gorgonia tensor whose backing array is the nn.Params tensor's Data, so
// an optimizer updating Params (in place) updates the graph, and Params
// always holds the current weights — ready for engine.Compile,
// convert.Export or a checkpoint with no copy-out step. BatchNorm
// running statistics are updated in place in Params during training
// forward passes of BatchNorms whose scale or shift is learned; the
// others use their running statistics (frozen BN, as in fine-tuning).
//
// Activations inside the graph are CNHW ([C, N, H, W]); Step takes NCHW
// batches and transposes them on the way in.
type Net struct {
	Graph  *nn.Graph
	Params nn.Params
	Batch  int
	// Learn lists the learned parameters in graph order; Grads()[i] is the
	// gradient of Learn[i].
	Learn []nn.ParamSpec

	g       *G.ExprGraph
	x, t    *G.Node
	learn   []*G.Node
	grads   [][]float32
	xv, tv  *tensor.Dense
	lossV   G.Value
	logitsV G.Value
	vm      G.VM
	classes int
	in      nn.Shape
	step    int64
}

var useBLAS sync.Once

// Build interprets g as a gorgonia graph at batch cfg.Batch over the
// parameters p, adds the mean softmax cross-entropy of the logits (the
// output, or the input of a final Softmax) against one-hot targets (plus
// the weighted auxiliary losses, see Config.AuxWeight), and differentiates
// it with respect to the learned parameters. Build switches gorgonia to
// the fast BLAS (UseFastBLAS).
func Build(g *nn.Graph, p nn.Params, cfg Config) (*Net, error) {
	useBLAS.Do(UseFastBLAS)
	if cfg.Batch <= 0 {
		return nil, fmt.Errorf("%w: batch %d", ErrGraph, cfg.Batch)
	}
	if cfg.AuxWeight < 0 || math.IsNaN(cfg.AuxWeight) {
		return nil, fmt.Errorf("%w: auxiliary loss weight %g", ErrGraph, cfg.AuxWeight)
	}
	if err := p.Check(g); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGraph, err)
	}
	if cfg.BNMomentum == 0 {
		cfg.BNMomentum = 0.1
	}
	in := g.InputShape()
	if len(in) != 3 {
		return nil, fmt.Errorf("%w: input shape %v, want [C, H, W]", ErrGraph, in)
	}
	n := &Net{Graph: g, Params: p, Batch: cfg.Batch, in: in}
	b := &builder{cfg: cfg, g: g, p: p, eg: G.NewGraph(), vals: map[int]*G.Node{}, step: &n.step, uses: uses(g), needs: map[int]bool{}}
	n.g = b.eg
	n.xv = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(in[0], cfg.Batch, in[1], in[2]))
	n.x = G.NewTensor(b.eg, tensor.Float32, 4, G.WithShape(n.xv.Shape()...), G.WithName("input"), G.WithValue(n.xv))
	b.vals[0] = n.x
	logits, err := b.logits(g.Output)
	if err != nil {
		return nil, err
	}
	n.classes = logits.Shape()[1]
	n.tv = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(cfg.Batch, n.classes))
	n.t = G.NewMatrix(b.eg, tensor.Float32, G.WithShape(cfg.Batch, n.classes), G.WithName("target"), G.WithValue(n.tv))
	loss, err := meanCE(logits, n.t)
	if err != nil {
		return nil, err
	}
	if cfg.AuxWeight > 0 {
		for _, a := range g.Aux {
			z, err := b.logits(a.Node)
			if err != nil {
				return nil, fmt.Errorf("%w: auxiliary head %s: %w", ErrGraph, a.Name, err)
			}
			if z.Shape()[1] != n.classes {
				return nil, fmt.Errorf("%w: auxiliary head %s has %d classes, the model %d", ErrGraph, a.Name, z.Shape()[1], n.classes)
			}
			al, err := meanCE(z, n.t)
			if err != nil {
				return nil, err
			}
			if al, err = G.Mul(al, G.NewConstant(float32(cfg.AuxWeight))); err != nil {
				return nil, fmt.Errorf("%w: auxiliary loss: %w", ErrGraph, err)
			}
			if loss, err = G.Add(loss, al); err != nil {
				return nil, fmt.Errorf("%w: auxiliary loss: %w", ErrGraph, err)
			}
		}
	}
	G.Read(loss, &n.lossV)
	G.Read(logits, &n.logitsV)
	n.learn, n.Learn = b.learn, b.learnSpecs
	if len(n.learn) > 0 {
		if _, err := G.Grad(loss, n.learn...); err != nil {
			return nil, fmt.Errorf("%w: gradient: %w", ErrGraph, err)
		}
	}
	n.grads = make([][]float32, len(n.learn))
	n.vm = G.NewTapeMachine(b.eg, G.BindDualValues(n.learn...))
	return n, nil
}

// meanCE is the batch mean of the softmax cross-entropy of logits z
// against targets t.
func meanCE(z, t *G.Node) (*G.Node, error) {
	ce, err := softmaxCE(z, t)
	if err != nil {
		return nil, err
	}
	loss, err := G.Mean(ce)
	if err != nil {
		return nil, fmt.Errorf("%w: loss: %w", ErrGraph, err)
	}
	return loss, nil
}

// SetStep sets the number of the next step (its dropout masks); Step
// increments it. A resumed run sets the step it resumes at.
func (n *Net) SetStep(step int64) { n.step = step }

// Step runs one forward and backward pass on a batch: x holds Batch
// samples (NCHW, float32) and labels their classes. It returns the mean
// loss and the number of samples whose top-1 logit is the label; the
// gradients are then in Grads().
func (n *Net) Step(x []float32, labels []int) (loss float64, correct int, err error) {
	if len(x) != n.xv.Size() || len(labels) != n.Batch {
		return 0, 0, fmt.Errorf("%w: batch of %d values and %d labels, want %d and %d", ErrGraph, len(x), len(labels), n.xv.Size(), n.Batch)
	}
	t := n.tv.Float32s()
	clear(t)
	for i, l := range labels {
		if l < 0 || l >= n.classes {
			return 0, 0, fmt.Errorf("%w: label %d outside [0,%d)", ErrGraph, l, n.classes)
		}
		t[i*n.classes+l] = 1
	}
	// NCHW → CNHW
	c, hw := n.in[0], n.in[1]*n.in[2]
	xv := n.xv.Float32s()
	for ci := 0; ci < c; ci++ {
		for b := 0; b < n.Batch; b++ {
			copy(xv[(ci*n.Batch+b)*hw:(ci*n.Batch+b+1)*hw], x[(b*c+ci)*hw:(b*c+ci+1)*hw])
		}
	}
	// gorgonia accumulates into the gradient buffers of the dual values
	// (its solvers zero them after each update): clear them first.
	for _, l := range n.learn {
		if v, err := l.Grad(); err == nil && v != nil {
			if d, ok := v.Data().([]float32); ok {
				clear(d)
			}
		}
	}
	defer n.vm.Reset()
	err = n.vm.RunAll()
	n.step++
	if err != nil {
		return 0, 0, fmt.Errorf("%w: run: %w", ErrGraph, err)
	}
	switch v := n.lossV.Data().(type) {
	case float32:
		loss = float64(v)
	default:
		return 0, 0, fmt.Errorf("%w: loss value %T", ErrGraph, v)
	}
	z := n.logitsV.Data().([]float32)
	for i, l := range labels {
		row := z[i*n.classes : (i+1)*n.classes]
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		if best == l {
			correct++
		}
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, correct, fmt.Errorf("%w: loss is %v", ErrGraph, loss)
	}
	return loss, correct, nil
}

// Grads returns the gradients of the last Step, one per Learn entry. The
// slices belong to the graph and are overwritten by the next Step.
func (n *Net) Grads() ([][]float32, error) {
	for i, l := range n.learn {
		v, err := l.Grad()
		if err != nil {
			return nil, fmt.Errorf("%w: gradient of %s: %w", ErrGraph, n.Learn[i].Path, err)
		}
		d, ok := v.Data().([]float32)
		if !ok {
			return nil, fmt.Errorf("%w: gradient of %s is %T", ErrGraph, n.Learn[i].Path, v.Data())
		}
		n.grads[i] = d
	}
	return n.grads, nil
}

// Close releases the machine.
func (n *Net) Close() error { return n.vm.Close() }

// uses counts the consumers of every node (the output and auxiliary
// outputs count as consumers).
func uses(g *nn.Graph) []int {
	u := make([]int, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			u[in]++
		}
	}
	u[g.Output]++
	for _, a := range g.Aux {
		u[a.Node]++
	}
	return u
}

type builder struct {
	cfg        Config
	g          *nn.Graph
	p          nn.Params
	eg         *G.ExprGraph
	vals       map[int]*G.Node
	learn      []*G.Node
	learnSpecs []nn.ParamSpec
	step       *int64
	uses       []int
	fused      map[int]bool // Conv nodes whose ReLU consumer is fused in
	// needs holds the nodes whose value depends on a learned parameter:
	// only their gradients are of use (the input's, or a frozen
	// layer's output's, are not).
	needs map[int]bool
}

// logits returns the [N, K] logits of node id: its value, or its input's
// if id is a Softmax.
func (b *builder) logits(id int) (*G.Node, error) {
	if _, ok := b.g.Nodes[id].Op.(nn.Softmax); ok {
		id = b.g.Nodes[id].Inputs[0]
	}
	if s := b.g.Nodes[id].Out; len(s) != 1 {
		return nil, fmt.Errorf("%w: logits shape %v, want a vector", ErrGraph, s)
	}
	return b.node(id)
}

// param returns the node of n's parameter of the given kind (nil if the
// node has none): a learned node or a constant, sharing p's memory.
func (b *builder) param(n *nn.Node, kind nn.ParamKind) (*G.Node, bool) {
	s, ok := n.Param(kind)
	if !ok {
		return nil, false
	}
	t := b.p[s.Path]
	v := tensor.New(tensor.WithShape(t.Shape...), tensor.WithBacking(t.Data))
	node := G.NewTensor(b.eg, tensor.Float32, len(t.Shape), G.WithShape(t.Shape...), G.WithName(s.Path), G.WithValue(v))
	learned := s.Trainable() && (b.cfg.Trainable == nil || b.cfg.Trainable(s))
	if learned {
		b.needs[n.ID] = true
		b.learn = append(b.learn, node)
		b.learnSpecs = append(b.learnSpecs, s)
	}
	return node, learned
}

func (b *builder) node(id int) (*G.Node, error) {
	if v, ok := b.vals[id]; ok {
		return v, nil
	}
	n := b.g.Nodes[id]
	ins := make([]*G.Node, len(n.Inputs))
	for i, in := range n.Inputs {
		v, err := b.node(in)
		if err != nil {
			return nil, err
		}
		ins[i] = v
		b.needs[id] = b.needs[id] || b.needs[in]
	}
	v, err := b.lower(n, ins)
	if err != nil {
		return nil, fmt.Errorf("%w: node %d (%s, %T): %w", ErrGraph, n.ID, n.Path, n.Op, err)
	}
	b.vals[id] = v
	return v, nil
}

func or1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

func (b *builder) geom(n *nn.Node, k, s [2]int, p nn.Pad, d [2]int) poolGeom {
	in := n.In[0]
	return poolGeom{N: b.cfg.Batch, C: in[0], H: in[1], W: in[2], KH: k[0], KW: k[1], SH: or1(s[0]), SW: or1(s[1]),
		T: p.T, L: p.L, B: p.B, R: p.R, DH: or1(d[0]), DW: or1(d[1]), OH: n.Out[1], OW: n.Out[2]}
}

// reluFollows reports whether the only consumer of node id is a ReLU (the
// next node, as nn.Lower emits a ConvUnit), which the conv then fuses.
func (b *builder) reluFollows(id int) bool {
	if b.uses[id] != 1 || id+1 >= len(b.g.Nodes) {
		return false
	}
	next := b.g.Nodes[id+1]
	_, ok := next.Op.(nn.ReLU)
	return ok && len(next.Inputs) == 1 && next.Inputs[0] == id
}

func (b *builder) lower(n *nn.Node, in []*G.Node) (*G.Node, error) {
	spatial := len(n.In[0]) == 3
	switch op := n.Op.(type) {
	case nn.Conv:
		w, _ := b.param(n, nn.Weight)
		bias, _ := b.param(n, nn.Bias)
		s := n.In[0]
		fuse := b.reluFollows(n.ID)
		if fuse {
			if b.fused == nil {
				b.fused = map[int]bool{}
			}
			b.fused[n.ID] = true
		}
		return conv2d(in[0], w, bias, convGeom{N: b.cfg.Batch, C: s[0], H: s[1], W: s[2], Out: op.Out, Groups: or1(op.Groups),
			KH: op.Kernel[0], KW: op.Kernel[1], SH: or1(op.Stride[0]), SW: or1(op.Stride[1]),
			T: op.Pad.T, L: op.Pad.L, B: op.Pad.B, R: op.Pad.R, DH: or1(op.Dilation[0]), DW: or1(op.Dilation[1]),
			OH: n.Out[1], OW: n.Out[2]}, fuse, b.needs[n.Inputs[0]])
	case nn.Linear:
		w, _ := b.param(n, nn.Weight)
		bias, _ := b.param(n, nn.Bias)
		return linear(in[0], w, bias)
	case nn.BatchNorm:
		gamma, lg := b.param(n, nn.Weight)
		beta, lb := b.param(n, nn.Bias)
		if gamma == nil {
			c := n.Out[0]
			ones := make([]float32, c)
			for i := range ones {
				ones[i] = 1
			}
			gamma = G.NewTensor(b.eg, tensor.Float32, 1, G.WithShape(c), G.WithName(n.Path+".weight.ones"),
				G.WithValue(tensor.New(tensor.WithShape(c), tensor.WithBacking(ones))))
		}
		ms, _ := n.Param(nn.RunningMean)
		vs, _ := n.Param(nn.RunningVar)
		st := &bnState{Path: n.Path, Eps: float64(op.Eps), Momentum: b.cfg.BNMomentum, Training: lg || lb,
			Mean: b.p[ms.Path].Data, Var: b.p[vs.Path].Data}
		return batchNorm(in[0], gamma, beta, st)
	case nn.ChannelScale:
		s, _ := b.param(n, nn.Weight)
		y, err := channelMul(in[0], s)
		if err != nil {
			return nil, err
		}
		if bias, _ := b.param(n, nn.Bias); bias != nil {
			return biasAdd(y, bias)
		}
		return y, nil
	case nn.Affine:
		sc, sh := make([]float64, len(op.Scale)), make([]float64, len(op.Shift))
		for i, v := range op.Scale {
			sc[i] = float64(v)
		}
		for i, v := range op.Shift {
			sh[i] = float64(v)
		}
		if len(sc) == 0 {
			sc = nil
		}
		if len(sh) == 0 {
			sh = nil
		}
		return constAffine(in[0], sc, sh, n.Path)
	case nn.ReLU:
		if b.fused[n.Inputs[0]] {
			return in[0], nil
		}
		return relu(in[0])
	case nn.MaxPool:
		return maxPool(in[0], b.geom(n, op.Kernel, op.Stride, op.Pad, op.Dilation))
	case nn.AvgPool:
		return avgPool(in[0], b.geom(n, op.Kernel, op.Stride, op.Pad, [2]int{}), op.CountIncludePad)
	case nn.GlobalAvgPool:
		s := n.In[0]
		return globalAvgPool(in[0], b.cfg.Batch, s[0], s[1], s[2])
	case nn.AdaptiveAvgPool:
		s := n.In[0]
		if op.Out == [2]int{1, 1} {
			return globalAvgPool(in[0], b.cfg.Batch, s[0], s[1], s[2])
		}
		if s[1]%op.Out[0] != 0 || s[2]%op.Out[1] != 0 {
			return nil, fmt.Errorf("%w: adaptive pooling %v→%v with non-uniform bins", ErrUnsupported, s, op.Out)
		}
		k := [2]int{s[1] / op.Out[0], s[2] / op.Out[1]}
		return avgPool(in[0], b.geom(n, k, k, nn.Pad{}, [2]int{}), false)
	case nn.LRN:
		return lrn(in[0], op.Size, float64(op.Alpha), float64(op.Beta), float64(op.Bias))
	case nn.Dropout:
		if op.P <= 0 || b.cfg.DropoutAsIdentity {
			return in[0], nil
		}
		return dropout(in[0], &dropState{Path: n.Path, P: float64(op.P), Seed: b.cfg.Seed, step: b.step})
	case nn.Flatten:
		if !spatial {
			return in[0], nil
		}
		return flatten(in[0])
	case nn.Softmax:
		if spatial {
			return nil, fmt.Errorf("%w: softmax over a feature map", ErrUnsupported)
		}
		return G.SoftMax(in[0])
	case nn.Concat:
		if len(in) == 1 {
			return in[0], nil
		}
		return concat(in)
	case nn.Add:
		return addScaled(in[0], in[1], float64(op.Scale), op.ReLU)
	}
	return nil, fmt.Errorf("%w: op %T", ErrUnsupported, n.Op)
}
