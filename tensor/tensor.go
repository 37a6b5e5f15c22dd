// Package tensor holds the dense float32 tensor type shared by the block
// vocabulary, the executor and the ONNX code. Data is row-major; image
// tensors are NCHW.
package tensor

import (
	"fmt"
	"math"
)

// Tensor is a dense, row-major float32 tensor.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zero tensor of the given shape. It panics if a dimension is
// negative or the element count overflows, which is a programmer error; code
// that handles untrusted shapes must check them with Numel first.
func New(shape ...int) *Tensor {
	n, err := Numel(shape)
	if err != nil {
		panic(err)
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// FromData wraps data as a tensor of the given shape; it returns an error if
// the element count does not match.
func FromData(data []float32, shape ...int) (*Tensor, error) {
	n, err := Numel(shape)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("tensor: shape %v needs %d elements, got %d", shape, n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}, nil
}

// Numel returns the number of elements of shape, or an error for a negative
// dimension or an element count that does not fit in an int.
func Numel(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor: negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("tensor: shape %v overflows", shape)
		}
		n *= d
	}
	return n, nil
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
