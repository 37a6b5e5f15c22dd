package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/onnx/onnxir"
)

func TestExport(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.onnx")
	out, err := run(t, "export", "inception-v1-tv", "-o", a, "--opset", "11", "--seed", "4", "--aux", "--transform-input")
	require.NoError(t, err)
	require.Contains(t, out, "13,004,888 params")
	require.Contains(t, out, "opset 11 (IR 6)")
	f, err := onnxir.DecodeFile(a, onnxir.DecodeOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(11), f.Opset)
	require.Len(t, f.Outputs, 3, "output, aux1, aux2")

	// Re-export with the weights of the first file: the same bytes.
	b := filepath.Join(dir, "b.onnx")
	out, err = run(t, "export", "inception-v1-tv", "-o", b, "--opset", "11", "--weights", a, "--aux", "--transform-input")
	require.NoError(t, err)
	require.Contains(t, out, "weights from "+a)
	ab, err := os.ReadFile(a)
	require.NoError(t, err)
	bb, err := os.ReadFile(b)
	require.NoError(t, err)
	require.Equal(t, ab, bb)

	for _, args := range [][]string{
		{"export", "inception-v1-tv"},                          // no -o
		{"export", "inception-v1-tv", "-o", b, "--opset", "8"}, // opset range
		{"export", "nonesuch", "-o", b},                        // unknown model
		{"export", "inception-v1", "-o", b, "--weights", a},    // weights that do not fit
	} {
		_, err := run(t, args...)
		require.Error(t, err, "%v", args)
	}
}
