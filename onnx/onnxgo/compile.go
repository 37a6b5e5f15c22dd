package onnxgo

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	gt "gorgonia.org/tensor"

	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
)

// compiled is the rebuilt model and how its values map to nodes.
type compiled struct {
	model   *onnx.Model
	inputs  []*Node
	outputs []*Node
	isConst map[int64]bool // initializers, by node ID
}

// zeroInput lists operators without inputs, to which onnx-go adds a fake
// input "<node>/input".
var zeroInput = map[string]bool{"Constant": true, "RandomNormal": true, "RandomUniform": true}

// Compile rebuilds the ONNX model from what onnx-go has handed the Backend
// and loads it with the onnx runner; Run calls it when needed. It needs no
// graph input values.
func (b *Backend) Compile() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.compile()
	return err
}

// ModelProto returns the rebuilt model, serialized: the file the Backend
// runs. It does not load it (Compile does).
func (b *Backend) ModelProto() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return nil, b.err
	}
	m, _, err := b.rebuild()
	if err != nil {
		return nil, err
	}
	return marshal(m)
}

func marshal(m *pb.ModelProto) ([]byte, error) {
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: marshal: %w", ErrGraph, err)
	}
	return data, nil
}

// Model returns the compiled onnx.Model (compiling it first), which tells
// the chosen graph inputs and outputs (InputNames, OutputNames) and the
// graph with its opset.
func (b *Backend) Model() (*onnx.Model, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.compile()
	if err != nil {
		return nil, err
	}
	return c.model, nil
}

// Run runs the model on the tensors set on the graph inputs' nodes and
// stores each output's tensor on its node. It implements onnx-go's
// backend.ComputationBackend.
func (b *Backend) Run() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, err := b.compile()
	if err != nil {
		return err
	}
	ins := make(map[string]*onnxir.Tensor, len(c.inputs))
	for _, n := range c.inputs {
		if !n.user {
			return fmt.Errorf("%w: graph input %q (node %d) is not set: set it with Model.SetInput or through Model.GetNodeByName (see the package documentation)", ErrInput, n.name, n.id)
		}
		t, err := fromGorgonia(n.t)
		if err != nil {
			return fmt.Errorf("%w: graph input %q: %w", ErrInput, n.name, err)
		}
		ins[n.name] = t
	}
	outs, err := c.model.RunTensors(ins)
	if err != nil {
		return fmt.Errorf("onnxgo: run: %w", err)
	}
	for _, n := range c.outputs {
		t, err := toGorgonia(outs[n.name])
		if err != nil {
			return fmt.Errorf("onnxgo: output %q: %w", n.name, err)
		}
		n.t = t
	}
	return nil
}

// compile returns the compiled model, building it if anything changed.
// b.mu must be held.
func (b *Backend) compile() (*compiled, error) {
	if b.err != nil {
		return nil, b.err
	}
	if b.compiled != nil {
		return b.compiled, nil
	}
	c, err := b.build()
	if err != nil {
		return nil, err
	}
	b.compiled = c
	return c, nil
}

// opInputs returns each operation's input nodes by position (nil for an
// omitted input), from the edges of its first named output.
func (b *Backend) opInputs() ([][]*Node, error) {
	all := make([][]*Node, len(b.ops))
	for k, op := range b.ops {
		var src *Node
		for _, o := range op.outs {
			if o.name != "" {
				src = o
				break
			}
		}
		if src == nil {
			return nil, fmt.Errorf("%w: operation %d (%s) has no named output", ErrGraph, k, op.opType)
		}
		byPos := map[int]*Node{}
		maxPos := -1
		for _, es := range b.edges[src.id] {
			for _, e := range es {
				p := int(e.w)
				if float64(p) != e.w || p < 0 || p >= 1<<16 {
					return nil, fmt.Errorf("%w: %s %q: edge weight %v is not an input position", ErrGraph, op.opType, src.name, e.w)
				}
				if other, dup := byPos[p]; dup && other != e.to {
					return nil, fmt.Errorf("%w: %s %q: values %q and %q both at input %d", ErrGraph, op.opType, src.name, other.name, e.to.name, p)
				}
				byPos[p] = e.to
				maxPos = max(maxPos, p)
			}
		}
		ins := make([]*Node, maxPos+1)
		for p := range ins {
			n, ok := byPos[p]
			if !ok {
				return nil, fmt.Errorf("%w: %s %q: no value at input %d of %d", ErrGraph, op.opType, src.name, p, maxPos+1)
			}
			if n.name != "" {
				ins[p] = n
			}
		}
		if zeroInput[op.opType] && len(ins) == 1 && ins[0] != nil {
			if n := ins[0]; strings.HasSuffix(n.name, "/input") && n.t == nil && !n.user {
				if _, produced := b.producer[n.id]; !produced {
					ins = nil // onnx-go's fake input of an input-less node
				}
			}
		}
		all[k] = ins
	}
	return all, nil
}

// build rebuilds the model and loads it with the onnx runner. The
// serialized model is not kept: for the biggest Inceptions it is 200 MB.
// b.mu must be held.
func (b *Backend) build() (*compiled, error) {
	m, c, err := b.rebuild()
	if err != nil {
		return nil, err
	}
	data, err := marshal(m)
	if err != nil {
		return nil, err
	}
	c.model, err = onnx.LoadReader(bytes.NewReader(data), b.load)
	if err != nil {
		return nil, fmt.Errorf("onnxgo: load the rebuilt model: %w", err)
	}
	return c, nil
}

// rebuild turns the record into a ModelProto and the node mapping of its
// inputs, outputs and initializers. b.mu must be held.
func (b *Backend) rebuild() (*pb.ModelProto, *compiled, error) {
	if len(b.ops) == 0 {
		return nil, nil, fmt.Errorf("%w: no operations (decode a model first)", ErrGraph)
	}
	opIns, err := b.opInputs()
	if err != nil {
		return nil, nil, err
	}
	used := map[int64]bool{}
	for _, ins := range opIns {
		for _, n := range ins {
			if n != nil {
				used[n.id] = true
			}
		}
	}
	// Values created before the first produced value are the graph inputs
	// (see the package documentation).
	boundary := int64(math.MaxInt64)
	for id := range b.producer {
		boundary = min(boundary, id)
	}

	c := &compiled{isConst: map[int64]bool{}}
	g := &pb.GraphProto{Name: proto.String("onnxgo")}
	for id, n := range b.nodes {
		if !b.added[id] || n.name == "" {
			continue
		}
		if _, produced := b.producer[n.id]; produced {
			continue
		}
		switch {
		case n.init || (n.sets == 1 && n.id > boundary):
			t, err := tensorProto(n.name, n.t)
			if err != nil {
				return nil, nil, fmt.Errorf("initializer %q: %w", n.name, err)
			}
			g.Initializer = append(g.Initializer, t)
			c.isConst[n.id] = true
		case !used[n.id]:
			// An unused graph input, or onnx-go's fake input of a dropped
			// Constant: nothing to feed.
		case n.id < boundary:
			g.Input = append(g.Input, valueInfo(n.name, n.t))
			c.inputs = append(c.inputs, n)
		default:
			return nil, nil, fmt.Errorf("%w: value %q is used but is neither produced, an initializer nor a graph input", ErrGraph, n.name)
		}
	}
	for id := range b.nodes {
		n := b.nodes[id]
		if _, produced := b.producer[n.id]; produced && n.sets > 0 {
			c.outputs = append(c.outputs, n)
		}
	}
	if len(c.outputs) == 0 { // no typed outputs: take the sinks
		for id := range b.nodes {
			n := b.nodes[id]
			if _, produced := b.producer[n.id]; produced && !used[n.id] {
				c.outputs = append(c.outputs, n)
			}
		}
	}
	for _, n := range c.outputs {
		g.Output = append(g.Output, valueInfo(n.name, n.t))
	}
	for k, op := range b.ops {
		np := &pb.NodeProto{OpType: proto.String(op.opType)}
		for _, in := range opIns[k] {
			name := ""
			if in != nil {
				name = in.name
			}
			np.Input = append(np.Input, name)
		}
		for _, o := range op.outs {
			np.Output = append(np.Output, o.name)
		}
		np.Name = proto.String(fmt.Sprintf("%s_%d", op.opType, k))
		names := make([]string, 0, len(op.attrs))
		for name := range op.attrs {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			a, err := attrProto(name, op.attrs[name])
			if err != nil {
				return nil, nil, fmt.Errorf("%s %q: %w", op.opType, np.Output[0], err)
			}
			np.Attribute = append(np.Attribute, a)
		}
		g.Node = append(g.Node, np)
	}

	opset := b.opset
	if opset == 0 {
		if opset, err = inferOpset(b.ops, opIns); err != nil {
			return nil, nil, err
		}
	} else if opset < onnxir.MinOpset || opset > onnxir.MaxOpset {
		return nil, nil, fmt.Errorf("%w: WithOpset(%d) outside %d..%d", ErrOpset, opset, onnxir.MinOpset, onnxir.MaxOpset)
	}
	ir := convert.IRVersion(opset)
	if ir == 0 {
		ir = 3
	}
	m := &pb.ModelProto{
		IrVersion:    proto.Int64(ir),
		ProducerName: proto.String("inceptionzoo-onnxgo"),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(opset))}},
		Graph:        g,
	}
	return m, c, nil
}

// opsetRule is one piece of opset evidence: operators of these types for
// which test holds need an opset in lo..hi.
type opsetRule struct {
	ops    []string
	why    string
	test   func(attrs map[string]any, nIn int) bool
	lo, hi int
}

func hasAttr(names ...string) func(map[string]any, int) bool {
	return func(a map[string]any, _ int) bool {
		for _, n := range names {
			if _, ok := a[n]; ok {
				return true
			}
		}
		return false
	}
}

func inputsAtLeast(k int) func(map[string]any, int) bool {
	return func(_ map[string]any, n int) bool { return n >= k }
}

var reduceOps = []string{"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
	"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}

var opsetRules = []opsetRule{
	{ops: []string{"Unsqueeze", "Squeeze", "ReduceSum"}, why: "axes attribute", test: hasAttr("axes"), lo: 1, hi: 12},
	{ops: []string{"Unsqueeze", "Squeeze", "ReduceSum"}, why: "axes input", test: inputsAtLeast(2), lo: 13, hi: math.MaxInt},
	{ops: []string{"Split"}, why: "split attribute", test: hasAttr("split"), lo: 1, hi: 12},
	{ops: []string{"Split"}, why: "split input", test: inputsAtLeast(2), lo: 13, hi: math.MaxInt},
	{ops: reduceOps, why: "axes attribute", test: hasAttr("axes"), lo: 1, hi: 17},
	{ops: reduceOps, why: "axes input", test: inputsAtLeast(2), lo: 18, hi: math.MaxInt},
	{ops: []string{"Dropout"}, why: "ratio attribute", test: hasAttr("ratio"), lo: 1, hi: 11},
	{ops: []string{"Dropout"}, why: "ratio input", test: inputsAtLeast(2), lo: 12, hi: math.MaxInt},
	{ops: []string{"Clip"}, why: "min/max attributes", test: hasAttr("min", "max"), lo: 1, hi: 10},
	{ops: []string{"Clip"}, why: "min/max inputs", test: inputsAtLeast(2), lo: 11, hi: math.MaxInt},
	{ops: []string{"Pad"}, why: "pads attribute", test: hasAttr("pads"), lo: 1, hi: 10},
	{ops: []string{"Pad"}, why: "pads input", test: inputsAtLeast(2), lo: 11, hi: math.MaxInt},
	{ops: []string{"BatchNormalization"}, why: "spatial attribute", test: hasAttr("spatial"), lo: 1, hi: 8},
	{ops: []string{"MaxPool", "AveragePool"}, why: "ceil_mode attribute", test: hasAttr("ceil_mode"), lo: 10, hi: math.MaxInt},
	{ops: []string{"Gemm"}, why: "no C input", test: func(_ map[string]any, n int) bool { return n == 2 }, lo: 11, hi: math.MaxInt},
}

// inferOpset picks DefaultOpset clamped to the range the graph's evidence
// allows (see the package documentation).
func inferOpset(ops []operation, opIns [][]*Node) (int, error) {
	lo, hi := onnxir.MinOpset, onnxir.MaxOpset
	var loWhy, hiWhy string
	for k, op := range ops {
		for _, r := range opsetRules {
			if !slices.Contains(r.ops, op.opType) || !r.test(op.attrs, len(opIns[k])) {
				continue
			}
			if r.lo > lo {
				lo, loWhy = r.lo, fmt.Sprintf("%s with %s (opset >= %d)", op.opType, r.why, r.lo)
			}
			if r.hi < hi {
				hi, hiWhy = r.hi, fmt.Sprintf("%s with %s (opset <= %d)", op.opType, r.why, r.hi)
			}
		}
	}
	if lo > hi {
		return 0, fmt.Errorf("%w: %s, but %s", ErrOpset, loWhy, hiWhy)
	}
	return min(max(DefaultOpset, lo), hi), nil
}

// valueInfo declares a graph input or output: its element type (from the
// placeholder tensor when onnx-go set one, else FLOAT) and no shape.
func valueInfo(name string, t gt.Tensor) *pb.ValueInfoProto {
	elem := pb.TensorProto_FLOAT
	if t != nil {
		if dt, ok := dtypes[t.Dtype()]; ok {
			elem = dt
		}
	}
	return &pb.ValueInfoProto{Name: proto.String(name), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem))}}}}
}

var dtypes = map[gt.Dtype]pb.TensorProto_DataType{
	gt.Float32: pb.TensorProto_FLOAT,
	gt.Float64: pb.TensorProto_DOUBLE,
	gt.Int64:   pb.TensorProto_INT64,
	gt.Int32:   pb.TensorProto_INT32,
	gt.Bool:    pb.TensorProto_BOOL,
}

// attrProto converts one onnx-go attribute value.
func attrProto(name string, v any) (*pb.AttributeProto, error) {
	a := &pb.AttributeProto{Name: proto.String(name)}
	switch v := v.(type) {
	case float32:
		a.Type, a.F = pb.AttributeProto_FLOAT.Enum(), proto.Float32(v)
	case int64:
		a.Type, a.I = pb.AttributeProto_INT.Enum(), proto.Int64(v)
	case string:
		a.Type, a.S = pb.AttributeProto_STRING.Enum(), []byte(v)
	case []float32:
		a.Type, a.Floats = pb.AttributeProto_FLOATS.Enum(), v
	case []int64:
		a.Type, a.Ints = pb.AttributeProto_INTS.Enum(), v
	case []string:
		a.Type = pb.AttributeProto_STRINGS.Enum()
		for _, s := range v {
			a.Strings = append(a.Strings, []byte(s))
		}
	case gt.Tensor:
		t, err := tensorProto("", v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		a.Type, a.T = pb.AttributeProto_TENSOR.Enum(), t
	default:
		return nil, fmt.Errorf("%w: attribute %q of Go type %T", ErrUnsupported, name, v)
	}
	return a, nil
}

// shapeOf returns t's dimensions, element count and data (a slice, or a
// single value for a scalar), checking that the data holds that many
// elements. gorgonia panics when asked for the data of some tensors (empty
// ones, for instance); such a panic is returned as an error.
func shapeOf(t gt.Tensor) (dims []int64, n int, data any, err error) {
	if t == nil {
		return nil, 0, nil, fmt.Errorf("%w: no tensor", ErrUnsupported)
	}
	if t.RequiresIterator() {
		return nil, 0, nil, fmt.Errorf("%w: non-contiguous tensor view (materialize it first)", ErrUnsupported)
	}
	shape := t.Shape()
	dims = make([]int64, len(shape))
	n = 1
	for i, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, 0, nil, fmt.Errorf("%w: shape %v", ErrUnsupported, shape)
		}
		dims[i] = int64(d)
		n *= d
	}
	switch {
	case n == 0:
		zero, ok := emptyData[t.Dtype()]
		if !ok {
			return nil, 0, nil, fmt.Errorf("%w: element type %v", ErrUnsupported, t.Dtype())
		}
		return dims, 0, zero, nil
	case len(shape) > 0 && t.DataSize() < n:
		return nil, 0, nil, fmt.Errorf("%w: shape %v needs %d elements, the tensor holds %d", ErrInput, shape, n, t.DataSize())
	}
	defer func() {
		if r := recover(); r != nil {
			dims, n, data, err = nil, 0, nil, fmt.Errorf("%w: gorgonia cannot read the tensor of shape %v: %v", ErrInput, shape, r)
		}
	}()
	return dims, n, t.Data(), nil
}

var emptyData = map[gt.Dtype]any{
	gt.Float32: []float32{}, gt.Float64: []float64{}, gt.Int64: []int64{}, gt.Int32: []int32{}, gt.Bool: []bool{},
}

// tensorProto converts a gorgonia tensor to a TensorProto (raw data,
// little-endian), keeping its element type.
func tensorProto(name string, t gt.Tensor) (*pb.TensorProto, error) {
	dims, n, data, err := shapeOf(t)
	if err != nil {
		return nil, err
	}
	dt, ok := dtypes[t.Dtype()]
	if !ok {
		return nil, fmt.Errorf("%w: element type %v", ErrUnsupported, t.Dtype())
	}
	var raw []byte
	switch d := data.(type) {
	case []float32:
		raw = packLE(d[:n], 4, func(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) })
	case float32:
		raw = packLE([]float32{d}, 4, func(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) })
	case []float64:
		raw = packLE(d[:n], 8, func(b []byte, v float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(v)) })
	case float64:
		raw = packLE([]float64{d}, 8, func(b []byte, v float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(v)) })
	case []int64:
		raw = packLE(d[:n], 8, func(b []byte, v int64) { binary.LittleEndian.PutUint64(b, uint64(v)) })
	case int64:
		raw = packLE([]int64{d}, 8, func(b []byte, v int64) { binary.LittleEndian.PutUint64(b, uint64(v)) })
	case []int32:
		raw = packLE(d[:n], 4, func(b []byte, v int32) { binary.LittleEndian.PutUint32(b, uint32(v)) })
	case int32:
		raw = packLE([]int32{d}, 4, func(b []byte, v int32) { binary.LittleEndian.PutUint32(b, uint32(v)) })
	case []bool:
		raw = packLE(d[:n], 1, putBool)
	case bool:
		raw = packLE([]bool{d}, 1, putBool)
	default:
		return nil, fmt.Errorf("%w: tensor data of Go type %T", ErrUnsupported, d)
	}
	return &pb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(dt)), RawData: raw}, nil
}

func putBool(b []byte, v bool) {
	if v {
		b[0] = 1
	}
}

func packLE[T any](v []T, size int, put func([]byte, T)) []byte {
	raw := make([]byte, len(v)*size)
	for i, x := range v {
		put(raw[i*size:], x)
	}
	return raw
}

// fromGorgonia converts an input tensor for onnx.Model.RunTensors: floats
// to Float32, integers and booleans to Int64.
func fromGorgonia(t gt.Tensor) (*onnxir.Tensor, error) {
	dims, n, data, err := shapeOf(t)
	if err != nil {
		return nil, err
	}
	out := &onnxir.Tensor{Dims: dims}
	switch d := data.(type) {
	case []float32:
		out.DType, out.Float = onnxir.Float32, slices.Clone(d[:n])
	case float32:
		out.DType, out.Float = onnxir.Float32, []float32{d}
	case []float64:
		out.DType, out.Float = onnxir.Float32, convertSlice(d[:n], func(v float64) float32 { return float32(v) })
	case float64:
		out.DType, out.Float = onnxir.Float32, []float32{float32(d)}
	case []int64:
		out.DType, out.Int = onnxir.Int64, slices.Clone(d[:n])
	case int64:
		out.DType, out.Int = onnxir.Int64, []int64{d}
	case []int32:
		out.DType, out.Int = onnxir.Int64, convertSlice(d[:n], func(v int32) int64 { return int64(v) })
	case int32:
		out.DType, out.Int = onnxir.Int64, []int64{int64(d)}
	case []bool:
		out.DType, out.Int = onnxir.Int64, convertSlice(d[:n], boolInt)
	case bool:
		out.DType, out.Int = onnxir.Int64, []int64{boolInt(d)}
	default:
		return nil, fmt.Errorf("%w: tensor data of Go type %T", ErrUnsupported, d)
	}
	return out, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func convertSlice[S, D any](s []S, f func(S) D) []D {
	d := make([]D, len(s))
	for i, v := range s {
		d[i] = f(v)
	}
	return d
}

// toGorgonia converts a runner output to a gorgonia dense tensor (float32,
// or int64 for integer outputs).
func toGorgonia(t *onnxir.Tensor) (out gt.Tensor, err error) {
	if t == nil {
		return nil, fmt.Errorf("%w: missing output", ErrGraph)
	}
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[i] = int(d)
	}
	// gorgonia panics on shapes it cannot represent (such as empty
	// tensors); report those as errors.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: gorgonia cannot hold a tensor of shape %v: %v", ErrUnsupported, shape, r)
		}
	}()
	switch {
	case len(shape) == 0 && t.Float != nil && len(t.Float) == 1:
		return gt.New(gt.FromScalar(t.Float[0])), nil
	case len(shape) == 0 && len(t.Int) == 1:
		return gt.New(gt.FromScalar(t.Int[0])), nil
	case t.Float != nil:
		return gt.New(gt.WithShape(shape...), gt.WithBacking(t.Float)), nil
	default:
		return gt.New(gt.WithShape(shape...), gt.WithBacking(t.Int)), nil
	}
}
