package zoo

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
)

// Errors of the feature API.
var (
	// ErrNoHead reports a classification call (Predict, PredictImages) on
	// a model loaded WithoutHead, or WithoutHead on a model whose main
	// output is not a classifier.
	ErrNoHead = errors.New("zoo: model has no classifier head")
	// ErrLayer reports a layer path that is not a block of the model.
	ErrLayer = errors.New("zoo: unknown layer")
	// ErrNotTrunk reports a TruncateAt block that not every path from the
	// input to the output goes through (a branch inside an Inception
	// block): cutting after it would cut a block in part.
	ErrNotTrunk = errors.New("zoo: not a trunk block")
)

// WithoutHead loads the model without its classifier: the final Linear
// layer (and a Softmax after it) is removed from the block tree, so the
// model has no classifier parameters (Params, Summary and the weights it
// keeps say so), its main output (Forward) is the embedding Features
// returns before any normalisation, Classes is 0, and Predict and
// PredictImages refuse it with ErrNoHead. Weights are read as for the full
// model (a checkpoint with its classifier loads; the classifier is then
// dropped).
func WithoutHead() Option { return func(c *config) { c.noHead = true } }

// TruncateAt loads the model only up to the block at path (a block every
// path from the input to the output goes through, e.g. "maxpool1" or
// "Mixed_6e" of inception-v3; see FeatureInfo): the blocks after it, the
// classifier and the auxiliary heads are removed with their parameters,
// and the main output (Forward) is that block's output. Like WithoutHead,
// such a model does not classify (ErrNoHead), and it has no embedding
// (Features is ErrNoHead too). Computing pytorch-fid's 64-dimensional
// features this way runs 4% of inception-v3 instead of all of it.
func TruncateAt(path string) Option { return func(c *config) { c.truncate = path } }

// WithLayers compiles the outputs of the blocks at paths (as `inception
// info` prints them, e.g. "Mixed_6e", "inception4e", "features.9") into
// the model's plan, so that Activations and ForwardLayers return them from
// the same pass as the main output, without compiling a second plan. Any
// block path works in those calls without this option; a path not
// declared here costs one extra compilation (see Activations).
func WithLayers(paths ...string) Option {
	return func(c *config) { c.layers = append(c.layers, paths...) }
}

// features is what a Model knows about its embedding and its layers.
type features struct {
	node     int            // node of m.Graph holding the embedding (the classifier's input)
	l2       bool           // Features are L2-normalised (spec.Model.FeaturesL2)
	headless bool           // loaded WithoutHead or TruncateAt: no classifier
	cutAt    string         // the TruncateAt block ("" if none)
	paths    map[string]int // block path → node holding its output (outermost block first)
	taps     []int          // nodes kept by the main plan (besides the outputs)

	mu    sync.Mutex               // serialises compilations of extra
	extra atomic.Pointer[tapsPlan] // plan with layers asked for after Load
}

// tapsPlan is a compiled plan and the nodes it keeps.
type tapsPlan struct {
	exec *engine.Model
	kept []int
}

// classifierOf finds the classifier of g: the Linear node producing the
// main output, possibly followed by a Softmax. It returns the Linear's ID
// and the IDs of the head (the Linear and what follows it), or -1.
func classifierOf(g *nn.Graph) (cls int, head []int) {
	id := g.Output
	for {
		n := g.Nodes[id]
		switch n.Op.(type) {
		case nn.Linear:
			head = append(head, id)
			slices.Sort(head)
			return id, head
		case nn.Softmax:
			head = append(head, id)
			id = n.Inputs[0]
		default:
			return -1, nil
		}
	}
}

// blockPaths maps each block path of g to the node holding its output;
// when several blocks share a path (a named block and its transparent
// children), the outermost wins. The root ("") is left out.
func blockPaths(g *nn.Graph) map[string]int {
	paths := map[string]int{}
	for _, b := range g.Blocks {
		if _, ok := paths[b.Path]; !ok && b.Path != "" {
			paths[b.Path] = b.Node
		}
	}
	return paths
}

// assemble finishes a load: it removes the head (WithoutHead) or what
// follows a block (TruncateAt), and compiles the model with its embedding
// and the WithLayers paths tapped.
func (c *config) assemble(e registry.Entry, b nn.Block, g *nn.Graph, p nn.Params) (*Model, error) {
	var err error
	switch {
	case c.noHead && c.truncate != "":
		return nil, fmt.Errorf("zoo: %s: WithoutHead and TruncateAt(%q) exclude each other", e.Name, c.truncate)
	case c.noHead:
		cls, _ := classifierOf(g)
		if cls < 0 {
			n := g.Nodes[g.Output]
			return nil, fmt.Errorf("%w: %s: the main output comes from %s (%T), not a Linear classifier", ErrNoHead, e.Name, n.Path, n.Op)
		}
		if b, g, p, err = cut(e, b, g, p, g.Nodes[cls].Inputs[0]); err != nil {
			return nil, err
		}
	case c.truncate != "":
		id, err := (&features{paths: blockPaths(g)}).layer(e.Name, c.truncate)
		if err != nil {
			return nil, err
		}
		if b, g, p, err = cut(e, b, g, p, id); err != nil {
			return nil, fmt.Errorf("%w (TruncateAt takes a block of the trunk, see FeatureInfo)", err)
		}
	}
	m, err := newModel(e, b, g, p, c.noHead || c.truncate != "", c.layers)
	if err != nil {
		return nil, err
	}
	if c.truncate != "" {
		m.fx.cutAt, m.fx.node, m.fx.l2 = c.truncate, -1, false
	}
	return m, nil
}

// newModel compiles a model whose plan keeps the embedding and layers.
func newModel(e registry.Entry, b nn.Block, g *nn.Graph, p nn.Params, headless bool, layers []string) (*Model, error) {
	fx := &features{node: -1, l2: e.FeaturesL2, headless: headless, paths: blockPaths(g)}
	if headless {
		fx.node = g.Output
	} else if cls, _ := classifierOf(g); cls >= 0 {
		fx.node = g.Nodes[cls].Inputs[0]
	}
	if fx.node >= 0 {
		fx.taps = append(fx.taps, fx.node)
	}
	for _, l := range layers {
		id, err := fx.layer(e.Name, l)
		if err != nil {
			return nil, err
		}
		fx.taps = append(fx.taps, id)
	}
	exec, err := engine.CompileWith(g, p, engine.Options{Taps: fx.taps})
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w", e.Name, err)
	}
	return &Model{Spec: e, Block: b, Graph: g, Params: p, exec: exec, fx: fx}, nil
}

// layer returns the node holding the output of the block at path.
func (fx *features) layer(model, path string) (int, error) {
	if id, ok := fx.paths[path]; ok {
		return id, nil
	}
	// Suggest the paths that contain the request, else the top-level ones.
	var near []string
	for p := range fx.paths {
		if path != "" && strings.Contains(strings.ToLower(p), strings.ToLower(path)) {
			near = append(near, p)
		}
	}
	if len(near) == 0 {
		for p := range fx.paths {
			if !strings.Contains(p, ".") {
				near = append(near, p)
			}
		}
	}
	sort.Strings(near)
	if len(near) > 12 {
		near = append(near[:12], "…")
	}
	return 0, fmt.Errorf("%w: %s has no block %q (see 'inception info %s --depth N'; e.g. %s)", ErrLayer, model, path, model, strings.Join(near, ", "))
}

// cut keeps the part of the model that computes node out: the block tree
// without the blocks whose nodes out does not depend on, its graph (whose
// main output is out's value) and its parameters.
func cut(e registry.Entry, b nn.Block, g *nn.Graph, p nn.Params, out int) (nn.Block, *nn.Graph, nn.Params, error) {
	need := make([]bool, len(g.Nodes))
	need[out] = true
	for id := out; id >= 0; id-- {
		if need[id] {
			for _, in := range g.Nodes[id].Inputs {
				need[in] = true
			}
		}
	}
	drop := map[int]bool{}
	for id, ok := range need {
		if !ok {
			drop[id] = true
		}
	}
	pr := &pruner{g: g, next: 1, drop: drop}
	nb, keep, err := pr.walk(b)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("zoo: %s: cutting after %s: %w", e.Name, g.Nodes[out].Path, err)
	}
	if !keep || pr.next != len(g.Nodes) {
		return nil, nil, nil, fmt.Errorf("zoo: %s: cutting after %s: the block tree lowers to %d nodes, the graph has %d", e.Name, g.Nodes[out].Path, pr.next, len(g.Nodes))
	}
	ng, err := nn.Lower(nb, g.InputShape())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("zoo: %s: cut after %s: %w", e.Name, g.Nodes[out].Path, err)
	}
	if len(ng.Nodes) != len(g.Nodes)-len(drop) || !slices.Equal(ng.OutputShape(), g.Nodes[out].Out) {
		return nil, nil, nil, fmt.Errorf("zoo: %s: cut after %s: the graph has %d nodes and output %v, want %d and %v",
			e.Name, g.Nodes[out].Path, len(ng.Nodes), ng.OutputShape(), len(g.Nodes)-len(drop), g.Nodes[out].Out)
	}
	np := nn.Params{}
	for _, s := range ng.Params() {
		np[s.Path] = p[s.Path]
	}
	if err := np.Check(ng); err != nil {
		return nil, nil, nil, fmt.Errorf("zoo: %s: cut after %s: %w", e.Name, g.Nodes[out].Path, err)
	}
	return nb, ng, np, nil
}

// pruner walks a block tree in the order nn.Lower lowers it, numbering the
// nodes as Lower does, and drops the primitive blocks whose nodes are in
// drop. Each primitive is checked against its graph node, so a walk that
// went out of step with Lower fails instead of dropping the wrong block.
type pruner struct {
	g    *nn.Graph
	next int // ID of the next node Lower would create
	drop map[int]bool
}

func kind(b nn.Block) string { return fmt.Sprintf("%T", b) }

func (w *pruner) node(want string) (int, error) {
	id := w.next
	w.next++
	if id >= len(w.g.Nodes) {
		return 0, fmt.Errorf("block tree has more nodes than the graph (%d)", len(w.g.Nodes))
	}
	if got := kind(w.g.Nodes[id].Op); got != want {
		return 0, fmt.Errorf("node %d (%s) is a %s, the block tree has a %s there", id, w.g.Nodes[id].Path, got, want)
	}
	return id, nil
}

// walk returns b without the dropped blocks and whether anything is left.
// A composite whose every part is dropped is dropped; one that is only
// partly dropped (a branch of a kept concat, say) is an error, since
// removing it would change what the rest computes.
func (w *pruner) walk(b nn.Block) (nn.Block, bool, error) {
	switch v := b.(type) {
	case nn.Sequential:
		var kept []nn.Block
		for _, c := range v.Layers {
			nc, ok, err := w.walk(c)
			if err != nil {
				return nil, false, err
			}
			if ok {
				kept = append(kept, nc)
			}
		}
		if len(kept) == 0 && len(v.Layers) > 0 {
			return nil, false, nil
		}
		v.Layers = kept
		return v, true, nil
	case nn.Branches:
		paths, n, err := w.walkAll(v.Paths)
		if err != nil {
			return nil, false, err
		}
		id, err := w.node(kind(nn.Concat{}))
		if err != nil {
			return nil, false, err
		}
		if w.drop[id] && n == 0 {
			return nil, false, nil
		}
		if w.drop[id] || n != len(v.Paths) {
			return nil, false, fmt.Errorf("%w: branches %s would be cut in part", ErrNotTrunk, v.Name)
		}
		v.Paths = paths
		return v, true, nil
	case nn.Residual:
		body, n, err := w.walkAll([]nn.Block{v.Body})
		if err != nil {
			return nil, false, err
		}
		id, err := w.node(kind(nn.Add{}))
		if err != nil {
			return nil, false, err
		}
		if w.drop[id] && n == 0 {
			return nil, false, nil
		}
		if w.drop[id] || n != 1 {
			return nil, false, fmt.Errorf("%w: residual %s would be cut in part", ErrNotTrunk, v.Name)
		}
		v.Body = body[0]
		return v, true, nil
	case nn.Tap:
		head, n, err := w.walkAll([]nn.Block{v.Head})
		if err != nil {
			return nil, false, err
		}
		if n == 0 {
			return nil, false, nil // the auxiliary head is not needed
		}
		v.Head = head[0]
		return v, true, nil
	}
	id, err := w.node(kind(b))
	if err != nil {
		return nil, false, err
	}
	return b, !w.drop[id], nil
}

// walkAll walks bs and returns the kept blocks (in a new slice) and how
// many there are.
func (w *pruner) walkAll(bs []nn.Block) ([]nn.Block, int, error) {
	out := make([]nn.Block, 0, len(bs))
	for _, c := range bs {
		nc, ok, err := w.walk(c)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			out = append(out, nc)
		}
	}
	return out, len(out), nil
}

// Headless reports whether the model has no classifier: it was loaded
// WithoutHead or TruncateAt.
func (m *Model) Headless() bool { return m.fx.headless }

// checkHead refuses classification on a model without its classifier.
func (m *Model) checkHead() error {
	switch {
	case m.fx.cutAt != "":
		return fmt.Errorf("%w: %s was loaded TruncateAt(%q); Forward returns that block's output", ErrNoHead, m.Spec.Name, m.fx.cutAt)
	case m.fx.headless:
		return fmt.Errorf("%w: %s was loaded WithoutHead; use Features or Activations for its embedding", ErrNoHead, m.Spec.Name)
	}
	return nil
}

// FeatureDim returns the width of the embedding Features returns (2048
// for inception-v3, 1024 for inception-v1, 1536 for inception-v4 and
// inception-resnet-v2, 512 for inception-resnet-v1), or 0 when the model
// has no classifier to take it from.
func (m *Model) FeatureDim() int {
	if m.fx.node < 0 {
		return 0
	}
	return m.Graph.Nodes[m.fx.node].Out.Numel()
}

// Features returns the model's embedding of each sample of x: the input
// of its classifier (the pooled features), [N, FeatureDim]. For a model
// whose spec says FeaturesL2 (inception-resnet-v1: facenet's 512-d
// last_bn output), each row is L2-normalised as facenet-pytorch does
// (x / max(‖x‖, 1e-12)). The embedding comes from the same pass as the
// main output would, with no second pass.
func (m *Model) Features(x *tensor.Tensor) (*tensor.Tensor, error) {
	if m.fx.node < 0 {
		if err := m.checkHead(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: the main output is not a Linear classifier, so there is no embedding to take", ErrNoHead, m.Spec.Name)
	}
	a, err := m.Activations(x)
	if err != nil {
		return nil, err
	}
	return a.Features, nil
}

// Activations is what one pass of a model computes for a batch.
type Activations struct {
	// Output is the main output, [N, classes] (for a model loaded
	// WithoutHead, the unnormalised embedding).
	Output *tensor.Tensor
	// Features is the embedding, [N, FeatureDim], as Features returns it
	// (nil for a model without a classifier to take it from).
	Features *tensor.Tensor
	// Layers holds the requested layers by block path, each [N, block
	// output shape...], e.g. [N, 768, 17, 17] for "Mixed_6e".
	Layers map[string]*tensor.Tensor
}

// ForwardLayers returns the outputs of the blocks at paths for x, in the
// order of paths, from one pass (see Activations).
func (m *Model) ForwardLayers(x *tensor.Tensor, paths ...string) ([]*tensor.Tensor, error) {
	a, err := m.Activations(x, paths...)
	if err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, len(paths))
	for i, p := range paths {
		out[i] = a.Layers[p]
	}
	return out, nil
}

// Activations runs x once and returns the main output, the embedding and
// the outputs of the blocks at layers (block paths as `inception info`
// prints them and FeatureInfo names them).
//
// The values are those of the pass that computes the main output: the
// plan keeps the tapped buffers alive (engine.Options.Taps) and each is
// copied once into its result tensor. Layers declared at Load
// (WithLayers) and the embedding are part of the model's plan; a layer
// not declared there is compiled, on first use, into a second plan that
// keeps every layer asked for so far (the folded weights are packed again
// for it: about the size of the weights in memory, once). Safe for
// concurrent use.
func (m *Model) Activations(x *tensor.Tensor, layers ...string) (*Activations, error) {
	ids := []int{m.exec.Graph().Output}
	if m.fx.node >= 0 {
		ids = append(ids, m.fx.node)
	}
	for _, l := range layers {
		id, err := m.fx.layer(m.Spec.Name, l)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	exec, err := m.planFor(ids)
	if err != nil {
		return nil, err
	}
	vals, err := exec.RunNodes(x, ids...)
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w", m.Spec.Name, err)
	}
	a := &Activations{Output: vals[0], Layers: map[string]*tensor.Tensor{}}
	rest := vals[1:]
	if m.fx.node >= 0 {
		// RunNodes gives every requested value its own tensor, even when
		// the same node is asked for twice, so normalising is safe.
		a.Features = flatten(rest[0])
		if m.fx.l2 {
			l2Normalize(a.Features)
		}
		rest = rest[1:]
	}
	for i, l := range layers {
		a.Layers[l] = rest[i]
	}
	return a, nil
}

// planFor returns a plan that keeps every node of ids: the model's own, or
// the extra plan, compiled (again) with ids added if needed.
func (m *Model) planFor(ids []int) (*engine.Model, error) {
	kept := func(have []int) bool {
		for _, id := range ids {
			if !slices.Contains(have, id) {
				return false
			}
		}
		return true
	}
	if kept(m.exec.Kept()) {
		return m.exec, nil
	}
	if p := m.fx.extra.Load(); p != nil && kept(p.kept) {
		return p.exec, nil
	}
	m.fx.mu.Lock()
	defer m.fx.mu.Unlock()
	taps := slices.Clone(m.fx.taps)
	if p := m.fx.extra.Load(); p != nil {
		if kept(p.kept) {
			return p.exec, nil
		}
		taps = append(taps, p.kept...)
	}
	taps = append(taps, ids...)
	slices.Sort(taps)
	taps = slices.Compact(taps)
	exec, err := engine.CompileWith(m.Graph, m.Params, engine.Options{Taps: taps})
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w", m.Spec.Name, err)
	}
	m.fx.extra.Store(&tapsPlan{exec: exec, kept: exec.Kept()})
	return exec, nil
}

// flatten views a [N, C, 1, 1] or [N, D] tensor as [N, C·…].
func flatten(t *tensor.Tensor) *tensor.Tensor {
	if len(t.Shape) == 2 {
		return t
	}
	return &tensor.Tensor{Shape: []int{t.Shape[0], len(t.Data) / t.Shape[0]}, Data: t.Data}
}

// l2Normalize divides each row of t ([N, D]) by its Euclidean norm, as
// torch.nn.functional.normalize(p=2, dim=1, eps=1e-12) does.
func l2Normalize(t *tensor.Tensor) {
	d := t.Shape[1]
	for r := 0; r < t.Shape[0]; r++ {
		row := t.Data[r*d : (r+1)*d]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		n := max(math.Sqrt(ss), 1e-12)
		for i, v := range row {
			row[i] = float32(float64(v) / n)
		}
	}
}

// SpatialMean averages each channel of x ([N, C, H, W]) over its H×W
// positions in float64 and returns [N, C]; a [N, D] tensor is returned as
// it is. It is pytorch-fid's adaptive_avg_pool2d(output_size=(1, 1)) for
// feature maps that are not 1×1.
func SpatialMean(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) == 2 {
		return x
	}
	if len(x.Shape) != 4 {
		return flatten(x)
	}
	n, c, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	out := tensor.New(n, c)
	for i := range n * c {
		var s float64
		for _, v := range x.Data[i*hw : (i+1)*hw] {
			s += float64(v)
		}
		out.Data[i] = float32(s / float64(hw))
	}
	return out
}

// FeatureInfo describes one stage of a model's feature hierarchy, as
// timm's feature_info does: the output of the last block at each
// reduction of the input.
type FeatureInfo struct {
	Name      string   `json:"module"`    // block path, e.g. "Mixed_6e"
	Channels  int      `json:"num_chs"`   // output channels
	Reduction int      `json:"reduction"` // product of the strides from the input
	Shape     nn.Shape `json:"shape"`     // output shape at the model's input size
}

// FeatureInfo returns the stages of the model's feature hierarchy, shallow
// to deep: for each reduction of the input (the product of the strides
// of the convolutions and pools on the way, 2, 4, 8, 16, 32), the last
// block of the trunk — a block every path from the input to the output
// goes through — at that reduction, named by its block path (the
// outermost block holding that output that contains no earlier stage).
// For inception-v3 and inception-resnet-v2 these are timm's feature_info
// modules (Conv2d_2b_3x3, Conv2d_4a_3x3, Mixed_5d, Mixed_6e, Mixed_7c;
// conv2d_2b, conv2d_4a, repeat, repeat_1, conv2d_7b); for inception-v4
// they are timm's except at reduction 4, where timm lists features.3
// (Mixed3a, 160 channels) and this rule the last block at that
// reduction, features.4 (Mixed4a, 192 channels). A trunk value that no
// block outputs alone (a Caffe-style conv unit, whose path names the
// convolution before its ReLU) is not a stage. Stages are computed on the
// loaded graph at its input size.
func (m *Model) FeatureInfo() []FeatureInfo {
	g := m.Graph
	red := reductions(g)
	var stages []int
	last := map[int]int{} // reduction → index in stages
	for _, id := range trunk(g) {
		if len(g.Nodes[id].Out) != 3 || red[id] < 1 || id == 0 {
			continue
		}
		if i, ok := last[red[id]]; ok && i == len(stages)-1 {
			stages[i] = id
			continue
		}
		last[red[id]] = len(stages)
		stages = append(stages, id)
	}
	byNode := map[int][]string{}
	for p, id := range m.fx.paths {
		byNode[id] = append(byNode[id], p)
	}
	var out []FeatureInfo
	var named []int
	for _, id := range stages {
		name := stageName(g, byNode[id], named)
		if name == "" {
			continue
		}
		named = append(named, id)
		o := g.Nodes[id].Out
		out = append(out, FeatureInfo{Name: name, Channels: o[0], Reduction: red[id], Shape: slices.Clone(o)})
	}
	return out
}

// stageName picks, among the paths whose block outputs a stage node, the
// shallowest one that contains none of the earlier stages' nodes.
func stageName(g *nn.Graph, paths []string, earlier []int) string {
	sort.Slice(paths, func(i, j int) bool {
		di, dj := strings.Count(paths[i], "."), strings.Count(paths[j], ".")
		if di != dj {
			return di < dj
		}
		return paths[i] < paths[j]
	})
	for _, p := range paths {
		contains := false
		for _, id := range earlier {
			np := g.Nodes[id].Path
			if np == p || strings.HasPrefix(np, p+".") {
				contains = true
				break
			}
		}
		if !contains {
			return p
		}
	}
	return ""
}

// reductions returns, per node, the product of the strides from the input
// to it (0 once the spatial grid is pooled away to 1x1).
func reductions(g *nn.Graph) []int {
	red := make([]int, len(g.Nodes))
	red[0] = 1
	for _, n := range g.Nodes[1:] {
		r := 0
		for _, in := range n.Inputs {
			r = max(r, red[in])
		}
		switch op := n.Op.(type) {
		case nn.Conv:
			r *= max(op.Stride[0], 1)
		case nn.MaxPool:
			r *= max(op.Stride[0], 1)
		case nn.AvgPool:
			r *= max(op.Stride[0], 1)
		case nn.GlobalAvgPool, nn.AdaptiveAvgPool, nn.Flatten, nn.Linear:
			r = 0
		}
		if len(n.Out) != 3 || n.Out[1]*n.Out[2] == 1 && n.In[0].Numel() > n.In[0][0] {
			r = 0 // not a feature map, or pooled to 1x1 (pool5 of the Caffe GoogLeNets)
		}
		red[n.ID] = r
	}
	return red
}

// trunk returns, in order, the nodes every path from the input to the main
// output goes through. Nodes are in topological order, so a node of the
// main subgraph is on every path exactly when no edge of that subgraph
// jumps over it.
func trunk(g *nn.Graph) []int {
	main := make([]bool, len(g.Nodes))
	main[g.Output] = true
	for id := g.Output; id >= 0; id-- {
		if main[id] {
			for _, in := range g.Nodes[id].Inputs {
				main[in] = true
			}
		}
	}
	cover := make([]int, len(g.Nodes)+1)
	for _, n := range g.Nodes {
		if !main[n.ID] {
			continue
		}
		for _, in := range n.Inputs {
			if in+1 < n.ID {
				cover[in+1]++
				cover[n.ID]--
			}
		}
	}
	var out []int
	c := 0
	for id := range g.Nodes {
		c += cover[id]
		if main[id] && c == 0 {
			out = append(out, id)
		}
	}
	return out
}
