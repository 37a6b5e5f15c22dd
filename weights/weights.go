// Package weights downloads, caches and verifies pretrained weight files
// (the nn.WeightFile entries of the registry).
//
// A Cache keeps one file per nn.WeightFile in its directory, named after
// the entry (Path). Fetch returns a file only once its size and SHA-256
// match the entry; the verification is remembered in a small sidecar
// (<file>.sha256, keyed by size and modification time) so later calls do
// not hash the file again. A download goes to <file>.part, resumes with an
// HTTP Range request when a partial file is there, is refused when the
// server sends more than the declared size, and is renamed into place only
// after its digest matches, so a partial or mismatching file is never
// returned. When the file cannot be downloaded (offline, server error) the
// error wraps ErrUnavailable and says where to place a copy obtained by
// other means.
//
// The registry lists the ONNX Model Zoo files (inception-v1, inception-v2).
// Weights of the torchvision and timm models (inception-v1-tv,
// inception-v3, inception-v4, inception-resnet-v2) are not downloaded as
// published .pth files; export them to ONNX with the repository's
// scripts/torch_export.py (it runs torchvision/timm in Python and writes an
// ONNX file whose initializers carry the PyTorch state_dict keys), then
// load the result with zoo.WithWeights(path).
//
// A Cache is safe for concurrent use by goroutines fetching different
// files; two processes fetching the same file at the same time may both
// download it, but neither ever sees a partial final file.
package weights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/inceptionzoo/inception/nn"
)

// Errors returned by Fetch, wrapped with details.
var (
	// ErrChecksum reports a downloaded file whose SHA-256 differs from the
	// declared one; the message carries both digests.
	ErrChecksum = errors.New("weights: checksum mismatch")
	// ErrSize reports a server sending more bytes than the declared size.
	ErrSize = errors.New("weights: size mismatch")
	// ErrUnavailable reports a file that could not be downloaded; the
	// message says which file to place where.
	ErrUnavailable = errors.New("weights: file unavailable")
	// ErrInvalid reports an unusable nn.WeightFile (no digest, bad name).
	ErrInvalid = errors.New("weights: invalid weight file entry")
)

// attempts is how many times Fetch tries a download, resuming after a
// connection that ended early.
const attempts = 3

// Cache is a directory of verified weight files.
type Cache struct {
	Dir      string       // where files are kept; see DefaultDir
	Client   *http.Client // nil means http.DefaultClient
	Progress io.Writer    // download progress goes here; nil means none
}

// DefaultDir returns the default cache directory: $INCEPTION_CACHE if set,
// else $XDG_CACHE_HOME/inceptionzoo/weights if XDG_CACHE_HOME is set, else
// inceptionzoo/weights under os.UserCacheDir().
func DefaultDir() (string, error) {
	if d := os.Getenv("INCEPTION_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "inceptionzoo", "weights"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("weights: no cache directory (set INCEPTION_CACHE): %w", err)
	}
	return filepath.Join(d, "inceptionzoo", "weights"), nil
}

// NewCache returns a Cache in DefaultDir with http.DefaultClient, reporting
// progress to progress (which may be nil).
func NewCache(progress io.Writer) (*Cache, error) {
	d, err := DefaultDir()
	if err != nil {
		return nil, err
	}
	return &Cache{Dir: d, Progress: progress}, nil
}

// Select returns the entry of ws called name, or ws[0] when name is empty.
func Select(ws []nn.WeightFile, name string) (nn.WeightFile, error) {
	if len(ws) == 0 {
		return nn.WeightFile{}, fmt.Errorf("%w: the model lists no weight files", ErrInvalid)
	}
	if name == "" {
		return ws[0], nil
	}
	var names []string
	for _, w := range ws {
		if w.Name == name {
			return w, nil
		}
		names = append(names, w.Name)
	}
	return nn.WeightFile{}, fmt.Errorf("%w: no weight file %q (have %s)", ErrInvalid, name, strings.Join(names, ", "))
}

var (
	safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	hexSHA   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// fileName is the base name of f in the cache: its Name, with ".Format"
// appended unless already there; characters other than letters, digits,
// '.', '_' and '-' become '_'.
func fileName(f nn.WeightFile) string {
	n := f.Name
	if f.Format != "" && !strings.HasSuffix(n, "."+f.Format) {
		n += "." + f.Format
	}
	b := []byte(n)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '.' {
		b = append([]byte("_"), b...)
	}
	return string(b)
}

// Path returns where f is (or will be) kept in the cache.
func (c *Cache) Path(f nn.WeightFile) string { return filepath.Join(c.Dir, fileName(f)) }

func validate(f nn.WeightFile) error {
	switch {
	case !safeName.MatchString(f.Name):
		return fmt.Errorf("%w: name %q", ErrInvalid, f.Name)
	case !hexSHA.MatchString(f.SHA256):
		return fmt.Errorf("%w: %s has no lower-case hex SHA-256 (%q)", ErrInvalid, f.Name, f.SHA256)
	case f.Size <= 0:
		return fmt.Errorf("%w: %s has size %d", ErrInvalid, f.Name, f.Size)
	}
	u, err := url.Parse(f.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: %s has URL %q", ErrInvalid, f.Name, f.URL)
	}
	return nil
}

// Cached returns the path of f if a verified copy is in the cache. A file
// of the right size is hashed (once; the result is kept in the sidecar).
func (c *Cache) Cached(f nn.WeightFile) (string, bool) {
	if validate(f) != nil {
		return "", false
	}
	p := c.Path(f)
	ok, _ := c.verified(f, p)
	return p, ok
}

// Fetch returns the path of a verified copy of f, downloading it first if
// the cache has none. See the package documentation for the guarantees.
func (c *Cache) Fetch(ctx context.Context, f nn.WeightFile) (string, error) {
	if err := validate(f); err != nil {
		return "", err
	}
	p := c.Path(f)
	ok, err := c.verified(f, p)
	if ok {
		return p, nil
	}
	if err != nil {
		// The file there is not f: never return it. It is removed so the
		// download can take its place.
		c.logf("%s: %v; downloading again\n", p, err)
		if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return "", fmt.Errorf("weights: removing mismatching %s: %w", p, rerr)
		}
		_ = os.Remove(p + ".sha256")
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", c.unavailable(f, p, fmt.Errorf("creating cache directory: %w", err))
	}
	if err := c.download(ctx, f, p); err != nil {
		return "", err
	}
	return p, nil
}

// verified reports whether p holds f. A nil error with false means there
// is no file; an error means a file is there but is not f.
func (c *Cache) verified(f nn.WeightFile, p string) (bool, error) {
	st, err := os.Stat(p)
	if err != nil {
		return false, nil
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("%w: %s is not a regular file", ErrChecksum, p)
	}
	if st.Size() != f.Size {
		return false, fmt.Errorf("%w: %s has %d bytes, want %d", ErrSize, p, st.Size(), f.Size)
	}
	key := sidecar(f.SHA256, st)
	if b, err := os.ReadFile(p + ".sha256"); err == nil && string(b) == key {
		return true, nil
	}
	sum, err := hashFile(p)
	if err != nil {
		return false, err
	}
	if sum != f.SHA256 {
		return false, fmt.Errorf("%w: %s has sha256 %s, want %s", ErrChecksum, p, sum, f.SHA256)
	}
	_ = os.WriteFile(p+".sha256", []byte(key), 0o644) // only a cache of the check
	return true, nil
}

// sidecar is the content of the .sha256 file: the digest, and the size and
// modification time it was computed for.
func sidecar(sum string, st os.FileInfo) string {
	return fmt.Sprintf("%s %d %d\n", sum, st.Size(), st.ModTime().UnixNano())
}

func hashFile(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("weights: %w", err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("weights: hashing %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unavailable wraps err in ErrUnavailable with instructions for a manual
// download.
func (c *Cache) unavailable(f nn.WeightFile, p string, err error) error {
	return fmt.Errorf("%w: %s: %w\n"+
		"download it by other means and place it at\n  %s\n"+
		"URL:    %s\nsha256: %s\nsize:   %d bytes",
		ErrUnavailable, f.Name, err, p, f.URL, f.SHA256, f.Size)
}

func (c *Cache) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format, args...)
	}
}

func (c *Cache) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return http.DefaultClient
}

// download fetches f into p+".part", resuming and retrying, verifies it and
// renames it to p.
func (c *Cache) download(ctx context.Context, f nn.WeightFile, p string) error {
	part := p + ".part"
	var last error
	for try := 0; try < attempts; try++ {
		if err := ctx.Err(); err != nil {
			return c.unavailable(f, p, err)
		}
		done, err := c.fetchOnce(ctx, f, part)
		if err != nil {
			var ue unavailableError
			if errors.As(err, &ue) {
				last = ue.err
				if ue.retry && ctx.Err() == nil {
					continue
				}
				return c.unavailable(f, p, last)
			}
			return err
		}
		if done {
			break
		}
	}
	st, err := os.Stat(part)
	if err != nil || st.Size() != f.Size {
		if last == nil {
			last = errors.New("incomplete download")
		}
		return c.unavailable(f, p, fmt.Errorf("%w (run again to resume from %s)", last, part))
	}
	sum, err := hashFile(part)
	if err != nil {
		return err
	}
	if sum != f.SHA256 {
		_ = os.Remove(part)
		return fmt.Errorf("%w: %s from %s: got sha256 %s, want %s (partial file deleted)", ErrChecksum, f.Name, f.URL, sum, f.SHA256)
	}
	if err := os.Rename(part, p); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	if st, err := os.Stat(p); err == nil {
		_ = os.WriteFile(p+".sha256", []byte(sidecar(sum, st)), 0o644)
	}
	return nil
}

// unavailableError marks a download failure that ErrUnavailable describes;
// retry says another attempt may resume it.
type unavailableError struct {
	err   error
	retry bool
}

func (e unavailableError) Error() string { return e.err.Error() }

// fetchOnce makes one request, appending to part (or rewriting it when the
// server ignores the range). It reports whether part now holds f.Size
// bytes.
func (c *Cache) fetchOnce(ctx context.Context, f nn.WeightFile, part string) (bool, error) {
	var off int64
	if st, err := os.Stat(part); err == nil && st.Mode().IsRegular() {
		off = st.Size()
	}
	if off > f.Size {
		off = 0 // not a prefix of f
	}
	if off == f.Size {
		return true, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return false, unavailableError{err: err}
	}
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return false, unavailableError{err: err, retry: ctx.Err() == nil && !isPermanent(err)}
	}
	defer resp.Body.Close()

	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != off {
			// Not the range asked for: start over without one.
			_ = os.Remove(part)
			return false, unavailableError{err: fmt.Errorf("server sent range %q for bytes=%d-", resp.Header.Get("Content-Range"), off), retry: true}
		}
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK:
		off = 0 // whole body: the partial file is replaced
		flags |= os.O_TRUNC
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
		_ = os.Remove(part)
		return false, unavailableError{err: fmt.Errorf("server refused range bytes=%d-", off), retry: true}
	default:
		return false, unavailableError{err: fmt.Errorf("GET %s: %s", f.URL, resp.Status), retry: resp.StatusCode >= 500}
	}
	remaining := f.Size - off
	if resp.ContentLength > remaining {
		_ = os.Remove(part)
		return false, fmt.Errorf("%w: %s: server announces %d bytes from offset %d, the file has %d", ErrSize, f.Name, resp.ContentLength, off, f.Size)
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return false, fmt.Errorf("weights: %w", err)
	}
	pr := newProgress(c.Progress, f.Name, off, f.Size)
	n, cerr := io.Copy(io.MultiWriter(out, pr), io.LimitReader(resp.Body, remaining+1))
	pr.finish()
	if err := out.Sync(); err != nil && cerr == nil {
		cerr = err
	}
	if err := out.Close(); err != nil && cerr == nil {
		cerr = err
	}
	if n > remaining {
		_ = os.Remove(part)
		return false, fmt.Errorf("%w: %s: server sent more than the declared %d bytes (partial file deleted)", ErrSize, f.Name, f.Size)
	}
	if cerr != nil {
		return false, unavailableError{err: fmt.Errorf("after %d of %d bytes: %w", off+n, f.Size, cerr), retry: ctx.Err() == nil}
	}
	if n < remaining {
		return false, unavailableError{err: fmt.Errorf("connection closed after %d of %d bytes", off+n, f.Size), retry: true}
	}
	return true, nil
}

// isPermanent reports errors a retry cannot fix: an unknown host, a refused
// connection, an unreachable network (the message then tells the user what
// to do).
func isPermanent(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH)
}

// contentRangeStart parses the first byte of "bytes start-end/total".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v >= 0
}

// progress writes a one-line progress bar: bytes, percentage and rate.
type progress struct {
	w          io.Writer
	name       string
	done, size int64
	start      int64 // bytes present before this request
	began      time.Time
	last       time.Time
}

func newProgress(w io.Writer, name string, done, size int64) *progress {
	now := time.Now()
	return &progress{w: w, name: name, done: done, size: size, start: done, began: now}
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.w != nil && time.Since(p.last) >= 200*time.Millisecond {
		p.last = time.Now()
		p.print()
	}
	return len(b), nil
}

func (p *progress) print() {
	const mib = 1 << 20
	rate := 0.0
	if s := time.Since(p.began).Seconds(); s > 0 {
		rate = float64(p.done-p.start) / s / mib
	}
	const width = 30
	fill := int(width * p.done / max(p.size, 1))
	fill = min(max(fill, 0), width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %.1f/%.1f MiB %3d%% %.1f MiB/s", p.name,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		float64(p.done)/mib, float64(p.size)/mib, 100*p.done/max(p.size, 1), rate)
}

func (p *progress) finish() {
	if p.w != nil {
		p.print()
		fmt.Fprintln(p.w)
	}
}
