package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/triton"
	"github.com/inceptionzoo/inception/zoo"
)

func init() { commands = append(commands, exportCmd) }

// exportCmd is `inception export NAME -o file.onnx`: the model, with seeded
// weights or the weights of another ONNX file, written as ONNX.
func exportCmd() *cobra.Command {
	var out, weights, tritonDir string
	var opset, maxBatch int
	var seed uint64
	var aux, transform bool
	cmd := &cobra.Command{
		Use:   "export NAME -o FILE.onnx | export NAME --triton DIR [--max-batch N]",
		Short: "Export a model to ONNX, or as a Triton model repository (seeded weights, or the weights of --weights FILE)",
		Args:  exactOne("NAME"),
		Long: `Export a model to ONNX: with seeded weights (the documented initialisation,
not trained; the file records inceptionzoo.weights=seeded, and classify and
eval refuse it without --allow-seeded), or with the weights of --weights FILE.

The file is written atomically: to a temporary file in the same directory,
synced, then renamed over FILE. A failure (a full disk, a file size limit,
a kill) leaves an existing FILE untouched, and FILE must be a regular file
or not exist (a device or a FIFO is refused before any work).

With --triton DIR it writes a Triton Inference Server model repository
instead: DIR/NAME/config.pbtxt (platform onnxruntime_onnx, max_batch_size
--max-batch, input and output FP32 with dims without the batch dimension,
dynamic batching), DIR/NAME/1/model.onnx and, when the labels are known,
DIR/NAME/labels.txt, each written atomically (see docs/serving.md).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (out == "") == (tritonDir == "") {
				return usageErrorf("export: give -o FILE.onnx or --triton DIR (one of them)")
			}
			if opset < convert.MinExportOpset || opset > convert.MaxExportOpset {
				return usageErrorf("export: --opset %d: want %d to %d", opset, convert.MinExportOpset, convert.MaxExportOpset)
			}
			// Refuse a device, a FIFO or a missing directory before the
			// (long) load.
			if out != "" {
				if _, err := atomicfile.Target(out); err != nil {
					return fmt.Errorf("export: %w", err)
				}
			}
			opts := loadOpts(seed, aux, transform)
			if weights != "" {
				opts = append(opts, zoo.WithWeights(weights))
			}
			m, err := zoo.Load(args[0], opts...)
			if err != nil {
				return err
			}
			src := fmt.Sprintf("seeded weights (seed %d; not trained, recorded as such)", seed)
			switch {
			case weights != "" && m.Seeded():
				src = "weights from " + weights + " (seeded, not trained, recorded as such)"
			case weights != "":
				src = "weights from " + weights
			}
			if tritonDir != "" {
				return exportTriton(cmd, m, tritonDir, src, triton.Options{Name: args[0], MaxBatch: maxBatch, Opset: opset})
			}
			var size int64
			err = atomicfile.WriteFile(out, 0o644, func(w io.Writer) error {
				cw := &countingWriter{w: w}
				err := m.ExportONNX(cw, convert.ExportOptions{Opset: opset})
				size = cw.n
				return err
			})
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			params, buffers, _ := m.Graph.Totals()
			fmt.Fprintf(cmd.OutOrStdout(), "%s: wrote %s (%s bytes): %s params + %s buffers, %s, opset %d (IR %d)\n",
				m.Spec.Name, out, group(size), group(params), group(buffers), src, opset, convert.IRVersion(opset))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (required)")
	cmd.Flags().IntVar(&opset, "opset", convert.DefaultExportOpset, "ONNX opset (9 to 21)")
	cmd.Flags().Uint64Var(&seed, "seed", zoo.DefaultSeed, "seed of the weights (without --weights)")
	cmd.Flags().StringVar(&weights, "weights", "", "take the weights from this file (ONNX, PyTorch checkpoint or safetensors)")
	cmd.Flags().BoolVar(&aux, "aux", false, "include the auxiliary heads as extra outputs")
	cmd.Flags().BoolVar(&transform, "transform-input", false, "prepend torchvision's transform_input")
	cmd.Flags().StringVar(&tritonDir, "triton", "", "write a Triton model repository: DIR/NAME/config.pbtxt, DIR/NAME/1/model.onnx, DIR/NAME/labels.txt")
	cmd.Flags().IntVar(&maxBatch, "max-batch", triton.DefaultMaxBatch, "with --triton: max_batch_size")
	return cmd
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// exportTriton writes m as a Triton model repository (see package triton);
// src says where its weights come from.
func exportTriton(cmd *cobra.Command, m *zoo.Model, dir, src string, o triton.Options) error {
	modelDir, err := triton.WriteRepository(dir, m, o)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: wrote the Triton model %s (%s, %s/model.onnx, platform %s): %s\n",
		m.Spec.Name, modelDir, triton.ConfigFile, triton.Version, triton.Platform, src)
	return nil
}
