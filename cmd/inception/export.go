package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

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
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("export: -o FILE.onnx is required")
			}
			if opset < convert.MinExportOpset || opset > convert.MaxExportOpset {
				return fmt.Errorf("export: --opset %d: want %d to %d", opset, convert.MinExportOpset, convert.MaxExportOpset)
			}
			opts := loadOpts(seed, aux, transform)
			if weights != "" {
				opts = append(opts, zoo.WithWeights(weights))
			}
			m, err := zoo.Load(args[0], opts...)
			if err != nil {
				return err
			}
			f, err := os.Create(out)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if err := m.ExportONNX(f, convert.ExportOptions{Opset: opset}); err != nil {
				f.Close()
				os.Remove(out)
				return err
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			st, err := os.Stat(out)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			params, buffers, _ := m.Graph.Totals()
			src := fmt.Sprintf("seeded weights (seed %d)", seed)
			if weights != "" {
				src = "weights from " + weights
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: wrote %s (%s bytes): %s params + %s buffers, %s, opset %d (IR %d)\n",
				m.Spec.Name, out, group(st.Size()), group(params), group(buffers), src, opset, convert.IRVersion(opset))
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
