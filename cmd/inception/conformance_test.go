package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/ort"
)

// TestConformanceCommand runs the suite on the smallest model: the table
// names it with its parameters and golden error, and the node-test
// summary follows.
func TestConformanceCommand(t *testing.T) {
	t.Setenv("CI", "")
	out, err := run(t, "conformance", "--models", "inception-v1-d2l")
	require.NoError(t, err, out)
	for _, want := range []string{"inception-v1-d2l", "5,977,530/5,977,530", "ONNX backend node tests:", "Conv", "conformance: ok"} {
		require.Contains(t, out, want)
	}
	if !ort.Built {
		require.Contains(t, out, "onnxruntime: MISSING")
		require.Contains(t, out, "-tags ort")
	}
}

func TestConformanceJSON(t *testing.T) {
	t.Setenv("CI", "")
	out, err := run(t, "conformance", "--json", "--models", "inception-v1-d2l")
	require.NoError(t, err, out)
	var got struct {
		OK     bool `json:"ok"`
		Models []struct {
			Model  string `json:"model"`
			Golden struct {
				Diff struct {
					MaxAbs float64 `json:"max_abs"`
				} `json:"diff"`
				NetworkSpread float64 `json:"network_spread"`
			} `json:"golden"`
			Results []struct {
				Check, Status string
			} `json:"results"`
		} `json:"models"`
		NodeTests struct {
			Pass, Total int
		} `json:"node_tests"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.True(t, got.OK)
	require.Len(t, got.Models, 1)
	m := got.Models[0]
	require.Equal(t, "inception-v1-d2l", m.Model)
	require.Less(t, m.Golden.Diff.MaxAbs, 1e-4)
	require.Greater(t, m.Golden.NetworkSpread, 0.01)
	status := map[string]string{}
	for _, r := range m.Results {
		status[r.Check] = r.Status
	}
	for _, c := range []string{"metadata", "forward", "golden", "roundtrip"} {
		require.Equal(t, "pass", status[c], c)
	}
	require.Positive(t, got.NodeTests.Pass)
}

// TestConformanceCIMissingOracle: under CI=true a missing oracle (ONNX
// Runtime is not compiled into this test binary) fails the command.
func TestConformanceCIMissingOracle(t *testing.T) {
	if ort.Built {
		t.Skip("ONNX Runtime is compiled in; the oracle is not missing")
	}
	t.Setenv("CI", "true")
	out, err := run(t, "conformance", "--models", "inception-v1-d2l")
	require.Error(t, err)
	require.True(t, errors.Is(err, errConformance), "%v", err)
	require.Contains(t, out, "FAIL (ort)")
	require.Contains(t, out, "a failure under CI=true")
	require.True(t, strings.HasSuffix(strings.TrimSpace(out), "conformance: FAILED"))
}

func TestConformanceUnknownModel(t *testing.T) {
	_, err := run(t, "conformance", "--models", "inception-v9")
	require.Error(t, err)
	require.Contains(t, err.Error(), "unknown model")
}
