package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/train"
	"github.com/inceptionzoo/inception/zoo"
)

func init() { commands = append(commands, finetuneCmd) }

// finetuneCmd is `inception finetune`: a zoo model with the weights of an
// ONNX file, a new classifier head for the classes of an image folder,
// and training of the head (plus any --unfreeze blocks).
func finetuneCmd() *cobra.Command {
	var f trainFlags
	var model, weights string
	var unfreeze []string
	cmd := &cobra.Command{
		Use:         "finetune --model NAME --weights FILE.onnx --data DIR [--unfreeze BLOCK...]",
		Annotations: stopsOnSignal,
		Short:       "Replace a model's classifier head and train it on an image folder",
		Long: `Loads NAME with the weights of FILE.onnx (zoo.WithWeights), builds the
model with one class per sub-folder of DIR, copies every weight except the
classifier head (re-initialised Xavier-uniform), and trains the head and
the parameters under the --unfreeze block paths (e.g. inception5b, or
"all"). Frozen BatchNorms use their running statistics. Dropout is trained
as the identity unless --dropout-identity=false.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if weights == "" {
				return fmt.Errorf("finetune: --weights FILE.onnx is required")
			}
			spec, err := registry.Default.Lookup(model)
			if err != nil {
				return err
			}
			src, err := zoo.Load(spec.Name, zoo.WithWeights(weights))
			if err != nil {
				return err
			}
			if err := train.CheckUnfreeze(src.Graph, unfreeze); err != nil {
				return err
			}
			in := append(nn.Shape(nil), spec.Input...)
			if f.size > 0 {
				in[1], in[2] = f.size, f.size
			}
			tr, te, err := f.loadData(spec, in)
			if err != nil {
				return err
			}
			b, err := spec.Build(nn.Options{Classes: len(tr.Classes), Aux: f.aux})
			if err != nil {
				return err
			}
			g, err := nn.Lower(b, in)
			if err != nil {
				return err
			}
			p := nn.InitParams(g, f.seed)
			train.TransferParams(g, p, src.Params)
			head, ok := train.HeadNode(g)
			if !ok {
				return fmt.Errorf("finetune: %s: no Linear or Conv classifier head found", spec.Name)
			}
			train.XavierInit(&nn.Graph{Nodes: []*nn.Node{g.Nodes[head]}}, p, f.seed)
			fmt.Fprintf(cmd.OutOrStdout(), "new head %s: %d classes %v\n", g.Nodes[head].Path, len(tr.Classes), tr.Classes)
			return runTraining(cmd, f, spec, b, g, p, tr, te, train.FinetuneTrainable(g, unfreeze))
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "zoo model name")
	cmd.Flags().StringVar(&weights, "weights", "", "ONNX file with the model's weights")
	cmd.Flags().StringSliceVar(&unfreeze, "unfreeze", nil, "block paths to train besides the head (repeatable; \"all\" for everything)")
	f.register(cmd, 0.01)
	cmd.Flags().Lookup("epochs").DefValue = "10"
	_ = cmd.Flags().Set("dropout-identity", "true")
	cmd.Flags().Lookup("dropout-identity").DefValue = "true"
	return cmd
}
