package npy

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
)

const python = "/usr/bin/python3"

var (
	numpyOnce sync.Once
	numpyErr  error
)

// requireNumpy skips (or under CI=true fails) when the oracle is missing.
func requireNumpy(t *testing.T) {
	t.Helper()
	numpyOnce.Do(func() {
		numpyErr = exec.Command(python, "-c", "import numpy").Run()
	})
	if numpyErr != nil {
		testkit.Missing(t, "numpy oracle: %s -c 'import numpy' failed (%v); install python3-numpy (scripts/setup.sh)", python, numpyErr)
	}
}

func runOracle(t *testing.T, cmd, dir string) string {
	t.Helper()
	out, err := exec.Command(python, "testdata/numpy_oracle.py", cmd, dir).CombinedOutput()
	require.NoError(t, err, "numpy_oracle.py %s: %s", cmd, out)
	return strings.TrimSpace(string(out))
}

// sidecar is numpy_oracle.py's record of an array's expected values.
type sidecar struct {
	Shape []int  `json:"shape"`
	DType string `json:"dtype"`
	Data  string `json:"data"` // little-endian float64, C order, hex
}

func readSidecar(t *testing.T, path string) ([]int, string, []float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var s sidecar
	require.NoError(t, json.Unmarshal(b, &s))
	raw, err := hex.DecodeString(s.Data)
	require.NoError(t, err)
	v := make([]float64, len(raw)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return s.Shape, s.DType, v
}

func writeSidecar(t *testing.T, path string, a *Array) {
	t.Helper()
	raw := make([]byte, 0, 8*len(a.Data))
	for _, v := range a.Data {
		raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
	}
	shape := a.Shape
	if shape == nil {
		shape = []int{}
	}
	b, err := json.Marshal(sidecar{Shape: shape, DType: a.DType.String(), Data: hex.EncodeToString(raw)})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// sameBits compares element bits, so NaN, -0 and subnormals count.
func sameBits(t *testing.T, name string, want, got []float64) {
	t.Helper()
	require.Len(t, got, len(want), name)
	for i := range want {
		if math.Float64bits(want[i]) != math.Float64bits(got[i]) && !(math.IsNaN(want[i]) && math.IsNaN(got[i])) {
			t.Fatalf("%s: element %d: got %v, want %v", name, i, got[i], want[i])
		}
	}
}

// TestReadsNumpyFiles: files written by numpy.save, write_array with
// versions 2.0/3.0, numpy.savez and numpy.savez_compressed (float32/64,
// int32/64, both byte orders, C and Fortran order) read as numpy wrote them.
func TestReadsNumpyFiles(t *testing.T) {
	requireNumpy(t)
	dir := t.TempDir()
	runOracle(t, "write", dir)
	wants, err := filepath.Glob(filepath.Join(dir, "*.want"))
	require.NoError(t, err)
	n := 0
	for _, w := range wants {
		base := strings.TrimSuffix(filepath.Base(w), ".want")
		if strings.HasPrefix(base, "npz_") {
			continue
		}
		shape, dt, want := readSidecar(t, w)
		a, err := ReadNPYFile(filepath.Join(dir, base+".npy"))
		require.NoError(t, err, base)
		assert.Equal(t, shape, a.Shape, base)
		assert.Equal(t, dt, a.DType.String(), base)
		sameBits(t, base, want, a.Data)
		n++
	}
	assert.GreaterOrEqual(t, n, 15, "arrays checked")
	for _, name := range []string{"stored.npz", "deflated.npz"} {
		m, err := ReadNPZFile(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Len(t, m, 5, name)
		for k, a := range m {
			shape, dt, want := readSidecar(t, filepath.Join(dir, "npz_"+k+".want"))
			assert.Equal(t, shape, a.Shape, "%s[%s]", name, k)
			assert.Equal(t, dt, a.DType.String(), "%s[%s]", name, k)
			sameBits(t, name+"["+k+"]", want, a.Data)
		}
	}
}

// TestNumpyLoadsOurFiles: numpy.load reads what WriteNPY, WriteArray,
// RowWriter, CreateRowFile and WriteNPZFile write as the same values and
// types, and each .npy is byte-identical to numpy.save of that array.
func TestNumpyLoadsOurFiles(t *testing.T) {
	requireNumpy(t)
	dir := t.TempDir()
	put := func(name string, a *Array) {
		writeSidecar(t, filepath.Join(dir, name+".want"), a)
	}
	vals := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Sin(float64(i)*1.7) * math.Pow(10, float64(i%9-4))
		}
		return v
	}
	for _, c := range []struct {
		name  string
		dt    DType
		shape []int
	}{
		{"f8", Float64, []int{5, 7}},
		{"f4", Float32, []int{3, 2, 4}},
		{"i8", Int64, []int{6}},
		{"i4", Int32, []int{2, 3}},
		{"scalar", Float64, []int{}},
		{"empty", Float32, []int{0, 2048}},
		{"wide", Float64, []int{1, 3000}},
	} {
		n, _ := checkShape(c.shape)
		data := vals(n)
		switch c.dt {
		case Float32:
			for i := range data {
				data[i] = float64(float32(data[i]))
			}
		case Int64, Int32:
			for i := range data {
				data[i] = math.Round(data[i] * 1e4)
			}
		}
		a := &Array{Shape: c.shape, DType: c.dt, Data: data}
		f, err := os.Create(filepath.Join(dir, c.name+".npy"))
		require.NoError(t, err)
		require.NoError(t, WriteArray(f, a))
		require.NoError(t, f.Close())
		put(c.name, a)
	}
	specials := []float64{math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), 5e-324, math.MaxFloat64}
	require.NoError(t, WriteNPYFile(filepath.Join(dir, "specials.npy"), []int{6}, specials))
	put("specials", &Array{Shape: []int{6}, DType: Float64, Data: specials})

	// A growing row file of 1234 x 16 float32 rows.
	rf, err := CreateRowFile[float32](filepath.Join(dir, "rows.npy"), 16)
	require.NoError(t, err)
	rows := make([]float32, 1234*16)
	for i := range rows {
		rows[i] = float32(math.Cos(float64(i)))
	}
	for i := 0; i < 1234; i += 100 {
		require.NoError(t, rf.Write(rows[i*16:min(i+100, 1234)*16]))
	}
	require.NoError(t, rf.Close())
	put("rows", &Array{Shape: []int{1234, 16}, DType: Float32, Data: convert64(rows)})

	npz := map[string]*Array{
		"mu":    {Shape: []int{4}, DType: Float64, Data: vals(4)},
		"sigma": {Shape: []int{4, 4}, DType: Float64, Data: vals(16)},
		"count": {Shape: []int{}, DType: Int64, Data: []float64{50000}},
	}
	require.NoError(t, WriteNPZFile(filepath.Join(dir, "go.npz"), npz))
	for k, a := range npz {
		put("npz_"+k, a)
	}
	out := runOracle(t, "check", dir)
	assert.Equal(t, "ok 12", out)
}
