package onnx

import (
	"math"
	"slices"

	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// ---- broadcasting ----

// broadcastShapes returns the numpy broadcast of a and b.
func broadcastShapes(a, b []int) ([]int, bool) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

// bcastPrep describes a binary broadcast: the output shape and each input's
// strides over it.
type bcastPrep struct {
	out    []int
	sa, sb []int
	same   bool // both inputs have the output's shape
}

func newBcast(a, b []int) (*bcastPrep, bool) {
	out, ok := broadcastShapes(a, b)
	if !ok {
		return nil, false
	}
	sa, _ := broadcastTo(a, out)
	sb, _ := broadcastTo(b, out)
	return &bcastPrep{out: out, sa: sa, sb: sb, same: sameInts(a, out) && sameInts(b, out)}, true
}

// each calls fn for every run of the innermost dimension: output offset o,
// input offsets ia, ib, run length n and input steps da, db.
func (p *bcastPrep) each(fn func(o, ia, ib, n, da, db int)) {
	r := len(p.out)
	if r == 0 {
		fn(0, 0, 0, 1, 0, 0)
		return
	}
	total := prod(p.out)
	if total == 0 {
		return
	}
	inner := p.out[r-1]
	da, db := p.sa[r-1], p.sb[r-1]
	idx := make([]int, r-1)
	ia, ib := 0, 0
	for o := 0; o < total; o += inner {
		fn(o, ia, ib, inner, da, db)
		for i := r - 2; i >= 0; i-- {
			idx[i]++
			ia += p.sa[i]
			ib += p.sb[i]
			if idx[i] < p.out[i] {
				break
			}
			ia -= p.sa[i] * idx[i]
			ib -= p.sb[i] * idx[i]
			idx[i] = 0
		}
	}
}

// ---- Add, Sub, Mul, Div ----

type binKind int

const (
	opAdd binKind = iota
	opSub
	opMul
	opDiv
)

type binOp struct{ kind binKind }

func compileBinary(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 2, 2, 1); err != nil {
		return nil, err
	}
	k := map[string]binKind{"Add": opAdd, "Sub": opSub, "Mul": opMul, "Div": opDiv}[n.OpType]
	return &binOp{kind: k}, nil
}

func (o *binOp) infer(in []*value) ([]*value, any, error) {
	a, b := in[0], in[1]
	if a.isInt != b.isInt {
		return nil, nil, formatErr("operands %v and %v have different types", a, b)
	}
	p, ok := newBcast(a.shape, b.shape)
	if !ok {
		return nil, nil, formatErr("operands %v and %v do not broadcast", a.shape, b.shape)
	}
	return []*value{meta(p.out, a.isInt)}, p, nil
}

func (o *binOp) exec(_ *runCtx, prep any, in, out []*value) error {
	p := prep.(*bcastPrep)
	if in[0].isInt {
		return binInt(o.kind, p, in[0].i, in[1].i, out[0].i)
	}
	binFloat(o.kind, p, in[0].f, in[1].f, out[0].f)
	return nil
}

func binFloat(kind binKind, p *bcastPrep, a, b, y []float32) {
	if p.same {
		switch kind {
		case opAdd:
			for i := range y {
				y[i] = a[i] + b[i]
			}
		case opSub:
			for i := range y {
				y[i] = a[i] - b[i]
			}
		case opMul:
			for i := range y {
				y[i] = a[i] * b[i]
			}
		case opDiv:
			for i := range y {
				y[i] = a[i] / b[i]
			}
		}
		return
	}
	p.each(func(o, ia, ib, n, da, db int) {
		switch kind {
		case opAdd:
			for j := 0; j < n; j++ {
				y[o+j] = a[ia+j*da] + b[ib+j*db]
			}
		case opSub:
			for j := 0; j < n; j++ {
				y[o+j] = a[ia+j*da] - b[ib+j*db]
			}
		case opMul:
			for j := 0; j < n; j++ {
				y[o+j] = a[ia+j*da] * b[ib+j*db]
			}
		case opDiv:
			for j := 0; j < n; j++ {
				y[o+j] = a[ia+j*da] / b[ib+j*db]
			}
		}
	})
}

func binInt(kind binKind, p *bcastPrep, a, b, y []int64) error {
	var err error
	p.each(func(o, ia, ib, n, da, db int) {
		for j := 0; j < n; j++ {
			x, z := a[ia+j*da], b[ib+j*db]
			switch kind {
			case opAdd:
				y[o+j] = x + z
			case opSub:
				y[o+j] = x - z
			case opMul:
				y[o+j] = x * z
			case opDiv:
				if z == 0 {
					err = inputErr("integer division by zero")
					return
				}
				if z == -1 {
					y[o+j] = -x // avoids the MinInt64 / -1 trap
				} else {
					y[o+j] = x / z
				}
			}
		}
	})
	return err
}

// ---- Sum ----

type sumOp struct{}

func compileSum(n *onnxir.Node, _ int64) (op, error) {
	if len(n.Inputs) == 0 {
		return nil, formatErr("Sum needs at least one input")
	}
	for k, in := range n.Inputs {
		if in == "" {
			return nil, formatErr("input %d is empty", k)
		}
	}
	return sumOp{}, arity(n, len(n.Inputs), len(n.Inputs), 1)
}

func (sumOp) infer(in []*value) ([]*value, any, error) {
	shape := in[0].shape
	for _, v := range in[1:] {
		if v.isInt != in[0].isInt {
			return nil, nil, formatErr("operands %v and %v have different types", in[0], v)
		}
		s, ok := broadcastShapes(shape, v.shape)
		if !ok {
			return nil, nil, formatErr("operand %v does not broadcast with %v", v.shape, shape)
		}
		shape = s
	}
	var preps []*bcastPrep
	for _, v := range in {
		p, _ := newBcast(shape, v.shape)
		preps = append(preps, p)
	}
	return []*value{meta(shape, in[0].isInt)}, preps, nil
}

func (sumOp) exec(_ *runCtx, prep any, in, out []*value) error {
	preps := prep.([]*bcastPrep)
	y := out[0]
	for k, v := range in {
		p := preps[k]
		if y.isInt {
			if k == 0 {
				p.each(func(o, _, ib, n, _, db int) {
					for j := 0; j < n; j++ {
						y.i[o+j] = v.i[ib+j*db]
					}
				})
				continue
			}
			_ = binInt(opAdd, p, y.i, v.i, y.i)
			continue
		}
		if k == 0 {
			p.each(func(o, _, ib, n, _, db int) {
				for j := 0; j < n; j++ {
					y.f[o+j] = v.f[ib+j*db]
				}
			})
			continue
		}
		binFloat(opAdd, p, y.f, v.f, y.f)
	}
	return nil
}

// ---- Concat ----

type concatOp struct{ axis int64 }

func compileConcat(n *onnxir.Node, _ int64) (op, error) {
	if len(n.Inputs) == 0 {
		return nil, formatErr("Concat needs at least one input")
	}
	if err := arity(n, len(n.Inputs), len(n.Inputs), 1); err != nil {
		return nil, err
	}
	if _, ok := n.Attrs["axis"]; !ok {
		return nil, formatErr("attribute axis is required")
	}
	a, err := n.Int("axis", 0)
	return &concatOp{axis: a}, err
}

type concatPrep struct{ axis, outer, inner int }

func (o *concatOp) infer(in []*value) ([]*value, any, error) {
	first := in[0]
	r := len(first.shape)
	a, err := normAxis(o.axis, r, false)
	if err != nil {
		return nil, nil, err
	}
	out := cloneInts(first.shape)
	out[a] = 0
	for k, v := range in {
		if v.isInt != first.isInt || len(v.shape) != r {
			return nil, nil, formatErr("input %d %v does not match input 0 %v", k, v, first)
		}
		for i := range v.shape {
			if i != a && v.shape[i] != first.shape[i] {
				return nil, nil, formatErr("input %d %v does not match input 0 %v off axis %d", k, v.shape, first.shape, a)
			}
		}
		out[a] += v.shape[a]
	}
	return []*value{meta(out, first.isInt)}, concatPrep{axis: a, outer: prod(out[:a]), inner: prod(out[a+1:])}, nil
}

func (o *concatOp) exec(_ *runCtx, prep any, in, out []*value) error {
	p := prep.(concatPrep)
	y := out[0]
	off := 0
	rowOut := y.shape[p.axis] * p.inner
	for _, v := range in {
		chunk := v.shape[p.axis] * p.inner
		for t := 0; t < p.outer; t++ {
			if y.isInt {
				copy(y.i[t*rowOut+off:t*rowOut+off+chunk], v.i[t*chunk:(t+1)*chunk])
			} else {
				copy(y.f[t*rowOut+off:t*rowOut+off+chunk], v.f[t*chunk:(t+1)*chunk])
			}
		}
		off += chunk
	}
	return nil
}

// ---- reshaping ops: Flatten, Reshape, Unsqueeze, Squeeze, Identity ----

// reshapeOp covers every op whose output is its first input's data under a
// new shape; shapeFn computes that shape.
type reshapeOp struct {
	shapeFn func(in []*value) ([]int, error)
}

func (o *reshapeOp) infer(in []*value) ([]*value, any, error) {
	s, err := o.shapeFn(in)
	if err != nil {
		return nil, nil, err
	}
	if prod(s) != in[0].numel() {
		return nil, nil, formatErr("cannot reshape %v (%d elements) to %v", in[0].shape, in[0].numel(), s)
	}
	return []*value{meta(s, in[0].isInt)}, nil, nil
}

func (o *reshapeOp) exec(_ *runCtx, _ any, in, out []*value) error {
	copyValue(in[0], out[0])
	return nil
}

func compileIdentity(n *onnxir.Node, _ int64) (op, error) {
	return &reshapeOp{shapeFn: func(in []*value) ([]int, error) { return in[0].shape, nil }}, arity(n, 1, 1, 1)
}

func compileFlatten(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 1, 1, 1); err != nil {
		return nil, err
	}
	axis, err := n.Int("axis", 1)
	if err != nil {
		return nil, err
	}
	return &reshapeOp{shapeFn: func(in []*value) ([]int, error) {
		s := in[0].shape
		a, err := normAxis(axis, len(s), true)
		if err != nil {
			return nil, err
		}
		return []int{prod(s[:a]), prod(s[a:])}, nil
	}}, nil
}

func compileReshape(n *onnxir.Node, opset int64) (op, error) {
	if err := arity(n, 2, 2, 1); err != nil {
		return nil, err
	}
	allowZero, err := boolAttr(n, "allowzero")
	if err != nil {
		return nil, err
	}
	return &reshapeOp{shapeFn: func(in []*value) ([]int, error) {
		spec, err := knownInts("shape", in[1])
		if err != nil {
			return nil, err
		}
		if allowZero && slices.Contains(spec, 0) && slices.Contains(spec, -1) {
			return nil, formatErr("shape %v has both 0 and -1, invalid with allowzero=1", spec)
		}
		if len(in[1].shape) != 1 {
			return nil, formatErr("shape input %v must be 1-D", in[1].shape)
		}
		x := in[0].shape
		out := make([]int, len(spec))
		infer := -1
		known := 1
		for i, d := range spec {
			switch {
			case d == -1:
				if infer >= 0 {
					return nil, formatErr("shape %v has more than one -1", spec)
				}
				infer = i
				continue
			case d == 0 && !allowZero:
				if i >= len(x) {
					return nil, formatErr("shape %v copies dim %d of input %v", spec, i, x)
				}
				out[i] = x[i]
			case d < 0:
				return nil, formatErr("shape %v has a negative dim", spec)
			case d > math.MaxInt32*int64(1<<20):
				return nil, formatErr("shape %v has a huge dim", spec)
			default:
				out[i] = int(d)
			}
			if out[i] != 0 && known > math.MaxInt64/out[i] {
				return nil, formatErr("shape %v overflows", spec)
			}
			known *= out[i]
		}
		if infer >= 0 {
			if known == 0 || in[0].numel()%known != 0 {
				return nil, formatErr("cannot infer the -1 of shape %v for input %v", spec, x)
			}
			out[infer] = in[0].numel() / known
		}
		return out, nil
	}}, nil
}

// axesOf returns the axes of Unsqueeze/Squeeze: the attribute before opset
// 13, the (known) second input from 13.
func axesOf(attr []int64, opset int64, in []*value) ([]int64, bool, error) {
	if opset < 13 {
		return attr, attr != nil, nil
	}
	if len(in) < 2 || in[1] == nil {
		return nil, false, nil
	}
	a, err := knownInts("axes", in[1])
	return a, true, err
}

func compileUnsqueeze(n *onnxir.Node, opset int64) (op, error) {
	maxIn := 1
	if opset >= 13 {
		maxIn = 2
	}
	if err := arity(n, maxIn, maxIn, 1); err != nil {
		return nil, err
	}
	attr, err := n.Ints("axes", nil)
	if err != nil {
		return nil, err
	}
	if opset < 13 && attr == nil {
		return nil, formatErr("attribute axes is required")
	}
	return &reshapeOp{shapeFn: func(in []*value) ([]int, error) {
		axes, _, err := axesOf(attr, opset, in)
		if err != nil {
			return nil, err
		}
		x := in[0].shape
		r := len(x) + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			k, err := normAxis(a, r, false)
			if err != nil {
				return nil, err
			}
			if ins[k] {
				return nil, formatErr("axes %v repeat an axis", axes)
			}
			ins[k] = true
		}
		out := make([]int, 0, r)
		j := 0
		for k := 0; k < r; k++ {
			if ins[k] {
				out = append(out, 1)
			} else {
				out = append(out, x[j])
				j++
			}
		}
		return out, nil
	}}, nil
}

func compileSqueeze(n *onnxir.Node, opset int64) (op, error) {
	maxIn := 1
	if opset >= 13 {
		maxIn = 2
	}
	if err := arity(n, 1, maxIn, 1); err != nil {
		return nil, err
	}
	attr, err := n.Ints("axes", nil)
	if err != nil {
		return nil, err
	}
	return &reshapeOp{shapeFn: func(in []*value) ([]int, error) {
		axes, given, err := axesOf(attr, opset, in)
		if err != nil {
			return nil, err
		}
		x := in[0].shape
		drop := make([]bool, len(x))
		ks, err := distinctAxes("axes", axes, len(x))
		if err != nil {
			return nil, err
		}
		for i, k := range ks {
			a := axes[i]
			if x[k] != 1 {
				return nil, formatErr("cannot squeeze axis %d of %v", a, x)
			}
			drop[k] = true
		}
		var out []int
		for k, d := range x {
			if drop[k] || (!given && d == 1) {
				continue
			}
			out = append(out, d)
		}
		if out == nil {
			out = []int{}
		}
		return out, nil
	}}, nil
}

// ---- Constant, ConstantOfShape, Shape ----

type constOp struct{ v *value }

func compileConstant(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 0, 0, 1); err != nil {
		return nil, err
	}
	if len(n.Attrs) != 1 {
		return nil, formatErr("Constant needs exactly one value attribute, has %d", len(n.Attrs))
	}
	for name, a := range n.Attrs {
		switch {
		case name == "value" && a.Type == onnxir.AttrTensor:
			shape := make([]int, len(a.T.Dims))
			for k, d := range a.T.Dims {
				shape[k] = int(d)
			}
			v := &value{shape: shape, known: true}
			if a.T.DType.IsFloat() {
				v.f = a.T.Float
			} else {
				v.isInt, v.i = true, a.T.Int
			}
			return &constOp{v: v}, nil
		case name == "value_float" && a.Type == onnxir.AttrFloat:
			return &constOp{v: &value{shape: []int{}, f: []float32{a.F}, known: true}}, nil
		case name == "value_floats" && a.Type == onnxir.AttrFloats:
			return &constOp{v: &value{shape: []int{len(a.Floats)}, f: a.Floats, known: true}}, nil
		case name == "value_int" && a.Type == onnxir.AttrInt:
			return &constOp{v: &value{shape: []int{}, isInt: true, i: []int64{a.I}, known: true}}, nil
		case name == "value_ints" && a.Type == onnxir.AttrInts:
			return &constOp{v: &value{shape: []int{len(a.Ints)}, isInt: true, i: a.Ints, known: true}}, nil
		case name == "value_string" || name == "value_strings" || name == "sparse_value":
			return nil, unsupportedErr("Constant attribute %s", name)
		}
		return nil, formatErr("Constant attribute %s of type %v", name, a.Type)
	}
	return nil, formatErr("Constant has no value")
}

func (o *constOp) infer([]*value) ([]*value, any, error) {
	return []*value{meta(o.v.shape, o.v.isInt)}, nil, nil
}

func (o *constOp) exec(_ *runCtx, _ any, _, out []*value) error {
	copyValue(o.v, out[0])
	return nil
}

type constOfShapeOp struct {
	isInt bool
	f     float32
	i     int64
}

func compileConstantOfShape(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 1, 1, 1); err != nil {
		return nil, err
	}
	t, err := n.Tensor("value")
	if err != nil {
		return nil, err
	}
	o := &constOfShapeOp{}
	if t != nil {
		if t.NumElements() != 1 {
			return nil, formatErr("value has %d elements, want 1", t.NumElements())
		}
		if t.DType.IsFloat() {
			o.f = t.Float[0]
		} else {
			o.isInt, o.i = true, t.Int[0]
		}
	}
	return o, nil
}

func (o *constOfShapeOp) infer(in []*value) ([]*value, any, error) {
	s, err := knownInts("shape", in[0])
	if err != nil {
		return nil, nil, err
	}
	if len(in[0].shape) != 1 {
		return nil, nil, formatErr("shape input %v must be 1-D", in[0].shape)
	}
	out := make([]int, len(s))
	for k, d := range s {
		if d < 0 || d > math.MaxInt32*int64(1<<20) {
			return nil, nil, formatErr("shape %v has an invalid dim", s)
		}
		out[k] = int(d)
	}
	return []*value{meta(out, o.isInt)}, nil, nil
}

func (o *constOfShapeOp) exec(_ *runCtx, _ any, _, out []*value) error {
	y := out[0]
	if y.isInt {
		for k := range y.i {
			y.i[k] = o.i
		}
		return nil
	}
	for k := range y.f {
		y.f[k] = o.f
	}
	return nil
}

type shapeOp struct{ start, end int64 }

func compileShape(n *onnxir.Node, opset int64) (op, error) {
	if err := arity(n, 1, 1, 1); err != nil {
		return nil, err
	}
	o := &shapeOp{start: 0, end: math.MaxInt64}
	if opset >= 15 {
		var err error
		if o.start, err = n.Int("start", 0); err != nil {
			return nil, err
		}
		if o.end, err = n.Int("end", math.MaxInt64); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (o *shapeOp) dims(x []int) []int64 {
	r := int64(len(x))
	clamp := func(v int64) int64 {
		if v < 0 {
			v += r
		}
		return min(max(v, 0), r)
	}
	s, e := clamp(o.start), clamp(o.end)
	out := []int64{}
	for k := s; k < e; k++ {
		out = append(out, int64(x[k]))
	}
	return out
}

func (o *shapeOp) infer(in []*value) ([]*value, any, error) {
	d := o.dims(in[0].shape)
	return []*value{{shape: []int{len(d)}, isInt: true, i: d, known: true}}, nil, nil
}

func (o *shapeOp) exec(_ *runCtx, _ any, in, out []*value) error {
	copy(out[0].i, o.dims(in[0].shape))
	return nil
}

// ---- Gather ----

type gatherOp struct{ axis int64 }

type gatherPrep struct{ axis, outer, dim, inner, nidx int }

func compileGather(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 2, 2, 1); err != nil {
		return nil, err
	}
	a, err := n.Int("axis", 0)
	return &gatherOp{axis: a}, err
}

func (o *gatherOp) infer(in []*value) ([]*value, any, error) {
	x, idx := in[0], in[1]
	if err := needInt("indices", idx); err != nil {
		return nil, nil, err
	}
	a, err := normAxis(o.axis, len(x.shape), false)
	if err != nil {
		return nil, nil, err
	}
	out := append(append(cloneInts(x.shape[:a]), idx.shape...), x.shape[a+1:]...)
	p := gatherPrep{axis: a, outer: prod(x.shape[:a]), dim: x.shape[a], inner: prod(x.shape[a+1:]), nidx: idx.numel()}
	return []*value{meta(out, x.isInt)}, p, nil
}

func (o *gatherOp) exec(_ *runCtx, prep any, in, out []*value) error {
	p := prep.(gatherPrep)
	x, idx, y := in[0], in[1], out[0]
	for t, j := range idx.i {
		if j < -int64(p.dim) || j >= int64(p.dim) {
			return inputErr("index %d (element %d of indices %v) out of range for axis %d of size %d", j, t, idx.shape, p.axis, p.dim)
		}
	}
	for t := 0; t < p.outer; t++ {
		for k, j := range idx.i {
			if j < 0 {
				j += int64(p.dim)
			}
			src := (t*p.dim + int(j)) * p.inner
			dst := (t*p.nidx + k) * p.inner
			if x.isInt {
				copy(y.i[dst:dst+p.inner], x.i[src:src+p.inner])
			} else {
				copy(y.f[dst:dst+p.inner], x.f[src:src+p.inner])
			}
		}
	}
	return nil
}

// ---- Transpose ----

type transposeOp struct{ perm []int64 }

func compileTranspose(n *onnxir.Node, _ int64) (op, error) {
	if err := arity(n, 1, 1, 1); err != nil {
		return nil, err
	}
	p, err := n.Ints("perm", nil)
	return &transposeOp{perm: p}, err
}

type transposePrep struct {
	out     []int
	strides []int // input stride of each output axis
}

func (o *transposeOp) infer(in []*value) ([]*value, any, error) {
	x := in[0].shape
	r := len(x)
	perm := make([]int, r)
	if o.perm == nil {
		for k := range perm {
			perm[k] = r - 1 - k
		}
	} else {
		if len(o.perm) != r {
			return nil, nil, formatErr("perm %v for input %v", o.perm, x)
		}
		seen := make([]bool, r)
		for k, p := range o.perm {
			if p < 0 || p >= int64(r) || seen[p] {
				return nil, nil, formatErr("perm %v is not a permutation of %d axes", o.perm, r)
			}
			seen[p] = true
			perm[k] = int(p)
		}
	}
	inStr := make([]int, r)
	s := 1
	for k := r - 1; k >= 0; k-- {
		inStr[k] = s
		s *= x[k]
	}
	tp := transposePrep{out: make([]int, r), strides: make([]int, r)}
	for k, p := range perm {
		tp.out[k] = x[p]
		tp.strides[k] = inStr[p]
	}
	return []*value{meta(tp.out, in[0].isInt)}, tp, nil
}

func (o *transposeOp) exec(_ *runCtx, prep any, in, out []*value) error {
	tp := prep.(transposePrep)
	x, y := in[0], out[0]
	walk(tp.out, tp.strides, func(o, i int) {
		if x.isInt {
			y.i[o] = x.i[i]
		} else {
			y.f[o] = x.f[i]
		}
	})
	return nil
}

// walk visits every index of shape in row-major order, calling fn with the
// output offset and the offset under strides.
func walk(shape, strides []int, fn func(o, i int)) {
	total := prod(shape)
	if total == 0 {
		return
	}
	idx := make([]int, len(shape))
	in := 0
	for o := 0; o < total; o++ {
		fn(o, in)
		for k := len(shape) - 1; k >= 0; k-- {
			idx[k]++
			in += strides[k]
			if idx[k] < shape[k] {
				break
			}
			in -= strides[k] * idx[k]
			idx[k] = 0
		}
	}
}

// ---- Pad (constant mode) ----

type padOp struct {
	opset int64
	pads  []int64
	value float32
}

type padPrep struct {
	begin []int
	out   []int
}

func compilePad(n *onnxir.Node, opset int64) (op, error) {
	maxIn := 1
	minIn := 1
	switch {
	case opset >= 18:
		maxIn, minIn = 4, 2
	case opset >= 11:
		maxIn, minIn = 3, 2
	}
	mode, err := n.String("mode", "constant")
	if err != nil {
		return nil, err
	}
	if mode != "constant" {
		return nil, unsupportedErr("Pad mode %q (only constant)", mode)
	}
	if err := arity(n, minIn, maxIn, 1); err != nil {
		return nil, err
	}
	o := &padOp{opset: opset}
	if opset < 11 {
		if o.pads, err = n.Ints("pads", nil); err != nil {
			return nil, err
		}
		if o.pads == nil {
			return nil, formatErr("attribute pads is required")
		}
		if o.value, err = n.Float("value", 0); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (o *padOp) infer(in []*value) ([]*value, any, error) {
	x := in[0]
	r := len(x.shape)
	pads := o.pads
	if o.opset >= 11 {
		var err error
		if pads, err = knownInts("pads", in[1]); err != nil {
			return nil, nil, err
		}
		if len(in) > 2 && in[2] != nil {
			if in[2].numel() != 1 || in[2].isInt != x.isInt {
				return nil, nil, formatErr("constant_value %v must be a scalar of the input's type", in[2])
			}
		}
	}
	axes := make([]int, r)
	for k := range axes {
		axes[k] = k
	}
	if len(in) > 3 && in[3] != nil {
		a, err := knownInts("axes", in[3])
		if err != nil {
			return nil, nil, err
		}
		if axes, err = distinctAxes("axes", a, r); err != nil {
			return nil, nil, err
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, nil, formatErr("pads %v: want %d values for input %v", pads, 2*len(axes), x.shape)
	}
	p := padPrep{begin: make([]int, r), out: cloneInts(x.shape)}
	for j, k := range axes {
		b, e := pads[j], pads[j+len(axes)]
		if b > maxAttrDim || e > maxAttrDim || b < -maxAttrDim || e < -maxAttrDim {
			return nil, nil, unsupportedErr("pads %v beyond ±%d", pads, maxAttrDim)
		}
		p.begin[k] = int(b)
		p.out[k] = x.shape[k] + int(b) + int(e)
		if p.out[k] < 0 {
			return nil, nil, formatErr("pads %v crop axis %d of %v below zero", pads, k, x.shape)
		}
	}
	return []*value{meta(p.out, x.isInt)}, p, nil
}

func (o *padOp) exec(_ *runCtx, prep any, in, out []*value) error {
	p := prep.(padPrep)
	x, y := in[0], out[0]
	var fv float32
	var iv int64
	if o.opset < 11 {
		fv = o.value
	} else if len(in) > 2 && in[2] != nil {
		if x.isInt {
			iv = in[2].i[0]
		} else {
			fv = in[2].f[0]
		}
	}
	r := len(x.shape)
	inStr := make([]int, r)
	s := 1
	for k := r - 1; k >= 0; k-- {
		inStr[k] = s
		s *= x.shape[k]
	}
	total := prod(p.out)
	if total == 0 {
		return nil
	}
	idx := make([]int, r)
	for o := 0; o < total; o++ {
		off, inside := 0, true
		for k := 0; k < r; k++ {
			i := idx[k] - p.begin[k]
			if i < 0 || i >= x.shape[k] {
				inside = false
				break
			}
			off += i * inStr[k]
		}
		switch {
		case x.isInt && inside:
			y.i[o] = x.i[off]
		case x.isInt:
			y.i[o] = iv
		case inside:
			y.f[o] = x.f[off]
		default:
			y.f[o] = fv
		}
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < p.out[k] {
				break
			}
			idx[k] = 0
		}
	}
	return nil
}
