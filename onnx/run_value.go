package onnx

import (
	"errors"
	"fmt"
	"math"

	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// ErrInput reports a Run input that the model cannot accept: a missing or
// unknown input, a shape that disagrees with the declared input shape, a
// batch size outside 1..LoadOptions.MaxBatch, or data the graph cannot
// process (an out-of-range Gather index, an integer division by zero).
// Input shape errors are a *TensorError naming the input and both shapes;
// data errors are a *NodeError naming the node.
var ErrInput = errors.New("onnx: invalid input")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInput}, args...)...)
}

// value is a runtime tensor: float32 data, or int64 data for integer and
// boolean tensors (shape arithmetic, indices). known is set once the data
// is available (always at run time; at plan time only for constants and
// values computed from constants, shapes and integer inputs).
type value struct {
	shape []int
	isInt bool
	known bool
	f     []float32
	i     []int64
}

func (v *value) numel() int {
	n := 1
	for _, d := range v.shape {
		n *= d
	}
	return n
}

// elemSize is the bytes of one element: 4 for float, 8 for integer data.
func (v *value) elemSize() int64 {
	if v.isInt {
		return 8
	}
	return 4
}

// bytes is the size of v's data (0 for a nil or shape-only value).
func (v *value) bytes() int64 {
	if v == nil || !v.known {
		return 0
	}
	return int64(v.numel()) * v.elemSize()
}

// meta returns a value with v's shape and type and no data.
func meta(shape []int, isInt bool) *value {
	return &value{shape: shape, isInt: isInt}
}

func (v *value) String() string {
	t := "float"
	if v.isInt {
		t = "int64"
	}
	return fmt.Sprintf("%s%v", t, v.shape)
}

// alloc gives v fresh zeroed data of its shape.
func (v *value) alloc() {
	n := v.numel()
	if v.isInt {
		v.i = make([]int64, n)
	} else {
		v.f = make([]float32, n)
	}
	v.known = true
}

// ints returns v's data as int64s (float data is truncated).
func (v *value) ints() []int64 {
	if v.isInt {
		return v.i
	}
	out := make([]int64, len(v.f))
	for k, x := range v.f {
		out[k] = int64(x)
	}
	return out
}

// floats returns v's data as float32s.
func (v *value) floats() []float32 {
	if !v.isInt {
		return v.f
	}
	out := make([]float32, len(v.i))
	for k, x := range v.i {
		out[k] = float32(x)
	}
	return out
}

// valueFromTensor converts a decoded tensor; dims are checked against limits.
func valueFromTensor(t *onnxir.Tensor, l onnxir.Limits) (*value, error) {
	shape, err := intShape(t.Dims, l)
	if err != nil {
		return nil, err
	}
	v := &value{shape: shape, known: true}
	if t.Int != nil || !t.DType.IsFloat() {
		v.isInt = true
		v.i = t.Int
		if v.i == nil {
			v.i = []int64{}
		}
	} else {
		v.f = t.Float
		if v.f == nil {
			v.f = []float32{}
		}
	}
	n := v.numel()
	if (v.isInt && len(v.i) != n) || (!v.isInt && len(v.f) != n) {
		return nil, formatErr("tensor %q: dims %v need %d elements, got %d", t.Name, t.Dims, n, max(len(v.i), len(v.f)))
	}
	return v, nil
}

// intShape converts and checks int64 dims (non-negative, bounded rank and
// element count, overflow-safe).
func intShape(dims []int64, l onnxir.Limits) ([]int, error) {
	if len(dims) > l.MaxRank {
		return nil, limitErr("rank %d exceeds MaxRank %d", len(dims), l.MaxRank)
	}
	s := make([]int, len(dims))
	for k, d := range dims {
		if d > math.MaxInt {
			return nil, limitErr("dims %v: dimension %d does not fit an int", dims, d)
		}
		s[k] = int(d)
	}
	if err := checkShape(s, l); err != nil {
		return nil, err
	}
	return s, nil
}

// checkShape validates a computed shape against l (rank, non-negative dims,
// element count), overflow-safe, before anything of that shape is allocated.
func checkShape(shape []int, l onnxir.Limits) error {
	if len(shape) > l.MaxRank {
		return limitErr("rank %d exceeds MaxRank %d", len(shape), l.MaxRank)
	}
	n := int64(1)
	zero := false
	for _, d := range shape {
		if d < 0 {
			return formatErr("shape %v has a negative dimension", shape)
		}
		if d == 0 {
			zero = true
		}
	}
	if zero {
		return nil
	}
	for _, d := range shape {
		if n > math.MaxInt64/int64(d) {
			return limitErr("shape %v: element count overflows", shape)
		}
		n *= int64(d)
	}
	if n > l.MaxTensorElements {
		return limitErr("shape %v: %d elements exceed MaxTensorElements %d", shape, n, l.MaxTensorElements)
	}
	return nil
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func cloneInts(s []int) []int { return append([]int{}, s...) }

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// normAxis maps axis in [-r, r) (or [-r, r] when inclusive) to [0, r).
func normAxis(axis int64, r int, inclusive bool) (int, error) {
	hi := int64(r)
	if inclusive {
		hi++
	}
	if axis < -int64(r) || axis >= hi {
		return 0, formatErr("axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	return int(axis), nil
}
