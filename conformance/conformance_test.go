package conformance_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/conformance"
	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
)

// TestThirdPartyVariant runs the whole harness on a variant registered in
// a private registry, with its golden in testdata like the zoo's.
func TestThirdPartyVariant(t *testing.T) {
	r := conformance.Run(t, tinyRegistry(t), tinyName, conformance.Options{})
	for _, c := range []string{conformance.CheckMetadataName, conformance.CheckForwardName, conformance.CheckGoldenName, conformance.CheckRoundTripName} {
		if got := r.Result(c); got == nil || got.Status != conformance.Pass {
			t.Errorf("%s check: got %+v, want pass", c, got)
		}
	}
	require.NotNil(t, r.Golden)
	t.Logf("golden max abs %.3g, max rel %.3g, network spread %.3g", r.Golden.Diff.MaxAbs, r.Golden.Diff.MaxRel, r.Golden.NetworkSpread)
}

// TestGoldens checks the committed goldens without running a network:
// one per registered model and none for unknown ones, specs consistent
// with the registry, produced by ONNX Runtime, sensitive (the stored
// network spread is recomputed from output_0.pb and the seeded classifier
// bias, and must exceed MinSpreadFactor·atol), and the directory small.
func TestGoldens(t *testing.T) {
	models := goldenModels(t)
	entries, err := fs.ReadDir(conformance.Goldens(), ".")
	require.NoError(t, err)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
			if models[e.Name()] == nil {
				t.Errorf("testdata/%s: no such registered model", e.Name())
			}
		}
	}
	for name, reg := range models {
		t.Run(name, func(t *testing.T) {
			g, err := conformance.LoadGolden(conformance.Goldens(), name)
			require.NoError(t, err)
			e, err := reg.Lookup(name)
			require.NoError(t, err)
			s := g.Spec
			require.Equal(t, append([]int{1}, e.Input...), s.InputShape)
			require.Equal(t, []int{1, e.Classes}, s.OutputShape)
			require.True(t, strings.HasPrefix(s.Reference, "onnxruntime "), "reference %q", s.Reference)
			require.Equal(t, conformance.DefaultTolerance, s.Tolerance())
			require.Equal(t, 4*nn.Shape(s.InputShape).Numel() <= conformance.MaxStoredInput, s.InputFile, "input_0.pb stored iff small")
			b, err := e.Build(nn.Options{})
			require.NoError(t, err)
			gr, err := nn.Lower(b, e.Input)
			require.NoError(t, err)
			params, _, _ := gr.Totals()
			require.Equal(t, params, s.Params)
			spread := conformance.NetworkSpread(gr, nn.InitParams(gr, s.WeightSeed), g.Output)
			require.InDelta(t, s.NetworkSpread, spread, 1e-6*spread)
			if spread <= conformance.MinSpreadFactor*s.ATol {
				t.Errorf("network spread %.3g ≤ %d·atol %g", spread, conformance.MinSpreadFactor, s.ATol)
			}
		})
	}
	require.Contains(t, dirs, "inception-v1-d2l")
	var size int64
	require.NoError(t, filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			size += info.Size()
		}
		return err
	}))
	t.Logf("testdata: %d bytes", size)
	if size > 5<<20 {
		t.Errorf("testdata is %d bytes, want under 5 MB", size)
	}
}

// copyGolden copies testdata/name into a new directory and returns it.
func copyGolden(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/"+name)))
	require.NoError(t, os.Rename(dir, dir+"-tmp"))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.Rename(dir+"-tmp", filepath.Join(dir, name)))
	return dir
}

// recorder is a testing.TB that records errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Helper()             {}

// TestGoldenDetectsCorruption proves the golden check can fail: one value
// of a copy of a committed golden is changed, and both the check and the
// test harness report the model and the element.
func TestGoldenDetectsCorruption(t *testing.T) {
	const name, elem = "inception-v1-d2l", 7
	dir := copyGolden(t, name)
	out := filepath.Join(dir, name, "output_0.pb")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	y, err := onnxir.DecodeTensor(bytes.NewReader(b), onnxir.Limits{})
	require.NoError(t, err)
	y.Float[elem] += 0.01
	var buf bytes.Buffer
	require.NoError(t, onnxir.EncodeTensor(&buf, y.Name, y.Dims, y.Float))
	require.NoError(t, os.WriteFile(out, buf.Bytes(), 0o644))

	opts := conformance.Options{Golden: os.DirFS(dir)}
	r := conformance.CheckModel(registry.Default, name, opts)
	res := r.Result(conformance.CheckGoldenName)
	require.NotNil(t, res)
	require.Equal(t, conformance.Fail, res.Status)
	var me *conformance.MismatchError
	require.ErrorAs(t, res.Err, &me)
	require.ErrorIs(t, res.Err, conformance.ErrMismatch)
	if me.Model != name || me.Diff.First != elem || me.Diff.Failures != 1 {
		t.Errorf("mismatch: model %q, first element %d, %d failures; want %q, %d, 1", me.Model, me.Diff.First, me.Diff.Failures, name, elem)
	}
	require.Contains(t, res.Detail, name)
	require.Contains(t, res.Detail, fmt.Sprintf("element %d [0 %d]", elem, elem))
	require.True(t, r.Failed(false))
	for _, c := range []string{conformance.CheckMetadataName, conformance.CheckForwardName, conformance.CheckRoundTripName} {
		require.Equal(t, conformance.Pass, r.Result(c).Status, c)
	}

	rec := &recorder{TB: t}
	conformance.Run(rec, registry.Default, name, opts)
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], name) || !strings.Contains(rec.errs[0], fmt.Sprintf("element %d", elem)) {
		t.Errorf("Run reported %q, want one error naming %s and element %d", rec.errs, name, elem)
	}

	// A stored input that does not match the spec's seed is refused.
	in := filepath.Join(dir, name, "input_0.pb")
	b, err = os.ReadFile(in)
	require.NoError(t, err)
	x, err := onnxir.DecodeTensor(bytes.NewReader(b), onnxir.Limits{})
	require.NoError(t, err)
	x.Float[3] = -x.Float[3]
	buf.Reset()
	require.NoError(t, onnxir.EncodeTensor(&buf, x.Name, x.Dims, x.Float))
	require.NoError(t, os.WriteFile(in, buf.Bytes(), 0o644))
	_, err = conformance.LoadGolden(os.DirFS(dir), name)
	require.ErrorIs(t, err, conformance.ErrGolden)
	require.Contains(t, err.Error(), "element 3")
}

// TestMissingGolden: a registered model without a golden fails and says
// how to make one.
func TestMissingGolden(t *testing.T) {
	r := conformance.CheckModel(tinyRegistry(t), tinyName, conformance.Options{Golden: os.DirFS(t.TempDir())})
	res := r.Result(conformance.CheckGoldenName)
	require.Equal(t, conformance.Fail, res.Status)
	require.ErrorIs(t, res.Err, conformance.ErrNoGolden)
	require.Contains(t, res.Detail, "-update")
	require.Equal(t, conformance.Pass, r.Result(conformance.CheckRoundTripName).Status)
	require.True(t, r.Failed(false))
}

func TestCheckMetadataErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*registry.Entry)
		want string
	}{
		{"params", func(e *registry.Entry) { e.RefParams++ }, "parameters: nn.Lower counts 1930, RefParams is 1931"},
		{"macs", func(e *registry.Entry) { e.RefMACs = 1 }, "MACs"},
		{"unset", func(e *registry.Entry) { e.RefMACs = 0 }, "must be set"},
		{"classes", func(e *registry.Entry) { e.Classes = 9 }, "9 classes"},
		{"aux", func(e *registry.Entry) { e.RefParamsAux = 5 }, "HasAux is false"},
		{"no aux heads", func(e *registry.Entry) { e.HasAux, e.RefParamsAux = true, 1930 }, "no auxiliary outputs"},
		{"preprocess", func(e *registry.Entry) { e.Preprocess = spec.Preprocess{Crop: 224} }, "preprocessing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tinyEntry()
			tt.edit(&e)
			_, err := conformance.CheckMetadata(e)
			require.ErrorIs(t, err, conformance.ErrMetadata)
			require.Contains(t, err.Error(), tt.want)
		})
	}
	md, err := conformance.CheckMetadata(tinyEntry())
	require.NoError(t, err)
	require.EqualValues(t, 1930, md.Params)
	for _, e := range registry.Default.Entries() {
		_, err := conformance.CheckMetadata(e)
		require.NoError(t, err, e.Name)
	}
}

func TestCompare(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tol := conformance.DefaultTolerance
	tests := []struct {
		name      string
		got, want []float32
		failures  int
		first     int
	}{
		{"equal", []float32{1, -2, 0}, []float32{1, -2, 0}, 0, -1},
		{"within atol", []float32{1e-5}, []float32{0}, 0, -1},
		{"within rtol", []float32{1000.5}, []float32{1000}, 0, -1},
		{"outside", []float32{1, 2.01, 3.01}, []float32{1, 2, 3}, 2, 1},
		{"nan got", []float32{nan}, []float32{1}, 1, 0},
		{"inf got", []float32{inf}, []float32{1}, 1, 0},
		{"inf both", []float32{inf}, []float32{inf}, 0, -1},
		{"short", []float32{1}, []float32{1, 2}, 1, 1},
		{"long", []float32{1, 2}, []float32{1}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := conformance.Compare(tt.got, tt.want, tol)
			if d.Failures != tt.failures || d.First != tt.first {
				t.Errorf("Compare(%v, %v): %d failures, first %d; want %d, %d", tt.got, tt.want, d.Failures, d.First, tt.failures, tt.first)
			}
		})
	}
	d := conformance.Compare([]float32{1.5, 2}, []float32{1, 2}, tol)
	if d.MaxAbs != 0.5 || d.MaxRel != 0.5 {
		t.Errorf("max abs %v, max rel %v; want 0.5, 0.5", d.MaxAbs, d.MaxRel)
	}
}

// TestNodeTests runs the ONNX backend node tests in scope through the
// conformance runner (known failures from package onnx's list).
func TestNodeTests(t *testing.T) {
	s, err := conformance.RunNodeTests(conformance.NodeConfig{KnownFailures: "../" + conformance.KnownFailuresPath})
	if errors.Is(err, conformance.ErrOracle) {
		need(t, err)
	}
	if s != nil {
		for _, op := range s.Ops {
			t.Logf("%-18s %3d/%-3d pass, %d known failures", op.Op, op.Pass, op.Total, op.Known)
		}
		t.Logf("total %d/%d pass, %d known failures", s.Pass, s.Total, s.Known)
	}
	require.NoError(t, err)
	require.Positive(t, s.Pass)

	// A case that fails without being listed is reported.
	kf := filepath.Join(t.TempDir(), "known.txt")
	require.NoError(t, os.WriteFile(kf, []byte("# none\n"), 0o644))
	s, err = conformance.RunNodeTests(conformance.NodeConfig{KnownFailures: kf, Cases: []string{"node/test_relu", "node/test_edge_pad"}})
	require.ErrorIs(t, err, conformance.ErrNodeTests)
	require.Equal(t, 1, s.Pass)
	require.Len(t, s.Failures, 1)
	require.Equal(t, "node/test_edge_pad", s.Failures[0].Case)

	// A listed failure that passes is reported too.
	require.NoError(t, os.WriteFile(kf, []byte("node/test_relu fails\n"), 0o644))
	_, err = conformance.RunNodeTests(conformance.NodeConfig{KnownFailures: kf, Cases: []string{"node/test_relu"}})
	require.ErrorIs(t, err, conformance.ErrNodeTests)
	require.Contains(t, err.Error(), "passes but is listed")

	// Missing data is a missing oracle.
	_, err = conformance.RunNodeTests(conformance.NodeConfig{DataDir: t.TempDir(), KnownFailures: kf})
	require.ErrorIs(t, err, conformance.ErrOracle)
	require.Contains(t, err.Error(), "libonnx-testdata")
}

// TestTorchTwins exports seeded torchvision GoogLeNet and Inception v3
// (conformance.TorchCases: two seeds each, opsets 11 and 17, BatchNorm
// folded and kept, two exports at a time) and compares the zoo twins and
// the generic ONNX runner with torch's outputs.
func TestTorchTwins(t *testing.T) {
	if ort.Built {
		t.Skip("the pure-Go run (make unit) runs the torch twins; the -tags ort run checks ONNX Runtime")
	}
	root, err := conformance.RepoRoot("")
	require.NoError(t, err)
	env, err := conformance.NewTorchEnv(root, t.TempDir())
	need(t, err)
	require.NoError(t, env.ExportAll(conformance.TorchCases))
	for _, c := range conformance.TorchCases {
		t.Run(c.String(), func(t *testing.T) {
			r, err := conformance.CheckTorchTwin(env, registry.Default, c, conformance.DefaultTolerance)
			require.NoError(t, err)
			t.Logf("%s: zoo max abs %.3g rel %.3g; onnx runner max abs %.3g rel %.3g; network spread %.3g",
				c.Model, r.Zoo.MaxAbs, r.Zoo.MaxRel, r.Runner.MaxAbs, r.Runner.MaxRel, r.NetworkSpread)
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := conformance.RepoRoot("")
	require.NoError(t, err)
	abs, err := filepath.Abs("..")
	require.NoError(t, err)
	require.Equal(t, abs, root)
	got, err := conformance.RepoRoot(filepath.Join(root, "conformance", "testdata"))
	require.NoError(t, err)
	require.Equal(t, root, got)
	_, err = conformance.RepoRoot(t.TempDir())
	require.ErrorIs(t, err, conformance.ErrOracle)
}

// TestLoadGoldenErrors: malformed goldens are ErrGolden, never a panic or
// a huge allocation.
func TestLoadGoldenErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/" + tinyName + "/spec.json")
	require.NoError(t, err)
	tests := []struct {
		name, from, to string
	}{
		{"model", `"model": "` + tinyName + `"`, `"model": "other"`},
		{"unknown field", `"opset"`, `"opsett"`},
		{"huge input", `"input_shape": [1, 3, 32, 32]`, `"input_shape": [4096, 4096, 4096, 4096]`},
		{"output", `"output_shape": [`, `"output_shape": [2, `},
		{"tolerance", `"atol": 0.0001`, `"atol": 0`},
		{"range", `"input_range": [`, `"input_range": [2, `},
		{"json", `{`, `[`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyGolden(t, tinyName)
			compact := strings.Join(strings.Fields(string(good)), " ")
			compact = strings.ReplaceAll(strings.ReplaceAll(compact, "[ ", "["), " ]", "]")
			bad := strings.Replace(compact, tt.from, tt.to, 1)
			require.NotEqual(t, compact, bad, "edit %q not applied", tt.from)
			require.NoError(t, os.WriteFile(filepath.Join(dir, tinyName, "spec.json"), []byte(bad), 0o644))
			_, err := conformance.LoadGolden(os.DirFS(dir), tinyName)
			require.ErrorIs(t, err, conformance.ErrGolden)
		})
	}
	dir := copyGolden(t, tinyName)
	require.NoError(t, os.Remove(filepath.Join(dir, tinyName, "output_0.pb")))
	_, err = conformance.LoadGolden(os.DirFS(dir), tinyName)
	require.ErrorIs(t, err, conformance.ErrGolden)
	_, err = conformance.LoadGolden(os.DirFS(dir), "nothing-here")
	require.ErrorIs(t, err, conformance.ErrNoGolden)
	require.Contains(t, err.Error(), "-update")
}
