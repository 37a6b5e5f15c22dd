package data

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/spec"
)

// imageExts are the file extensions ImageFolder reads.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".bmp": true, ".webp": true}

// ImageFolder loads dir/CLASS/*.{png,jpg,…}: the sub-folders, sorted by
// name, are the classes; every image is decoded and preprocessed with
// pre (package preprocess: resize, crop, channels, normalisation).
func ImageFolder(dir string, pre spec.Preprocess) (*Set, error) {
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
		return nil, fmt.Errorf("%w: %s: want at least two class folders, found %d", ErrNotFound, dir, len(classes))
	}
	shape := pre.Shape()
	var x []float32
	var labels []int
	for ci, c := range classes {
		files, err := os.ReadDir(filepath.Join(dir, c))
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		var imgs []image.Image
		for _, f := range files {
			if f.IsDir() || !imageExts[strings.ToLower(filepath.Ext(f.Name()))] {
				continue
			}
			img, err := preprocess.Open(filepath.Join(dir, c, f.Name()))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrFormat, filepath.Join(c, f.Name()), err)
			}
			imgs = append(imgs, img)
		}
		if len(imgs) == 0 {
			continue
		}
		t, err := preprocess.Batch(imgs, pre)
		if err != nil {
			return nil, fmt.Errorf("data: class %s: %w", c, err)
		}
		x = append(x, t.Data...)
		for range imgs {
			labels = append(labels, ci)
		}
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: %s: no images", ErrNotFound, dir)
	}
	return NewFloats(shape, x, labels, classes)
}
