package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
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
	var allowSeeded, transform bool
	cmd := &cobra.Command{
		Use:   "eval --model NAME[.TAG]|FILE [--weights FILE] --data fashion-mnist|DIR [--min-accuracy A]",
		Short: "Top-1 accuracy on the Fashion-MNIST test set or an image folder",
		Long: `Top-1 accuracy on the Fashion-MNIST test set or an image folder.

--model is a zoo model NAME (with --weights FILE, any weight format, or a
weight tag NAME.TAG whose file is in the cache), or a weight FILE exported by
this project (its metadata names the model); both run in the zoo's engine at
the input size of the weights. Any other ONNX file runs in the ONNX runner at
the input size it declares. Fashion-MNIST is resized to the model's input
(bilinear); an image folder (one sub-folder per class) is preprocessed with
the weights' preset. The classes of the model and the data must agree. With
--min-accuracy A, an accuracy below A is an error (exit status 1), for
make eval-d2l.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model == "" {
				return usageErrorf("eval: --model is required: a zoo model NAME or a weight FILE (see 'inception list')")
			}
			if dataArg == "" {
				return usageErrorf("eval: --data is required: fashion-mnist or an image folder (one sub-folder per class)")
			}
			if dataArg != "fashion-mnist" {
				if st, err := os.Stat(dataArg); err != nil || !st.IsDir() {
					return usageErrorf("eval: --data %s: want fashion-mnist or an image folder (one sub-folder per class)", dataArg)
				}
			}
			if minAcc < 0 || minAcc > 1 {
				return usageErrorf("eval: --min-accuracy %g: want 0 to 1", minAcc)
			}
			var run func(*tensor.Tensor) (*tensor.Tensor, error)
			var in nn.Shape
			var pre *spec.Preprocess
			classes := -1           // the model's class count, if known
			var classNames []string // and names
			if zm, om, err := evalModel(cmd, model, weights, allowSeeded, transform); err != nil {
				return err
			} else if zm != nil {
				p := zm.Preprocess()
				pre, classes, classNames, in, run = &p, zm.Classes(), zm.Labels(), zm.Input(), zm.Forward
			} else {
				gi := om.Graph().Inputs
				if len(gi) != 1 || len(gi[0].Shape) != 4 {
					return fmt.Errorf("eval: %s: want one [N,C,H,W] input", model)
				}
				for _, d := range gi[0].Shape[1:] {
					if d.Value <= 0 {
						return fmt.Errorf("eval: %s: input shape is not concrete", model)
					}
					in = append(in, int(d.Value))
				}
				if out := om.Graph().Outputs; len(out) > 0 && len(out[0].Shape) == 2 && out[0].Shape[1].Value > 0 {
					classes = int(out[0].Shape[1].Value)
				}
				inName, outName := om.InputNames()[0], om.OutputNames()[0]
				run = func(x *tensor.Tensor) (*tensor.Tensor, error) {
					outs, err := om.Run(map[string]*tensor.Tensor{inName: x})
					if err != nil {
						return nil, err
					}
					return outs[outName], nil
				}
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
			default:
				if pre == nil {
					return fmt.Errorf("eval: %s records no preprocessing for an image folder: pass --model NAME --weights %s", model, model)
				}
				if set, err = data.ImageFolder(dataArg, *pre); err != nil {
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
			bar := newProgress(cmd.ErrOrStderr(), "eval", set.Len())
			acc, err := train.EvaluateFunc(func(x *tensor.Tensor) (*tensor.Tensor, error) {
				y, err := run(x)
				bar.add(x.Shape[0])
				return y, err
			}, set, batch)
			bar.finish()
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
	cmd.Flags().StringVar(&model, "model", "", "a zoo model NAME[.TAG], or a weight FILE")
	cmd.Flags().StringVar(&weights, "weights", "", "weights for a zoo model NAME (ONNX, PyTorch checkpoint, safetensors)")
	cmd.Flags().StringVar(&dataArg, "data", "", "fashion-mnist or an image folder")
	cmd.Flags().IntVar(&batch, "batch", 250, "evaluation batch size")
	cmd.Flags().IntVar(&limit, "limit", 0, "evaluate only the first N images (0: all)")
	cmd.Flags().Float64Var(&minAcc, "min-accuracy", 0, "fail (exit non-zero) if the top-1 accuracy is below this (0 to 1)")
	cmd.Flags().BoolVar(&allowSeeded, "allow-seeded", false, "evaluate even seeded (untrained) weights")
	cmd.Flags().BoolVar(&transform, "transform-input", false, "torchvision's transform_input, for a bare torchvision file given with --weights")
	return cmd
}

// evalModel loads what eval's --model names: a zoo model (a NAME, or a
// weight FILE whose metadata names its model), or else an ONNX file for the
// ONNX runner.
func evalModel(cmd *cobra.Command, model, weights string, allowSeeded, transform bool) (*zoo.Model, *onnx.Model, error) {
	ref, file := model, weights
	if st, err := os.Stat(model); err == nil && !st.IsDir() {
		if weights != "" {
			return nil, nil, usageErrorf("eval: --weights %s: --model %s is already a weight file", weights, model)
		}
		md, err := zoo.ReadMetadata(model)
		if err != nil {
			return nil, nil, fmt.Errorf("eval: %w", err)
		}
		if md.Model == "" {
			if md.Format != spec.ONNX {
				return nil, nil, usageErrorf("eval: %s does not say which model it holds: pass --model NAME --weights %s", model, model)
			}
			m, err := onnx.Load(model, onnx.LoadOptions{})
			if err != nil {
				return nil, nil, err
			}
			if err := allowSeededOr(cmd, allowSeeded, zoo.RequireTrainedMetadata(model, m.Graph().Metadata)); err != nil {
				return nil, nil, err
			}
			return nil, m, nil
		}
		ref, file = md.Model, model
	}
	var opts []zoo.Option
	if transform {
		opts = append(opts, zoo.WithTransformInput())
	}
	if file != "" {
		opts = append(opts, zoo.WithWeights(file))
	} else if _, tag, err := registry.Resolve(ref); err == nil && tag != nil {
		opts = append(opts, zoo.Pretrained()) // a tag's file from the cache (or a download)
	}
	m, err := zoo.LoadContext(cmd.Context(), ref, opts...)
	if err != nil {
		return nil, nil, err
	}
	if err := allowSeededOr(cmd, allowSeeded, m.RequireTrained()); err != nil {
		return nil, nil, err
	}
	return m, nil, nil
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
