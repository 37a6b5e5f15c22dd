package beamzoo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/inceptionzoo/inception/internal/atomicfile"
)

// output is a file being written: a local file through internal/atomicfile
// (nothing appears at the path until Commit), or an object in a Beam file
// system (gs://…), which object stores publish whole when the writer is
// closed; abort cancels the upload instead.
type output struct {
	io.Writer
	commit func() error
	abort  func()
}

func createOutput(ctx context.Context, path string) (*output, error) {
	if !hasScheme(path) {
		f, err := atomicfile.Create(path, 0o644)
		if err != nil {
			return nil, fmt.Errorf("beamzoo: output %s: %w", path, err)
		}
		return &output{Writer: f, commit: f.Commit, abort: f.Abort}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	fsys, err := filesystem.New(ctx, path)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("beamzoo: output %s: %w", path, err)
	}
	w, err := fsys.OpenWrite(ctx, path)
	if err != nil {
		cancel()
		fsys.Close()
		return nil, fmt.Errorf("beamzoo: output %s: %w", path, err)
	}
	done := false
	return &output{
		Writer: w,
		commit: func() error {
			done = true
			err := w.Close()
			fsys.Close()
			cancel()
			if err != nil {
				return fmt.Errorf("beamzoo: output %s: %w", path, err)
			}
			return nil
		},
		abort: func() {
			if !done {
				done = true
				cancel()
				w.Close()
				fsys.Close()
			}
		},
	}, nil
}

// WriteLines writes the strings of lines (a PCollection<string>), one per
// line, to a single file at path: a local path (written atomically through a
// temporary file in the same directory) or a path in a Beam file system
// (gs://bucket/out.jsonl). The file is written by one worker, which streams
// the lines from the runner; it is written even when lines is empty. The
// order of the lines is the order the runner delivers them in, which is not
// specified.
func WriteLines(s beam.Scope, path string, lines beam.PCollection) {
	s = s.Scope("beamzoo.WriteLines")
	beam.ParDo0(s, &writeLinesFn{Path: path}, beam.Impulse(s), beam.SideInput{Input: lines})
}

// WriteJSONLines writes each element of col as one line of JSON (see
// WriteLines). col holds Classified, Embedding or Failure elements.
func WriteJSONLines(s beam.Scope, path string, col beam.PCollection) {
	s = s.Scope("beamzoo.WriteJSONLines")
	WriteLines(s, path, beam.ParDo(s, toJSON, col))
}

// toJSON marshals one element. Its input is a universal type so that one
// function serves every element type.
func toJSON(v beam.T) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("beamzoo: %T as JSON: %w", v, err)
	}
	return string(b), nil
}

type writeLinesFn struct {
	Path string `json:"path"`
}

func (fn *writeLinesFn) ProcessElement(ctx context.Context, _ []byte, lines func(*string) bool) (err error) {
	out, err := createOutput(ctx, fn.Path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.abort()
		}
	}()
	w := bufio.NewWriterSize(out, 1<<20)
	var line string
	for lines(&line) {
		if _, err := w.WriteString(line); err != nil {
			return fmt.Errorf("beamzoo: output %s: %w", fn.Path, err)
		}
		if err := w.WriteByte('\n'); err != nil {
			return fmt.Errorf("beamzoo: output %s: %w", fn.Path, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("beamzoo: output %s: %w", fn.Path, err)
	}
	return out.commit()
}

func init() {
	register.Function1x2(toJSON)
	register.DoFn3x1[context.Context, []byte, func(*string) bool, error](&writeLinesFn{})
	register.Iter1[string]()
}
