package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/train"
	"github.com/inceptionzoo/inception/train/data"
	"github.com/inceptionzoo/inception/zoo"
)

func init() { commands = append(commands, trainCmd) }

// trainFlags are the flags train and finetune share.
type trainFlags struct {
	data, optimizer, checkpoint, out, schedule       string
	epochs, batch, size, logEvery, ckEvery, maxSteps int
	limit                                            int
	lr, momentum, wd                                 float64
	seed                                             uint64
	val                                              string
	float16, dropoutIdentity, aux                    bool
	auxWeight                                        float64
}

func (f *trainFlags) register(cmd *cobra.Command, lr float64) {
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "", "training data: fashion-mnist, or a folder with one sub-folder of images per class")
	fl.IntVar(&f.epochs, "epochs", 10, "epochs")
	fl.IntVar(&f.batch, "batch", 128, "mini-batch size")
	fl.Float64Var(&f.lr, "lr", lr, "base learning rate")
	fl.StringVar(&f.schedule, "schedule", "const", "learning-rate schedule: const or cosine")
	fl.IntVar(&f.size, "size", 0, "input height and width (default: the model's)")
	fl.StringVar(&f.optimizer, "optimizer", "sgd", "sgd or adam")
	fl.Float64Var(&f.momentum, "momentum", 0, "SGD momentum")
	fl.Float64Var(&f.wd, "weight-decay", 0, "L2 weight decay")
	fl.StringVar(&f.checkpoint, "checkpoint", "", "checkpoint directory (resumed if it holds a checkpoint)")
	fl.IntVar(&f.ckEvery, "checkpoint-every", 100, "steps between checkpoints (and after every epoch)")
	fl.StringVar(&f.out, "out", "", "write the trained model as ONNX to this file")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the initialisation and of the shuffling")
	fl.IntVar(&f.logEvery, "log-every", 50, "steps between progress lines")
	fl.IntVar(&f.maxSteps, "max-steps", 0, "stop after this many steps (0: no limit)")
	fl.IntVar(&f.limit, "limit", 0, "use only the first N training and test samples (0: all)")
	fl.StringVar(&f.val, "val", "", "held-out image folder evaluated after every epoch (image-folder data)")
	fl.BoolVar(&f.float16, "float16", true, "store the exported weights as FLOAT16 (Cast to float32 in the graph)")
	fl.BoolVar(&f.dropoutIdentity, "dropout-identity", false, "train Dropout blocks as the identity instead of seeded dropout")
	fl.BoolVar(&f.aux, "aux", false, "build the model's auxiliary heads and add their losses (GoogLeNet, Inception v3)")
	fl.Float64Var(&f.auxWeight, "aux-weight", 0, "weight of each auxiliary loss with --aux (0: the paper's, 0.3 for GoogLeNet, 0.4 for Inception v3)")
}

// auxLossWeight returns the weight of the auxiliary losses: 0 without
// --aux, else --aux-weight or the family's published weight.
func (f *trainFlags) auxLossWeight(spec registry.Entry) (float64, error) {
	if !f.aux {
		if f.auxWeight != 0 {
			return 0, fmt.Errorf("--aux-weight %g needs --aux", f.auxWeight)
		}
		return 0, nil
	}
	if !spec.HasAux {
		return 0, fmt.Errorf("--aux: %s has no auxiliary heads", spec.Name)
	}
	if f.auxWeight < 0 || f.auxWeight > 1 || math.IsNaN(f.auxWeight) {
		return 0, fmt.Errorf("--aux-weight %g: want 0 (the paper's) to 1", f.auxWeight)
	}
	if f.auxWeight > 0 {
		return f.auxWeight, nil
	}
	w, ok := train.PaperAuxWeight(spec.Family)
	if !ok {
		return 0, fmt.Errorf("--aux: no published auxiliary-loss weight for the %s family: give --aux-weight", spec.Family)
	}
	return w, nil
}

// checkOutputs checks, before any loading or training, that --out can be
// written (its directory exists and it is not a directory or device) and
// that --checkpoint is a directory that can be created and written.
func (f *trainFlags) checkOutputs() error {
	if f.out != "" {
		target, err := atomicfile.Target(f.out)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		probe, err := os.CreateTemp(filepath.Dir(target), ".probe-*")
		if err != nil {
			return fmt.Errorf("--out: %s cannot be written: %w", f.out, err)
		}
		probe.Close()
		os.Remove(probe.Name())
	}
	if f.checkpoint != "" {
		if err := os.MkdirAll(f.checkpoint, 0o755); err != nil {
			return fmt.Errorf("--checkpoint: %w", err)
		}
		probe, err := os.CreateTemp(f.checkpoint, ".probe-*")
		if err != nil {
			return fmt.Errorf("--checkpoint: %s is not writable: %w", f.checkpoint, err)
		}
		probe.Close()
		os.Remove(probe.Name())
	}
	return nil
}

// validate checks the flags that need no data, before any loading.
func (f *trainFlags) validate() error {
	if _, err := f.optim(); err != nil {
		return err
	}
	if f.schedule != "const" && f.schedule != "cosine" {
		return fmt.Errorf("--schedule %q: want const or cosine", f.schedule)
	}
	if f.data == "" {
		return fmt.Errorf("--data is required")
	}
	if f.epochs <= 0 || f.batch <= 0 || f.size < 0 {
		return fmt.Errorf("--epochs %d, --batch %d, --size %d: want positive values", f.epochs, f.batch, f.size)
	}
	return f.checkOutputs()
}

func (f *trainFlags) optim() (train.Optimizer, error) {
	switch f.optimizer {
	case "sgd":
		return &train.SGD{Momentum: f.momentum, WeightDecay: f.wd}, nil
	case "adam":
		a := train.NewAdam()
		a.WeightDecay = f.wd
		return a, nil
	}
	return nil, fmt.Errorf("--optimizer %q: want sgd or adam", f.optimizer)
}

// loadData returns the training and test sets at the model's input shape
// (test is nil for an image folder).
func (f *trainFlags) loadData(spec registry.Entry, in nn.Shape) (tr, te *data.Set, err error) {
	if f.data == "fashion-mnist" {
		if tr, err = data.FashionMNIST("", true); err != nil {
			return nil, nil, fmt.Errorf("%w (install: apt-get install dataset-fashion-mnist)", err)
		}
		if te, err = data.FashionMNIST("", false); err != nil {
			return nil, nil, err
		}
		tr, te = tr.Subset(f.limit), te.Subset(f.limit)
		if in[0] != 1 {
			return nil, nil, fmt.Errorf("fashion-mnist is grayscale; %s takes %d channels", spec.Name, in[0])
		}
		if tr, err = tr.Resize(in[1]); err != nil {
			return nil, nil, err
		}
		if te, err = te.Resize(in[1]); err != nil {
			return nil, nil, err
		}
		return tr, te, nil
	}
	if f.data == "" {
		return nil, nil, fmt.Errorf("--data is required")
	}
	pre := spec.Preprocess
	pre.Resize, pre.Crop = in[1], in[1]
	tr, err = data.ImageFolder(f.data, pre)
	if err != nil {
		return nil, nil, err
	}
	if f.val != "" {
		if te, err = data.ImageFolder(f.val, pre); err != nil {
			return nil, nil, err
		}
		if err := sameClasses("--val", te.Classes, "--data", tr.Classes); err != nil {
			return nil, nil, err
		}
	}
	return tr.Subset(f.limit), te, nil
}

func trainCmd() *cobra.Command {
	var f trainFlags
	var model, initKind string
	cmd := &cobra.Command{
		Use:         "train --model NAME --data DIR|fashion-mnist --epochs N",
		Annotations: stopsOnSignal,
		Short:       "Train a model from scratch with the gorgonia back end",
		Args:        cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			spec, err := registry.Default.Lookup(model)
			if err != nil {
				return err
			}
			b, err := spec.Build(nn.Options{Aux: f.aux})
			if err != nil {
				return err
			}
			in := append(nn.Shape(nil), spec.Input...)
			if f.size > 0 {
				in[1], in[2] = f.size, f.size
			}
			g, err := nn.Lower(b, in)
			if err != nil {
				return err
			}
			p := nn.InitParams(g, f.seed)
			switch initKind {
			case "xavier":
				train.XavierInit(g, p, f.seed)
			case "d2l":
				train.D2LInit(g, p, f.seed)
			case "zoo":
			default:
				return fmt.Errorf("--init %q: want xavier, d2l or zoo", initKind)
			}
			tr, te, err := f.loadData(spec, in)
			if err != nil {
				return err
			}
			return runTraining(cmd, f, spec, b, g, p, tr, te, nil)
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "zoo model name")
	cmd.Flags().StringVar(&initKind, "init", "xavier", "initialisation: xavier (Xavier-uniform weights, zero biases), d2l (the book's: Xavier-uniform weights, PyTorch's default biases) or zoo (nn.InitParams)")
	f.register(cmd, 0.1)
	return cmd
}

// sameClasses reports class lists that differ (names or order: a label
// is an index into them), naming what differs.
func sameClasses(aName string, a []string, bName string, b []string) error {
	if slices.Equal(a, b) {
		return nil
	}
	var onlyA, onlyB []string
	for _, c := range a {
		if !slices.Contains(b, c) {
			onlyA = append(onlyA, c)
		}
	}
	for _, c := range b {
		if !slices.Contains(a, c) {
			onlyB = append(onlyB, c)
		}
	}
	msg := fmt.Sprintf("%s classes %v differ from %s classes %v", aName, a, bName, b)
	if len(onlyA) > 0 {
		msg += fmt.Sprintf("; only in %s: %v", aName, onlyA)
	}
	if len(onlyB) > 0 {
		msg += fmt.Sprintf("; only in %s: %v", bName, onlyB)
	}
	if len(onlyA) == 0 && len(onlyB) == 0 {
		msg += " (same names, another order)"
	}
	return fmt.Errorf("%w: %s", errClasses, msg)
}

// errClasses reports class lists that differ between a model and data.
var errClasses = errors.New("classes differ")

// runTraining runs train.Run with the flags and exports the result. The
// run always ends with a checkpoint: in --checkpoint, or else in a new
// temporary directory named in the log, so that an export that fails
// loses no training.
func runTraining(cmd *cobra.Command, f trainFlags, spec registry.Entry, b nn.Block, g *nn.Graph, p nn.Params,
	tr, te *data.Set, trainable func(nn.ParamSpec) bool) error {
	opt, err := f.optim()
	if err != nil {
		return err
	}
	if f.schedule != "const" && f.schedule != "cosine" {
		return fmt.Errorf("--schedule %q: want const or cosine", f.schedule)
	}
	auxWeight, err := f.auxLossWeight(spec)
	if err != nil {
		return err
	}
	if err := f.checkOutputs(); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	ckDir, ckEvery := f.checkpoint, f.ckEvery
	if ckDir == "" {
		if ckDir, err = os.MkdirTemp("", "inception-train-"); err != nil {
			return fmt.Errorf("train: final checkpoint: %w", err)
		}
		ckEvery = 0
		fmt.Fprintf(w, "checkpoint (after every epoch and at the end): %s\n", ckDir)
	}
	steps := int64(tr.Len()/max(f.batch, 1)) * int64(f.epochs)
	fmt.Fprintf(w, "training %s at %v: %d samples, batch %d, %d epochs (%d steps), %s lr %g (%s)\n",
		spec.Name, g.InputShape(), tr.Len(), f.batch, f.epochs, steps, f.optimizer, f.lr, f.schedule)
	start := time.Now()
	res, err := train.Run(train.Config{
		Model: spec.Name, Graph: g, Params: p, Train: tr, Test: te,
		Epochs: f.epochs, Batch: f.batch, Optimizer: opt,
		Schedule: train.Schedule{Base: f.lr, Kind: f.schedule, Total: steps},
		Seed:     f.seed, Trainable: trainable, DropoutAsIdentity: f.dropoutIdentity, AuxWeight: auxWeight,
		CheckpointDir: ckDir, CheckpointEvery: ckEvery,
		Log: w, LogEvery: f.logEvery, MaxSteps: f.maxSteps, Context: cmd.Context(),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d steps in %s\n", res.Steps, time.Since(start).Round(time.Second))
	if all, steady := res.ImagesPerSec(); res.Ran > 1 {
		fmt.Fprintf(w, "throughput: %.1f img/s after the first step (%d steps of %d images in %.1f s; %.1f img/s with the first, which allocates the step's memory)\n",
			steady, res.Ran-1, res.Batch, (res.StepTime - res.FirstStep).Seconds(), all)
	}
	if res.Stopped {
		fmt.Fprintf(w, "stopped after --max-steps %d; resume with --checkpoint %s\n", f.maxSteps, ckDir)
		if f.out != "" {
			fmt.Fprintf(w, "not exported: the run is not finished\n")
		}
		return nil
	}
	if f.out == "" {
		return nil
	}
	spec.Input = g.InputShape()
	spec.Classes = g.OutputShape()[0]
	if spec.Preprocess.Resize > 0 {
		spec.Preprocess.Resize, spec.Preprocess.Crop = g.InputShape()[1], g.InputShape()[1]
	}
	m, err := zoo.New(spec, b, g, p)
	if err == nil {
		err = writeONNX(m, f.out, f.float16, tr.Classes)
	}
	if err != nil {
		return fmt.Errorf("export %s: %w; the trained weights are in %s (rerun the same command with --checkpoint %s to export them without training again)",
			f.out, err, filepath.Join(ckDir, "checkpoint.gob"), ckDir)
	}
	fmt.Fprintf(w, "wrote %s\n", f.out)
	return nil
}

// writeONNX exports m to path (atomically, internal/atomicfile), with
// float16 weight storage if half (train.Float16Initializers) and the
// class names, if known, in the metadata.
func writeONNX(m *zoo.Model, path string, half bool, classes []string) error {
	var buf bytes.Buffer
	meta := map[string]string{zoo.MetaTrained: "inception train (gorgonia back end)"}
	if classes != nil {
		b, err := json.Marshal(classes)
		if err != nil {
			return err
		}
		meta[zoo.MetaClassNames] = string(b)
	}
	if err := m.ExportONNX(&buf, convert.ExportOptions{Metadata: meta}); err != nil {
		return err
	}
	b := buf.Bytes()
	if half {
		var err error
		if b, err = train.Float16Initializers(b); err != nil {
			return err
		}
	}
	return atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
