package beamzoo

import (
	"context"
	"fmt"
	"image"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/tensor"
)

// Failure is one element of a dead-letter output: an input the pipeline
// could not use, with the reason. Transforms emit a Failure instead of
// dropping an image, and count it in the "errors" counter.
type Failure struct {
	Image string `json:"image"`
	Error string `json:"error"`
}

// MatchImages is the PCollection<fileio.ReadableFile> of the files that
// match glob, in any file system Beam has registered (a local path,
// gs://bucket/dir/*.jpg with the gcs package imported, memfs://… in tests).
// A glob that matches nothing fails the pipeline. The matches are
// reshuffled before they are read, so that a distributed runner spreads
// the files over its workers instead of fusing the whole read into the
// worker that listed them.
//
// Every matching file is passed on: one that is not an image reaches the
// dead-letter output of the transform that decodes it.
func MatchImages(s beam.Scope, glob string) beam.PCollection {
	s = s.Scope("beamzoo.MatchImages")
	files := fileio.MatchFiles(s, glob, fileio.MatchEmptyDisallow())
	files = beam.Reshuffle(s, files)
	return fileio.ReadMatches(s, files, fileio.ReadUncompressed(), fileio.ReadDirectorySkip())
}

// readImage opens, decodes and preprocesses one file into dst (the model's
// per-image input, len C·H·W). Every failure is about this file and goes
// to the dead-letter output.
func readImage(ctx context.Context, f fileio.ReadableFile, pre preprocessFn, dst []float32) error {
	if f.Metadata.Size > preprocess.MaxBytes {
		return fmt.Errorf("%w: %d bytes, limit %d (preprocess.MaxBytes)", preprocess.ErrTooLarge, f.Metadata.Size, preprocess.MaxBytes)
	}
	r, err := f.Open(ctx)
	if err != nil {
		return err
	}
	img, err := decode(r)
	if cerr := r.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	x, err := pre(img)
	if err != nil {
		return err
	}
	if len(x.Data) != len(dst) {
		// The preset and the model's input disagree: not the image's fault,
		// but Setup checks this, so it cannot happen for a loaded model.
		return fmt.Errorf("beamzoo: preprocessing gave %v values, the model takes %d", x.Shape, len(dst))
	}
	copy(dst, x.Data)
	return nil
}

// preprocessFn turns a decoded image into the model's input tensor.
type preprocessFn func(image.Image) (*tensor.Tensor, error)

// decode is preprocess.Decode: bounded by preprocess.MaxBytes and
// MaxPixels, EXIF orientation applied.
func decode(r io.Reader) (image.Image, error) { return preprocess.Decode(r) }
