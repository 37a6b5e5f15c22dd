package main

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// TestMain runs the CLI instead of the tests in a child process started by
// bench to measure peak RSS (childPeakRSS re-executes os.Executable, which
// is the test binary here).
func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

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
	var all, rows []benchResult
	require.NoError(t, json.Unmarshal([]byte(out), &all))
	// With -tags ort (and cgo) every go row is followed by a real ONNX
	// Runtime row.
	for i, r := range all {
		if r.Engine != "ort" {
			rows = append(rows, r)
			continue
		}
		g := all[i-1]
		if ortPrepare == nil || g.LatencyVsORT <= 0 || g.RSSVsORT <= 0 || r.PeakRSSMiB <= 0 || r.Batch != g.Batch {
			t.Errorf("ort row %+v after %+v: want ratios and a peak RSS (ORT built: %v)", r, g, ortPrepare != nil)
		}
	}
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

func TestBenchLayers(t *testing.T) {
	out, err := run(t, "bench", "inception-v1-d2l", "--layers", "3", "--runs", "2")
	require.NoError(t, err)
	require.Contains(t, out, "inception-v1-d2l, batch 1: ")
	checkLayers(t, out)
}

// TestBenchLayersCPU profiles on one core by thread CPU time (Linux has
// the per-thread clock).
func TestBenchLayersCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("per-thread CPU clock used on linux only")
	}
	prev := runtime.GOMAXPROCS(0)
	out, err := run(t, "bench", "inception-v1-d2l", "--layers", "3", "--runs", "2", "--cpu")
	require.NoError(t, err)
	require.Contains(t, out, "median thread CPU time")
	require.Contains(t, out, "GOMAXPROCS 1)")
	require.Equal(t, prev, runtime.GOMAXPROCS(0), "GOMAXPROCS not restored")
	checkLayers(t, out)
}

func checkLayers(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	at := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "LAYER") })
	require.GreaterOrEqual(t, at, 0, "no LAYER header in:\n%s", out)
	var layers int
	for _, l := range lines[at+1:] {
		if f := strings.Fields(l); len(f) == 4 {
			layers++
			if f[1] == "Conv" {
				if g, err := strconv.ParseFloat(f[3], 64); err != nil || g <= 0 {
					t.Errorf("layer line %q: GFLOP/s %q not positive", l, f[3])
				}
			}
		}
	}
	if layers != 3 {
		t.Errorf("got %d layer lines, want 3:\n%s", layers, out)
	}
	for _, op := range []string{"Conv", "MaxPool", "Linear"} {
		if !regexp.MustCompile(`(?m)^` + op + `\s+\d+\s+[0-9.]+\s+[0-9.]+%`).MatchString(out) {
			t.Errorf("no %s row in the op table:\n%s", op, out)
		}
	}
}

func TestBenchErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "no-such-model", "--runs", "1"},
		{"bench", "inception-v1-d2l", "--batch", "0"},
		{"bench", "inception-v1-d2l", "--runs", "0"},
		{"bench", "inception-v1-d2l", "--warmup", "-1"},
		{"bench", "inception-v1-d2l", "--layers", "2", "--runs", "0"},
		{"bench", "inception-v1-d2l", "--cpu"},
	} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%s: err = nil", strings.Join(args, " "))
		}
	}
}

// TestBenchORTHook checks the wiring of the ONNX Runtime column: the runner
// is prepared once per model and batch with our output, runs as often as
// ours (warm-up, then blocks of an untimed and up to benchBlock timed
// passes, alternating with ours), a row follows each go row with
// the ratios filled in, and errors are wrapped with the model name.
func TestBenchORTHook(t *testing.T) {
	prev := ortPrepare
	defer func() { ortPrepare = prev }()
	var prepared []int
	runs, closed := 0, 0
	ortPrepare = func(m *zoo.Model, x, want *tensor.Tensor, cfg benchConfig) (*ortRunner, error) {
		prepared = append(prepared, x.Shape[0])
		if want.Shape[0] != x.Shape[0] || cfg.Runs != 2 || cfg.Warmup != 1 {
			return nil, errors.New("unexpected arguments")
		}
		return &ortRunner{
			run:     func() error { runs++; time.Sleep(time.Millisecond); return nil },
			peakRSS: func() (int64, error) { return 1 << 30, nil }, // 1 TiB in kB
			close:   func() { closed++ },
			maxDiff: 1e-6,
		}, nil
	}
	out, err := run(t, "bench", "inception-v1-d2l", "--batch", "1,2", "--runs", "2", "--warmup", "1", "--json")
	require.NoError(t, err)
	var rows []benchResult
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	var engines []string
	for _, r := range rows {
		engines = append(engines, r.Engine)
	}
	require.Equal(t, []string{"go", "ort", "go", "ort"}, engines)
	require.Equal(t, []int{1, 2}, prepared)
	// Per batch: 1 warm-up, then one block: 1 untimed + 2 timed passes.
	if runs != 8 || closed != 2 {
		t.Errorf("runner runs/closes = %d/%d, want 8/2", runs, closed)
	}
	for i := 0; i < len(rows); i += 2 {
		g, o := rows[i], rows[i+1]
		if o.Runs != 2 || o.PeakRSSMiB != 1<<20 || o.MaxAbsDiff != 1e-6 {
			t.Errorf("ort row %+v, want 2 runs, 1 TiB peak, diff 1e-6", o)
		}
		if want := g.MedianMs / o.MedianMs; g.LatencyVsORT != want {
			t.Errorf("latency ratio = %v, want %v", g.LatencyVsORT, want)
		}
		if want := g.PeakRSSMiB / o.PeakRSSMiB; g.RSSVsORT != want || want <= 0 {
			t.Errorf("RSS ratio = %v, want %v", g.RSSVsORT, want)
		}
	}

	sentinel := errors.New("no runtime")
	ortPrepare = func(*zoo.Model, *tensor.Tensor, *tensor.Tensor, benchConfig) (*ortRunner, error) {
		return nil, sentinel
	}
	_, err = run(t, "bench", "inception-v1-d2l", "--batch", "1", "--runs", "1", "--warmup", "0")
	if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), "inception-v1-d2l") {
		t.Errorf("err = %v, want the hook's error wrapped with the model name", err)
	}
}

// TestBenchTableRatios checks the vs-ORT columns and the footer that says
// how to get them.
func TestBenchTableRatios(t *testing.T) {
	prev := ortPrepare
	defer func() { ortPrepare = prev }()
	rows := []benchResult{
		{Model: "m", Engine: "go", Batch: 1, Runs: 1, MedianMs: 30, PeakRSSMiB: 90, LatencyVsORT: 1.25, RSSVsORT: 0.9},
		{Model: "m", Engine: "ort", Batch: 1, Runs: 1, MedianMs: 24, PeakRSSMiB: 100},
	}
	var sb strings.Builder
	ortPrepare = func(*zoo.Model, *tensor.Tensor, *tensor.Tensor, benchConfig) (*ortRunner, error) { return nil, nil }
	require.NoError(t, writeBenchTable(&sb, rows))
	for _, want := range []string{"ms vs ORT", "1.25x", "0.90x", "ort rows: ONNX Runtime"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, sb.String())
		}
	}
	sb.Reset()
	ortPrepare = nil
	require.NoError(t, writeBenchTable(&sb, rows[:1]))
	if got := sb.String(); !strings.Contains(got, "-tags ort") || !strings.Contains(got, "scripts/setup.sh") {
		t.Errorf("default-build table does not say how to get the ORT column:\n%s", got)
	}
}

// TestRSSChildErrors checks the hidden child mode's argument checks.
func TestRSSChildErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--rss-child", "go", "inception-v1-d2l", "inception-v3", "--batch", "1"},
		{"bench", "--rss-child", "go", "inception-v1-d2l", "--batch", "1,2"},
		{"bench", "--rss-child", "tf", "inception-v1-d2l", "--batch", "1"},
		{"bench", "--rss-child", "ort", "inception-v1-d2l", "--batch", "1"},
	} {
		if _, err := run(t, args...); !errors.Is(err, errBenchFlag) {
			t.Errorf("%s: err = %v, want errBenchFlag", strings.Join(args, " "), err)
		}
	}
}
