package onnxir

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/inceptionzoo/inception/onnx/internal/onnxtest"
)

// Short names for the shared model builders.
var (
	vi            = onnxtest.VI
	node          = onnxtest.Node
	floatTensor   = onnxtest.FloatTensor
	rawFloat      = onnxtest.RawFloat
	rawTensor     = onnxtest.RawTensor
	extTensor     = onnxtest.ExtTensor
	model         = onnxtest.Model
	validGraph    = onnxtest.ValidGraph
	graphWith     = onnxtest.GraphWith
	mustMarshal   = onnxtest.MustMarshal
	attrF         = onnxtest.AttrF
	attrInts      = onnxtest.AttrInts
	float32NaN    = onnxtest.NaN32
	float32Inf    = onnxtest.Inf32
	prepareExtDir = onnxtest.ExtDir
)

// hostileDir is the hostile corpus of package onnx (see its
// hostile_test.go): untrusted models with the errors they must produce.
const hostileDir = "../testdata/hostile"

// sharedFile returns the path of a file in the shared onnx-light directory,
// failing under CI=true and skipping otherwise when it is missing.
func sharedFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "onnx-light", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing under CI: %v", err)
		}
		t.Skipf("shared test data missing (%v); expected at /work/shared/onnx-light", err)
	}
	return p
}
