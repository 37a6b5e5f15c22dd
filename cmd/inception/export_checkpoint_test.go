package main

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

const python = "/usr/bin/python3"

// TestExportCheckpointRun is the pretrained-weights acceptance path: a
// torchvision state dict (zip or legacy torch.save, or safetensors)
// exported with `inception export NAME --weights FILE`, then run with
// `inception run --model`, reproduces torch's output on torch's input.
func TestExportCheckpointRun(t *testing.T) {
	if err := exec.Command(python, "-c", "import torch, torchvision, onnx, numpy").Run(); err != nil {
		testkit.Missing(t, "%s cannot import torch, torchvision, onnx, numpy (%v): apt-get install python3-torch python3-torchvision python3-onnx python3-numpy", python, err)
	}
	tests := []struct {
		torch, zoo, format string
		transform          bool
	}{
		{"googlenet", "inception-v1-tv", "zip", true},
		{"googlenet", "inception-v1-tv", "safetensors", false},
		{"inception_v3", "inception-v3", "legacy", true},
	}
	for _, tt := range tests {
		t.Run(tt.zoo+"/"+tt.format, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"../../scripts/torch_checkpoints.py", "torchvision", tt.torch, "--format", tt.format, "--seed", "2", "--batch", "1", "--out", dir}
			if tt.transform {
				args = append(args, "--transform-input")
			}
			out, err := exec.Command(python, args...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			weights := filepath.Join(dir, "weights.pth")
			if tt.format == "safetensors" {
				weights = filepath.Join(dir, "weights.safetensors")
			}
			model := filepath.Join(dir, "m.onnx")
			exp := []string{"export", tt.zoo, "--weights", weights, "-o", model}
			if tt.transform {
				exp = append(exp, "--transform-input")
			}
			msg, err := run(t, exp...)
			require.NoError(t, err, msg)
			outDir := filepath.Join(dir, "out")
			msg, err = run(t, "run", "--model", model, "--input", filepath.Join(dir, "input_0.pb"), "--output-dir", outDir)
			require.NoError(t, err, msg)
			got, want := readFloats(t, filepath.Join(outDir, "output_0.pb")), readFloats(t, filepath.Join(dir, "output_0.pb"))
			require.Len(t, got, len(want))
			lo, hi := math.Inf(1), math.Inf(-1)
			for i, w := range want {
				lo, hi = math.Min(lo, float64(w)), math.Max(hi, float64(w))
				if d := math.Abs(float64(got[i] - w)); d > 1e-4+1e-3*math.Abs(float64(w)) {
					t.Fatalf("logit %d: got %v, torch %v", i, got[i], w)
				}
			}
			require.Greater(t, hi-lo, 1.0, "logit spread")
		})
	}
}

func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var tp onnxpb.TensorProto
	require.NoError(t, proto.Unmarshal(b, &tp))
	if len(tp.FloatData) > 0 {
		return tp.FloatData
	}
	raw := tp.RawData
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
	}
	return out
}
