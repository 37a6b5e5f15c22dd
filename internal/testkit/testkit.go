// Package testkit holds the helpers the module's tests share: the ONNX
// test suite's standard and seeded random inputs, element-wise closeness
// checks with rtol/atol, a float64 softmax, lookups in the shared test-data
// folder (../shared beside the repository), exposing a classifier's
// logits as an ONNX graph output, seeded random weights for the ONNX
// suite's light models (RandomizeConstantWeights), and the project's rule
// for a missing oracle or data set (a failure under CI=true, a skip
// otherwise).
//
// It is a non-test package so that tests of any package can import it. It
// depends only on low-level packages (tensor, nn, onnx/onnxpb and the
// decoder onnx/onnxir, whose in-package tests therefore must not import
// testkit) and must not import onnx, conformance, zoo, registry or
// internal/ort, so that the in-package tests of those packages can import
// it without an import cycle. ONNX Runtime's initialisation helper is in subpackage orttest.
package testkit

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/repo"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/tensor"
)

// ErrNoModuleRoot is returned by SharedPath when no go.mod is found at or
// above the working directory.
var ErrNoModuleRoot = errors.New("testkit: no go.mod at or above the working directory")

// SharedHint says how to provide the shared test-data folder.
const SharedHint = "check out the shared folder as ../shared beside the repository"

// CI reports whether the environment says CI=true.
func CI() bool { return repo.CI() }

// Missing reports a missing oracle or data set: under CI=true it fails the
// test (Fatal), otherwise it skips it, with the formatted message in both
// cases. The message should say how to install what is missing.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// StandardInput is the ONNX test suite's input: element i of n is i/n.
func StandardInput(shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	n := float32(len(t.Data))
	for i := range t.Data {
		t.Data[i] = float32(i) / n
	}
	return t
}

// RandomInput is U(-1, 1) from the seeded stream nn.NewRand(seed, "x").
func RandomInput(seed uint64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	r := nn.NewRand(seed, "x")
	for i := range t.Data {
		t.Data[i] = r.Uniform(-1, 1)
	}
	return t
}

// MaxDiff is max |a-b| over the elements of a (b must have at least as
// many).
func MaxDiff(a, b *tensor.Tensor) float64 {
	var m float64
	for i := range a.Data {
		m = math.Max(m, math.Abs(float64(a.Data[i])-float64(b.Data[i])))
	}
	return m
}

// Close compares got with want element by element: both must be non-nil
// with equal shapes, and every element outside
// |got-want| <= atol + rtol*|want| is reported as a test error (the first
// five by index, then a count). It returns the largest absolute
// difference.
func Close(tb testing.TB, what string, got, want *tensor.Tensor, rtol, atol float64) float64 {
	tb.Helper()
	require.NotNil(tb, got, what)
	require.NotNil(tb, want, what)
	require.Equal(tb, want.Shape, got.Shape, "%s: shape", what)
	require.Len(tb, got.Data, len(want.Data), "%s: data length", what)
	var maxAbs float64
	bad := 0
	for i, w := range want.Data {
		d := math.Abs(float64(got.Data[i]) - float64(w))
		maxAbs = math.Max(maxAbs, d)
		if !(d <= atol+rtol*math.Abs(float64(w))) {
			if bad < 5 {
				tb.Errorf("%s[%d]: got %v, want %v (|diff| %.3g)", what, i, got.Data[i], w, d)
			}
			bad++
		}
	}
	if bad > 0 {
		tb.Errorf("%s: %d of %d elements out of tolerance (rtol %g, atol %g)", what, bad, len(want.Data), rtol, atol)
	}
	return maxAbs
}

// Softmax returns the softmax of y along its last dimension, computed in
// float64.
func Softmax(y *tensor.Tensor) *tensor.Tensor {
	p := tensor.New(y.Shape...)
	if len(y.Shape) == 0 || len(y.Data) == 0 {
		return p
	}
	c := y.Shape[len(y.Shape)-1]
	if c == 0 {
		return p
	}
	for r := 0; r < len(y.Data); r += c {
		row := y.Data[r : r+c]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		for i, v := range row {
			p.Data[r+i] = float32(math.Exp(float64(v)-m) / s)
		}
	}
	return p
}

// ModuleRoot returns the root of the repository's checkout: the directory
// of the go.mod at or above the working directory that declares this
// module (package repo).
func ModuleRoot() (string, error) {
	root, err := repo.Root("")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoModuleRoot, err)
	}
	return root, nil
}

// SharedPath returns the path of elem joined under the shared test-data
// folder, ../shared relative to the module root (found by walking up from
// the working directory to go.mod). It does not check that the path
// exists.
func SharedPath(elem ...string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{filepath.Dir(root), "shared"}, elem...)...), nil
}

// SharedFile returns the path of a file of the shared test-data folder
// (see SharedPath), reporting it as Missing when it is absent.
func SharedFile(tb testing.TB, elem ...string) string {
	tb.Helper()
	p, err := SharedPath(elem...)
	require.NoError(tb, err)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			Missing(tb, "shared test data missing: %v (%s)", err, SharedHint)
		}
		require.NoError(tb, err)
	}
	return p
}

// ReadShared returns the contents of a file of the shared test-data folder
// (see SharedPath), reporting it as Missing when it is absent.
func ReadShared(tb testing.TB, elem ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(SharedFile(tb, elem...))
	require.NoError(tb, err)
	return b
}
