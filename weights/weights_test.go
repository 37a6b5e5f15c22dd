package weights

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

// payload is the test file: 300 KiB of seeded bytes.
var payload = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 300<<10)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// server serves payload with handler h and records the requests' Range
// headers.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string
}

func newServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		n := len(s.ranges)
		s.mu.Unlock()
		h(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

// serveContent answers like a static file server (Range supported).
func serveContent(w http.ResponseWriter, r *http.Request, _ int) {
	http.ServeContent(w, r, "w.onnx", time.Time{}, bytes.NewReader(payload))
}

func entry(url string) File {
	return File{Name: "test-weights.onnx", URL: url + "/w.onnx", SHA256: digest(payload), Size: int64(len(payload))}
}

func newCache(t *testing.T, s *server) (*Cache, *bytes.Buffer) {
	var log bytes.Buffer
	c := &Cache{Dir: filepath.Join(t.TempDir(), "cache"), Progress: &log}
	if s != nil {
		c.Client = s.Client()
	}
	return c, &log
}

// requireOnly checks that the cache directory holds exactly the verified
// file and its sidecar, or nothing.
func requireOnly(t *testing.T, c *Cache, f File, present bool) {
	t.Helper()
	ents, _ := os.ReadDir(c.Dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string(nil)
	if present {
		base := filepath.Base(c.Path(f))
		want = []string{base, base + ".sha256"}
		got, err := os.ReadFile(c.Path(f))
		require.NoError(t, err)
		require.True(t, bytes.Equal(got, payload), "cached file differs from the payload")
	}
	require.Equal(t, want, names)
}

func TestFetchSuccess(t *testing.T) {
	s := newServer(t, serveContent)
	c, log := newCache(t, s)
	f := entry(s.URL)
	p, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(c.Dir, "test-weights.onnx"), p)
	requireOnly(t, c, f, true)
	require.Contains(t, log.String(), "100%")
	require.Contains(t, log.String(), "MiB/s")

	// Second call: served from the cache, no request.
	p2, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	require.Equal(t, p, p2)
	require.Len(t, s.requests(), 1)
	got, ok := c.Cached(f)
	require.True(t, ok)
	require.Equal(t, p, got)
}

// TestFetchResumeTruncated: the first response ends half-way; Fetch
// retries with a Range request and completes the file.
func TestFetchResumeTruncated(t *testing.T) {
	half := len(payload) / 2
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Content-Length", itoa(len(payload)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(payload[:half])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection
		}
		serveContent(w, r, n)
	})
	c, _ := newCache(t, s)
	f := entry(s.URL)
	_, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	requireOnly(t, c, f, true)
	require.Equal(t, []string{"", "bytes=" + itoa(half) + "-"}, s.requests())
}

// TestFetchResumePart: a .part left by an earlier run is resumed.
func TestFetchResumePart(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	require.NoError(t, os.MkdirAll(c.Dir, 0o755))
	require.NoError(t, os.WriteFile(c.Path(f)+".part", payload[:1000], 0o644))
	_, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	requireOnly(t, c, f, true)
	require.Equal(t, []string{"bytes=1000-"}, s.requests())
}

// TestFetchRangeUnsupported: the server answers a Range request with the
// whole file (200); the partial file, here garbage, is replaced.
func TestFetchRangeUnsupported(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Length", itoa(len(payload)))
		_, _ = w.Write(payload)
	})
	c, _ := newCache(t, s)
	f := entry(s.URL)
	require.NoError(t, os.MkdirAll(c.Dir, 0o755))
	require.NoError(t, os.WriteFile(c.Path(f)+".part", bytes.Repeat([]byte{0xee}, 5000), 0o644))
	_, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	requireOnly(t, c, f, true)
	require.Equal(t, []string{"bytes=5000-"}, s.requests())
}

func TestFetchWrongChecksum(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	f.SHA256 = strings.Repeat("ab", 32)
	_, err := c.Fetch(context.Background(), f)
	require.ErrorIs(t, err, ErrChecksum)
	require.Contains(t, err.Error(), f.SHA256)
	require.Contains(t, err.Error(), digest(payload))
	requireOnly(t, c, f, false)
}

func TestFetchServerError(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	c, _ := newCache(t, s)
	f := entry(s.URL)
	_, err := c.Fetch(context.Background(), f)
	require.ErrorIs(t, err, ErrUnavailable)
	require.Contains(t, err.Error(), "500")
	require.Len(t, s.requests(), attempts)
	requireOnly(t, c, f, false)

	s404 := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) { http.NotFound(w, r) })
	f404 := entry(s404.URL)
	_, err = (&Cache{Dir: c.Dir, Client: s404.Client()}).Fetch(context.Background(), f404)
	require.ErrorIs(t, err, ErrUnavailable)
	require.Len(t, s404.requests(), 1, "a 404 is not retried")
}

func TestFetchDeadline(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Length", itoa(len(payload)))
		for i := 0; i < len(payload); i += 1024 {
			if _, err := w.Write(payload[i : i+1024]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	c, _ := newCache(t, s)
	f := entry(s.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Fetch(ctx, f)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, ErrUnavailable)
	require.Less(t, time.Since(start), 5*time.Second)
	_, statErr := os.Stat(c.Path(f))
	require.ErrorIs(t, statErr, os.ErrNotExist, "no final file after a cancelled download")
}

func TestFetchOffline(t *testing.T) {
	s := newServer(t, serveContent)
	url := s.URL
	s.Close() // nothing listens there now
	c, _ := newCache(t, nil)
	f := entry(url)
	_, err := c.Fetch(context.Background(), f)
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, syscall.ECONNREFUSED, "the cause is kept")
	msg := err.Error()
	t.Log(msg)
	require.NotContains(t, msg, "\n", "one line")
	for _, want := range []string{"connection refused", "place it at", c.Path(f), f.URL} {
		require.Contains(t, msg, want)
	}
	var ue *UnavailableError
	require.True(t, errors.As(err, &ue))
	for _, want := range []string{"place it at", c.Path(f), f.URL, f.SHA256, itoa(len(payload))} {
		require.Contains(t, ue.Details(), want)
	}
}

func TestFetchTooLarge(t *testing.T) {
	// Announced by Content-Length, and streamed without one.
	for _, announce := range []bool{true, false} {
		s := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if announce {
				w.Header().Set("Content-Length", itoa(len(payload)))
			}
			_, _ = w.Write(payload[:len(payload)/2])
			w.(http.Flusher).Flush()
			_, _ = w.Write(payload[len(payload)/2:])
		})
		c, _ := newCache(t, s)
		f := entry(s.URL)
		f.Size = int64(len(payload)) - 10
		_, err := c.Fetch(context.Background(), f)
		require.ErrorIs(t, err, ErrSize, "announce=%v", announce)
		requireOnly(t, c, f, false)
	}
}

// TestFetchReplacesMismatch: a file in the cache that is not the entry is
// never returned; it is downloaded again.
func TestFetchReplacesMismatch(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	require.NoError(t, os.MkdirAll(c.Dir, 0o755))
	bad := append([]byte{}, payload...)
	bad[7] ^= 1
	require.NoError(t, os.WriteFile(c.Path(f), bad, 0o644))
	_, ok := c.Cached(f)
	require.False(t, ok)
	_, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	requireOnly(t, c, f, true)
}

// TestSidecar: the verification is remembered for the file's identity
// (size, modification and change times, inode) and redone when any
// changes, including an edit in place whose modification time is restored.
func TestSidecar(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	p, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	st, err := os.Stat(p)
	require.NoError(t, err)
	side, err := os.ReadFile(p + ".sha256")
	require.NoError(t, err)
	key, err := statKey(p)
	require.NoError(t, err)
	require.Equal(t, f.SHA256+" "+key+"\n", string(side))
	_, ok := c.Cached(f)
	require.True(t, ok)

	// Same size, new content written in place, modification time restored:
	// only the change time tells.
	time.Sleep(20 * time.Millisecond) // a coarse clock must see a new ctime
	fh, err := os.OpenFile(p, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fh.WriteAt([]byte{payload[0] ^ 1}, 0)
	require.NoError(t, err)
	require.NoError(t, fh.Close())
	require.NoError(t, os.Chtimes(p, st.ModTime(), st.ModTime()))
	st2, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, st.ModTime(), st2.ModTime())
	require.Equal(t, st.Size(), st2.Size())
	_, ok = c.Cached(f)
	require.False(t, ok, "a file edited in place with its mtime restored is returned as verified")

	// Fetch replaces it with a verified download.
	_, err = c.Fetch(context.Background(), f)
	require.NoError(t, err)
	requireOnly(t, c, f, true)
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("INCEPTION_CACHE", "/x/cache")
	t.Setenv("XDG_CACHE_HOME", "/y")
	d, err := DefaultDir()
	require.NoError(t, err)
	require.Equal(t, "/x/cache", d)
	t.Setenv("INCEPTION_CACHE", "")
	d, err = DefaultDir()
	require.NoError(t, err)
	require.Equal(t, "/y/inceptionzoo/weights", d)
	if runtime.GOOS != "linux" {
		return // os.UserCacheDir differs
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/z")
	d, err = DefaultDir()
	require.NoError(t, err)
	require.Equal(t, "/home/z/.cache/inceptionzoo/weights", d)
}

func TestValidateAndPath(t *testing.T) {
	good := entry("https://example.com")
	tests := []struct {
		name string
		edit func(*File)
	}{
		{"no digest", func(f *File) { f.SHA256 = "" }},
		{"upper-case digest", func(f *File) { f.SHA256 = strings.ToUpper(f.SHA256) }},
		{"short prefix", func(f *File) { f.SHA256Prefix, f.SHA256 = f.SHA256[:7], "" }},
		{"digest and prefix", func(f *File) { f.SHA256Prefix = f.SHA256[:8] }},
		{"negative size", func(f *File) { f.Size = -1 }},
		{"path in name", func(f *File) { f.Name = "../evil" }},
		{"dot dot", func(f *File) { f.Name = ".." }},
		{"file URL", func(f *File) { f.URL = "file:///etc/passwd" }},
	}
	require.NoError(t, good.Validate())
	c := &Cache{Dir: t.TempDir()}
	for _, tt := range tests {
		f := good
		tt.edit(&f)
		_, err := c.Fetch(context.Background(), f)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got error %v, want ErrInvalid", tt.name, err)
		}
		if got := filepath.Dir(c.Path(f)); got != c.Dir {
			t.Errorf("%s: Path %q escapes the cache directory", tt.name, c.Path(f))
		}
	}
}

var itoa = strconv.Itoa

// TestFetchPrefixDigest: a file known only by torchvision's hash prefix
// and without a declared size is verified by the prefix; a wrong prefix is
// refused and nothing is kept.
func TestFetchPrefixDigest(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	f.SHA256Prefix, f.SHA256, f.Size = digest(payload)[:8], "", 0
	p, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	got, _ := os.ReadFile(p)
	require.Equal(t, payload, got)

	c2, _ := newCache(t, s)
	bad := f
	bad.SHA256Prefix = "00000000"
	if digest(payload)[:8] == bad.SHA256Prefix {
		bad.SHA256Prefix = "11111111"
	}
	_, err = c2.Fetch(context.Background(), bad)
	require.ErrorIs(t, err, ErrChecksum)
	requireOnly(t, c2, bad, false)
}

// TestFetchUndeclaredSizeBounded: without a declared size a download stops
// at MaxBytes.
func TestFetchUndeclaredSizeBounded(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	c.MaxBytes = int64(len(payload)) - 1
	f := entry(s.URL)
	f.Size = 0
	_, err := c.Fetch(context.Background(), f)
	require.ErrorIs(t, err, ErrSize)
}

// TestFetchFromSources: a verified copy in a read-only source is copied into
// the cache without a request; a source copy with the wrong digest is an
// error, never used.
func TestFetchFromSources(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	c.Sources = []fs.FS{fstest.MapFS{f.Name: {Data: payload}}}
	p, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	require.Empty(t, s.requests())
	requireOnly(t, c, f, true)
	require.Equal(t, c.Path(f), p)

	c2, _ := newCache(t, s)
	bad := append([]byte(nil), payload...)
	bad[0] ^= 1
	c2.Sources = []fs.FS{fstest.MapFS{f.Name: {Data: bad}}}
	_, err = c2.Fetch(context.Background(), f)
	require.ErrorIs(t, err, ErrChecksum)
	_, ok := c2.Cached(f)
	require.False(t, ok)
}
