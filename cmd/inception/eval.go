package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/train"
	"github.com/inceptionzoo/inception/train/data"
	"github.com/inceptionzoo/inception/zoo"
)

func init() { commands = append(commands, evalCmd) }

// errAccuracy reports an accuracy below eval's --min-accuracy.
var errAccuracy = errors.New("accuracy below the required minimum")

// evalCmd is `inception eval`: top-1 accuracy of a model on the
// Fashion-MNIST test split or an image folder, run by the zoo's engines.
func evalCmd() *cobra.Command {
	var model, weights, dataArg string
	var batch, limit int
	var minAcc float64
	var allowSeeded bool
	cmd := &cobra.Command{
		Use:   "eval --model FILE.onnx|NAME [--weights FILE.onnx] --data fashion-mnist|DIR [--min-accuracy A]",
		Short: "Top-1 accuracy on the Fashion-MNIST test set or an image folder",
		Long: `A FILE.onnx model runs in the ONNX runner (onnx.Load) at the input size
the file declares; a zoo NAME runs in the engine (zoo.Load, with
zoo.WithWeights(--weights) if given) at the model's input size. Data are
resized to the model's input (bilinear); an image folder is preprocessed
with the zoo model's preset (a NAME is required for that). With
--min-accuracy A, an accuracy below A is an error (exit status 1), for
make eval-d2l.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if minAcc < 0 || minAcc > 1 {
				return fmt.Errorf("eval: --min-accuracy %g: want 0 to 1", minAcc)
			}
			var run func(*tensor.Tensor) (*tensor.Tensor, error)
			var in nn.Shape
			var spec *registry.Entry
			classes := -1           // the model's class count, if known
			var classNames []string // and names
			if strings.HasSuffix(model, ".onnx") {
				m, err := onnx.Load(model, onnx.LoadOptions{})
				if err != nil {
					return err
				}
				if err := allowSeededOr(cmd, allowSeeded, zoo.RequireTrainedMetadata(model, m.Graph().Metadata)); err != nil {
					return err
				}
				gi := m.Graph().Inputs
				if len(gi) != 1 || len(gi[0].Shape) != 4 {
					return fmt.Errorf("eval: %s: want one [N,C,H,W] input", model)
				}
				for _, d := range gi[0].Shape[1:] {
					if d.Value <= 0 {
						return fmt.Errorf("eval: %s: input shape is not concrete", model)
					}
					in = append(in, int(d.Value))
				}
				if out := m.Graph().Outputs; len(out) > 0 && len(out[0].Shape) == 2 && out[0].Shape[1].Value > 0 {
					classes = int(out[0].Shape[1].Value)
				}
				if js, ok := m.Graph().Metadata[metaClassNames]; ok {
					if err := json.Unmarshal([]byte(js), &classNames); err != nil {
						return fmt.Errorf("eval: %s: metadata %s: %w", model, metaClassNames, err)
					}
				}
				inName, outName := m.InputNames()[0], m.OutputNames()[0]
				run = func(x *tensor.Tensor) (*tensor.Tensor, error) {
					outs, err := m.Run(map[string]*tensor.Tensor{inName: x})
					if err != nil {
						return nil, err
					}
					return outs[outName], nil
				}
			} else {
				var opts []zoo.Option
				if weights != "" {
					opts = append(opts, zoo.WithWeights(weights))
				}
				m, err := zoo.Load(model, opts...)
				if err != nil {
					return err
				}
				if err := allowSeededOr(cmd, allowSeeded, m.RequireTrained()); err != nil {
					return err
				}
				spec = &m.Spec
				classes, classNames = m.Classes(), m.Labels()
				in = m.Spec.Input
				run = m.Forward
			}
			var set *data.Set
			var err error
			switch {
			case dataArg == "fashion-mnist":
				if set, err = data.FashionMNIST("", false); err != nil {
					return fmt.Errorf("%w (install: apt-get install dataset-fashion-mnist)", err)
				}
				if in[0] != 1 {
					return fmt.Errorf("eval: fashion-mnist is grayscale; the model takes %d channels", in[0])
				}
				if set, err = set.Resize(in[1]); err != nil {
					return err
				}
			case dataArg == "":
				return fmt.Errorf("eval: --data is required")
			default:
				if spec == nil {
					return fmt.Errorf("eval: an image folder needs a zoo model NAME (for its preprocessing)")
				}
				pre := spec.Preprocess
				pre.Resize, pre.Crop = in[1], in[1]
				if set, err = data.ImageFolder(dataArg, pre); err != nil {
					return err
				}
			}
			if classes >= 0 && classes != len(set.Classes) {
				return fmt.Errorf("eval: %w: %s has %d classes, %s has %d %v", errClasses, model, classes, dataArg, len(set.Classes), set.Classes)
			}
			if classNames != nil {
				if err := sameClasses(model, classNames, dataArg, set.Classes); err != nil {
					return fmt.Errorf("eval: %w", err)
				}
			}
			set = set.Subset(limit)
			acc, err := train.EvaluateFunc(run, set, batch)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: top-1 accuracy %.4f on %d images (%s, input %v)\n", model, acc, set.Len(), dataArg, in)
			if acc < minAcc {
				return fmt.Errorf("eval: %w: %s: top-1 accuracy %.4f is below --min-accuracy %.4f", errAccuracy, model, acc, minAcc)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "FILE.onnx or a zoo model name")
	cmd.Flags().StringVar(&weights, "weights", "", "ONNX weights for a zoo model name")
	cmd.Flags().StringVar(&dataArg, "data", "", "fashion-mnist or an image folder")
	cmd.Flags().IntVar(&batch, "batch", 250, "evaluation batch size")
	cmd.Flags().IntVar(&limit, "limit", 0, "evaluate only the first N images (0: all)")
	cmd.Flags().Float64Var(&minAcc, "min-accuracy", 0, "fail (exit non-zero) if the top-1 accuracy is below this (0 to 1)")
	cmd.Flags().BoolVar(&allowSeeded, "allow-seeded", false, "evaluate even seeded (untrained) weights")
	return cmd
}

// allowSeededOr returns seeded, the error of zoo's seeded-weights rule, as
// a refusal of the eval command, unless allow: then it warns on stderr.
func allowSeededOr(cmd *cobra.Command, allow bool, seeded error) error {
	if seeded == nil {
		return nil
	}
	if !allow {
		return fmt.Errorf("eval: %w; pass --allow-seeded to evaluate anyway", seeded)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "eval: warning: %v (evaluating anyway: --allow-seeded)\n", seeded)
	return nil
}
