package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRoot()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestInfoJSON checks the acceptance numbers of the CLI: params and MACs
// per model, as `inception info NAME --json` reports them.
func TestInfoJSON(t *testing.T) {
	tests := []struct {
		name         string
		params, macs int64
	}{
		{"inception-v1", 6998552, 1582671872},
		{"inception-v1-tv", 6624904, 1498376192},
		{"inception-v1-d2l", 5977530, 276066304},
		{"inception-bn", 11295240, 2032600064},
		{"inception-v2", 11214888, 2018851840},
		{"inception-v3", 23834568, 5713216096},
		{"inception-v4", 42679816, 12253974624},
		{"inception-resnet-v2", 55843464, 13155794016},
		{"inception-resnet-v1", 23995624, 1418174304},
	}
	for _, tt := range tests {
		out, err := run(t, "info", tt.name, "--json")
		require.NoError(t, err)
		var got struct {
			Params int64 `json:"params"`
			MACs   int64 `json:"macs"`
			Blocks []struct {
				Path string `json:"path"`
			} `json:"blocks"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		if got.Params != tt.params || got.MACs != tt.macs {
			t.Errorf("info %s: params %d MACs %d, want %d and %d", tt.name, got.Params, got.MACs, tt.params, tt.macs)
		}
		if len(got.Blocks) < 5 {
			t.Errorf("info %s: %d blocks listed", tt.name, len(got.Blocks))
		}
	}
	out, err := run(t, "info", "inception-v1-tv", "--aux", "--json")
	require.NoError(t, err)
	require.Contains(t, out, `"params": 13004888`)
}

func TestListAndInfoText(t *testing.T) {
	out, err := run(t, "list")
	require.NoError(t, err)
	for _, want := range []string{"inception-v1", "googlenet", "6,998,552", "inception-resnet-v2", "3x299x299"} {
		require.Contains(t, out, want)
	}
	out, err = run(t, "info", "googlenet")
	require.NoError(t, err)
	require.Contains(t, out, "inception_3a")
	require.Contains(t, out, "256x28x28")
	require.Contains(t, out, "6,998,552")
}

func TestRun(t *testing.T) {
	out, err := run(t, "run", "inception-v1-d2l", "--batch", "2", "--repeat", "1")
	require.NoError(t, err)
	require.Contains(t, out, "sample 1 top-5 (")
	require.Contains(t, out, "latency median")
	again, err := run(t, "run", "inception-v1-d2l", "--batch", "2", "--repeat", "1")
	require.NoError(t, err)
	first := func(s string) string { return s[:strings.Index(s, "load+compile")] }
	require.Equal(t, first(out), first(again), "same seed, same top-5")
}

func TestBadArguments(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"info"}, "needs exactly one NAME"},
		{[]string{"info", "inception-v9"}, "unknown model"},
		{[]string{"info", "inceptoin-v3"}, `did you mean "inception-v3"`},
		{[]string{"run", "inception-v1", "--batch", "0"}, "--batch 0"},
		{[]string{"run", "inception-v1", "--batch", "x"}, "invalid argument"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, tt := range tests {
		_, err := run(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("inception %v: err = %v, want one containing %q", tt.args, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("inception %v: error spans several lines: %q", tt.args, err)
		}
	}
}

func TestErrorText(t *testing.T) {
	err := fmt.Errorf("zoo: x: weights y: transform_input differs (zoo.WithTransformInput toggles it); or zoo.WithWeights(path)")
	require.Equal(t, "zoo: x: weights y: transform_input differs (--transform-input toggles it); or --weights FILE", errorText(err, false))
	require.Equal(t, 2, exitCode(usageErrorf("bad")))
	require.Equal(t, 1, exitCode(err))
}
