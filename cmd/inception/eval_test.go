package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEvalMinAccuracy: eval's --min-accuracy passes at the measured
// accuracy and fails just above it (make eval-d2l relies on this).
func TestEvalMinAccuracy(t *testing.T) {
	model := "../../assets/inception-v1-d2l-fmnist28.onnx"
	needFashionMNIST(t)
	out, err := run(t, "eval", "--model", model, "--data", "fashion-mnist", "--limit", "100")
	require.NoError(t, err)
	m := regexp.MustCompile(`top-1 accuracy (\d\.\d{4}) on 100 images`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	acc, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)

	_, err = run(t, "eval", "--model", model, "--data", "fashion-mnist", "--limit", "100", "--min-accuracy", fmt.Sprint(acc-0.005))
	require.NoError(t, err)
	if acc <= 0.99 {
		out, err = run(t, "eval", "--model", model, "--data", "fashion-mnist", "--limit", "100", "--min-accuracy", fmt.Sprint(acc+0.01))
		require.ErrorIs(t, err, errAccuracy)
		require.ErrorContains(t, err, fmt.Sprintf("top-1 accuracy %.4f is below --min-accuracy %.4f", acc, acc+0.01))
		require.Contains(t, out, m[0], "the accuracy is printed before the failure")
	}
	for _, bad := range []string{"-0.1", "1.5"} {
		_, err = run(t, "eval", "--model", model, "--data", "fashion-mnist", "--min-accuracy", bad)
		require.ErrorContains(t, err, "--min-accuracy "+bad+": want 0 to 1")
	}
}

// TestEvalUsage: what a new user tries first gets a message about the
// command line, and exit status 2.
func TestEvalUsage(t *testing.T) {
	one := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(one, "only"), 0o755))
	tests := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"eval"}, "--model is required", 2},
		{[]string{"eval", "--model", "inception-v1-d2l"}, "--data is required", 2},
		{[]string{"eval", "--model", "inception-v1-d2l", "--data", "mnist"}, "--data mnist: want fashion-mnist or an image folder", 2},
		{[]string{"eval", "--model", "inception-v1-d2l", "--data", one, "--allow-seeded"}, "want one sub-folder per class, at least two; found 1", 1},
		{[]string{"eval", "--model", "../../assets/inception-v1-d2l-fmnist28.onnx", "--weights", "x.pth", "--data", "fashion-mnist"}, "is already a weight file", 2},
	}
	for _, tt := range tests {
		_, err := run(t, tt.args...)
		require.ErrorContains(t, err, tt.want, "%v", tt.args)
		require.Equal(t, tt.code, exitCode(err), "%v", tt.args)
	}
}
