package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// This file holds what embed, fid, kid and is share: listing images,
// running a model over them in batches with a progress bar, and counting
// the images that could not be read.

// fidExts are the file name extensions pytorch-fid takes from a folder
// (IMAGE_EXTENSIONS of pytorch-fid 0.3.0). fid, kid and is pick exactly
// these, so that a folder gives the same image set as there; a file that
// package preprocess cannot decode is an error naming it (or skipped with
// --skip-bad).
var fidExts = map[string]bool{".bmp": true, ".jpg": true, ".jpeg": true, ".pgm": true, ".png": true,
	".ppm": true, ".tif": true, ".tiff": true, ".webp": true}

func isFIDImage(name string) bool { return fidExts[strings.ToLower(filepath.Ext(name))] }

// listImages turns arguments into image paths: files as given, directories
// as their image files (sorted by name, not recursive, as accept says),
// glob patterns as their matching image files.
func listImages(verb string, args []string, accept func(string) bool) ([]string, error) {
	var paths []string
	for _, a := range args {
		st, err := os.Stat(a)
		switch {
		case err == nil && st.IsDir():
			ents, err := os.ReadDir(a)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", verb, err)
			}
			n := len(paths)
			for _, e := range ents {
				if e.Type().IsRegular() && accept(e.Name()) {
					paths = append(paths, filepath.Join(a, e.Name()))
				}
			}
			if len(paths) == n {
				return nil, fmt.Errorf("%s: directory %s has no image files", verb, a)
			}
		case err == nil:
			paths = append(paths, a)
		case strings.ContainsAny(a, "*?["):
			matches, gerr := filepath.Glob(a)
			if gerr != nil {
				return nil, fmt.Errorf("%s: pattern %q: %w", verb, a, gerr)
			}
			sort.Strings(matches)
			n := len(paths)
			for _, m := range matches {
				if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() && accept(m) {
					paths = append(paths, m)
				}
			}
			if len(paths) == n {
				return nil, fmt.Errorf("%s: no image files match %q", verb, a)
			}
		default:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("%s: %s: %w", verb, a, err)
		}
	}
	return paths, nil
}

// progress is a one-line progress bar of images done on a terminal-like
// writer; a nil *progress draws nothing.
type progress struct {
	w           io.Writer
	label       string
	done, total int
	start, last time.Time
	width       int
}

func newProgress(w io.Writer, label string, total int) *progress {
	now := time.Now()
	return &progress{w: w, label: label, total: total, start: now}
}

// add counts n more images and redraws at most 4 times a second.
func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.done += n
	if now := time.Now(); now.Sub(p.last) >= 250*time.Millisecond || p.done == p.total {
		p.last = now
		p.draw()
	}
}

func (p *progress) draw() {
	const width = 30
	fill := width * p.done / max(p.total, 1)
	rate := float64(p.done) / max(time.Since(p.start).Seconds(), 1e-9)
	line := fmt.Sprintf("%s [%s%s] %d/%d images, %.1f images/s", p.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), p.done, p.total, rate)
	pad := ""
	if len(line) < p.width {
		pad = strings.Repeat(" ", p.width-len(line))
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.width = len(line)
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p != nil && p.width > 0 {
		fmt.Fprintln(p.w)
	}
}

// badImage is an image that could not be read.
type badImage struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// extractor runs a model over image files in batches.
type extractor struct {
	m       *zoo.Model
	batch   int
	skipBad bool
	bar     *progress
	// run computes the rows of one batch (N = number of images).
	run func(x *tensor.Tensor) (rows *tensor.Tensor, extra *tensor.Tensor, err error)
}

// prepared is one decoded and preprocessed batch.
type prepared struct {
	x     *tensor.Tensor
	paths []string // of the images in x, in order
	bad   []badImage
	err   error
}

// each decodes the images in batches (the next batch is prepared while
// the model runs on the current one) and calls fn with the paths and
// rows of each batch, in order. Unreadable images stop the run with an
// error naming the file, or with skipBad are returned in bad and left
// out.
func (e *extractor) each(ctx context.Context, paths []string, fn func(paths []string, rows, extra *tensor.Tensor) error) (bad []badImage, err error) {
	pre := e.m.Preprocess()
	if got, want := pre.Shape(), e.m.Input(); !tensor.SameShape(got, want) {
		return nil, fmt.Errorf("%s: preprocessing preset gives %v, the model takes %v", e.m.Name(), got, want)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan prepared, 1)
	per := pre.Shape().Numel()
	go func() {
		defer close(batches)
		for s := 0; s < len(paths); s += e.batch {
			chunk := paths[s:min(s+e.batch, len(paths))]
			b := prepared{x: tensor.New(append([]int{len(chunk)}, pre.Shape()...)...)}
			// One decoded image at a time: it is turned into its row of the
			// batch tensor and dropped, so a folder of large images needs
			// the memory of one of them, not of a batch.
			for _, p := range chunk {
				img, err := preprocess.Open(p)
				var xi *tensor.Tensor
				if err == nil {
					if xi, err = preprocess.Tensor(img, pre); err != nil {
						err = fmt.Errorf("%s: %w", p, err)
					}
				}
				if err != nil {
					if !e.skipBad {
						b.err = fmt.Errorf("%w (pass --skip-bad to leave unreadable images out)", err)
						break
					}
					b.bad = append(b.bad, badImage{p, err.Error()})
					continue
				}
				copy(b.x.Data[len(b.paths)*per:], xi.Data)
				b.paths = append(b.paths, p)
			}
			if n := len(b.paths); n == 0 {
				b.x = nil
			} else if n < len(chunk) {
				b.x = &tensor.Tensor{Shape: append([]int{n}, pre.Shape()...), Data: b.x.Data[:n*per]}
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	for b := range batches {
		bad = append(bad, b.bad...)
		if b.err != nil {
			return bad, b.err
		}
		if err := ctx.Err(); err != nil {
			return bad, err
		}
		if b.x != nil {
			rows, extra, err := e.run(b.x)
			if err != nil {
				return bad, err
			}
			if err := fn(b.paths, rows, extra); err != nil {
				return bad, err
			}
		}
		e.bar.add(len(b.paths) + len(b.bad))
	}
	return bad, nil
}

// reportBad prints the skipped images on w.
func reportBad(w io.Writer, verb string, bad []badImage) {
	if len(bad) == 0 {
		return
	}
	fmt.Fprintf(w, "%s: skipped %d unreadable image(s):\n", verb, len(bad))
	for _, b := range bad {
		fmt.Fprintf(w, "  %s\n", b.Error)
	}
}
