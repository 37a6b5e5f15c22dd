package convert

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// Opset range Export accepts, and its default.
const (
	MinExportOpset     = 9
	MaxExportOpset     = 21
	DefaultExportOpset = 13
)

// Producer is the producer_name of exported models.
const Producer = "inceptionzoo"

// Metadata keys Export writes.
const (
	MetaModel = "inceptionzoo.model" // ExportOptions.ModelName
)

// ErrExport reports a graph or option that Export cannot express in ONNX.
var ErrExport = errors.New("convert: cannot export")

// ExportOptions configure Export.
type ExportOptions struct {
	Opset     int               // default-domain opset; 0 means DefaultExportOpset; 9..21
	ModelName string            // zoo name: the graph name and metadata MetaModel
	Metadata  map[string]string // extra metadata_props
	DocString string            // the model's doc_string
}

// irVersions is the official ONNX version table (onnx/helper.py
// VERSION_TABLE): the IR version of the ONNX release that introduced each
// default-domain opset, i.e. the lowest IR version admitting it.
var irVersions = map[int]int64{
	9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8,
	19: 9, 20: 9, 21: 10,
}

// IRVersion returns the IR version Export writes for opset, or 0 if the
// opset is outside MinExportOpset..MaxExportOpset.
func IRVersion(opset int) int64 { return irVersions[opset] }

// Export writes g with parameters p as an ONNX model to w. See the package
// documentation for the op mapping. p must hold exactly g's parameters.
func Export(w io.Writer, g *nn.Graph, p nn.Params, opts ExportOptions) error {
	if opts.Opset == 0 {
		opts.Opset = DefaultExportOpset
	}
	if opts.Opset < MinExportOpset || opts.Opset > MaxExportOpset {
		return fmt.Errorf("%w: opset %d outside %d..%d", ErrExport, opts.Opset, MinExportOpset, MaxExportOpset)
	}
	if g == nil || len(g.Nodes) == 0 {
		return fmt.Errorf("%w: empty graph", ErrExport)
	}
	if err := p.Check(g); err != nil {
		return fmt.Errorf("%w: %w", ErrExport, err)
	}
	e := &exporter{g: g, p: p, opset: opts.Opset, names: map[string]bool{}, value: make([]string, len(g.Nodes))}
	gp, err := e.graph(opts.ModelName)
	if err != nil {
		return err
	}
	m := &onnxpb.ModelProto{
		IrVersion:    proto.Int64(irVersions[opts.Opset]),
		ProducerName: proto.String(Producer),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(opts.Opset))}},
	}
	if opts.DocString != "" {
		m.DocString = proto.String(opts.DocString)
	}
	meta := map[string]string{}
	for k, v := range opts.Metadata {
		meta[k] = v
	}
	if opts.ModelName != "" {
		meta[MetaModel] = opts.ModelName
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(meta[k])})
	}
	return e.write(w, m, gp)
}

// exporter holds the state of one Export.
type exporter struct {
	g     *nn.Graph
	p     nn.Params
	opset int
	nodes []*onnxpb.NodeProto
	names map[string]bool // node and value names in use
	value []string        // nn node ID → ONNX value name of its output
	inits []nn.ParamSpec  // initializers, in graph order
}

// unique returns base, or base_2, base_3, … if base is taken, and marks it.
func (e *exporter) unique(base string) string {
	name := base
	for i := 2; e.names[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	e.names[name] = true
	return name
}

func (e *exporter) node(op, name string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	out := e.unique(name)
	e.nodes = append(e.nodes, &onnxpb.NodeProto{
		Name: proto.String(out), OpType: proto.String(op),
		Input: inputs, Output: []string{out}, Attribute: attrs,
	})
	return out
}

func ints(name string, v ...int) *onnxpb.AttributeProto {
	a := &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum()}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func intAttr(name string, v int) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(v))}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func rawFloats(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// constant adds a Constant node holding a float tensor and returns its value name.
func (e *exporter) constant(name string, dims []int, v []float32) string {
	t := &onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: rawFloats(v)}
	for _, d := range dims {
		t.Dims = append(t.Dims, int64(d))
	}
	return e.node("Constant", name, nil, &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t})
}

// shapeConst adds a Constant node holding an INT64 vector (a Reshape shape).
func (e *exporter) shapeConst(name string, v ...int) string {
	t := &onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Dims: []int64{int64(len(v))}}
	for _, x := range v {
		t.Int64Data = append(t.Int64Data, int64(x))
	}
	return e.node("Constant", name, nil, &onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t})
}

// param registers a parameter initializer and returns its name (its path).
func (e *exporter) param(n *nn.Node, kind nn.ParamKind) (string, bool) {
	s, ok := n.Param(kind)
	if !ok {
		return "", false
	}
	e.inits = append(e.inits, s)
	return s.Path, true
}

func valueInfo(name string, s nn.Shape) *onnxpb.ValueInfoProto {
	dims := []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}}
	for _, d := range s {
		dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: &onnxpb.TensorShapeProto{Dim: dims}},
	}}}
}

// opName is the Go type name of a node's op ("Conv", "MaxPool", …).
func opName(op nn.Block) string {
	s := fmt.Sprintf("%T", op)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[i+1:]
		}
	}
	return s
}

// baseName derives a node name from its block path: the path itself for a
// named block, path + "." + op for an unnamed one (a ReLU inside "conv1"
// becomes "conv1.ReLU"), the op alone at the root.
func baseName(n *nn.Node) string {
	kind := opName(n.Op)
	switch n.Op.(type) {
	case nn.Concat, nn.Add:
		if n.Path != "" {
			return n.Path + "." + kind
		}
		return kind
	}
	if n.Op.BlockName() != "" {
		return n.Path
	}
	if n.Path == "" {
		return kind
	}
	return n.Path + "." + kind
}

func (e *exporter) graph(name string) (*onnxpb.GraphProto, error) {
	g := e.g
	e.names["input"] = true
	e.names["output"] = true
	for _, s := range g.Params() {
		e.names[s.Path] = true
	}
	outName := map[int]string{g.Output: "output"}
	for _, a := range g.Aux {
		if _, dup := outName[a.Node]; dup || e.names[a.Name] {
			return nil, fmt.Errorf("%w: auxiliary output %q collides with another output", ErrExport, a.Name)
		}
		outName[a.Node] = a.Name
		e.names[a.Name] = true
	}
	for _, n := range g.Nodes {
		if err := e.lower(n, outName); err != nil {
			return nil, err
		}
	}
	gp := &onnxpb.GraphProto{Node: e.nodes, Name: proto.String(name)}
	if name == "" {
		gp.Name = proto.String("inceptionzoo")
	}
	gp.Input = []*onnxpb.ValueInfoProto{valueInfo("input", g.InputShape())}
	gp.Output = []*onnxpb.ValueInfoProto{valueInfo("output", g.OutputShape())}
	for _, a := range g.Aux {
		gp.Output = append(gp.Output, valueInfo(a.Name, g.Nodes[a.Node].Out))
	}
	return gp, nil
}

// lower appends the ONNX nodes of one nn node and records its value name.
// The last ONNX node of n writes outName[n.ID] when n is a graph output.
func (e *exporter) lower(n *nn.Node, outName map[int]string) error {
	in := make([]string, len(n.Inputs))
	for i, id := range n.Inputs {
		in[i] = e.value[id]
	}
	base := baseName(n)
	nerr := func(format string, args ...any) error {
		return fmt.Errorf("%w: node %q (%s): %s", ErrExport, base, opName(n.Op), fmt.Sprintf(format, args...))
	}
	var out string
	switch op := n.Op.(type) {
	case nn.Input:
		e.value[n.ID] = "input"
		if _, ok := outName[n.ID]; ok {
			return nerr("the input cannot be a model output")
		}
		return nil
	case nn.Conv:
		w, _ := e.param(n, nn.Weight)
		ins := []string{in[0], w}
		if b, ok := e.param(n, nn.Bias); ok {
			ins = append(ins, b)
		}
		p := op.Pad
		out = e.node("Conv", base, ins,
			ints("kernel_shape", op.Kernel[0], op.Kernel[1]),
			ints("strides", or1(op.Stride[0]), or1(op.Stride[1])),
			ints("pads", p.T, p.L, p.B, p.R),
			ints("dilations", or1(op.Dilation[0]), or1(op.Dilation[1])),
			intAttr("group", or1(op.Groups)))
	case nn.BatchNorm:
		var scale string
		if op.NoScale {
			c := n.Out[0]
			ones := make([]float32, c)
			for i := range ones {
				ones[i] = 1
			}
			scale = e.constant(n.Path+".weight.ones", []int{c}, ones)
		} else {
			scale, _ = e.param(n, nn.Weight)
		}
		b, _ := e.param(n, nn.Bias)
		mean, _ := e.param(n, nn.RunningMean)
		vr, _ := e.param(n, nn.RunningVar)
		out = e.node("BatchNormalization", base, []string{in[0], scale, b, mean, vr}, floatAttr("epsilon", op.Eps))
	case nn.ChannelScale:
		c := n.Out[0]
		shape := e.shapeConst(base+".shape", c, 1, 1)
		w, _ := e.param(n, nn.Weight)
		w3 := e.node("Reshape", w+".reshape", []string{w, shape})
		out = e.node("Mul", base+".mul", []string{in[0], w3})
		if b, ok := e.param(n, nn.Bias); ok {
			b3 := e.node("Reshape", b+".reshape", []string{b, shape})
			out = e.node("Add", base+".add", []string{out, b3})
		}
	case nn.Affine:
		c := n.Out[0]
		s := e.constant(base+".scale", []int{c, 1, 1}, op.Scale)
		t := e.constant(base+".shift", []int{c, 1, 1}, op.Shift)
		out = e.node("Mul", base+".mul", []string{in[0], s})
		out = e.node("Add", base+".add", []string{out, t})
	case nn.ReLU:
		out = e.node("Relu", base, in)
	case nn.MaxPool:
		attrs, err := e.poolAttrs(n, op.Kernel, op.Stride, op.Pad, op.CeilMode, false)
		if err != nil {
			return nerr("%v", err)
		}
		if d := [2]int{or1(op.Dilation[0]), or1(op.Dilation[1])}; d != [2]int{1, 1} {
			if e.opset < 10 {
				return nerr("dilated MaxPool needs opset 10 or later, not %d", e.opset)
			}
			attrs = append(attrs, ints("dilations", d[0], d[1]))
		}
		out = e.node("MaxPool", base, in, attrs...)
	case nn.AvgPool:
		attrs, err := e.poolAttrs(n, op.Kernel, op.Stride, op.Pad, op.CeilMode, op.CountIncludePad)
		if err != nil {
			return nerr("%v", err)
		}
		cip := 0
		if op.CountIncludePad {
			cip = 1
		}
		attrs = append(attrs, intAttr("count_include_pad", cip))
		out = e.node("AveragePool", base, in, attrs...)
	case nn.GlobalAvgPool:
		out = e.node("GlobalAveragePool", base, in)
	case nn.AdaptiveAvgPool:
		out = e.adaptive(n, op, base, in[0])
	case nn.LRN:
		out = e.node("LRN", base, in, floatAttr("alpha", op.Alpha), floatAttr("beta", op.Beta),
			floatAttr("bias", op.Bias), intAttr("size", op.Size))
	case nn.Dropout:
		if _, ok := outName[n.ID]; !ok {
			e.value[n.ID] = in[0] // identity at inference: no node
			return nil
		}
		out = e.node("Identity", base, in)
	case nn.Flatten:
		out = e.node("Flatten", base, in, intAttr("axis", 1))
	case nn.Linear:
		w, _ := e.param(n, nn.Weight)
		if b, ok := e.param(n, nn.Bias); ok {
			out = e.node("Gemm", base, []string{in[0], w, b}, intAttr("transB", 1))
		} else if e.opset >= 11 {
			out = e.node("Gemm", base, []string{in[0], w}, intAttr("transB", 1))
		} else {
			wt := e.node("Transpose", w+".T", []string{w}, ints("perm", 1, 0))
			out = e.node("MatMul", base, []string{in[0], wt})
		}
	case nn.Softmax:
		out = e.node("Softmax", base, in, intAttr("axis", 1))
	case nn.Concat:
		out = e.node("Concat", base, in, intAttr("axis", 1))
	case nn.Add:
		r := in[1]
		if op.Scale != 1 {
			s := e.constant(base+".scale", nil, []float32{op.Scale})
			r = e.node("Mul", base+".mul", []string{r, s})
		}
		out = e.node("Add", base, []string{in[0], r})
		if op.ReLU {
			out = e.node("Relu", base+".relu", []string{out})
		}
	default:
		return nerr("no ONNX mapping for %T", n.Op)
	}
	if name, ok := outName[n.ID]; ok {
		last := e.nodes[len(e.nodes)-1]
		delete(e.names, last.Output[0])
		last.Output[0] = name
		out = name
	}
	e.value[n.ID] = out
	return nil
}

func or1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// poolAttrs returns kernel_shape, strides, pads and ceil_mode for a pool. At
// opset 9 (no ceil_mode) a ceil-mode pool gets extra end padding instead,
// where that is exact.
func (e *exporter) poolAttrs(n *nn.Node, k, s [2]int, p nn.Pad, ceil, countPad bool) ([]*onnxpb.AttributeProto, error) {
	sh, sw := or1(s[0]), or1(s[1])
	attrs := []*onnxpb.AttributeProto{ints("kernel_shape", k[0], k[1]), ints("strides", sh, sw)}
	if ceil && e.opset < 10 {
		// The floor-mode size with end padding b+x equals the ceil-mode
		// size when x = (out−1)·s + k − (in + begin + end), if positive.
		in, out := n.In[0], n.Out
		xh := max(0, (out[1]-1)*sh+k[0]-(in[1]+p.T+p.B))
		xw := max(0, (out[2]-1)*sw+k[1]-(in[2]+p.L+p.R))
		if (xh > 0 || xw > 0) && countPad {
			return nil, fmt.Errorf("ceil_mode needs opset 10: at opset 9 an AveragePool with count_include_pad and ceil rounding has no exact equivalent")
		}
		p.B += xh
		p.R += xw
		if p.B >= k[0] || p.R >= k[1] {
			return nil, fmt.Errorf("ceil_mode needs opset 10: the equivalent end padding %d,%d is not smaller than the kernel", p.B, p.R)
		}
		ceil = false
	}
	attrs = append(attrs, ints("pads", p.T, p.L, p.B, p.R))
	if ceil {
		attrs = append(attrs, intAttr("ceil_mode", 1))
	}
	return attrs, nil
}

// adaptive lowers an AdaptiveAvgPool: an AveragePool when the bins are
// uniform, else Reshape → MatMul by the bin-averaging matrix → Reshape.
func (e *exporter) adaptive(n *nn.Node, op nn.AdaptiveAvgPool, base, x string) string {
	c, h, w := n.In[0][0], n.In[0][1], n.In[0][2]
	oh, ow := op.Out[0], op.Out[1]
	if h%oh == 0 && w%ow == 0 {
		return e.node("AveragePool", base, []string{x}, ints("kernel_shape", h/oh, w/ow),
			ints("strides", h/oh, w/ow), ints("pads", 0, 0, 0, 0))
	}
	// PyTorch's bins: start = ⌊i·H/oh⌋, end = ⌈(i+1)·H/oh⌉.
	m := make([]float32, h*w*oh*ow)
	for i := 0; i < oh; i++ {
		h0, h1 := i*h/oh, ((i+1)*h+oh-1)/oh
		for j := 0; j < ow; j++ {
			w0, w1 := j*w/ow, ((j+1)*w+ow-1)/ow
			v := float32(1 / float64((h1-h0)*(w1-w0)))
			for y := h0; y < h1; y++ {
				for xx := w0; xx < w1; xx++ {
					m[(y*w+xx)*oh*ow+i*ow+j] = v
				}
			}
		}
	}
	flat := e.node("Reshape", base+".flatten", []string{x, e.shapeConst(base+".flat_shape", 0, c, h*w)})
	mm := e.node("MatMul", base+".matmul", []string{flat, e.constant(base+".bins", []int{h * w, oh * ow}, m)})
	return e.node("Reshape", base, []string{mm, e.shapeConst(base+".out_shape", 0, c, oh, ow)})
}

// write streams m with graph gp and the initializers to w: the model
// fields and the graph without initializers are marshalled
// deterministically; the initializers are appended to the graph message
// one by one, their raw_data written straight from the parameters.
func (e *exporter) write(w io.Writer, m *onnxpb.ModelProto, gp *onnxpb.GraphProto) error {
	det := proto.MarshalOptions{Deterministic: true}
	head, err := det.Marshal(m)
	if err != nil {
		return fmt.Errorf("convert: marshal model: %w", err)
	}
	graph, err := det.Marshal(gp)
	if err != nil {
		return fmt.Errorf("convert: marshal graph: %w", err)
	}
	type rec struct {
		hdr  []byte // TensorProto without raw_data
		data []float32
	}
	recs := make([]rec, len(e.inits))
	total := len(graph)
	for i, s := range e.inits {
		t := &onnxpb.TensorProto{Name: proto.String(s.Path), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}
		for _, d := range s.Shape {
			t.Dims = append(t.Dims, int64(d))
		}
		hdr, err := det.Marshal(t)
		if err != nil {
			return fmt.Errorf("convert: marshal initializer %q: %w", s.Path, err)
		}
		data := e.p[s.Path].Data
		recs[i] = rec{hdr, data}
		body := len(hdr) + protowire.SizeTag(9) + protowire.SizeBytes(4*len(data))
		total += protowire.SizeTag(5) + protowire.SizeBytes(body)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	buf := append([]byte(nil), head...)
	buf = protowire.AppendTag(buf, 7, protowire.BytesType)
	buf = protowire.AppendVarint(buf, uint64(total))
	buf = append(buf, graph...)
	if _, err := bw.Write(buf); err != nil {
		return fmt.Errorf("convert: write: %w", err)
	}
	chunk := make([]byte, 0, 1<<16)
	for _, r := range recs {
		body := len(r.hdr) + protowire.SizeTag(9) + protowire.SizeBytes(4*len(r.data))
		b := protowire.AppendTag(chunk[:0], 5, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(body))
		b = append(b, r.hdr...)
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(4*len(r.data)))
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("convert: write: %w", err)
		}
		for i := 0; i < len(r.data); {
			b = chunk[:0]
			for ; i < len(r.data) && len(b) < cap(chunk)-4; i++ {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(r.data[i]))
			}
			if _, err := bw.Write(b); err != nil {
				return fmt.Errorf("convert: write: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("convert: write: %w", err)
	}
	return nil
}
