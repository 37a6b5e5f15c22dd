package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
	"github.com/spf13/cobra"
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
}

// ortBench, when set (by a file built with the ort tag), measures the same
// model, batch and input with ONNX Runtime; bench then adds an "ort" row
// after each "go" row. It is nil in the default build.
var ortBench func(name string, batch int, x *tensor.Tensor, cfg benchConfig) (benchResult, error)

func benchCmd() *cobra.Command {
	var batches string
	var cfg benchConfig
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench [NAMES...]",
		Short: "Measure forward latency, throughput, GFLOP/s and peak memory",
		Long: `Measure forward latency, throughput, GFLOP/s and peak memory of models
(default inception-v1-tv and inception-v3) on seeded weights and a
deterministic input. For every model and batch size: median, min and max
latency over the warm runs, images/s, effective GFLOP/s (2·MACs·batch /
median latency, MACs as 'inception info' reports them) and the peak
resident set (VmHWM of /proc/self/status, process-wide and monotone: it is
the peak so far, so later rows include earlier models; run one model per
invocation for an exact per-model peak).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			bs, err := parseBatches(batches)
			if err != nil {
				return err
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
	cmd.Flags().StringVar(&batches, "batch", "1,8", "comma-separated batch sizes")
	cmd.Flags().IntVar(&cfg.Runs, "runs", 10, "timed forward passes per model and batch")
	cmd.Flags().IntVar(&cfg.Warmup, "warmup", 2, "untimed forward passes before the timed ones")
	cmd.Flags().Uint64Var(&cfg.Seed, "seed", zoo.DefaultSeed, "seed for weights and input")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
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
	macs := m.Summary().MACs
	var rows []benchResult
	for _, b := range batches {
		x := DeterministicInput(m.Spec.Input, b, cfg.Seed)
		for i := 0; i < cfg.Warmup; i++ {
			if _, err := m.Forward(x); err != nil {
				return nil, err
			}
		}
		lat := make([]time.Duration, cfg.Runs)
		for i := range lat {
			t := time.Now()
			if _, err := m.Forward(x); err != nil {
				return nil, err
			}
			lat[i] = time.Since(t)
		}
		r := summarize(m.Spec.Name, "go", b, macs, lat)
		r.GEMMPath = kernels.KernelPath()
		rows = append(rows, r)
		if ortBench != nil {
			o, err := ortBench(m.Spec.Name, b, x, cfg)
			if err != nil {
				return nil, fmt.Errorf("bench %s with ONNX Runtime: %w", m.Spec.Name, err)
			}
			rows = append(rows, o)
		}
	}
	return rows, nil
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
	fmt.Fprintln(tw, "MODEL\tENGINE\tBATCH\tMEDIAN ms\tMIN ms\tMAX ms\tIMAGES/s\tGFLOP/s\tPEAK RSS MiB\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%.0f\t\n",
			r.Model, r.Engine, r.Batch, r.MedianMs, r.MinMs, r.MaxMs, r.ImagesPerSec, r.GFLOPS, r.PeakRSSMiB)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rows) > 0 {
		_, err := fmt.Fprintf(w, "GEMM path %s, GOMAXPROCS %d; peak RSS is process-wide and monotone\n", rows[0].GEMMPath, rows[0].GOMAXPROCS)
		return err
	}
	return nil
}
