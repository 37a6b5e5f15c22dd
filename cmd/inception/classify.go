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
	"strings"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/weights"
	"github.com/inceptionzoo/inception/zoo"
)

// defaultClassifyModel is the model `inception classify` uses without
// --model. (When the trained D2L model ships with its weights it becomes
// the offline default here.)
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
		Use:   "classify [--model NAME] [--weights FILE | --pretrained] [--top K] [--json] IMAGE|DIR|GLOB...",
		Short: "Classify images: the top-K classes with labels per image",
		Long: `Classify images with a zoo model (default ` + defaultClassifyModel + `): each image is
preprocessed as the model's weights expect and the K most probable classes are
printed with their labels and probabilities.

Weights: --weights FILE.onnx, or --pretrained to download the model's
published file into the cache (see 'inception fetch'); without either, a copy
already in the cache is used, and classify refuses to run on seeded weights.

Arguments are image files (JPEG, PNG, GIF, WebP), directories (their image
files, not recursive) or glob patterns (quote them); several images run as a
batch with a progress bar on stderr.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("classify needs at least one IMAGE, DIR or GLOB argument")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return e.classify(cmd, f, args) },
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
