package main

import (
	"fmt"
	"image"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/assets"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/zoo"
)

// shippedRef is the weight tag of the model the command ships (embedded
// from package assets) and classifies the bundled images with.
const shippedRef = "inception-v1-d2l.fmnist96"

// shippedResult is one bundled image's answer.
type shippedResult struct {
	File      string           `json:"file"`
	Label     int              `json:"label"` // from the file name; -1 if it has none
	LabelName string           `json:"label_name,omitempty"`
	Top       []jsonPrediction `json:"top"`
	Correct   bool             `json:"correct"` // top-1 is the label
	InTopK    bool             `json:"in_top_k"`
}

// imageLabel returns the class index encoded in a bundled image's name,
// LABEL-class.png, or -1.
func imageLabel(name string, classes int) int {
	stem, _, ok := strings.Cut(path.Base(name), "-")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(stem)
	if err != nil || n < 0 || n >= classes {
		return -1
	}
	return n
}

// classifyShipped is `inception classify` without arguments: the shipped
// Fashion-MNIST model (or --weights, a one-channel model of the same
// architecture) on the bundled images, offline. Both are embedded in the
// binary, so it works from any directory.
func (e env) classifyShipped(cmd *cobra.Command, f classifyFlags) error {
	for _, name := range []string{"model", "pretrained", "file"} {
		if cmd.Flags().Changed(name) {
			return usageErrorf("classify: --%s needs IMAGE, DIR or GLOB arguments; without arguments classify runs the shipped model %s on its bundled images", name, shippedRef)
		}
	}
	ref, opts := shippedRef, []zoo.Option{zoo.WithRegistry(e.reg)}
	if f.weights != "" {
		ref = "inception-v1-d2l"
		opts = append(opts, zoo.WithWeights(f.weights))
	} else {
		popts := append(e.pretrainedOpts(f.cache, "", nil), zoo.PretrainedSources(assets.FS))
		opts = append(opts, zoo.Pretrained(popts...))
	}
	m, err := zoo.LoadContext(cmd.Context(), ref, opts...)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	if err := m.RequireTrained(); err != nil {
		if !f.allowSeeded {
			return fmt.Errorf("classify: %w; pass --allow-seeded to run anyway", err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "classify: warning: %v (running anyway: --allow-seeded)\n", err)
	}
	names := m.Labels()
	if names == nil {
		return fmt.Errorf("classify: %s has %d classes without Fashion-MNIST labels", m.Name(), m.Classes())
	}
	if f.top < 1 || f.top > len(names) {
		return usageErrorf("classify: --top %d: want 1 to %d", f.top, len(names))
	}
	top := f.top
	if !cmd.Flags().Changed("top") {
		top = 1
	}
	files, err := fs.Glob(assets.FS, assets.Images+"/*.png")
	if err != nil || len(files) == 0 {
		return fmt.Errorf("classify: no bundled images in the binary (%v)", err)
	}
	sort.Strings(files)
	imgs := make([]image.Image, len(files))
	for i, name := range files {
		fh, err := assets.FS.Open(name)
		if err != nil {
			return fmt.Errorf("classify: %w", err)
		}
		imgs[i], err = preprocess.Decode(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("classify: %s: %w", name, err)
		}
	}
	preds, err := m.PredictImages(imgs, top)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	results := make([]shippedResult, len(files))
	correct, inTop, labelled := 0, 0, 0
	for i, ps := range preds {
		r := shippedResult{File: files[i], Label: imageLabel(files[i], len(names))}
		for _, p := range ps {
			r.Top = append(r.Top, jsonPrediction{p.Index, p.Label, p.Score})
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
	weights := weightsLabel(m)
	if f.weights == "" {
		weights = assets.D2LModel + " (shipped in the binary)"
	}
	in := m.Input()
	out := cmd.OutOrStdout()
	if f.asJSON {
		return writeJSON(out, struct {
			Model    string          `json:"model"`
			Weights  string          `json:"weights"`
			Input    []int           `json:"input"`
			Top      int             `json:"top"`
			Images   []shippedResult `json:"images"`
			Labelled int             `json:"labelled"`
			Correct  int             `json:"correct"`
			InTopK   int             `json:"in_top_k"`
		}{m.Name(), weights, in, top, results, labelled, correct, inTop})
	}
	fmt.Fprintf(out, "%s (Fashion-MNIST, input %dx%dx%d), weights %s\n", m.Name(), in[0], in[1], in[2], weights)
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
