package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/inceptionzoo/inception/tensor"
	"github.com/stretchr/testify/require"
)

func TestParseBatches(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"1", []int{1}, true},
		{"1,8", []int{1, 8}, true},
		{" 2 , 4 ", []int{2, 4}, true},
		{"", nil, false},
		{"0", nil, false},
		{"1,x", nil, false},
		{"257", nil, false},
	}
	for _, tt := range tests {
		got, err := parseBatches(tt.in)
		if tt.ok {
			require.NoError(t, err, tt.in)
			require.Equal(t, tt.want, got, tt.in)
		} else if !errors.Is(err, errBenchFlag) {
			t.Errorf("parseBatches(%q) err = %v, want errBenchFlag", tt.in, err)
		}
	}
}

func TestParseVmHWM(t *testing.T) {
	got, err := parseVmHWM([]byte("Name:\tx\nVmPeak:\t  9 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n"))
	require.NoError(t, err)
	require.Equal(t, int64(12345), got)
	for _, bad := range []string{"VmRSS: 1 kB\n", "VmHWM: 12 MB\n", "VmHWM: x kB\n"} {
		if _, err := parseVmHWM([]byte(bad)); err == nil {
			t.Errorf("parseVmHWM(%q): err = nil", bad)
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	r := summarize("m", "go", 2, 1e9, []time.Duration{40 * ms, 10 * ms, 20 * ms, 30 * ms})
	// Even count: the median is the mean of the middle two.
	if r.MedianMs != 25 || r.MinMs != 10 || r.MaxMs != 40 || r.Runs != 4 {
		t.Errorf("median/min/max/runs = %v/%v/%v/%d, want 25/10/40/4", r.MedianMs, r.MinMs, r.MaxMs, r.Runs)
	}
	if got, want := r.ImagesPerSec, 80.0; got != want {
		t.Errorf("images/s = %v, want %v", got, want)
	}
	if got, want := r.GFLOPS, 160.0; got != want { // 2*1e9*2 / 0.025 s
		t.Errorf("GFLOP/s = %v, want %v", got, want)
	}
	r = summarize("m", "go", 1, 1e9, []time.Duration{3 * ms, 1 * ms, 2 * ms})
	if r.MedianMs != 2 {
		t.Errorf("odd-count median = %v, want 2", r.MedianMs)
	}
}

// TestBenchJSON runs the real benchmark on the smallest model and checks the
// row it reports.
func TestBenchJSON(t *testing.T) {
	out, err := run(t, "bench", "inception-v1-d2l", "--batch", "1,2", "--runs", "3", "--warmup", "1", "--json")
	require.NoError(t, err)
	var rows []benchResult
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, 2)
	for i, r := range rows {
		if r.Model != "inception-v1-d2l" || r.Engine != "go" || r.Batch != i+1 || r.Runs != 3 {
			t.Errorf("row %d = %+v, want inception-v1-d2l/go batch %d, 3 runs", i, r, i+1)
		}
		if !(r.MinMs > 0 && r.MinMs <= r.MedianMs && r.MedianMs <= r.MaxMs) {
			t.Errorf("row %d: min/median/max = %v/%v/%v not ordered and positive", i, r.MinMs, r.MedianMs, r.MaxMs)
		}
		// 2·MACs·batch / median, with the model's MACs from the registry.
		want := 2 * 276066304 * float64(r.Batch) / (r.MedianMs / 1e3) / 1e9
		if d := r.GFLOPS/want - 1; d > 1e-9 || d < -1e-9 {
			t.Errorf("row %d: GFLOP/s = %v, want %v", i, r.GFLOPS, want)
		}
		if r.PeakRSSMiB <= 0 {
			t.Errorf("row %d: peak RSS %v MiB", i, r.PeakRSSMiB)
		}
	}
	text, err := run(t, "bench", "inception-v1-d2l", "--batch", "1", "--runs", "1", "--warmup", "0")
	require.NoError(t, err)
	require.Contains(t, text, "inception-v1-d2l")
	require.Contains(t, text, "GFLOP/s")
}

func TestBenchErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "no-such-model", "--runs", "1"},
		{"bench", "inception-v1-d2l", "--batch", "0"},
		{"bench", "inception-v1-d2l", "--runs", "0"},
		{"bench", "inception-v1-d2l", "--warmup", "-1"},
	} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%s: err = nil", strings.Join(args, " "))
		}
	}
}

// TestBenchORTHook checks the wiring of the ONNX Runtime column: a row per
// go row, and errors wrapped with the model name.
func TestBenchORTHook(t *testing.T) {
	prev := ortBench
	defer func() { ortBench = prev }()
	var calls []int
	ortBench = func(name string, batch int, x *tensor.Tensor, cfg benchConfig) (benchResult, error) {
		calls = append(calls, batch)
		if x.Shape[0] != batch || cfg.Runs != 1 {
			return benchResult{}, errors.New("unexpected arguments")
		}
		return benchResult{Model: name, Engine: "ort", Batch: batch, Runs: cfg.Runs}, nil
	}
	out, err := run(t, "bench", "inception-v1-d2l", "--batch", "1,2", "--runs", "1", "--warmup", "0", "--json")
	require.NoError(t, err)
	var rows []benchResult
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	var engines []string
	for _, r := range rows {
		engines = append(engines, r.Engine)
	}
	require.Equal(t, []string{"go", "ort", "go", "ort"}, engines)
	require.Equal(t, []int{1, 2}, calls)

	sentinel := errors.New("no runtime")
	ortBench = func(string, int, *tensor.Tensor, benchConfig) (benchResult, error) { return benchResult{}, sentinel }
	_, err = run(t, "bench", "inception-v1-d2l", "--batch", "1", "--runs", "1", "--warmup", "0")
	if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), "inception-v1-d2l") {
		t.Errorf("err = %v, want the hook's error wrapped with the model name", err)
	}
}
