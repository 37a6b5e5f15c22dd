package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/internal/regular"
	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// The run command runs a zoo model (seeded weights) or an ONNX file on one
// documented input, the ONNX test suite's standard input: element i of the
// n elements of the [batch, input shape...] tensor is i/n. The same input
// in both modes makes `run NAME` and `run --model <its export>` print the
// same top-5.

// runFlags are the flags of `inception run`.
type runFlags struct {
	batch, repeat int
	seed          uint64
	model         string   // --model: an ONNX file instead of a zoo model
	inputs        []string // --input: TensorProto files (with --model)
	outputDir     string   // --output-dir (with --model)
}

func runCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run NAME | run --model FILE.onnx [--input input_0.pb ...] [--output-dir DIR]",
		Short: "Run a model on the standard input; print the top-5 and the latency",
		Long: `Run a zoo model with seeded weights (NAME) or an ONNX file (--model) on the
ONNX test suite's standard input — element i of the n elements of the
[batch, input shape...] tensor is i/n — or, for a file, on TensorProto
--input files; print each [N, classes] output's top-5 and the latency.
Both modes use the same input, so "run NAME" and "run --model" on the
model's export ("inception export NAME") print the same top-5.`,
		Args: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if f.model != "" {
				if len(args) > 0 {
					return fmt.Errorf("run takes a zoo NAME or --model FILE, not both (got %q and --model %q)", args[0], f.model)
				}
				if fl.Changed("seed") {
					return fmt.Errorf("--seed seeds a zoo model's weights; --model %s has its own: drop --seed", f.model)
				}
				if fl.Changed("batch") && len(f.inputs) > 0 {
					return fmt.Errorf("--batch with --input: the input files set the batch")
				}
				return nil
			}
			if len(f.inputs) > 0 || f.outputDir != "" {
				return fmt.Errorf("--input and --output-dir need --model FILE.onnx")
			}
			return exactOne("NAME")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.batch < 1 || f.batch > 256 {
				return fmt.Errorf("--batch %d: want 1 to 256", f.batch)
			}
			if f.repeat < 1 {
				return fmt.Errorf("--repeat %d: want at least 1", f.repeat)
			}
			if f.model != "" {
				return runModelFile(cmd, f)
			}
			return runZoo(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.batch, "batch", 1, "batch size of the standard input")
	fl.Uint64Var(&f.seed, "seed", zoo.DefaultSeed, "seed of a zoo model's weights (not with --model)")
	fl.IntVar(&f.repeat, "repeat", 3, "timed forward passes")
	fl.StringVar(&f.model, "model", "", "run an ONNX model file instead of a zoo model")
	fl.StringArrayVar(&f.inputs, "input", nil, "TensorProto file for the next graph input (repeatable, model input order) instead of the standard input")
	fl.StringVar(&f.outputDir, "output-dir", "", "write output_<i>.pb TensorProto files here (with --model)")
	return cmd
}

// standardInput is the ONNX test suite's input of shape dims: element i of
// n is i/n.
func standardInput(dims []int64) []float32 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i) / float32(n)
	}
	return x
}

// timed runs f repeat times and returns the latencies, sorted.
func timed(repeat int, f func() error) ([]time.Duration, error) {
	var lat []time.Duration
	for i := 0; i < repeat; i++ {
		t := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, nil
}

func printLatency(w io.Writer, load time.Duration, lat []time.Duration) {
	fmt.Fprintf(w, "load+compile %v; forward latency median %v (min %v, max %v, %d runs)\n",
		load.Round(time.Millisecond), lat[len(lat)/2].Round(10*time.Microsecond), lat[0].Round(10*time.Microsecond),
		lat[len(lat)-1].Round(10*time.Microsecond), len(lat))
}

// runZoo runs a zoo model with seeded weights on the standard input.
func runZoo(cmd *cobra.Command, name string, f runFlags) error {
	t0 := time.Now()
	m, err := zoo.Load(name, zoo.WithSeed(f.seed))
	if err != nil {
		return err
	}
	load := time.Since(t0)
	dims := []int64{int64(f.batch)}
	for _, d := range m.Spec.Input {
		dims = append(dims, int64(d))
	}
	in := &tensor.Tensor{Shape: append([]int{f.batch}, m.Spec.Input...), Data: standardInput(dims)}
	var out *onnxir.Tensor
	lat, err := timed(f.repeat, func() error {
		y, err := m.Forward(in)
		if err == nil {
			out = &onnxir.Tensor{DType: onnxir.Float32, Float: y.Data}
			for _, d := range y.Shape {
				out.Dims = append(out.Dims, int64(d))
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%s: seeded weights (seed %d), standard input (element i of n = i/n) %v\n", m.Spec.Name, f.seed, dims)
	fmt.Fprintf(w, "output: %v %v\n", out.DType, out.Dims)
	printTop5(w, out, m.Labels())
	printLatency(w, load, lat)
	return nil
}

// runModelFile loads an ONNX file, runs it repeat times on the given (or
// the standard) inputs, prints each [N, classes] output's top-5 and the
// latency, and optionally writes the outputs as TensorProto files.
func runModelFile(cmd *cobra.Command, f runFlags) error {
	t0 := time.Now()
	m, err := onnx.Load(f.model, onnx.LoadOptions{})
	if err != nil {
		return err
	}
	load := time.Since(t0)
	ins, err := modelInputs(m, f.inputs, f.batch)
	if err != nil {
		return err
	}
	var outs map[string]*onnxir.Tensor
	lat, err := timed(f.repeat, func() error {
		outs, err = m.RunTensors(ins)
		return err
	})
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	src := "standard input (element i of n = i/n)"
	if len(f.inputs) > 0 {
		src = fmt.Sprintf("inputs %v", f.inputs)
	}
	fmt.Fprintf(w, "%s: %s; executor: %s\n", f.model, src, m.Executor())
	names := fileLabels(f.model)
	for k, name := range m.OutputNames() {
		o := outs[name]
		fmt.Fprintf(w, "output %d %q: %v %v\n", k, name, o.DType, o.Dims)
		printTop5(w, o, names)
		if f.outputDir != "" {
			if err := writeOutput(f.outputDir, k, o); err != nil {
				return err
			}
		}
	}
	if f.outputDir != "" {
		fmt.Fprintf(w, "wrote %d output files to %s\n", len(outs), f.outputDir)
	}
	printLatency(w, load, lat)
	return nil
}

// modelInputs decodes the --input files (one per graph input, in order) or
// builds the standard input for every float input of declared shape, with
// the first dimension set to batch.
func modelInputs(m *onnx.Model, files []string, batch int) (map[string]*onnxir.Tensor, error) {
	names := m.InputNames()
	ins := map[string]*onnxir.Tensor{}
	if len(files) > 0 {
		if len(files) != len(names) {
			return nil, fmt.Errorf("the model has %d inputs %v, got %d --input files", len(names), names, len(files))
		}
		for k, p := range files {
			fh, err := regular.Open(p) // a FIFO would block forever
			if err != nil {
				return nil, fmt.Errorf("--input %w", err)
			}
			t, err := onnxir.DecodeTensor(fh, onnxir.DefaultLimits)
			fh.Close()
			if err != nil {
				return nil, fmt.Errorf("--input %s: %w", p, err)
			}
			ins[names[k]] = t
		}
		return ins, nil
	}
	for _, in := range m.Graph().Inputs {
		if !in.DType.IsFloat() {
			return nil, fmt.Errorf("input %q is %v: pass it with --input", in.Name, in.DType)
		}
		if in.Shape == nil || len(in.Shape) == 0 {
			return nil, fmt.Errorf("input %q has no declared [N, ...] shape: pass it with --input", in.Name)
		}
		t := &onnxir.Tensor{Name: in.Name, DType: onnxir.Float32, Dims: make([]int64, len(in.Shape))}
		n := int64(1)
		for k, d := range in.Shape {
			switch {
			case k == 0:
				t.Dims[k] = int64(batch)
			case d.Value >= 0:
				t.Dims[k] = d.Value
			default:
				return nil, fmt.Errorf("input %q has a symbolic dimension %d (%q): pass it with --input", in.Name, k, d.Param)
			}
			n *= max(t.Dims[k], 1)
			if n > onnxir.DefaultLimits.MaxTensorElements {
				return nil, fmt.Errorf("input %q: declared shape too large", in.Name)
			}
		}
		t.Float = standardInput(t.Dims)
		ins[in.Name] = t
	}
	return ins, nil
}

// fileLabels returns the class names a model file records (an export of
// this project: its label set or its own class names), or nil.
func fileLabels(path string) []string {
	md, err := zoo.ReadMetadata(path)
	if err != nil {
		return nil
	}
	if md.ClassNames != nil {
		return md.ClassNames
	}
	names, _ := labels.Names(md.Labels)
	return names
}

// printTop5 prints the five largest entries of each row of a [N, classes]
// float output (other outputs print nothing): probabilities when the row
// already sums to ~1 with non-negative entries, otherwise the softmax of
// the row (logits); with the class's name when names has one.
func printTop5(w io.Writer, o *onnxir.Tensor, names []string) {
	if len(o.Dims) != 2 || o.Dims[1] < 2 || o.Float == nil {
		return
	}
	n, c := int(o.Dims[0]), int(o.Dims[1])
	for b := 0; b < n; b++ {
		row := o.Float[b*c : (b+1)*c]
		var sum float64
		probs := true
		for _, v := range row {
			sum += float64(v)
			if v < 0 {
				probs = false
			}
		}
		scores := make([]float64, c)
		what := "probabilities"
		if probs && math.Abs(sum-1) < 1e-3 {
			for i, v := range row {
				scores[i] = float64(v)
			}
		} else {
			what = "softmax of logits"
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			var s float64
			for i, v := range row {
				scores[i] = math.Exp(float64(v) - mx)
				s += scores[i]
			}
			for i := range scores {
				scores[i] /= s
			}
		}
		idx := make([]int, c)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return scores[idx[i]] > scores[idx[j]] })
		fmt.Fprintf(w, "sample %d top-5 (%s):", b, what)
		for _, i := range idx[:min(5, c)] {
			if len(names) == c {
				fmt.Fprintf(w, "  %d %s (%.4f)", i, names[i], scores[i])
			} else {
				fmt.Fprintf(w, "  %d (%.4f)", i, scores[i])
			}
		}
		fmt.Fprintln(w)
	}
}

// writeOutput writes output k as DIR/output_<k>.pb (integer outputs are
// written as FLOAT, the only type EncodeTensor writes), atomically.
func writeOutput(dir string, k int, o *onnxir.Tensor) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data := o.Float
	if data == nil {
		data = make([]float32, len(o.Int))
		for i, v := range o.Int {
			data[i] = float32(v)
		}
	}
	return atomicfile.WriteFile(filepath.Join(dir, fmt.Sprintf("output_%d.pb", k)), 0o644, func(w io.Writer) error {
		return onnxir.EncodeTensor(w, o.Name, o.Dims, data)
	})
}
