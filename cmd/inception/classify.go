package main

import (
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/weights"
	"github.com/inceptionzoo/inception/zoo"
)

// defaultClassifyModel is the model `inception classify IMAGE...` uses
// without --model. Without arguments, classify runs the shipped
// Fashion-MNIST model instead (see classifyShipped).
const defaultClassifyModel = "inception-v1"

// classifyChunk is how many images classify decodes and runs at once.
const classifyChunk = 8

// imageExts are the extensions classify picks from a directory or a glob.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true}

type classifyFlags struct {
	model, weights, file, cache string
	pretrained, asJSON          bool
	top                         int
}

// classifyCmd is `inception classify [--model NAME] [--weights FILE |
// --pretrained] [--top K] [--json] IMAGE|DIR|GLOB...`.
func classifyCmd(e env) *cobra.Command {
	var f classifyFlags
	cmd := &cobra.Command{
		Use:   "classify [--model NAME] [--weights FILE | --pretrained] [--top K] [--json] [IMAGE|DIR|GLOB...]",
		Short: "Classify images: the top-K classes with labels per image",
		Long: `Without arguments, classify runs the model shipped in the repository,
` + shippedModel + ` (inception-v1-d2l trained on Fashion-MNIST at 28x28),
offline on the bundled test images ` + shippedImages + `/*.png (named
LABEL-class.png) and prints its top-1 (or --top K) answer, the true label and
the number correct. It finds assets/ by walking up from the working directory
to the checkout's go.mod; --weights FILE.onnx runs another one-channel square
model on the same images instead.

With arguments, classify images with a zoo model (default ` + defaultClassifyModel + `): each image is
preprocessed as the model's weights expect and the K most probable classes are
printed with their labels and probabilities.

Weights: --weights FILE.onnx, or --pretrained to download the model's
published file into the cache (see 'inception fetch'); without either, a copy
already in the cache is used, and classify refuses to run on seeded weights.

Arguments are image files (JPEG, PNG, GIF, WebP), directories (their image
files, not recursive) or glob patterns (quote them); several images run as a
batch with a progress bar on stderr.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return classifyShipped(cmd, f)
			}
			return e.classify(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", defaultClassifyModel, "zoo model name (see 'inception list')")
	fl.StringVar(&f.weights, "weights", "", "take the weights from this ONNX file")
	fl.BoolVar(&f.pretrained, "pretrained", false, "download the model's pretrained weights if they are not in the cache")
	fl.StringVar(&f.file, "file", "", "pretrained weight file name (default: the model's preferred file)")
	fl.StringVar(&f.cache, "cache", "", "weight cache directory (default: "+defaultCacheHelp()+")")
	fl.IntVar(&f.top, "top", 5, "classes to print per image")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON")
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
	if f.weights != "" && f.pretrained {
		return fmt.Errorf("classify: --weights and --pretrained exclude each other")
	}
	spec, err := e.reg.Lookup(f.model)
	if err != nil {
		return err
	}
	if f.top < 1 || f.top > spec.Classes {
		return fmt.Errorf("classify: --top %d: want 1 to %d", f.top, spec.Classes)
	}
	paths, batch, err := expandImages(args)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	opts := []zoo.Option{zoo.WithRegistry(e.reg)}
	source := f.weights
	switch {
	case f.weights != "":
		opts = append(opts, zoo.WithWeights(f.weights))
	case f.pretrained:
		if source, err = zoo.FetchWeights(spec, e.pretrainedOpts(f.cache, f.file, stderr)...); err != nil {
			return err
		}
		opts = append(opts, zoo.WithWeights(source))
	default:
		if source, err = cachedWeights(spec, f.file, f.cache); err != nil {
			return err
		}
		opts = append(opts, zoo.WithWeights(source))
	}
	m, err := zoo.Load(spec.Name, opts...)
	if err != nil {
		return err
	}

	w := cmd.OutOrStdout()
	var bar *countBar
	if batch {
		bar = &countBar{w: stderr, total: len(paths)}
	}
	results := make([]classifyResult, 0, len(paths))
	failed := 0
	for start := 0; start < len(paths); start += classifyChunk {
		chunk := paths[start:min(start+classifyChunk, len(paths))]
		var imgs []image.Image
		var ok []int // indices into results of the decoded images
		for _, p := range chunk {
			results = append(results, classifyResult{File: p})
			img, err := preprocess.Open(p)
			if err != nil {
				if !batch {
					return fmt.Errorf("classify: %w", err)
				}
				results[len(results)-1].Error = err.Error()
				failed++
				continue
			}
			imgs = append(imgs, img)
			ok = append(ok, len(results)-1)
		}
		if len(imgs) > 0 {
			preds, err := m.PredictImages(imgs, f.top)
			if err != nil {
				return fmt.Errorf("classify: %w", err)
			}
			for i, r := range ok {
				for _, p := range preds[i] {
					results[r].Top = append(results[r].Top, jsonPrediction{p.Index, p.Label, p.Score})
				}
			}
		}
		if !f.asJSON {
			bar.clear()
			if start == 0 {
				fmt.Fprintf(w, "%s, weights %s\n", m.Spec.Name, source)
			}
			for _, r := range results[start:] {
				printResult(w, r)
			}
		}
		bar.set(len(results))
	}
	bar.finish()
	if f.asJSON {
		if err := writeJSON(w, struct {
			Model   string           `json:"model"`
			Weights string           `json:"weights"`
			Images  []classifyResult `json:"images"`
		}{m.Spec.Name, source, results}); err != nil {
			return err
		}
	}
	if failed > 0 {
		for _, r := range results {
			if r.Error != "" && !f.asJSON {
				fmt.Fprintln(stderr, r.Error)
			}
		}
		return fmt.Errorf("classify: %d of %d images could not be read", failed, len(paths))
	}
	return nil
}

func printResult(w io.Writer, r classifyResult) {
	if r.Error != "" {
		fmt.Fprintf(w, "%s: error (see below)\n", r.File)
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

// cachedWeights returns the cached verified copy of spec's pretrained file,
// without touching the network, or an error saying how to get one.
func cachedWeights(spec registry.Entry, file, dir string) (string, error) {
	if len(spec.Weights) == 0 {
		_, err := zoo.FetchWeights(spec) // ErrNoWeights, saying how to export a file for --weights
		return "", err
	}
	wf, err := weights.Select(spec.Weights, file)
	if err != nil {
		return "", fmt.Errorf("classify: %s: %w", spec.Name, err)
	}
	if dir == "" {
		if dir, err = weights.DefaultDir(); err != nil {
			return "", err
		}
	}
	c := &weights.Cache{Dir: dir}
	p, ok := c.Cached(wf)
	if !ok {
		return "", fmt.Errorf("classify: %s: no pretrained weights in the cache (%s): pass --pretrained to download %s (%.1f MiB), or --weights FILE.onnx",
			spec.Name, p, wf.Name, float64(wf.Size)/(1<<20))
	}
	return p, nil
}

// expandImages turns the arguments into image paths: files as given,
// directories as their image files (sorted, not recursive), glob patterns
// as their matching image files. batch reports whether the arguments name
// more than one image or any directory or pattern.
func expandImages(args []string) (paths []string, batch bool, err error) {
	for _, a := range args {
		st, err := os.Stat(a)
		switch {
		case err == nil && st.IsDir():
			batch = true
			ents, err := os.ReadDir(a)
			if err != nil {
				return nil, false, fmt.Errorf("classify: %w", err)
			}
			n := len(paths)
			for _, e := range ents {
				if e.Type().IsRegular() && isImage(e.Name()) {
					paths = append(paths, filepath.Join(a, e.Name()))
				}
			}
			if len(paths) == n {
				return nil, false, fmt.Errorf("classify: directory %s has no image files (%s)", a, extList())
			}
		case err == nil:
			paths = append(paths, a)
		case strings.ContainsAny(a, "*?["):
			batch = true
			matches, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, false, fmt.Errorf("classify: pattern %q: %w", a, gerr)
			}
			n := len(paths)
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() && isImage(m) {
					paths = append(paths, m)
				}
			}
			if len(paths) == n {
				return nil, false, fmt.Errorf("classify: no image files (%s) match %q", extList(), a)
			}
		default:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, false, fmt.Errorf("classify: image %s: %w", a, err)
		}
	}
	return paths, batch || len(paths) > 1, nil
}

func isImage(name string) bool { return imageExts[strings.ToLower(filepath.Ext(name))] }

func extList() string {
	var s []string
	for e := range imageExts {
		s = append(s, e)
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// countBar is a one-line progress bar of images done; a nil *countBar
// draws nothing.
type countBar struct {
	w           io.Writer
	done, total int
	width       int // of the line drawn last
}

// clear blanks the bar's line so that output to a shared terminal starts
// at column 0.
func (b *countBar) clear() {
	if b != nil && b.width > 0 {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.width))
		b.width = 0
	}
}

func (b *countBar) set(done int) {
	if b == nil {
		return
	}
	b.done = done
	const width = 30
	fill := width * done / max(b.total, 1)
	line := fmt.Sprintf("classify [%s%s] %d/%d images", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, b.total)
	fmt.Fprintf(b.w, "\r%s", line)
	b.width = len(line)
}

func (b *countBar) finish() {
	if b != nil {
		fmt.Fprintln(b.w)
	}
}

// The shipped model and sample images, relative to the module root.
const (
	shippedModel  = "assets/inception-v1-d2l-fmnist28.onnx"
	shippedImages = "assets/fashion-mnist"
	// modulePath identifies a checkout of this repository by its go.mod.
	modulePath = "github.com/inceptionzoo/inception"
)

// Errors of the offline default (classify without arguments).
var (
	errNoCheckout   = errors.New("not inside a checkout of " + modulePath)
	errShippedModel = errors.New("shipped model missing")
)

// shippedResult is one bundled image's answer.
type shippedResult struct {
	File      string           `json:"file"`
	Label     int              `json:"label"` // from the file name; -1 if it has none
	LabelName string           `json:"label_name,omitempty"`
	Top       []jsonPrediction `json:"top"`
	Correct   bool             `json:"correct"` // top-1 is the label
	InTopK    bool             `json:"in_top_k"`
}

// moduleRoot returns the nearest directory at or above dir whose go.mod
// declares modulePath.
func moduleRoot(dir string) (string, error) {
	for d := dir; ; {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && goModModule(b) == modulePath {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w: no go.mod declaring module %s in %s or above", errNoCheckout, modulePath, dir)
		}
		d = parent
	}
}

// goModModule returns the module path a go.mod file declares, or "".
func goModModule(b []byte) string {
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], "\"`")
		}
	}
	return ""
}

// imageLabel returns the class index encoded in a bundled image's name,
// LABEL-class.png, or -1.
func imageLabel(path string, classes int) int {
	stem, _, ok := strings.Cut(filepath.Base(path), "-")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(stem)
	if err != nil || n < 0 || n >= classes {
		return -1
	}
	return n
}

// displayPath returns p relative to the working directory when that is
// shorter to read (inside the working directory or near it), else p.
func displayPath(wd, p string) string {
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "../../../") {
		return r
	}
	return p
}

// classifyShipped is `inception classify` without arguments: the shipped
// Fashion-MNIST model (or --weights) on the bundled images, offline.
func classifyShipped(cmd *cobra.Command, f classifyFlags) error {
	for _, name := range []string{"model", "pretrained", "file", "cache"} {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("classify: --%s needs IMAGE, DIR or GLOB arguments; without arguments classify runs the shipped model %s on %s", name, shippedModel, shippedImages)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	root, err := moduleRoot(wd)
	if err != nil {
		return fmt.Errorf("classify: without arguments classify runs the shipped model %s on %s/*.png, and %w; pass IMAGE arguments (with --weights or --pretrained), or run it from a checkout", shippedModel, shippedImages, err)
	}
	name, modelPath, shown := filepath.Base(f.weights), f.weights, f.weights
	if modelPath == "" {
		name = "inception-v1-d2l"
		modelPath = filepath.Join(root, filepath.FromSlash(shippedModel))
		shown = displayPath(wd, modelPath)
		if _, err := os.Stat(modelPath); err != nil {
			return fmt.Errorf("classify: %w: %s: train it with `make train-d2l` (scripts/train-d2l.sh, about an hour), or pass --weights FILE.onnx", errShippedModel, modelPath)
		}
	}
	paths, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(shippedImages), "*.png"))
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	if len(paths) == 0 {
		return fmt.Errorf("classify: no bundled images %s/*.png in %s", shippedImages, root)
	}
	sort.Strings(paths)

	m, err := onnx.Load(modelPath, onnx.LoadOptions{})
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	gi, gout := m.Graph().Inputs, m.Graph().Outputs
	if len(gi) != 1 || len(gout) != 1 || len(gi[0].Shape) != 4 {
		return fmt.Errorf("classify: %s: want one [N,1,H,W] input and one output", modelPath)
	}
	c, h, w := gi[0].Shape[1].Value, gi[0].Shape[2].Value, gi[0].Shape[3].Value
	if c != 1 || h <= 0 || h != w || h > preprocess.MaxCrop {
		return fmt.Errorf("classify: %s: input [N,%d,%d,%d]: want [N,1,S,S] (a grayscale Fashion-MNIST model)", modelPath, c, h, w)
	}
	names := labels.FashionMNIST()
	if f.top < 1 || f.top > len(names) {
		return fmt.Errorf("classify: --top %d: want 1 to %d", f.top, len(names))
	}
	top := f.top
	if !cmd.Flags().Changed("top") {
		top = 1
	}
	// The trainer feeds Fashion-MNIST bytes as pixel/255, unnormalised
	// (train/data); 8-bit grayscale PNGs give the same values here (R=G=B,
	// luma weights summing to 1; resizing to the native size is skipped).
	pre := nn.Preprocess{Resize: int(h), Crop: int(h), Interpolation: "bilinear", Range: 1, Grayscale: true, Mean: []float32{0}, Std: []float32{1}}
	var imgs []image.Image
	for _, p := range paths {
		img, err := preprocess.Open(p)
		if err != nil {
			return fmt.Errorf("classify: %w", err)
		}
		imgs = append(imgs, img)
	}
	x, err := preprocess.Batch(imgs, pre)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	outs, err := m.Run(map[string]*tensor.Tensor{gi[0].Name: x})
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	y := outs[gout[0].Name]
	if y == nil || len(y.Shape) != 2 || y.Shape[0] != len(paths) || y.Shape[1] != len(names) {
		return fmt.Errorf("classify: %s: output is not [%d, %d] logits", modelPath, len(paths), len(names))
	}
	results := make([]shippedResult, len(paths))
	correct, inTop, labelled := 0, 0, 0
	for i, preds := range zoo.TopK(y, top, true) {
		r := shippedResult{File: displayPath(wd, paths[i]), Label: imageLabel(paths[i], len(names))}
		for _, p := range preds {
			r.Top = append(r.Top, jsonPrediction{p.Index, names[p.Index], p.Score})
		}
		if r.Label >= 0 {
			labelled++
			r.LabelName = names[r.Label]
			r.Correct = r.Top[0].Index == r.Label
			for _, p := range r.Top {
				r.InTopK = r.InTopK || p.Index == r.Label
			}
			if r.Correct {
				correct++
			}
			if r.InTopK {
				inTop++
			}
		}
		results[i] = r
	}

	out := cmd.OutOrStdout()
	if f.asJSON {
		return writeJSON(out, struct {
			Model    string          `json:"model"`
			Weights  string          `json:"weights"`
			Input    []int64         `json:"input"`
			Top      int             `json:"top"`
			Images   []shippedResult `json:"images"`
			Labelled int             `json:"labelled"`
			Correct  int             `json:"correct"`
			InTopK   int             `json:"in_top_k"`
		}{name, shown, []int64{c, h, w}, top, results, labelled, correct, inTop})
	}
	fmt.Fprintf(out, "%s (Fashion-MNIST, input %dx%dx%d), weights %s\n", name, c, h, w, shown)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tTRUE\tPREDICTED\tRESULT")
	for _, r := range results {
		var pred []string
		for _, p := range r.Top {
			pred = append(pred, fmt.Sprintf("%s %.3f", p.Label, p.Score))
		}
		truth, verdict := "?", ""
		if r.Label >= 0 {
			truth, verdict = r.LabelName, "wrong"
			switch {
			case r.Correct:
				verdict = "ok"
			case r.InTopK:
				verdict = fmt.Sprintf("wrong (true label in the top %d)", top)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.File, truth, strings.Join(pred, ", "), verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d of %d correct (top-1)", correct, labelled)
	if top > 1 {
		fmt.Fprintf(out, ", %d of %d in the top %d", inTop, labelled, top)
	}
	fmt.Fprintln(out)
	return nil
}
