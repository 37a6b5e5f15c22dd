package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// defaultClassifyModel is the model `inception classify IMAGE...` uses
// without --model. Without arguments, classify runs the shipped
// Fashion-MNIST model instead (see classifyShipped).
const defaultClassifyModel = "inception-v1"

// classifyChunk is how many preprocessed images classify collects before
// running them through the network (zoo.Model.PredictSamples batches
// them); images are decoded and preprocessed one at a time, so only one
// decoded image is in memory at once.
const classifyChunk = 8

type classifyFlags struct {
	model, weights, file, cache     string
	pretrained, asJSON, allowSeeded bool
	transform                       bool
	top                             int
}

// classifyCmd is `inception classify [--model NAME] [--weights FILE |
// --pretrained] [--top K] [--json] IMAGE|DIR|GLOB...`.
func classifyCmd(e env) *cobra.Command {
	var f classifyFlags
	cmd := &cobra.Command{
		Use:   "classify [--model NAME] [--weights FILE | --pretrained] [--top K] [--json] [IMAGE|DIR|GLOB...]",
		Short: "Classify images: the top-K classes with labels per image",
		Long: `Classify images: the top-K classes with labels per image.

Without arguments, classify runs the model this project trained and ships
inside the binary, ` + shippedRef + ` (the D2L GoogLeNet trained on
Fashion-MNIST as the book trains it, at 96x96), offline on ten bundled Fashion-MNIST test images (named
LABEL-class.png), and prints its top-1 (or --top K) answer, the true label and
the number correct. --weights FILE runs another inception-v1-d2l weight file
on the same images instead.

With arguments, classify images with a zoo model (default ` + defaultClassifyModel + `; a weight
tag may be named as MODEL.TAG, see 'inception info MODEL'): each image is
preprocessed as the weights expect and the K most probable classes are printed
with their labels and probabilities.

Weights: --weights FILE (ONNX, PyTorch checkpoint or safetensors), or
--pretrained to download the tag's published file into the cache (see
'inception fetch'); without either, a copy already in the cache is used, and
classify refuses to run on seeded weights: a registry name without weights,
or a file recording that it holds the seeded initialisation (an 'inception
export' of an untrained model), is an error unless --allow-seeded is given.

Arguments are image files (JPEG, PNG, GIF, WebP, BMP), directories (their
image files, not recursive) or glob patterns (quote them); several images run
as a batch with a progress bar on stderr. An image that cannot be read,
preprocessed or classified (a NaN or infinite output) is reported in its
place and the others are still classified; the command then exits with
status 1 and the number of failures.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return e.classifyShipped(cmd, f)
			}
			return e.classify(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", defaultClassifyModel, "zoo model name (see 'inception list')")
	fl.StringVar(&f.weights, "weights", "", "take the weights from this file (ONNX, PyTorch checkpoint, safetensors)")
	fl.BoolVar(&f.pretrained, "pretrained", false, "download the tag's pretrained weights if they are not in the cache")
	fl.StringVar(&f.file, "file", "", "pretrained weight tag (default: the model's default tag; see 'inception info MODEL')")
	fl.StringVar(&f.cache, "cache", "", "weight cache directory (default: "+defaultCacheHelp()+")")
	fl.IntVar(&f.top, "top", 5, "classes to print per image")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON")
	fl.BoolVar(&f.allowSeeded, "allow-seeded", false, "run even on seeded (untrained) weights, whose answers are meaningless")
	fl.BoolVar(&f.transform, "transform-input", false, "torchvision's transform_input, for a bare torchvision file given with --weights (a torchvision tag sets it itself)")
	return cmd
}

// classifyResult is one image's answer in the JSON output.
type classifyResult struct {
	File  string           `json:"file"`
	Top   []jsonPrediction `json:"top,omitempty"`
	Error string           `json:"error,omitempty"`
}

type jsonPrediction struct {
	Index int     `json:"index"`
	Label string  `json:"label,omitempty"`
	Score float32 `json:"score"`
}

func (e env) classify(cmd *cobra.Command, f classifyFlags, args []string) error {
	if f.top < 1 {
		return usageErrorf("classify: --top %d: want 1 or more", f.top)
	}
	paths, batch, err := listImages("classify", args, isImage)
	if err != nil {
		return err
	}
	var extra []zoo.Option
	if f.transform {
		extra = append(extra, zoo.WithTransformInput())
	}
	m, err := e.loadForImages(cmd, "classify", f.model, f.weights, f.file, f.cache, f.pretrained, f.allowSeeded, extra...)
	if err != nil {
		return err
	}
	if f.top > m.Classes() {
		return usageErrorf("classify: --top %d: want 1 to %d", f.top, m.Classes())
	}
	source := weightsLabel(m)
	stderr := cmd.ErrOrStderr()

	w := cmd.OutOrStdout()
	var bar *progress
	if batch {
		bar = newProgress(stderr, "classify", len(paths))
	}
	results := make([]classifyResult, 0, len(paths))
	failed := 0
	fail := func(i int, err error) {
		results[i].Error = err.Error()
		failed++
	}
	for start := 0; start < len(paths); start += classifyChunk {
		chunk := paths[start:min(start+classifyChunk, len(paths))]
		var samples []*tensor.Tensor
		var ok []int // indices into results of the preprocessed images
		for _, p := range chunk {
			results = append(results, classifyResult{File: p})
			x, err := imageSample(m, p)
			if err != nil {
				if !batch {
					return fmt.Errorf("classify: %w", err)
				}
				fail(len(results)-1, err)
				continue
			}
			samples = append(samples, x)
			ok = append(ok, len(results)-1)
		}
		if len(samples) > 0 {
			res, err := m.PredictSamples(samples, f.top)
			if err != nil {
				return fmt.Errorf("classify: %w", err)
			}
			for i, r := range ok {
				if res[i].Err != nil {
					err := fmt.Errorf("%s: %w", results[r].File, res[i].Err)
					if !batch {
						return fmt.Errorf("classify: %w", err)
					}
					fail(r, err)
					continue
				}
				for _, p := range res[i].Top {
					results[r].Top = append(results[r].Top, jsonPrediction{p.Index, p.Label, p.Score})
				}
			}
		}
		if !f.asJSON {
			bar.clear()
			if start == 0 {
				fmt.Fprintf(w, "%s, weights %s\n", m.Name(), source)
			}
			for _, r := range results[start:] {
				printResult(w, r)
			}
		}
		bar.add(len(chunk))
	}
	bar.finish()
	if f.asJSON {
		if err := writeJSON(w, struct {
			Model   string           `json:"model"`
			Weights string           `json:"weights"`
			Images  []classifyResult `json:"images"`
		}{m.Name(), source, results}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("classify: %d of %d images could not be classified (see their errors above)", failed, len(paths))
	}
	return nil
}

// imageSample decodes the image file at p, preprocesses it for m and drops
// the decoded image, returning the small input tensor.
func imageSample(m *zoo.Model, p string) (*tensor.Tensor, error) {
	img, err := preprocess.Open(p)
	if err != nil {
		return nil, err
	}
	x, err := m.ImageTensor(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return x, nil
}

// weightsLabel says where m's weights came from, for the output header.
func weightsLabel(m *zoo.Model) string {
	switch {
	case m.Source() == "":
		return "seeded (not trained: the answers are meaningless)"
	case m.Seeded():
		return m.Source() + " (seeded, not trained: the answers are meaningless)"
	}
	return m.Source()
}

func printResult(w io.Writer, r classifyResult) {
	if r.Error != "" {
		fmt.Fprintf(w, "%s: error: %s\n", r.File, r.Error)
		return
	}
	fmt.Fprintf(w, "%s:\n", r.File)
	for i, p := range r.Top {
		label := p.Label
		if label == "" {
			label = fmt.Sprintf("class %d", p.Index)
		}
		fmt.Fprintf(w, "  %2d. %.3f  %s (%d)\n", i+1, p.Score, label, p.Index)
	}
}

// loadForImages loads the model a command runs on real images: with
// weights from --weights FILE, or the tag's file (--pretrained downloads it;
// otherwise a verified copy must already be in the cache). Seeded weights
// are refused (zoo.Model.RequireTrained: a registry name without weights,
// or a file recording seeded weights) unless allowSeeded, in which case a
// name without weights in the cache loads seeded weights. extra options
// are passed to zoo.Load.
func (e env) loadForImages(cmd *cobra.Command, verb, ref, file, tag, cache string, pretrained, allowSeeded bool, extra ...zoo.Option) (*zoo.Model, error) {
	if file != "" && pretrained {
		return nil, usageErrorf("%s: --weights and --pretrained exclude each other", verb)
	}
	if file != "" && tag != "" {
		return nil, usageErrorf("%s: --file picks a pretrained weight tag; it does not apply to --weights %s", verb, file)
	}
	entry, t, err := e.reg.Resolve(ref)
	if err != nil {
		return nil, err
	}
	opts := []zoo.Option{zoo.WithRegistry(e.reg)}
	switch {
	case file != "":
		opts = append(opts, zoo.WithWeights(file))
	case pretrained:
		opts = append(opts, zoo.Pretrained(e.pretrainedOpts(cache, tag, cmd.ErrOrStderr())...))
	default:
		if len(entry.Tags) == 0 {
			if allowSeeded {
				break
			}
			return nil, fmt.Errorf("%s: %s has no published weights: pass --weights FILE (ONNX, PyTorch checkpoint or safetensors), or --allow-seeded to run on seeded weights", verb, entry.Name)
		}
		if t == nil {
			if t, err = entry.Tag(tag); err != nil {
				return nil, err
			}
		}
		p, ok := zoo.CachedWeights(entry, t, e.pretrainedOpts(cache, "", cmd.ErrOrStderr())...)
		if !ok {
			if allowSeeded {
				ref = entry.Name // the seeded architecture, not the tag's file
				break
			}
			size := "size not published"
			if t.File.Size > 0 {
				size = fmt.Sprintf("%.1f MiB", float64(t.File.Size)/(1<<20))
			}
			return nil, fmt.Errorf("%s: %s: no pretrained weights in the cache (%s): pass --pretrained to download %s (%s), or --weights FILE", verb, entry.Ref(t), p, t.File.Name, size)
		}
		// The file is in the cache: Pretrained loads it without a download.
		opts = append(opts, zoo.Pretrained(e.pretrainedOpts(cache, tag, nil)...))
	}
	m, err := zoo.LoadContext(cmd.Context(), ref, append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	if err := m.RequireTrained(); err != nil {
		if !allowSeeded {
			return nil, fmt.Errorf("%s: %w; pass --allow-seeded to run anyway", verb, err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %v (running anyway: --allow-seeded)\n", verb, err)
	}
	return m, nil
}
