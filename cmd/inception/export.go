package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/zoo"
)

func init() { commands = append(commands, exportCmd) }

// exportCmd is `inception export NAME -o file.onnx`: the model, with seeded
// weights or the weights of another ONNX file, written as ONNX.
func exportCmd() *cobra.Command {
	var out, weights string
	var opset int
	var seed uint64
	var aux, transform bool
	cmd := &cobra.Command{
		Use:   "export NAME -o FILE.onnx",
		Short: "Export a model to ONNX (seeded weights, or the weights of --weights FILE)",
		Args:  exactOne("NAME"),
		Long: `Export a model to ONNX: with seeded weights (the documented initialisation,
not trained; the file records inceptionzoo.weights=seeded, and classify and
eval refuse it without --allow-seeded), or with the weights of --weights FILE.

The file is written atomically: to a temporary file in the same directory,
synced, then renamed over FILE. A failure (a full disk, a file size limit,
a kill) leaves an existing FILE untouched, and FILE must be a regular file
or not exist (a device or a FIFO is refused before any work).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErrorf("export: -o FILE.onnx is required")
			}
			if opset < convert.MinExportOpset || opset > convert.MaxExportOpset {
				return usageErrorf("export: --opset %d: want %d to %d", opset, convert.MinExportOpset, convert.MaxExportOpset)
			}
			// Refuse a device, a FIFO or a missing directory before the
			// (long) load.
			if _, err := atomicfile.Target(out); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			opts := loadOpts(seed, aux, transform)
			if weights != "" {
				opts = append(opts, zoo.WithWeights(weights))
			}
			m, err := zoo.Load(args[0], opts...)
			if err != nil {
				return err
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
			src := fmt.Sprintf("seeded weights (seed %d; not trained, recorded as such)", seed)
			switch {
			case weights != "" && m.Seeded():
				src = "weights from " + weights + " (seeded, not trained, recorded as such)"
			case weights != "":
				src = "weights from " + weights
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: wrote %s (%s bytes): %s params + %s buffers, %s, opset %d (IR %d)\n",
				m.Spec.Name, out, group(size), group(params), group(buffers), src, opset, convert.IRVersion(opset))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (required)")
	cmd.Flags().IntVar(&opset, "opset", convert.DefaultExportOpset, "ONNX opset (9 to 21)")
	cmd.Flags().Uint64Var(&seed, "seed", zoo.DefaultSeed, "seed of the weights (without --weights)")
	cmd.Flags().StringVar(&weights, "weights", "", "take the weights from this ONNX file")
	cmd.Flags().BoolVar(&aux, "aux", false, "include the auxiliary heads as extra outputs")
	cmd.Flags().BoolVar(&transform, "transform-input", false, "prepend torchvision's transform_input")
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
