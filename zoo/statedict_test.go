package zoo_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/weights"
	"github.com/inceptionzoo/inception/zoo"
)

// checkpoint writes a weight file with scripts/torch_checkpoints.py into a
// temporary directory and returns the directory.
func checkpoint(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(python, append(append([]string{"../scripts/torch_checkpoints.py"}, args...), "--out", dir)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return dir
}

// closeToTorch compares our output with torch's at rtol 1e-3, atol 1e-4
// and requires the logits to spread far beyond that.
func closeToTorch(t *testing.T, got, want *tensor.Tensor) {
	t.Helper()
	require.Equal(t, want.Shape, got.Shape)
	lo, hi, worst := math.Inf(1), math.Inf(-1), 0.0
	for i := range want.Data {
		g, w := float64(got.Data[i]), float64(want.Data[i])
		lo, hi = math.Min(lo, w), math.Max(hi, w)
		d := math.Abs(g - w)
		worst = math.Max(worst, d)
		if d > 1e-4+1e-3*math.Abs(w) {
			t.Fatalf("logit %d: got %v, torch %v", i, g, w)
		}
	}
	t.Logf("logit spread %.3g, max |diff| %.3g", hi-lo, worst)
	require.Greater(t, hi-lo, 1.0, "the output is not sensitive enough to test the mapping")
}

// TestTorchvisionCheckpoints loads torchvision state dicts (written by
// torch.save in both formats, and as safetensors by numpy + json, with the
// auxiliary heads torchvision's files carry) into the zoo twins and
// compares with torch's output on the same input.
func TestTorchvisionCheckpoints(t *testing.T) {
	if raceEnabled {
		t.Skip("full-size models under -race take minutes")
	}
	needPython(t, "onnx, torch, torchvision, numpy", "python3-onnx python3-torch python3-torchvision python3-numpy")
	tests := []struct {
		model, zoo string
		args       []string
		transform  bool
	}{
		{"googlenet", "inception-v1-tv", []string{"--format", "zip", "--transform-input"}, true},
		{"googlenet", "inception-v1-tv", []string{"--format", "legacy", "--wrap", "state_dict"}, false},
		{"googlenet", "inception-v1-tv", []string{"--format", "safetensors", "--dtype", "float16"}, false},
		{"inception_v3", "inception-v3", []string{"--format", "zip", "--transform-input", "--wrap", "model", "--dtype", "bfloat16"}, true},
		{"inception_v3", "inception-v3", []string{"--format", "legacy"}, false},
		{"inception_v3", "inception-v3", []string{"--format", "safetensors", "--transform-input"}, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.model, tt.args), func(t *testing.T) {
			dir := checkpoint(t, append([]string{"torchvision", tt.model, "--seed", "5"}, tt.args...)...)
			file := filepath.Join(dir, "weights.pth")
			if _, err := os.Stat(file); err != nil {
				file = filepath.Join(dir, "weights.safetensors")
			}
			opts := []zoo.Option{zoo.WithWeights(file)}
			if tt.transform {
				opts = append(opts, zoo.WithTransformInput())
			}
			m, err := zoo.Load(tt.zoo, opts...)
			require.NoError(t, err, "the aux heads in the file are dropped, not an error")
			require.False(t, m.Seeded())
			got, err := m.Forward(readTensor(t, filepath.Join(dir, "input_0.pb")))
			require.NoError(t, err)
			closeToTorch(t, got, readTensor(t, filepath.Join(dir, "output_0.pb")))

			// With the aux heads built, the file's aux tensors are used.
			withAux, err := zoo.Load(tt.zoo, append(opts, zoo.WithAux())...)
			require.NoError(t, err)
			require.Greater(t, len(withAux.Params), len(m.Params))
		})
	}
}

// TestStateDictErrors: a state dict that does not fit is reported like
// torch's strict load_state_dict, naming the keys; a bare file keeps
// transform_input off.
func TestStateDictErrors(t *testing.T) {
	if raceEnabled {
		t.Skip("full-size models under -race take minutes")
	}
	needPython(t, "torch, numpy", "python3-torch python3-numpy")
	m, err := zoo.Load("inception-v1-d2l")
	require.NoError(t, err)
	keys := map[string][]int{}
	var order []string
	for _, s := range m.Graph.Params() {
		keys[s.Path] = s.Shape
		order = append(order, s.Path)
	}
	// Drop one tensor, add one, change one shape.
	delete(keys, order[0])
	keys["extra.weight"] = []int{3}
	keys[order[len(order)-1]] = []int{7}
	b, err := json.Marshal(keys)
	require.NoError(t, err)
	kf := filepath.Join(t.TempDir(), "keys.json")
	require.NoError(t, os.WriteFile(kf, b, 0o644))
	dir := checkpoint(t, "keys", kf, "--format", "zip")
	_, err = zoo.Load("inception-v1-d2l", zoo.WithWeights(filepath.Join(dir, "weights.pth")))
	require.ErrorIs(t, err, zoo.ErrMismatch)
	var sde *zoo.StateDictError
	require.True(t, errors.As(err, &sde))
	require.Equal(t, []string{order[0]}, sde.Missing)
	require.Equal(t, []string{"extra.weight"}, sde.Unexpected)
	require.Len(t, sde.Mismatched, 1)
	require.ErrorContains(t, err, "1 missing keys ("+order[0]+")")
	require.ErrorContains(t, err, fmt.Sprintf("%s: file [7], model [10]", order[len(order)-1]))
	_ = nn.Shape{}
}

// TestPretrainedTorchvisionTag serves a torchvision-layout checkpoint to
// zoo.Pretrained from a local server under a tag verified by torchvision's
// file-name digest prefix: the tag's transform_input is applied (torch's
// output was computed with it), and a file whose digest does not start with
// the prefix is refused and not kept.
func TestPretrainedTorchvisionTag(t *testing.T) {
	if raceEnabled {
		t.Skip("full-size models under -race take minutes")
	}
	needPython(t, "onnx, torch, torchvision, numpy", "python3-onnx python3-torch python3-torchvision python3-numpy")
	dir := checkpoint(t, "torchvision", "googlenet", "--format", "zip", "--transform-input", "--seed", "8", "--batch", "1")
	b, err := os.ReadFile(filepath.Join(dir, "weights.pth"))
	require.NoError(t, err)
	srv := newWeightServer(t, map[string][]byte{"/googlenet.pth": b})
	e, err := registry.Lookup("inception-v1-tv")
	require.NoError(t, err)
	good := e.Tags[0]
	require.True(t, good.TransformInput)
	sum := weightFile("", "", b).File.SHA256
	good.File.URL, good.File.SHA256Prefix = srv.URL+"/googlenet.pth", sum[:8]
	bad := good
	bad.Name, bad.File.Name = "bad", "bad.pth"
	bad.File.SHA256Prefix = "00000000"
	if sum[:8] == bad.File.SHA256Prefix {
		bad.File.SHA256Prefix = "11111111"
	}
	e.Tags = []spec.Tag{good, bad}
	reg, err := registry.New(e)
	require.NoError(t, err)

	cache := t.TempDir()
	opts := []zoo.PretrainedOption{zoo.PretrainedCache(cache), zoo.PretrainedClient(srv.Client())}
	m, err := zoo.Load("inception-v1-tv", zoo.WithRegistry(reg), zoo.Pretrained(opts...))
	require.NoError(t, err)
	require.Equal(t, "inception-v1-tv.tv_in1k", m.Name())
	require.Equal(t, spec.ImageNet, m.Preprocess().Norm)
	got, err := m.Forward(readTensor(t, filepath.Join(dir, "input_0.pb")))
	require.NoError(t, err)
	closeToTorch(t, got, readTensor(t, filepath.Join(dir, "output_0.pb")))

	_, err = zoo.Load("inception-v1-tv.bad", zoo.WithRegistry(reg), zoo.Pretrained(opts...))
	require.ErrorIs(t, err, weights.ErrChecksum)
	require.NoFileExists(t, filepath.Join(cache, "bad.pth"))
}
