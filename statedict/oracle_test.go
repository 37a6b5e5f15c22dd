package statedict

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
)

// The oracle tests read files that torch, torchvision and numpy write at
// test time (testdata/oracle.py) and compare every key, shape, dtype and
// value bit for bit with the float32 conversion torch or numpy made.

const python = "/usr/bin/python3"

// runOracle runs testdata/oracle.py mode into a temporary directory.
func runOracle(t *testing.T, mode string, modules ...string) string {
	t.Helper()
	imports := "import " + strings.Join(modules, ", ")
	if out, err := exec.Command(python, "-c", imports).CombinedOutput(); err != nil {
		testkit.Missing(t, "oracle missing: %s: %v: %s (install Debian python3-torch and python3-torchvision: scripts/setup.sh)",
			imports, err, strings.TrimSpace(string(out)))
	}
	dir := t.TempDir()
	out, err := exec.Command(python, "testdata/oracle.py", mode, dir).CombinedOutput()
	require.NoError(t, err, "oracle.py %s: %s", mode, out)
	return dir
}

type oracleCase struct {
	File     string            `json:"file"`
	Format   string            `json:"format"`
	Root     string            `json:"root"`
	Prefix   string            `json:"prefix"`
	Skipped  []string          `json:"skipped"`
	Metadata map[string]string `json:"metadata"`
	Tensors  []struct {
		Name   string `json:"name"`
		Shape  []int  `json:"shape"`
		DType  string `json:"dtype"`
		Offset int64  `json:"offset"`
		Count  int64  `json:"count"`
	} `json:"tensors"`
	Error  string `json:"error"`
	Substr string `json:"substr"`
}

var sentinels = map[string]error{
	"ErrFormat": ErrFormat, "ErrUnsupported": ErrUnsupported, "ErrLimit": ErrLimit, "ErrForbidden": ErrForbidden,
}

// checkOracle reads every file the oracle listed and compares it with
// the expectation.
func checkOracle(t *testing.T, dir string) {
	var exp struct {
		Cases []oracleCase `json:"cases"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &exp))
	require.NotEmpty(t, exp.Cases)
	values, err := os.ReadFile(filepath.Join(dir, "expected.f32"))
	require.NoError(t, err)
	for _, c := range exp.Cases {
		t.Run(c.File, func(t *testing.T) {
			sd, err := ReadFile(filepath.Join(dir, c.File), Limits{})
			if c.Error != "" {
				want := sentinels[c.Error]
				require.NotNil(t, want, "unknown sentinel %s", c.Error)
				require.Error(t, err)
				assert.ErrorIs(t, err, want)
				assert.Contains(t, err.Error(), c.Substr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.Format, sd.Format.String(), "format")
			assert.Equal(t, c.Root, sd.Root, "root")
			assert.Equal(t, c.Prefix, sd.StrippedPrefix, "stripped prefix")
			assert.Equal(t, c.Skipped, sd.Skipped, "skipped")
			assert.Equal(t, c.Metadata, sd.Metadata, "metadata")
			require.Len(t, sd.Tensors, len(c.Tensors), "tensor count")
			var spread float64
			for i, w := range c.Tensors {
				got := sd.Tensors[i]
				require.Equal(t, w.Name, got.Name, "tensor %d name", i)
				assert.Equal(t, w.Shape, nonNil(got.Shape), "%s: shape", w.Name)
				assert.Equal(t, w.DType, got.DType, "%s: dtype", w.Name)
				require.Len(t, got.Data, int(w.Count), "%s: elements", w.Name)
				require.Same(t, got, sd.Tensor(w.Name), "%s: Tensor(name)", w.Name)
				mismatch := 0
				for j, v := range got.Data {
					want := binary.LittleEndian.Uint32(values[4*(w.Offset+int64(j)):])
					if math.Float32bits(v) != want {
						if mismatch < 3 {
							t.Errorf("%s[%d]: got %v (%#08x), want %v (%#08x)", w.Name, j, v, math.Float32bits(v), math.Float32frombits(want), want)
						}
						mismatch++
					}
					spread = max(spread, math.Abs(float64(v)))
				}
				if mismatch > 0 {
					t.Errorf("%s: %d of %d elements differ", w.Name, mismatch, len(got.Data))
				}
			}
			if len(c.Tensors) > 0 {
				assert.Greater(t, spread, 0.1, "values are too uniform to tell a misread")
			}
		})
	}
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// TestOracleSmall covers float32/float16/bfloat16/float64 storages
// (every finite float16 and bfloat16 value, float64 rounding ties), views
// with offsets, strides, stride 0 and transposes, storages shared by
// several tensors, scalars and empty tensors, skipped integer tensors,
// Parameters, pickle protocols 1, 2, 4 and 5 in both torch formats,
// state dicts under "state_dict" and "model" beside optimizer state,
// DataParallel's "module." prefix, a numpy-written safetensors file, and
// the errors for NaN/Inf weights, a whole pickled module, and objects
// that are not state dicts.
func TestOracleSmall(t *testing.T) {
	dir := runOracle(t, "small", "torch", "numpy")
	checkOracle(t, dir)
	checkDetect(t, dir)
}

// TestOracleRealLayout reads torchvision's GoogLeNet and Inception-v3
// state dicts (with aux heads and randomised BatchNorm statistics) saved
// in the zip and the legacy format: every key, shape and value.
func TestOracleRealLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~400 MB of torchvision checkpoints; skipped with -short")
	}
	dir := runOracle(t, "real", "torch", "torchvision")
	checkOracle(t, dir)
}

// checkDetect checks Detect on the oracle's files against their known
// formats.
func checkDetect(t *testing.T, dir string) {
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	n := 0
	for _, p := range files {
		want := Unknown
		switch {
		case strings.HasSuffix(p, ".safetensors"):
			want = Safetensors
		case strings.Contains(p, "_legacy"):
			want = TorchLegacy
		case strings.Contains(p, "_zip"):
			want = TorchZip
		default:
			continue
		}
		head := make([]byte, DetectSize)
		f, err := os.Open(p)
		require.NoError(t, err)
		_, err = f.Read(head)
		f.Close()
		require.NoError(t, err)
		assert.Equal(t, want, Detect(head), filepath.Base(p))
		n++
	}
	assert.Greater(t, n, 20)
}

// TestPython2LegacyTorchLoad builds a legacy checkpoint in the form
// Python 2 and torch 0.4 wrote (Cadene's BN-Inception file is one), has
// torch.load read it, and compares torch's tensors with ours.
func TestPython2LegacyTorchLoad(t *testing.T) {
	if out, err := exec.Command(python, "-c", "import torch").CombinedOutput(); err != nil {
		testkit.Missing(t, "oracle missing: import torch: %v: %s (install Debian python3-torch: scripts/setup.sh)", err, out)
	}
	path := filepath.Join(t.TempDir(), "py2_legacy.pt")
	require.NoError(t, os.WriteFile(path, torchLegacyPy2(baseTensors), 0o600))
	script := `import json, sys, torch
sd = torch.load(sys.argv[1], map_location="cpu")
print(json.dumps({k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
                      "values": v.to(torch.float64).flatten().tolist()} for k, v in sd.items()}))`
	out, err := exec.Command(python, "-c", script, path).Output()
	require.NoError(t, err, "torch.load: %s", out)
	var want map[string]struct {
		Shape  []int     `json:"shape"`
		DType  string    `json:"dtype"`
		Values []float64 `json:"values"`
	}
	require.NoError(t, json.Unmarshal(out, &want))
	require.Len(t, want, len(baseTensors))
	sd, err := ReadFile(path, Limits{})
	require.NoError(t, err)
	assert.Equal(t, []string{"bn.num_batches_tracked"}, sd.Skipped)
	assert.Len(t, sd.Tensors, len(want)-1)
	for name, w := range want {
		if w.DType == "int64" {
			continue
		}
		got := sd.Tensor(name)
		require.NotNil(t, got, name)
		assert.Equal(t, w.Shape, nonNil(got.Shape), name)
		assert.Equal(t, w.DType, got.DType, name)
		vals := make([]float64, len(got.Data))
		for i, v := range got.Data {
			vals[i] = float64(v)
		}
		assert.Equal(t, w.Values, vals, name)
	}
}
