package statedict

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestSafetensorsHugeHeader writes a safetensors file whose JSON header
// is 100 MB (valid JSON) and checks that the default limits refuse it
// from its length alone, before reading it.
func TestSafetensorsHugeHeader(t *testing.T) {
	const size = 100_000_000
	path := filepath.Join(t.TempDir(), "huge.safetensors")
	f, err := os.Create(path)
	require.NoError(t, err)
	prefix := `{"__metadata__":{"pad":"`
	suffix := `"}}`
	hdr := bytes.Buffer{}
	hdr.WriteString(prefix)
	hdr.WriteString(strings.Repeat("x", size-len(prefix)-len(suffix)))
	hdr.WriteString(suffix)
	require.Equal(t, size, hdr.Len())
	_, err = f.Write(safetensorsFile(hdr.String(), nil))
	require.NoError(t, err)
	fi, err := f.Stat()
	require.NoError(t, err)
	c := &countingReaderAt{r: f}
	_, err = Read(c, fi.Size(), Limits{})
	require.NoError(t, f.Close())
	require.ErrorIs(t, err, ErrLimit)
	assert.ErrorContains(t, err, "safetensors header: malformed file: limit exceeded: header length 100000000 exceeds MaxHeaderBytes = 16777216")
	assert.LessOrEqual(t, c.n.Load(), int64(DetectSize+8), "bytes read before refusing")
}

// failingReaderAt fails the test when read.
type failingReaderAt struct{ t *testing.T }

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	f.t.Errorf("ReadAt(%d bytes, %d) on a file that should be refused unread", len(p), off)
	return 0, io.EOF
}

func TestMaxFileBytes(t *testing.T) {
	_, err := Read(failingReaderAt{t}, 5<<30, Limits{})
	require.ErrorIs(t, err, ErrLimit)
	assert.ErrorContains(t, err, "file of 5368709120 bytes exceeds MaxFileBytes = 4294967296")
	_, err = Read(failingReaderAt{t}, 100, Limits{MaxFileBytes: 99})
	assert.ErrorIs(t, err, ErrLimit)
	_, err = Read(failingReaderAt{t}, -1, Limits{})
	assert.ErrorIs(t, err, ErrFormat)
}

func TestLimitsDefaults(t *testing.T) {
	assert.Equal(t, DefaultLimits(), Limits{}.withDefaults())
	l := Limits{MaxTensors: 7, MaxHeaderBytes: -1}.withDefaults()
	assert.Equal(t, 7, l.MaxTensors)
	assert.Equal(t, DefaultLimits().MaxHeaderBytes, l.MaxHeaderBytes)
	d := DefaultLimits()
	// Inception-ResNet-v2: 55.8M parameters, 224 MB of float32.
	assert.Greater(t, d.MaxTotalBytes, int64(4*55_843_464))
	assert.Greater(t, d.MaxFileBytes, int64(2*224<<20), "a float64 copy")
}

func TestReadFileErrors(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "missing.pt"), Limits{})
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = ReadFile(t.TempDir(), Limits{})
	assert.ErrorContains(t, err, "is not a regular file")
}

// TestReadShortReader: a ReaderAt that returns fewer bytes than asked
// (a file that shrank) is a truncated file, not a hang.
func TestReadShortReader(t *testing.T) {
	b := seeds()["valid_zip.pt"]
	_, err := Read(bytes.NewReader(b[:len(b)/2]), int64(len(b)), Limits{})
	assert.ErrorIs(t, err, ErrFormat)
	lb := seeds()["valid_legacy.pt"]
	_, err = Read(bytes.NewReader(lb[:len(lb)-10]), int64(len(lb)), Limits{})
	assert.ErrorIs(t, err, ErrFormat)
}

func TestStripModulePrefix(t *testing.T) {
	ts := func(names ...string) []tt {
		var out []tt
		for i, n := range names {
			out = append(out, tt{name: n, class: "FloatStorage", key: string(rune('a' + i)), numel: 1, shape: []int64{1}})
		}
		return out
	}
	tests := []struct {
		names  []string
		want   []string
		prefix string
	}{
		{[]string{"module.a", "module.b.c"}, []string{"a", "b.c"}, "module."},
		{[]string{"module.a", "b"}, []string{"module.a", "b"}, ""},
		{[]string{"module.", "module.a"}, []string{"module.", "module.a"}, ""},
		{[]string{"a"}, []string{"a"}, ""},
	}
	for _, tc := range tests {
		b := torchZip(ts(tc.names...))
		sd, err := Read(bytes.NewReader(b), int64(len(b)), Limits{})
		require.NoError(t, err)
		var got []string
		for _, x := range sd.Tensors {
			got = append(got, x.Name)
			assert.Same(t, x, sd.Tensor(x.Name))
		}
		assert.Equal(t, tc.want, got)
		assert.Equal(t, tc.prefix, sd.StrippedPrefix)
	}
	var hand StateDict
	hand.Tensors = []*Tensor{{Name: "x"}}
	assert.NotNil(t, hand.Tensor("x"))
	assert.Nil(t, hand.Tensor("y"))
}

// TestReadConcurrent reads shared files from several goroutines (run
// with -race).
func TestReadConcurrent(t *testing.T) {
	files := seeds()
	done := make(chan error)
	for range 4 {
		for name, b := range files {
			go func() {
				sd, err := Read(bytes.NewReader(b), int64(len(b)), Limits{})
				if err == nil && sd.Tensor("conv.weight") == nil {
					err = io.ErrUnexpectedEOF
				}
				if err != nil {
					err = fmt.Errorf("%s: %w", name, err)
				}
				done <- err
			}()
		}
	}
	for range 4 * len(files) {
		assert.NoError(t, <-done)
	}
}
