// Package orttest holds the test helper that initialises ONNX Runtime, the
// project's oracle, for tests outside package ort (whose own tests cannot
// import it without an import cycle).
package orttest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/internal/testkit"
)

// Require initialises ONNX Runtime, reporting it as testkit.Missing (a skip,
// or a failure under CI=true) when the library is not installed. Any other
// Init error (ort.ErrNotBuilt in a build without the ort tag and cgo) fails
// the test.
func Require(tb testing.TB) {
	tb.Helper()
	err := ort.Init()
	if errors.Is(err, ort.ErrNoLibrary) {
		testkit.Missing(tb, "ONNX Runtime oracle missing: %v (install it with ./scripts/setup.sh)", err)
	}
	require.NoError(tb, err)
}
