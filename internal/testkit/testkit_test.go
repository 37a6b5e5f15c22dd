package testkit_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/tensor"
)

func TestInputs(t *testing.T) {
	x := testkit.StandardInput(1, 2, 2)
	require.Equal(t, []float32{0, 0.25, 0.5, 0.75}, x.Data)
	a, b := testkit.RandomInput(3, 2, 8), testkit.RandomInput(3, 2, 8)
	require.Equal(t, a.Data, b.Data, "same seed")
	require.NotEqual(t, a.Data, testkit.RandomInput(4, 2, 8).Data, "other seed")
	for i, v := range a.Data {
		if v < -1 || v >= 1 {
			t.Errorf("RandomInput[%d] = %v, want in [-1, 1)", i, v)
		}
	}
}

func TestMaxDiffSoftmax(t *testing.T) {
	a := &tensor.Tensor{Shape: []int{2, 2}, Data: []float32{0, 0, 1, 3}}
	b := &tensor.Tensor{Shape: []int{2, 2}, Data: []float32{0, 0.5, 1, 1}}
	if got, want := testkit.MaxDiff(a, b), 2.0; got != want {
		t.Errorf("MaxDiff = %v, want %v", got, want)
	}
	p := testkit.Softmax(a)
	require.Equal(t, a.Shape, p.Shape)
	want := []float64{0.5, 0.5, 1 / (1 + math.Exp(2)), 1 / (1 + math.Exp(-2))}
	for i, w := range want {
		if math.Abs(float64(p.Data[i])-w) > 1e-7 {
			t.Errorf("Softmax[%d] = %v, want %v", i, p.Data[i], w)
		}
	}
}

// TestClose: in-tolerance tensors pass with their max difference; an
// element out of tolerance fails the (stand-in) test.
func TestClose(t *testing.T) {
	want := &tensor.Tensor{Shape: []int{3}, Data: []float32{1, 100, -2}}
	got := &tensor.Tensor{Shape: []int{3}, Data: []float32{1.00005, 100.05, -2}}
	d := testkit.Close(t, "ok", got, want, 1e-3, 1e-4)
	require.InDelta(t, 0.05, d, 1e-5)

	bad := &tensor.Tensor{Shape: []int{3}, Data: []float32{1.01, 100, -2.5}}
	rec := &recorder{TB: t}
	d = testkit.Close(rec, "bad", bad, want, 1e-3, 1e-4)
	require.InDelta(t, 0.5, d, 1e-6)
	require.Equal(t, []string{
		"bad[0]: got 1.01, want 1 (|diff| 0.01)",
		"bad[2]: got -2.5, want -2 (|diff| 0.5)",
		"bad: 2 of 3 elements out of tolerance (rtol 0.001, atol 0.0001)",
	}, rec.errors)
}

// recorder records Errorf calls instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestSharedPath(t *testing.T) {
	root, err := testkit.ModuleRoot()
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	p, err := testkit.SharedPath("onnx-light", "x.onnx")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(filepath.Dir(root), "shared", "onnx-light", "x.onnx"), p)
}
