package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/inceptionzoo/inception/onnx/internal/onnxtest"
)

// Short names for the shared model builders.
var (
	vi            = onnxtest.VI
	symVI         = onnxtest.SymVI
	node          = onnxtest.Node
	floatTensor   = onnxtest.FloatTensor
	int64Tensor   = onnxtest.Int64Tensor
	rawFloat      = onnxtest.RawFloat
	rawTensor     = onnxtest.RawTensor
	extTensor     = onnxtest.ExtTensor
	model         = onnxtest.Model
	validGraph    = onnxtest.ValidGraph
	graphWith     = onnxtest.GraphWith
	mustMarshal   = onnxtest.MustMarshal
	attrF         = onnxtest.AttrF
	attrInt       = onnxtest.AttrInt
	attrInts      = onnxtest.AttrInts
	attrStr       = onnxtest.AttrStr
	float32NaN    = onnxtest.NaN32
	float32Inf    = onnxtest.Inf32
	prepareExtDir = onnxtest.ExtDir
)

// sharedFile returns the path of a file in the shared onnx-light directory,
// failing under CI=true and skipping otherwise when it is missing.
func sharedFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "onnx-light", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing under CI: %v", err)
		}
		t.Skipf("shared test data missing (%v); expected at /work/shared/onnx-light", err)
	}
	return p
}
