package nodetest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/nodetest"
	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// TestCases: the embedded list is well formed, has no duplicates, and every
// known failure of the repository's list is in scope.
func TestCases(t *testing.T) {
	cases, err := nodetest.Cases()
	require.NoError(t, err)
	if got, want := len(cases), 259; got != want {
		t.Errorf("len(Cases()) = %d, want %d (update this count when the list changes)", got, want)
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c] {
			t.Errorf("%s listed twice", c)
		}
		seen[c] = true
		dir, _, _ := strings.Cut(c, "/")
		if dir != "node" && dir != "pytorch-converted" && dir != "pytorch-operator" {
			t.Errorf("%s: got suite %q, want node, pytorch-converted or pytorch-operator", c, dir)
		}
	}
	known, err := nodetest.ReadKnownFailures(filepath.Join("..", "..", nodetest.KnownFailuresPath))
	require.NoError(t, err)
	require.NotEmpty(t, known)
	for k := range known {
		if !seen[k] {
			t.Errorf("known failure %s is not in Cases()", k)
		}
	}
}

func TestParseKnownFailures(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
		wantErr  error
	}{
		{"comments and blanks", "# c\n\n  node/a  why not \n", map[string]string{"node/a": "why not"}, nil},
		{"no reason", "node/a\n", nil, nodetest.ErrList},
		{"blank reason", "node/a   \n", nil, nodetest.ErrList},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := nodetest.ParseKnownFailures(strings.NewReader(tc.in), "list")
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	_, err := nodetest.ReadKnownFailures(filepath.Join(t.TempDir(), "none.txt"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestCompare(t *testing.T) {
	f := func(dims []int64, v ...float32) *onnxir.Tensor { return &onnxir.Tensor{Dims: dims, Float: v} }
	i := func(dims []int64, v ...int64) *onnxir.Tensor { return &onnxir.Tensor{Dims: dims, Int: v} }
	nan, inf := float32(0), float32(0)
	nan, inf = nan/nan, 1/inf
	tests := []struct {
		name      string
		got, want *onnxir.Tensor
		wantMsg   string // "" means a match
	}{
		{"equal", f([]int64{2}, 1, 2), f([]int64{2}, 1, 2), ""},
		{"within rtol", f([]int64{1}, 1000.5), f([]int64{1}, 1000), ""},
		{"outside rtol", f([]int64{1}, 1002), f([]int64{1}, 1000), "element 0"},
		{"outside atol", f([]int64{1}, 1e-6), f([]int64{1}, 0), "element 0"},
		{"nan", f([]int64{1}, nan), f([]int64{1}, nan), ""},
		{"inf", f([]int64{1}, inf), f([]int64{1}, inf), ""},
		{"nan vs number", f([]int64{1}, nan), f([]int64{1}, 1), "element 0"},
		{"shape", f([]int64{2, 1}, 1, 2), f([]int64{2}, 1, 2), "shape"},
		{"missing", nil, f([]int64{1}, 1), "missing output"},
		{"ints", i([]int64{2}, 1, 2), i([]int64{2}, 1, 2), ""},
		{"ints differ", i([]int64{2}, 1, 3), i([]int64{2}, 1, 2), "element 1"},
		{"float for int", f([]int64{1}, 1), i([]int64{1}, 1), "float output"},
		{"int for float", i([]int64{1}, 1), f([]int64{1}, 1), "integer output"},
		{"short data", f([]int64{2}, 1), f([]int64{2}, 1, 2), "elements"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := nodetest.Compare(tc.got, tc.want)
			if tc.wantMsg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

// TestRun checks the known-failure rules with a stand-in case runner on an
// empty data directory: "pass" passes, everything else fails.
func TestRun(t *testing.T) {
	data := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(data, "node"), 0o755))
	run := func(dir string) error {
		if filepath.Base(dir) == "pass" {
			return nil
		}
		return errors.New("boom")
	}
	var logged []string
	cfg := nodetest.Config{
		DataDir: data, RunCase: run,
		Cases:   []string{"node/pass", "node/fail"},
		Known:   map[string]string{"node/fail": "reason"},
		OnKnown: func(c, reason string, err error) { logged = append(logged, c+" "+reason+" "+err.Error()) },
	}
	s, err := nodetest.Run(cfg)
	require.NoError(t, err)
	require.Equal(t, []string{"node/fail reason boom"}, logged)
	require.Equal(t, []nodetest.OpSummary{{Op: "(unreadable)", Pass: 1, Known: 1, Total: 2}}, s.Ops)
	require.Equal(t, 1, s.Pass)
	require.Equal(t, 1, s.Known)
	require.Equal(t, 2, s.Total)

	tests := []struct {
		name    string
		known   map[string]string
		wantErr []string // cases of the failures
	}{
		{"unlisted failure", map[string]string{}, []string{"node/fail"}},
		{"listed pass", map[string]string{"node/fail": "r", "node/pass": "r"}, []string{"node/pass"}},
		{"listed out of scope", map[string]string{"node/fail": "r", "node/zzz": "r"}, []string{"node/zzz"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfg
			cfg.Known, cfg.OnKnown = tc.known, nil
			s, err := nodetest.Run(cfg)
			require.ErrorIs(t, err, nodetest.ErrUnexpected)
			var got []string
			for _, f := range s.Failures {
				got = append(got, f.Case)
			}
			require.Equal(t, tc.wantErr, got)
		})
	}

	_, err = nodetest.Run(nodetest.Config{DataDir: t.TempDir()})
	require.ErrorIs(t, err, nodetest.ErrNoData)
	require.Contains(t, err.Error(), "libonnx-testdata")
}

// TestRunCase runs one real case and a missing one.
func TestRunCase(t *testing.T) {
	if err := nodetest.CheckData(""); err != nil {
		testkit.Missing(t, "%v", err)
	}
	require.NoError(t, nodetest.RunCase(filepath.Join(nodetest.DataDir, "node/test_relu")))
	require.Equal(t, "Relu", nodetest.Op(filepath.Join(nodetest.DataDir, "node/test_relu")))
	require.ErrorIs(t, nodetest.RunCase(filepath.Join(t.TempDir(), "none")), os.ErrNotExist)
}
