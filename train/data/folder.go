package data

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/spec"
)

// ImageFolder loads dir/CLASS/*: the sub-folders, sorted by name, are the
// classes, and their regular files with an image extension
// (preprocess.Extensions: JPEG, PNG, GIF, WebP, BMP), sorted by name, are
// the samples. Each image is decoded, preprocessed with pre (package
// preprocess: resize, crop, channels, normalisation) and dropped before
// the next is read, so memory holds one decoded image and the
// preprocessed tensors. An image that cannot be read or preprocessed is an
// error naming it (wrapping ErrFormat).
func ImageFolder(dir string, pre spec.Preprocess) (*Set, error) {
	if err := pre.Validate(); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var classes []string
	for _, e := range ents {
		if e.IsDir() {
			classes = append(classes, e.Name())
		}
	}
	sort.Strings(classes)
	if len(classes) < 2 {
		return nil, fmt.Errorf("%w: %s: want one sub-folder per class, at least two; found %d", ErrLayout, dir, len(classes))
	}
	shape := pre.Shape()
	var x []float32
	var labels []int
	for ci, c := range classes {
		files, err := os.ReadDir(filepath.Join(dir, c))
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		for _, f := range files {
			if !f.Type().IsRegular() || !preprocess.IsImage(f.Name()) {
				continue // directories, FIFOs, devices, other files
			}
			rel := filepath.Join(c, f.Name())
			img, err := preprocess.Open(filepath.Join(dir, rel))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrFormat, rel, err)
			}
			t, err := preprocess.Tensor(img, pre)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrFormat, rel, err)
			}
			x = append(x, t.Data...)
			labels = append(labels, ci)
		}
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: %s: no images (%v)", ErrLayout, dir, preprocess.Extensions())
	}
	return NewFloats(shape, x, labels, classes)
}
