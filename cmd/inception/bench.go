package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

func init() { commands = append(commands, benchCmd) }

// errBenchFlag reports an invalid bench flag value.
var errBenchFlag = errors.New("bench: bad flag")

// benchConfig is what one measurement needs besides the model and batch.
type benchConfig struct {
	Runs, Warmup int
	Seed         uint64
}

// benchResult is one row of the bench table: a model at one batch size on
// one engine.
type benchResult struct {
	Model        string  `json:"model"`
	Engine       string  `json:"engine"` // "go" (this module's engine) or e.g. "ort"
	Batch        int     `json:"batch"`
	Runs         int     `json:"runs"`
	MedianMs     float64 `json:"median_ms"`
	MinMs        float64 `json:"min_ms"`
	MaxMs        float64 `json:"max_ms"`
	ImagesPerSec float64 `json:"images_per_s"`
	GFLOPS       float64 `json:"gflops"` // 2·MACs·batch / median
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
	GEMMPath     string  `json:"gemm_path,omitempty"`
	GOMAXPROCS   int     `json:"gomaxprocs"`
	// LatencyVsORT and RSSVsORT are this row's median latency and peak RSS
	// divided by those of the "ort" row of the same model and batch (go
	// rows only; 0 without an ort row).
	LatencyVsORT float64 `json:"latency_vs_ort,omitempty"`
	RSSVsORT     float64 `json:"rss_vs_ort,omitempty"`
	// MaxAbsDiff is, on an "ort" row, the largest |ORT − ours| over the
	// outputs (the outputs are checked to agree before timing).
	MaxAbsDiff float64 `json:"max_abs_diff,omitempty"`
}

// benchChildEnv marks a child process started by bench to measure one
// engine's peak RSS (see childPeakRSS); test binaries check it to run the
// CLI instead of their tests.
const benchChildEnv = "INCEPTION_BENCH_CHILD"

// ortThreads is the intra-op thread count of the ONNX Runtime sessions.
const ortThreads = 2

// ortRSSChild, when set (by a file built with the ort tag), runs the ONNX
// file at onnxPath in ONNX Runtime on x (warm-up runs plus one) in this
// process; it is the body of an "ort" RSS child.
var ortRSSChild func(onnxPath string, x *tensor.Tensor, cfg benchConfig) error

// ortRunner is a model at one batch size prepared in ONNX Runtime (see
// ortPrepare).
type ortRunner struct {
	run     func() error          // one forward pass on the bench input
	peakRSS func() (int64, error) // peak RSS (kB) of ONNX Runtime alone running it
	close   func()                // releases the session and the exported file
	maxDiff float64               // max |ORT − ours| over the outputs
}

// ortPrepare, when set (by a file built with the ort tag), exports m to
// ONNX and prepares it in ONNX Runtime for input x, after checking that
// ONNX Runtime's output agrees with ours (want). bench then times both
// engines run by run, interleaved, so that both see the same machine load,
// and adds an "ort" row after each "go" row. It is nil in the default
// build.
var ortPrepare func(m *zoo.Model, x, want *tensor.Tensor, cfg benchConfig) (*ortRunner, error)

func benchCmd() *cobra.Command {
	var batches string
	var cfg benchConfig
	var asJSON bool
	var child, onnxPath string
	var layers int
	var cpuTime bool
	cmd := &cobra.Command{
		Use:   "bench [NAMES...]",
		Short: "Measure forward latency, throughput, GFLOP/s and peak memory",
		Long: `Measure forward latency, throughput, GFLOP/s and peak memory of models
(default inception-v1-tv and inception-v3) on seeded weights and a
deterministic input. For every model and batch size: median, min and max
latency over the warm runs, images/s, effective GFLOP/s (2·MACs·batch /
median latency, MACs as 'inception info' reports them) and the peak
resident set. The peak RSS of each row is measured in a fresh child process
(this binary re-executed) that loads the model the way its engine does and
runs the warm-up passes plus one, then reports VmHWM from /proc/self/status;
so every row's peak is its own, not the process's so far.

Built with -tags ort (and cgo, after scripts/setup.sh) every go row is
followed by an ort row: the same model and seed exported to ONNX and run by
ONNX Runtime with 2 intra-op threads on the same input, with the same
warm-up and run counts, after checking that both outputs agree. The two
engines alternate in blocks of 5 timed passes, each block after a 200 ms
pause and one untimed pass (both engines spin their threads for a while
after a pass, which would slow down the other one), so that both see the
same machine load; the go row then shows its latency and peak RSS relative
to ONNX Runtime's.

With --layers N it prints instead, per model at batch 1, where our engine
spends its time: the time per op type and the N slowest kernel calls
(median over --runs passes) with their GFLOP/s. With --cpu as well the
steps run on one core (GOMAXPROCS 1) and are timed by the CPU time of
its thread, which other processes on a busy machine do not inflate.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			bs, err := parseBatches(batches)
			if err != nil {
				return err
			}
			if child != "" {
				return runRSSChild(cmd.OutOrStdout(), child, onnxPath, args, bs, cfg)
			}
			if cfg.Runs < 1 || cfg.Runs > 100000 {
				return fmt.Errorf("%w: --runs %d: want 1 to 100000", errBenchFlag, cfg.Runs)
			}
			if cfg.Warmup < 0 || cfg.Warmup > 100000 {
				return fmt.Errorf("%w: --warmup %d: want 0 to 100000", errBenchFlag, cfg.Warmup)
			}
			if len(args) == 0 {
				args = []string{"inception-v1-tv", "inception-v3"}
			}
			if cpuTime && layers == 0 {
				return fmt.Errorf("%w: --cpu needs --layers", errBenchFlag)
			}
			if layers > 0 {
				for _, name := range args {
					if err := profileModel(cmd.OutOrStdout(), name, layers, cpuTime, cfg); err != nil {
						return err
					}
				}
				return nil
			}
			var rows []benchResult
			for _, name := range args {
				r, err := benchModel(name, bs, cfg)
				if err != nil {
					return err
				}
				rows = append(rows, r...)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			return writeBenchTable(cmd.OutOrStdout(), rows)
		},
	}
	cmd.Flags().StringVar(&child, "rss-child", "", "internal: measure the peak RSS of one engine (go|ort) and print it")
	cmd.Flags().StringVar(&onnxPath, "onnx", "", "internal: the ONNX file of an ort RSS child")
	_ = cmd.Flags().MarkHidden("rss-child")
	_ = cmd.Flags().MarkHidden("onnx")
	cmd.Flags().StringVar(&batches, "batch", "1,8", "comma-separated batch sizes")
	cmd.Flags().IntVar(&cfg.Runs, "runs", 10, "timed forward passes per model and batch")
	cmd.Flags().IntVar(&cfg.Warmup, "warmup", 2, "untimed forward passes before the timed ones")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", zoo.DefaultSeed, "seed for weights and input")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&layers, "layers", 0, "profile batch 1 instead: time per op type and the N slowest layers")
	cmd.Flags().BoolVar(&cpuTime, "cpu", false, "with --layers: run on one core and time the steps by thread CPU time")
	addTrainBench(cmd) // --train: bench_train.go
	return cmd
}

func parseBatches(s string) ([]int, error) {
	var bs []int
	for _, f := range strings.Split(s, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || b < 1 || b > 256 {
			return nil, fmt.Errorf("%w: --batch %q: want comma-separated sizes from 1 to 256", errBenchFlag, s)
		}
		bs = append(bs, b)
	}
	return bs, nil
}

func benchModel(name string, batches []int, cfg benchConfig) ([]benchResult, error) {
	m, err := zoo.Load(name, zoo.WithSeed(cfg.Seed))
	if err != nil {
		return nil, err
	}
	var rows []benchResult
	for _, b := range batches {
		r, err := benchBatch(m, b, cfg)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

// benchBlock is the number of timed passes one engine runs back to back
// before the other engine's turn, and benchPause the idle time before every
// block. ONNX Runtime's intra-op threads keep spinning after a run (its
// default), and ours spin for 100 µs: an engine started right after the
// other shares the cores with its spinning threads (measured: our v1 pass
// 47 ms right after an ORT pass, 28 ms after 200 ms of idle). So the engines
// alternate in blocks, each block preceded by a pause and an untimed pass,
// and each engine runs in its own steady state while both see the same
// machine load over the run.
const (
	benchBlock = 5
	benchPause = 200 * time.Millisecond
)

// benchBatch measures m at batch b: a go row and, when ortPrepare is set,
// an ort row timed in blocks alternating with ours (see benchBlock).
func benchBatch(m *zoo.Model, b int, cfg benchConfig) ([]benchResult, error) {
	name := m.Spec.Name
	x := DeterministicInput(m.Spec.Input, b, cfg.Seed)
	out, err := m.Forward(x)
	if err != nil {
		return nil, err
	}
	var o *ortRunner
	if ortPrepare != nil {
		if o, err = ortPrepare(m, x, out, cfg); err != nil {
			return nil, fmt.Errorf("bench %s with ONNX Runtime: %w", name, err)
		}
		defer o.close()
	}
	for i := 0; i < cfg.Warmup; i++ {
		if err := m.ForwardInto(x, out); err != nil {
			return nil, err
		}
		if o != nil {
			if err := o.run(); err != nil {
				return nil, fmt.Errorf("bench %s with ONNX Runtime: %w", name, err)
			}
		}
	}
	lat := make([]time.Duration, cfg.Runs)
	var olat []time.Duration
	if o != nil {
		olat = make([]time.Duration, cfg.Runs)
	}
	for i0 := 0; i0 < len(lat); i0 += benchBlock {
		i1 := min(i0+benchBlock, len(lat))
		time.Sleep(benchPause)
		for i := i0 - 1; i < i1; i++ {
			t := time.Now()
			if err := m.ForwardInto(x, out); err != nil {
				return nil, err
			}
			if i >= i0 {
				lat[i] = time.Since(t)
			}
		}
		if o == nil {
			continue
		}
		time.Sleep(benchPause)
		for i := i0 - 1; i < i1; i++ {
			t := time.Now()
			if err := o.run(); err != nil {
				return nil, fmt.Errorf("bench %s with ONNX Runtime: %w", name, err)
			}
			if i >= i0 {
				olat[i] = time.Since(t)
			}
		}
	}
	macs := m.Summary().MACs
	r := summarize(name, "go", b, macs, lat)
	r.GEMMPath = kernels.KernelPath()
	kb, err := childPeakRSS("go", name, b, cfg, "")
	if err != nil {
		return nil, fmt.Errorf("bench %s: %w", name, err)
	}
	r.PeakRSSMiB = float64(kb) / 1024
	if o == nil {
		return []benchResult{r}, nil
	}
	ro := summarize(name, "ort", b, macs, olat)
	ro.MaxAbsDiff = o.maxDiff
	okb, err := o.peakRSS()
	if err != nil {
		return nil, fmt.Errorf("bench %s with ONNX Runtime: %w", name, err)
	}
	ro.PeakRSSMiB = float64(okb) / 1024
	if ro.MedianMs > 0 {
		r.LatencyVsORT = r.MedianMs / ro.MedianMs
	}
	if ro.PeakRSSMiB > 0 {
		r.RSSVsORT = r.PeakRSSMiB / ro.PeakRSSMiB
	}
	return []benchResult{r, ro}, nil
}

// childPeakRSS re-executes this binary as "bench --rss-child engine" for one
// model and batch (with onnxPath for the ort engine) and returns the peak
// RSS in kB that the child reports.
func childPeakRSS(engine, name string, batch int, cfg benchConfig, onnxPath string) (int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("peak RSS child: %w", err)
	}
	args := []string{"bench", "--rss-child", engine, "--batch", strconv.Itoa(batch),
		"--seed", strconv.FormatUint(cfg.Seed, 10), "--warmup", strconv.Itoa(cfg.Warmup),
		"--runs", strconv.Itoa(cfg.Runs), name}
	if onnxPath != "" {
		args = append(args, "--onnx", onnxPath)
	}
	c := exec.Command(exe, args...)
	c.Env = append(os.Environ(), benchChildEnv+"=1")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return 0, fmt.Errorf("peak RSS child (%s): %w: %s", engine, err, strings.TrimSpace(stderr.String()))
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || kb <= 0 {
		return 0, fmt.Errorf("peak RSS child (%s): unexpected output %q", engine, out)
	}
	return kb, nil
}

// runRSSChild is the body of a child started by childPeakRSS: it loads the
// model for engine, runs the warm-up passes plus one on the bench input and
// prints its VmHWM in kB.
func runRSSChild(w io.Writer, engine, onnxPath string, args []string, batches []int, cfg benchConfig) error {
	if len(args) != 1 || len(batches) != 1 {
		return fmt.Errorf("%w: --rss-child needs one model and one batch size", errBenchFlag)
	}
	spec, err := registry.Lookup(args[0])
	if err != nil {
		return err
	}
	x := DeterministicInput(spec.Input, batches[0], cfg.Seed)
	switch engine {
	case "go":
		m, err := zoo.Load(args[0], zoo.WithSeed(cfg.Seed))
		if err != nil {
			return err
		}
		out, err := m.Forward(x)
		if err != nil {
			return err
		}
		for i := 0; i < cfg.Warmup; i++ {
			if err := m.ForwardInto(x, out); err != nil {
				return err
			}
		}
	case "ort":
		if ortRSSChild == nil {
			return fmt.Errorf("%w: --rss-child ort: %w", errBenchFlag, ort.ErrNotBuilt)
		}
		if onnxPath == "" {
			return fmt.Errorf("%w: --rss-child ort needs --onnx", errBenchFlag)
		}
		if err := ortRSSChild(onnxPath, x, cfg); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: --rss-child %q: want go or ort", errBenchFlag, engine)
	}
	kb, err := peakRSSKiB()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, kb)
	return err
}

// summarize turns latencies of runs at batch b into a result row; the peak
// RSS is read now.
func summarize(model, engine string, b int, macs int64, lat []time.Duration) benchResult {
	s := slices.Clone(lat)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	r := benchResult{
		Model: model, Engine: engine, Batch: b, Runs: len(s),
		MedianMs: ms(med), MinMs: ms(s[0]), MaxMs: ms(s[len(s)-1]),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	if med > 0 {
		r.ImagesPerSec = float64(b) / med.Seconds()
		r.GFLOPS = 2 * float64(macs) * float64(b) / med.Seconds() / 1e9
	}
	if kb, err := peakRSSKiB(); err == nil {
		r.PeakRSSMiB = float64(kb) / 1024
	}
	return r
}

// peakRSSKiB reads VmHWM (kB) from /proc/self/status.
func peakRSSKiB() (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	return parseVmHWM(data)
}

func parseVmHWM(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("peak RSS: malformed line %q", line)
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS: %w", err)
			}
			return n, nil
		}
	}
	return 0, errors.New("peak RSS: no VmHWM line")
}

func writeBenchTable(w io.Writer, rows []benchResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tENGINE\tBATCH\tMEDIAN ms\tMIN ms\tMAX ms\tIMAGES/s\tGFLOP/s\tPEAK RSS MiB\tms vs ORT\tRSS vs ORT\t")
	ratio := func(v float64) string {
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", v)
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%.0f\t%s\t%s\t\n",
			r.Model, r.Engine, r.Batch, r.MedianMs, r.MinMs, r.MaxMs, r.ImagesPerSec, r.GFLOPS, r.PeakRSSMiB,
			ratio(r.LatencyVsORT), ratio(r.RSSVsORT))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "GEMM path %s, GOMAXPROCS %d; peak RSS measured in a fresh child process per row\n", rows[0].GEMMPath, rows[0].GOMAXPROCS); err != nil {
		return err
	}
	if ortPrepare == nil {
		_, err := fmt.Fprintf(w, "ONNX Runtime rows and the vs-ORT columns need a build with -tags ort and cgo: %s\n", ort.InstallHint)
		return err
	}
	_, err := fmt.Fprintf(w, "ort rows: ONNX Runtime %s, %d intra-op threads, same input, warm-up and run counts\n", ort.LibraryVersion(), ortThreads)
	return err
}

// profileModel prints where the engine spends its time on name at batch 1:
// the total per op type, then the top slowest steps; with cpuTime, on one
// core and by the thread CPU time of each step.
func profileModel(w io.Writer, name string, top int, cpuTime bool, cfg benchConfig) error {
	m, err := zoo.Load(name, zoo.WithSeed(cfg.Seed))
	if err != nil {
		return err
	}
	if cpuTime {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	steps, err := m.Profile(DeterministicInput(m.Spec.Input, 1, cfg.Seed), cfg.Runs)
	if err != nil {
		return err
	}
	clock := "time"
	if cpuTime {
		clock = "thread CPU time"
		for i := range steps {
			steps[i].Time = steps[i].CPU
		}
	}
	var total time.Duration
	byOp := map[string]time.Duration{}
	var ops []string
	for _, s := range steps {
		if _, ok := byOp[s.Op]; !ok {
			ops = append(ops, s.Op)
		}
		byOp[s.Op] += s.Time
		total += s.Time
	}
	sort.SliceStable(ops, func(i, j int) bool { return byOp[ops[i]] > byOp[ops[j]] })
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	fmt.Fprintf(w, "%s, batch 1: %d steps, sum of their median %s %.2f ms (GEMM path %s, GOMAXPROCS %d)\n",
		name, len(steps), clock, ms(total), kernels.KernelPath(), runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OP\tSTEPS\tms\tSHARE\t")
	for _, op := range ops {
		n := 0
		for _, s := range steps {
			if s.Op == op {
				n++
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.1f%%\t\n", op, n, ms(byOp[op]), 100*float64(byOp[op])/float64(total))
	}
	sorted := slices.Clone(steps)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time > sorted[j].Time })
	fmt.Fprintln(tw, "\t\t\t\t")
	fmt.Fprintln(tw, "LAYER\tOP\tms\tGFLOP/s\t")
	for _, s := range sorted[:min(top, len(sorted))] {
		g := "-"
		if s.MACs > 0 {
			g = fmt.Sprintf("%.1f", 2*float64(s.MACs)/s.Time.Seconds()/1e9)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\t\n", s.Name, s.Op, ms(s.Time), g)
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}
