package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

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
