package beamzoo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/inceptionzoo/inception/npy"
)

// ShardPath is the name of shard i of n of an .npy output path: path
// itself when n is 1, else path with "-IIIII-of-NNNNN" before ".npy"
// (emb.npy → emb-00002-of-00004.npy).
func ShardPath(path string, i, n int) string {
	if n == 1 {
		return path
	}
	return fmt.Sprintf("%s-%05d-of-%05d.npy", strings.TrimSuffix(path, ".npy"), i, n)
}

// ImagesPath is the name of the text file listing the images of an .npy
// shard, one per line, line i naming row i: emb.npy → emb.images.txt.
func ImagesPath(npyPath string) string {
	return strings.TrimSuffix(npyPath, ".npy") + ".images.txt"
}

// WriteNPYShards writes a PCollection<Embedding> as shards of .npy files:
// the vectors of shard i (images assigned by a hash of their path) as a
// float32 [rows, D] array in ShardPath(path, i, shards), numpy.save's
// format, and the images of its rows in ImagesPath of that file. Each shard
// is streamed to disk by one worker, never held in memory. A shard that
// receives no image is not written. Local paths are written atomically;
// other paths (gs://…) through the Beam file system, from a temporary local
// file (an .npy header holds the row count, which is known at the end).
func WriteNPYShards(s beam.Scope, path string, shards int, embeddings beam.PCollection) error {
	if shards < 1 || shards > MaxShards {
		return fmt.Errorf("%w: %d .npy shards: want 1 to %d", ErrConfig, shards, MaxShards)
	}
	if !strings.HasSuffix(path, ".npy") {
		return fmt.Errorf("%w: .npy output %s does not end in .npy", ErrConfig, path)
	}
	s = s.Scope("beamzoo.WriteNPYShards")
	keyed := beam.ParDo(s, &keyShardFn{Shards: shards}, embeddings)
	beam.ParDo0(s, &writeShardFn{Path: path, Shards: shards}, beam.GroupByKey(s, keyed))
	return nil
}

// keyShardFn keys each embedding by its shard.
type keyShardFn struct {
	Shards int `json:"shards"`
}

func (fn *keyShardFn) ProcessElement(e Embedding) (int, Embedding) {
	k, _ := (&shardFn{Shards: fn.Shards}).ProcessElement(e)
	return k, e
}

type writeShardFn struct {
	Path   string `json:"path"`
	Shards int    `json:"shards"`
}

func (fn *writeShardFn) ProcessElement(ctx context.Context, shard int, values func(*Embedding) bool) (err error) {
	path := ShardPath(fn.Path, shard, fn.Shards)
	names, err := createOutput(ctx, ImagesPath(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			names.abort()
		}
	}()
	nw := bufio.NewWriter(names)

	var rows rowSink
	defer func() {
		if err != nil && rows != nil {
			rows.abort()
		}
	}()
	var e Embedding
	dim := -1
	for values(&e) {
		if rows == nil {
			dim = len(e.Vector)
			if rows, err = newRowSink(ctx, path, dim); err != nil {
				return err
			}
		}
		if len(e.Vector) != dim {
			return fmt.Errorf("%w: %s: image %s has a %d-long vector, earlier ones %d", ErrConfig, path, e.Image, len(e.Vector), dim)
		}
		if err := rows.write(e.Vector); err != nil {
			return fmt.Errorf("beamzoo: %s: image %s: %w", path, e.Image, err)
		}
		if strings.ContainsAny(e.Image, "\n\r") {
			return fmt.Errorf("beamzoo: %s: image path %q has a line break", path, e.Image)
		}
		if _, err := fmt.Fprintln(nw, e.Image); err != nil {
			return fmt.Errorf("beamzoo: output %s: %w", ImagesPath(path), err)
		}
	}
	if rows == nil {
		names.abort()
		return nil
	}
	if err := rows.commit(); err != nil {
		return err
	}
	if err := nw.Flush(); err != nil {
		return fmt.Errorf("beamzoo: output %s: %w", ImagesPath(path), err)
	}
	return names.commit()
}

// rowSink is an .npy file being written row by row.
type rowSink interface {
	write(row []float32) error
	commit() error
	abort()
}

func newRowSink(ctx context.Context, path string, dim int) (rowSink, error) {
	if !hasScheme(path) {
		f, err := npy.CreateRowFile[float32](path, dim)
		if err != nil {
			return nil, fmt.Errorf("beamzoo: output %s: %w", path, err)
		}
		return &localRows{f: f, path: path}, nil
	}
	tmp, err := os.CreateTemp("", "beamzoo-shard-*.npy")
	if err != nil {
		return nil, fmt.Errorf("beamzoo: output %s: %w", path, err)
	}
	rw, err := npy.NewGrowingRowWriter[float32](tmp, dim)
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("beamzoo: output %s: %w", path, err)
	}
	return &remoteRows{ctx: ctx, tmp: tmp, rw: rw, path: path}, nil
}

type localRows struct {
	f    *npy.RowFile[float32]
	path string
}

func (l *localRows) write(row []float32) error { return l.f.Write(row) }
func (l *localRows) abort()                    { l.f.Abort() }
func (l *localRows) commit() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("beamzoo: output %s: %w", l.path, err)
	}
	return nil
}

// remoteRows writes to a temporary local file and copies it to a Beam file
// system at commit.
type remoteRows struct {
	ctx  context.Context
	tmp  *os.File
	rw   *npy.RowWriter[float32]
	path string
}

func (r *remoteRows) write(row []float32) error { return r.rw.Write(row) }

func (r *remoteRows) abort() {
	r.tmp.Close()
	os.Remove(r.tmp.Name())
}

func (r *remoteRows) commit() (err error) {
	defer r.abort()
	if err := r.rw.Close(); err != nil {
		return fmt.Errorf("beamzoo: output %s: %w", r.path, err)
	}
	if _, err := r.tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("beamzoo: output %s: %w", r.path, err)
	}
	out, err := createOutput(r.ctx, r.path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r.tmp); err != nil {
		out.abort()
		return fmt.Errorf("beamzoo: output %s: %w", r.path, err)
	}
	return out.commit()
}

func init() {
	register.DoFn1x2[Embedding, int, Embedding](&keyShardFn{})
	register.DoFn3x1[context.Context, int, func(*Embedding) bool, error](&writeShardFn{})
	register.Iter1[Embedding]()
}
