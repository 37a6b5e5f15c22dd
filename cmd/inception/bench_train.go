package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/train"
	"github.com/inceptionzoo/inception/train/data"
	"github.com/inceptionzoo/inception/train/gorgon"
)

// torchPython is the interpreter of the PyTorch reference (Debian's
// python3-torch).
const torchPython = "/usr/bin/python3"

// torchScript is the PyTorch reference of `bench --train`, relative to
// the repository root.
const torchScript = "scripts/train_d2l_torch.py"

// trainBenchFlags are the flags `bench --train` adds.
type trainBenchFlags struct {
	on     bool
	sizes  string
	steps  int
	rounds int
	torch  bool
}

// trainBenchRow is one row of `bench --train`: one engine training the
// D2L GoogLeNet at one input size.
type trainBenchRow struct {
	Model      string    `json:"model"`
	Engine     string    `json:"engine"` // "go" (train/gorgon) or "pytorch"
	Size       int       `json:"size"`
	Batch      int       `json:"batch"`
	Steps      int       `json:"steps"`       // timed steps in all
	Blocks     []float64 `json:"block_img_s"` // images/s of each timed block
	ImagesPerS float64   `json:"images_per_s"`
	// CPUPerStep is the median CPU time (user + system, all threads) of
	// a step: steadier than wall time on a shared machine, but it counts
	// the time threads spin waiting for work (both engines do).
	CPUPerStep float64 `json:"cpu_s_per_step"`
	VsPyTorch  float64 `json:"vs_pytorch,omitempty"` // go rows: this / the pytorch row's median
	Threads    int     `json:"threads"`
	Data       string  `json:"data"`
}

// addTrainBench adds --train and its flags to the bench command: with
// --train, bench times training steps instead of forward passes.
func addTrainBench(cmd *cobra.Command) {
	var f trainBenchFlags
	fl := cmd.Flags()
	fl.BoolVar(&f.on, "train", false, "time training steps of inception-v1-d2l (SGD, Xavier init) against PyTorch instead of forward passes")
	fl.StringVar(&f.sizes, "size", "28,96", "with --train: comma-separated input sizes")
	fl.IntVar(&f.steps, "steps", 4, "with --train: timed steps per block")
	fl.IntVar(&f.rounds, "rounds", 3, "with --train: timed blocks per engine (the engines alternate block by block)")
	fl.BoolVar(&f.torch, "pytorch", true, "with --train: also run the PyTorch reference ("+torchScript+" with "+torchPython+")")
	inner := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if !f.on {
			return inner(c, args)
		}
		return runTrainBench(c, args, f)
	}
}

func runTrainBench(cmd *cobra.Command, args []string, f trainBenchFlags) error {
	fl := cmd.Flags()
	batch := 128
	if fl.Changed("batch") {
		s, _ := fl.GetString("batch")
		b, err := strconv.Atoi(s)
		if err != nil || b < 1 || b > 1024 {
			return fmt.Errorf("%w: --batch %q: --train takes one batch size from 1 to 1024", errBenchFlag, s)
		}
		batch = b
	}
	warmup, _ := fl.GetInt("warmup")
	seed, _ := fl.GetUint64("seed")
	asJSON, _ := fl.GetBool("json")
	if warmup < 1 || warmup > 100 || f.steps < 1 || f.steps > 1000 || f.rounds < 1 || f.rounds > 100 {
		return fmt.Errorf("%w: --warmup %d, --steps %d, --rounds %d: want 1-100, 1-1000, 1-100", errBenchFlag, warmup, f.steps, f.rounds)
	}
	var sizes []int
	for _, s := range strings.Split(f.sizes, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 28 || v > 512 {
			return fmt.Errorf("%w: --size %q: want comma-separated sizes from 28 to 512", errBenchFlag, f.sizes)
		}
		sizes = append(sizes, v)
	}
	model := "inception-v1-d2l"
	if len(args) > 1 || (len(args) == 1 && args[0] != model) {
		return fmt.Errorf("%w: --train benchmarks %s only (the PyTorch reference's architecture), got %v", errBenchFlag, model, args)
	}
	script := ""
	if f.torch {
		var err error
		if script, err = findTorchScript(); err != nil {
			return err
		}
	}
	var rows []trainBenchRow
	for _, size := range sizes {
		r, err := benchTrainSize(cmd.ErrOrStderr(), model, size, batch, warmup, f, seed, script)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	if asJSON {
		return writeJSON(cmd.OutOrStdout(), rows)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tengine\tsize\tbatch\tsteps\timg/s (median)\tblocks img/s\tvs PyTorch\tCPU s/step\tthreads\t")
	for _, r := range rows {
		vs := ""
		if r.VsPyTorch > 0 {
			vs = fmt.Sprintf("%.2fx", r.VsPyTorch)
		}
		bl := make([]string, len(r.Blocks))
		for i, v := range r.Blocks {
			bl[i] = fmt.Sprintf("%.1f", v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%.3f\t%d\t\n", r.Model, r.Engine, r.Size, r.Batch, r.Steps, r.ImagesPerS, strings.Join(bl, " "), vs, r.CPUPerStep, r.Threads)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	cpu := cpuModel()
	fmt.Fprintf(cmd.OutOrStdout(), "machine: %s, %d CPUs, GOMAXPROCS %d, GEMM path %s, load average %s, %s\n", cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), kernels.KernelPath(), loadAverage(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	return nil
}

// findTorchScript returns the path of the PyTorch reference script in this
// checkout, or an error saying how to get one.
func findTorchScript() (string, error) {
	if _, err := os.Stat(torchPython); err != nil {
		return "", fmt.Errorf("bench --train: %s not found (apt-get install python3-torch, or --pytorch=false): %w", torchPython, err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; {
		p := filepath.Join(d, torchScript)
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/inceptionzoo/inception\n") {
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("bench --train: the PyTorch reference: %w (or --pytorch=false)", err)
			}
			return p, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("bench --train: the PyTorch reference %s is in the repository: run in a checkout (or --pytorch=false)", torchScript)
		}
		d = parent
	}
}

// torchProc is a running PyTorch reference in --serve mode.
type torchProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	info map[string]any
}

func startTorch(script string, size, batch, warmup int, seed uint64) (*torchProc, error) {
	c := exec.Command(torchPython, script, "--serve", "--size", strconv.Itoa(size), "--batch", strconv.Itoa(batch),
		"--warmup", strconv.Itoa(warmup), "--threads", "2", "--seed", strconv.FormatUint(seed, 10))
	c.Stderr = os.Stderr
	in, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("bench --train: start %s: %w", script, err)
	}
	p := &torchProc{cmd: c, in: in, out: bufio.NewScanner(out)}
	if err := p.read(&p.info); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *torchProc) read(v any) error {
	if !p.out.Scan() {
		err := p.out.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("bench --train: PyTorch reference: %w", err)
	}
	if err := json.Unmarshal(p.out.Bytes(), v); err != nil {
		return fmt.Errorf("bench --train: PyTorch reference said %q: %w", p.out.Text(), err)
	}
	return nil
}

// block runs steps timed steps and returns their wall and CPU seconds
// (as PyTorch measured them).
func (p *torchProc) block(steps int) (wall, cpu float64, err error) {
	if _, err := fmt.Fprintln(p.in, steps); err != nil {
		return 0, 0, fmt.Errorf("bench --train: PyTorch reference: %w", err)
	}
	var r struct {
		Seconds    float64 `json:"seconds"`
		CPUSeconds float64 `json:"cpu_seconds"`
	}
	if err := p.read(&r); err != nil {
		return 0, 0, err
	}
	if r.Seconds <= 0 {
		return 0, 0, errors.New("bench --train: PyTorch reference reported no time")
	}
	return r.Seconds, r.CPUSeconds, nil
}

func (p *torchProc) close() {
	p.in.Close()
	_ = p.cmd.Wait()
}

// benchTrainSize times our trainer (and PyTorch's, if script is set) at
// one input size: both warm up, then their blocks of f.steps steps
// alternate, each after a 200 ms pause.
func benchTrainSize(log io.Writer, model string, size, batch, warmup int, f trainBenchFlags, seed uint64, script string) ([]trainBenchRow, error) {
	spec, err := registry.Default.Lookup(model)
	if err != nil {
		return nil, err
	}
	b, err := spec.Build(nn.Options{})
	if err != nil {
		return nil, err
	}
	g, err := nn.Lower(b, nn.Shape{1, size, size})
	if err != nil {
		return nil, err
	}
	p := nn.InitParams(g, seed)
	train.D2LInit(g, p, seed)
	nb := max(8, warmup+f.steps)
	set, source, err := benchTrainData(size, batch*nb, seed)
	if err != nil {
		return nil, err
	}
	net, err := gorgon.Build(g, p, gorgon.Config{Batch: batch, Seed: seed})
	if err != nil {
		return nil, err
	}
	defer net.Close()
	params := make([][]float32, len(net.Learn))
	for i, s := range net.Learn {
		params[i] = p[s.Path].Data
	}
	opt := &train.SGD{}
	x := make([]float32, batch*size*size)
	labels := make([]int, batch)
	idx := make([]int, batch)
	next := 0
	step := func() error {
		for i := range idx {
			idx[i] = (next*batch + i) % set.Len()
		}
		next++
		set.Fill(idx, x, labels)
		if _, _, err := net.Step(x, labels); err != nil {
			return err
		}
		grads, err := net.Grads()
		if err != nil {
			return err
		}
		opt.Step(params, grads, 0.1)
		return nil
	}
	fmt.Fprintf(log, "bench --train: %s at %dx%d, batch %d: warming up\n", model, size, size, batch)
	for i := 0; i < warmup; i++ {
		if err := step(); err != nil {
			return nil, err
		}
	}
	var tp *torchProc
	if script != "" {
		if tp, err = startTorch(script, size, batch, warmup, seed); err != nil {
			return nil, err
		}
		defer tp.close()
	}
	var ours, theirs, ourCPU, theirCPU []float64
	imgs := float64(batch * f.steps)
	for r := 0; r < f.rounds; r++ {
		time.Sleep(200 * time.Millisecond)
		c0 := processCPU()
		t0 := time.Now()
		for i := 0; i < f.steps; i++ {
			if err := step(); err != nil {
				return nil, err
			}
		}
		ours = append(ours, imgs/time.Since(t0).Seconds())
		ourCPU = append(ourCPU, (processCPU()-c0).Seconds()/float64(f.steps))
		if tp != nil {
			time.Sleep(200 * time.Millisecond)
			s, cpu, err := tp.block(f.steps)
			if err != nil {
				return nil, err
			}
			theirs = append(theirs, imgs/s)
			theirCPU = append(theirCPU, cpu/float64(f.steps))
		}
		fmt.Fprintf(log, "bench --train: size %d round %d/%d: go %.1f img/s", size, r+1, f.rounds, ours[r])
		if tp != nil {
			fmt.Fprintf(log, ", pytorch %.1f img/s", theirs[r])
		}
		fmt.Fprintln(log)
	}
	row := trainBenchRow{Model: model, Engine: "go", Size: size, Batch: batch, Steps: f.steps * f.rounds, Blocks: ours,
		ImagesPerS: median(ours), CPUPerStep: median(ourCPU), Threads: runtime.GOMAXPROCS(0), Data: source}
	rows := []trainBenchRow{row}
	if tp != nil {
		pt := trainBenchRow{Model: model, Engine: "pytorch", Size: size, Batch: batch, Steps: f.steps * f.rounds, Blocks: theirs,
			ImagesPerS: median(theirs), CPUPerStep: median(theirCPU), Threads: 2}
		if s, ok := tp.info["data"].(string); ok {
			pt.Data = s
		}
		if v, ok := tp.info["torch"].(string); ok {
			pt.Engine = "pytorch " + v
		}
		rows[0].VsPyTorch = row.ImagesPerS / pt.ImagesPerS
		rows = append(rows, pt)
	}
	return rows, nil
}

// benchTrainData returns n Fashion-MNIST training images at size×size, or
// seeded random images if the data set is not installed.
func benchTrainData(size, n int, seed uint64) (*data.Set, string, error) {
	set, err := data.FashionMNIST("", true)
	if err == nil {
		set = set.Subset(n)
		if set, err = set.Resize(size); err != nil {
			return nil, "", err
		}
		return set, data.FashionMNISTDir, nil
	}
	if !errors.Is(err, data.ErrNotFound) {
		return nil, "", err
	}
	r := nn.NewRand(seed, "bench-train")
	x := make([]float32, n*size*size)
	for i := range x {
		x[i] = r.Uniform(0, 1)
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 10
	}
	set, err = data.NewFloats(nn.Shape{1, size, size}, x, labels, nil)
	return set, "random", err
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cpuModel returns the CPU's model name from /proc/cpuinfo, or "unknown".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage returns the 1-minute load average from /proc/loadavg, or
// "unknown": on a shared machine it says how much the numbers are worth.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
