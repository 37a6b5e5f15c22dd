package onnxir

import (
	"container/heap"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// Supported ranges.
const (
	MinOpset = 7  // lowest default-domain opset accepted
	MaxOpset = 21 // highest default-domain opset accepted
	// MaxIRVersion is the newest IR version of the bundled schema.
	MaxIRVersion = int64(onnxpb.Version_IR_VERSION)
)

// unmarshalOpts bounds protobuf nesting (nested graphs, sequence types).
var unmarshalOpts = proto.UnmarshalOptions{RecursionLimit: 64}

// DecodeOptions configures Decode.
type DecodeOptions struct {
	// Limits bounds resource use; zero fields take DefaultLimits values.
	Limits Limits
	// BaseDir is the directory that external-data locations are relative
	// to. "" disables external data (tensors that use it fail with
	// ErrUnsupported). DecodeFile defaults it to the model's directory.
	BaseDir string
	// AllowNonFinite accepts NaN and ±Inf in initializers and tensor
	// attributes. By default they are rejected with ErrFormat: trained
	// weights are finite, and a non-finite weight silently poisons every
	// output.
	AllowNonFinite bool
}

// Graph is a validated, engine-independent model.
type Graph struct {
	IRVersion int64
	Opset     int64 // version of the default ("" / "ai.onnx") domain
	Producer  string
	// Inputs are the graph inputs that are not initializers (the values a
	// caller must feed); Outputs are the graph outputs, in model order.
	Inputs, Outputs []ValueInfo
	Initializers    map[string]*Tensor
	// Nodes are topologically sorted (Kahn's algorithm); among nodes that
	// are ready at the same time, model order is kept, so an already
	// sorted model keeps its order.
	Nodes    []*Node
	Metadata map[string]string
}

// ValueInfo describes a graph input or output. Shape is nil when the model
// gives no shape (unknown rank).
type ValueInfo struct {
	Name  string
	Shape []Dim
	DType DType
}

// Dim is one dimension of a ValueInfo shape: a fixed Value, or Value -1
// with Param naming a symbolic dimension (e.g. "N"), or Value -1 and Param
// "" when unknown.
type Dim struct {
	Value int64
	Param string
}

// Node is one operator application. Empty strings in Inputs and Outputs
// mark omitted optional values. Name is "#<index>" (model order) when the
// model leaves it empty; Domain is "" for the default ONNX domain.
type Node struct {
	Name, OpType, Domain string
	Inputs, Outputs      []string
	Attrs                map[string]Attr
}

// Decode reads an ONNX model from r, at most Limits.MaxModelBytes, and
// validates it. It never panics; errors wrap ErrFormat or ErrUnsupported,
// except I/O errors from r, which are returned wrapped but unclassified.
func Decode(r io.Reader, opts DecodeOptions) (*Graph, error) {
	opts.Limits = opts.Limits.WithDefaults()
	b, err := readLimited(r, opts.Limits.MaxModelBytes)
	if err != nil {
		return nil, err
	}
	return decodeBytes(b, opts)
}

// DecodeFile decodes the model at path. An empty opts.BaseDir defaults to
// the directory containing path.
func DecodeFile(path string, opts DecodeOptions) (*Graph, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	if opts.BaseDir == "" {
		opts.BaseDir = filepath.Dir(path)
	}
	return Decode(f, opts)
}

func decodeBytes(b []byte, opts DecodeOptions) (*Graph, error) {
	if len(b) == 0 {
		return nil, formatErr("empty input")
	}
	var m onnxpb.ModelProto
	if err := scanModel(b, opts.Limits, m.ProtoReflect().Descriptor()); err != nil {
		return nil, err
	}
	if err := unmarshalOpts.Unmarshal(b, &m); err != nil {
		return nil, formatErr("ModelProto: %v", err)
	}
	return convertModel(&m, opts)
}

func convertModel(m *onnxpb.ModelProto, opts DecodeOptions) (*Graph, error) {
	l := opts.Limits
	if m.IrVersion == nil || m.GetIrVersion() <= 0 {
		return nil, formatErr("ir_version %d is missing or not positive", m.GetIrVersion())
	}
	if m.GetIrVersion() > MaxIRVersion {
		return nil, unsupportedErr("ir_version %d is newer than %d", m.GetIrVersion(), MaxIRVersion)
	}
	opsets := map[string]int64{}
	for _, oi := range m.GetOpsetImport() {
		d := oi.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		if _, dup := opsets[d]; dup {
			return nil, formatErr("opset_import lists domain %q twice", oi.GetDomain())
		}
		opsets[d] = oi.GetVersion()
	}
	opset, ok := opsets[""]
	if !ok {
		// A model that only uses other domains (ai.onnx.ml, training)
		// legitimately imports no default opset: report the domain.
		for _, np := range m.GetGraph().GetNode() {
			if d := np.GetDomain(); d != "" && d != "ai.onnx" {
				return nil, (&Node{Name: np.GetName(), OpType: np.GetOpType()}).Wrap(unsupportedErr("operator domain %q", d))
			}
		}
		return nil, formatErr("opset_import has no default (ai.onnx) domain")
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, unsupportedErr("default-domain opset %d outside supported [%d, %d]", opset, MinOpset, MaxOpset)
	}
	gp := m.GetGraph()
	if gp == nil {
		return nil, formatErr("model has no graph")
	}
	if len(gp.GetNode()) == 0 {
		return nil, formatErr("graph %q has no nodes", gp.GetName())
	}
	if len(gp.GetNode()) > l.MaxNodes {
		return nil, limitErr("graph has %d nodes, over MaxNodes %d", len(gp.GetNode()), l.MaxNodes)
	}
	if len(gp.GetSparseInitializer()) > 0 {
		return nil, unsupportedErr("sparse_initializer (%d tensors)", len(gp.GetSparseInitializer()))
	}

	g := &Graph{
		IRVersion:    m.GetIrVersion(),
		Opset:        opset,
		Producer:     m.GetProducerName(),
		Initializers: make(map[string]*Tensor, len(gp.GetInitializer())),
		Metadata:     make(map[string]string, len(m.GetMetadataProps())),
	}
	for _, kv := range m.GetMetadataProps() {
		g.Metadata[kv.GetKey()] = kv.GetValue()
	}

	td := &tensorDecoder{limits: l, baseDir: opts.BaseDir, allowNonFinite: opts.AllowNonFinite}
	// defined maps each value name to what defines it, for duplicate and
	// dangling-edge checks.
	defined := map[string]string{}
	for _, tp := range gp.GetInitializer() {
		name := tp.GetName()
		if name == "" {
			return nil, &TensorError{Tensor: name, Err: formatErr("initializer has no name")}
		}
		if _, dup := g.Initializers[name]; dup {
			return nil, &TensorError{Tensor: name, Err: formatErr("duplicate initializer name")}
		}
		t, err := td.decode(tp)
		if err != nil {
			return nil, &TensorError{Tensor: name, Err: err}
		}
		g.Initializers[name] = t
		defined[name] = "initializer"
	}
	for _, vi := range gp.GetInput() {
		name := vi.GetName()
		if name == "" {
			return nil, &TensorError{Tensor: name, Err: formatErr("graph input has no name")}
		}
		if what, dup := defined[name]; dup && what != "initializer" {
			return nil, &TensorError{Tensor: name, Err: formatErr("graph input listed twice")}
		} else if dup {
			continue // initializer with a declared input: not a caller input
		}
		v, err := convertValueInfo(vi, l)
		if err != nil {
			return nil, &TensorError{Tensor: name, Err: err}
		}
		g.Inputs = append(g.Inputs, v)
		defined[name] = "graph input"
	}

	// Nodes: convert, record producers.
	producer := map[string]int{}
	nodes := make([]*Node, len(gp.GetNode()))
	for i, np := range gp.GetNode() {
		n, err := convertNode(np, i, opsets, td)
		if err != nil {
			return nil, err
		}
		for _, out := range n.Outputs {
			if out == "" {
				continue
			}
			if j, dup := producer[out]; dup {
				other := n.Name // a node listing the same output twice
				if j != i {
					other = nodes[j].Name
				}
				return nil, n.Wrap(formatErr("output %q is also produced by node %q", out, other))
			}
			if what, dup := defined[out]; dup {
				return nil, n.Wrap(formatErr("output %q is also defined as %s", out, what))
			}
			producer[out] = i
		}
		nodes[i] = n
	}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			if in == "" {
				continue
			}
			if _, ok := producer[in]; ok {
				continue
			}
			if _, ok := defined[in]; !ok {
				return nil, n.Wrap(formatErr("input %q is not a graph input, initializer, or node output", in))
			}
		}
	}
	seenOut := map[string]bool{}
	for _, vi := range gp.GetOutput() {
		name := vi.GetName()
		if name == "" {
			return nil, &TensorError{Tensor: name, Err: formatErr("graph output has no name")}
		}
		if seenOut[name] {
			return nil, &TensorError{Tensor: name, Err: formatErr("graph output listed twice")}
		}
		seenOut[name] = true
		_, byNode := producer[name]
		if _, byGraph := defined[name]; !byNode && !byGraph {
			return nil, &TensorError{Tensor: name, Err: formatErr("graph output is never produced")}
		}
		v, err := convertValueInfo(vi, l)
		if err != nil {
			return nil, &TensorError{Tensor: name, Err: err}
		}
		g.Outputs = append(g.Outputs, v)
	}
	if len(g.Outputs) == 0 {
		return nil, formatErr("graph has no outputs")
	}
	sorted, err := topoSort(nodes, producer)
	if err != nil {
		return nil, err
	}
	g.Nodes = sorted
	return g, nil
}

func convertValueInfo(vi *onnxpb.ValueInfoProto, l Limits) (ValueInfo, error) {
	v := ValueInfo{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		if vi.GetType() == nil {
			return v, formatErr("value %q has no type", v.Name)
		}
		return v, unsupportedErr("value %q is not a tensor", v.Name)
	}
	dt, err := checkDType(tt.GetElemType())
	if err != nil {
		return v, err
	}
	v.DType = dt
	if tt.Shape == nil {
		return v, nil
	}
	dims := tt.GetShape().GetDim()
	if len(dims) > l.MaxRank {
		return v, limitErr("rank %d exceeds MaxRank %d", len(dims), l.MaxRank)
	}
	v.Shape = make([]Dim, len(dims))
	for i, d := range dims {
		switch x := d.GetValue().(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			if x.DimValue < 0 {
				return v, formatErr("shape dim %d = %d is negative", i, x.DimValue)
			}
			v.Shape[i] = Dim{Value: x.DimValue}
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			v.Shape[i] = Dim{Value: -1, Param: x.DimParam}
		default:
			v.Shape[i] = Dim{Value: -1}
		}
	}
	return v, nil
}

func convertNode(np *onnxpb.NodeProto, idx int, opsets map[string]int64, td *tensorDecoder) (*Node, error) {
	n := &Node{
		Name:    np.GetName(),
		OpType:  np.GetOpType(),
		Domain:  np.GetDomain(),
		Inputs:  np.GetInput(),
		Outputs: np.GetOutput(),
	}
	label := n.Name
	if label == "" {
		label = fmt.Sprintf("#%d", idx)
		n.Name = label
	}
	if n.OpType == "" {
		return nil, n.Wrap(formatErr("empty op_type"))
	}
	switch n.Domain {
	case "", "ai.onnx":
		n.Domain = ""
	default:
		if _, ok := opsets[n.Domain]; !ok {
			return nil, n.Wrap(formatErr("domain %q is not in opset_import", n.Domain))
		}
		return nil, n.Wrap(unsupportedErr("operator domain %q", n.Domain))
	}
	if len(n.Outputs) == 0 {
		return nil, n.Wrap(formatErr("node has no outputs"))
	}
	known := knownAttrTypes[n.OpType]
	n.Attrs = make(map[string]Attr, len(np.GetAttribute()))
	for _, ap := range np.GetAttribute() {
		a, err := convertAttr(ap, td)
		if err != nil {
			return nil, n.Wrap(err)
		}
		if _, dup := n.Attrs[a.Name]; dup {
			return nil, n.Wrap(formatErr("attribute %q given twice", a.Name))
		}
		if want, ok := known[a.Name]; ok && want != a.Type {
			return nil, n.Wrap(formatErr("attribute %q is %v, want %v", a.Name, a.Type, want))
		}
		n.Attrs[a.Name] = a
	}
	return n, nil
}

func convertAttr(ap *onnxpb.AttributeProto, td *tensorDecoder) (Attr, error) {
	a := Attr{Name: ap.GetName(), Type: AttrType(ap.GetType())}
	if a.Name == "" {
		return a, formatErr("attribute has no name")
	}
	if ap.GetRefAttrName() != "" {
		return a, unsupportedErr("attribute %q references %q (functions)", a.Name, ap.GetRefAttrName())
	}
	// Which value fields are set, by the type they imply (in type order).
	set := [...]bool{
		AttrFloat: ap.F != nil, AttrInt: ap.I != nil, AttrString: ap.S != nil,
		AttrTensor: ap.T != nil, AttrGraph: ap.G != nil, AttrSparseTensor: ap.SparseTensor != nil,
		AttrTypeProto: ap.Tp != nil, AttrFloats: len(ap.Floats) > 0, AttrInts: len(ap.Ints) > 0,
		AttrStrings: len(ap.Strings) > 0, AttrTensors: len(ap.Tensors) > 0, AttrGraphs: len(ap.Graphs) > 0,
		AttrSparseTensors: len(ap.SparseTensors) > 0, AttrTypeProtos: len(ap.TypeProtos) > 0,
	}
	var kinds []AttrType
	for k, v := range set {
		if v {
			kinds = append(kinds, AttrType(k))
		}
	}
	if a.Type == AttrUndefined { // pre-IR-4 models may omit the type
		if len(kinds) != 1 {
			return a, formatErr("attribute %q has no type and %d values", a.Name, len(kinds))
		}
		a.Type = kinds[0]
	}
	for _, k := range kinds {
		if k != a.Type {
			return a, formatErr("attribute %q is declared %v but carries a %v value", a.Name, a.Type, k)
		}
	}
	switch a.Type {
	case AttrFloat:
		a.F = ap.GetF()
	case AttrInt:
		a.I = ap.GetI()
	case AttrString:
		a.S = string(ap.GetS())
	case AttrFloats:
		a.Floats = ap.GetFloats()
	case AttrInts:
		a.Ints = ap.GetInts()
	case AttrStrings:
		a.Strings = make([]string, len(ap.Strings))
		for i, s := range ap.Strings {
			a.Strings[i] = string(s)
		}
	case AttrTensor:
		if ap.T == nil {
			return a, formatErr("TENSOR attribute %q has no tensor", a.Name)
		}
		t, err := td.decode(ap.T)
		if err != nil {
			return a, &TensorError{Tensor: a.Name, Err: err}
		}
		a.T = t
	case AttrGraph, AttrGraphs, AttrTensors, AttrSparseTensor, AttrSparseTensors, AttrTypeProto, AttrTypeProtos:
		return a, unsupportedErr("attribute %q of type %v", a.Name, a.Type)
	default:
		return a, formatErr("attribute %q has invalid type %d", a.Name, int32(a.Type))
	}
	return a, nil
}

// topoSort orders nodes with Kahn's algorithm, taking the lowest model index
// among ready nodes. If nodes remain, one on a cycle is named.
func topoSort(nodes []*Node, producer map[string]int) ([]*Node, error) {
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	preds := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, in := range n.Inputs {
			if j, ok := producer[in]; ok && in != "" {
				indeg[i]++
				users[j] = append(users[j], i)
				preds[i] = append(preds[i], j)
			}
		}
	}
	ready := &intHeap{}
	for i, d := range indeg {
		if d == 0 {
			*ready = append(*ready, i)
		}
	}
	heap.Init(ready)
	out := make([]*Node, 0, len(nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, nodes[i])
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(out) == len(nodes) {
		return out, nil
	}
	// Every remaining node has a remaining predecessor; walking back
	// len(nodes) steps from any of them must end on a cycle.
	cur := -1
	for i, d := range indeg {
		if d > 0 {
			cur = i
			break
		}
	}
	for range nodes {
		for _, p := range preds[cur] {
			if indeg[p] > 0 {
				cur = p
				break
			}
		}
	}
	n := nodes[cur]
	return nil, n.Wrap(formatErr("graph has a cycle through this node (%d of %d nodes unsorted)",
		len(nodes)-len(out), len(nodes)))
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// CheckOps returns a *NodeError wrapping ErrUnsupported for the first node
// (in graph order) whose op_type is not in supported.
func (g *Graph) CheckOps(supported map[string]bool) error {
	for _, n := range g.Nodes {
		if !supported[n.OpType] {
			return n.Wrap(unsupportedErr("operator %s", n.OpType))
		}
	}
	return nil
}

// OpCounts returns how many nodes use each op_type.
func (g *Graph) OpCounts() map[string]int {
	c := map[string]int{}
	for _, n := range g.Nodes {
		c[n.OpType]++
	}
	return c
}
