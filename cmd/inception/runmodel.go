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
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// modelFileFlags are the flags of `inception run --model FILE.onnx`.
type modelFileFlags struct {
	model     string
	inputs    []string
	outputDir string
}

func (f *modelFileFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.model, "model", "", "run an ONNX model file instead of a zoo model")
	cmd.Flags().StringArrayVar(&f.inputs, "input", nil, "TensorProto file for the next graph input (repeatable, model input order); default: the ONNX standard input i/n")
	cmd.Flags().StringVar(&f.outputDir, "output-dir", "", "write output_<i>.pb TensorProto files here")
}

// runModelFile loads an ONNX file, runs it repeat times on the given (or
// the standard) inputs, prints each [N, classes] output's top-5 and the
// latency, and optionally writes the outputs as TensorProto files.
func runModelFile(cmd *cobra.Command, f modelFileFlags, repeat int) error {
	if repeat < 1 {
		return fmt.Errorf("--repeat %d: want at least 1", repeat)
	}
	t0 := time.Now()
	m, err := onnx.Load(f.model, onnx.LoadOptions{})
	if err != nil {
		return err
	}
	load := time.Since(t0)
	ins, err := modelInputs(m, f.inputs)
	if err != nil {
		return err
	}
	var outs map[string]*onnxir.Tensor
	var lat []time.Duration
	for i := 0; i < repeat; i++ {
		t := time.Now()
		if outs, err = m.RunTensors(ins); err != nil {
			return err
		}
		lat = append(lat, time.Since(t))
	}
	w := cmd.OutOrStdout()
	src := "standard input (element i = i/n)"
	if len(f.inputs) > 0 {
		src = fmt.Sprintf("inputs %v", f.inputs)
	}
	fmt.Fprintf(w, "%s: %s\n", f.model, src)
	for k, name := range m.OutputNames() {
		o := outs[name]
		fmt.Fprintf(w, "output %d %q: %v %v\n", k, name, o.DType, o.Dims)
		if len(o.Dims) == 2 && o.Dims[1] >= 2 && o.Float != nil {
			printTop5(w, o)
		}
		if f.outputDir != "" {
			if err := writeOutput(f.outputDir, k, o); err != nil {
				return err
			}
		}
	}
	if f.outputDir != "" {
		fmt.Fprintf(w, "wrote %d output files to %s\n", len(outs), f.outputDir)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Fprintf(w, "load+compile %v; forward latency median %v (min %v, max %v, %d runs)\n",
		load.Round(time.Millisecond), lat[len(lat)/2].Round(10*time.Microsecond), lat[0].Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond), repeat)
	return nil
}

// modelInputs decodes the --input files (one per graph input, in order) or
// builds the ONNX standard input for every float input of concrete shape
// (a symbolic batch dimension becomes 1).
func modelInputs(m *onnx.Model, files []string) (map[string]*onnxir.Tensor, error) {
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
		if in.Shape == nil {
			return nil, fmt.Errorf("input %q has no declared shape: pass it with --input", in.Name)
		}
		t := &onnxir.Tensor{Name: in.Name, DType: onnxir.Float32, Dims: make([]int64, len(in.Shape))}
		n := int64(1)
		for k, d := range in.Shape {
			switch {
			case d.Value >= 0:
				t.Dims[k] = d.Value
			case k == 0:
				t.Dims[k] = 1
			default:
				return nil, fmt.Errorf("input %q has a symbolic dimension %d (%q): pass it with --input", in.Name, k, d.Param)
			}
			n *= t.Dims[k]
			if n > onnxir.DefaultLimits.MaxTensorElements {
				return nil, fmt.Errorf("input %q: declared shape too large", in.Name)
			}
		}
		t.Float = make([]float32, n)
		for i := range t.Float {
			t.Float[i] = float32(i) / float32(n)
		}
		ins[in.Name] = t
	}
	return ins, nil
}

// printTop5 prints the five largest entries of each row: probabilities
// when the row already sums to ~1 with non-negative entries, otherwise the
// softmax of the row (logits).
func printTop5(w interface{ Write([]byte) (int, error) }, o *onnxir.Tensor) {
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
			fmt.Fprintf(w, "  %d (%.4f)", i, scores[i])
		}
		fmt.Fprintln(w)
	}
}

// writeOutput writes output k as DIR/output_<k>.pb (integer outputs are
// written as FLOAT, the only type EncodeTensor writes).
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
