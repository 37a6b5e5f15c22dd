// Package weights downloads, caches and verifies pretrained weight files.
// A File names one published file: its name in the cache, its URL, its size
// and its SHA-256 (the whole digest, or the leading hex digits a publisher
// such as torchvision puts in the file name). The model specs (package spec)
// attach a File to each pretrained tag; this package knows nothing about
// models.
//
// A Cache keeps one file per File in its directory, under File.Name (Path).
// Fetch returns a file only once its size (when declared) and digest match;
// the verification is remembered in a small sidecar (<file>.sha256, keyed
// by size and modification time) so later calls do not hash the file again.
// Before downloading, Fetch looks for the file in the Cache's read-only
// Sources (an embedded file system, a mirror directory) and copies a
// verified copy into the cache. A download goes to <file>.part, resumes with
// an HTTP Range request when a partial file is there, is refused when the
// server sends more than the declared size (or MaxBytes when the publisher
// declares none), and is renamed into place only after its digest matches,
// so a partial or mismatching file is never returned. When the file cannot
// be downloaded (offline, server error) the error wraps ErrUnavailable and
// says where to place a copy obtained by other means.
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
	"io/fs"
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
	// ErrInvalid reports an unusable File (no digest, bad name).
	ErrInvalid = errors.New("weights: invalid weight file entry")
)

// attempts is how many times Fetch tries a download, resuming after a
// connection that ended early.
const attempts = 3

// File describes one published weight file.
type File struct {
	// Name is the file's name in the cache, unique among all files
	// (letters, digits, '.', '_', '-'), e.g. "torchvision-googlenet-1378be20.pth".
	Name string
	URL  string
	// Size is the file's length in bytes; 0 when the publisher states none
	// (a download is then bounded by Cache.MaxBytes).
	Size int64
	// SHA256 is the lower-case hex digest of the whole file. When the
	// publisher gives only a prefix of it (torchvision's file names carry
	// the first 8 hex digits, which its check_hash verifies), SHA256 is
	// empty and SHA256Prefix holds those digits.
	SHA256       string
	SHA256Prefix string
}

// Digest returns the digest Fetch verifies: the full SHA-256, or the prefix
// followed by "…".
func (f File) Digest() string {
	if f.SHA256 != "" {
		return f.SHA256
	}
	return f.SHA256Prefix + "…"
}

// matches reports whether sum, a full hex SHA-256, is f's digest.
func (f File) matches(sum string) bool {
	if f.SHA256 != "" {
		return sum == f.SHA256
	}
	return f.SHA256Prefix != "" && strings.HasPrefix(sum, f.SHA256Prefix)
}

// DefaultMaxBytes bounds a download whose File declares no size.
const DefaultMaxBytes = 2 << 30

// Cache is a directory of verified weight files.
type Cache struct {
	Dir      string       // where files are kept; see DefaultDir
	Client   *http.Client // nil means http.DefaultClient
	Progress io.Writer    // download progress goes here; nil means none
	// Sources are read-only places Fetch looks for a file (by File.Name)
	// before downloading it, e.g. an embedded file system or a mirror
	// directory (os.DirFS). A copy found there is verified like a download.
	Sources []fs.FS
	// MaxBytes bounds files whose size is not declared; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
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

var (
	safeName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	hexSHA    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hexPrefix = regexp.MustCompile(`^[0-9a-f]{8,63}$`)
)

// Path returns where f is (or will be) kept in the cache.
// A name Validate refuses is still mapped inside the directory.
func (c *Cache) Path(f File) string { return filepath.Join(c.Dir, safeFileName(f.Name)) }

// safeFileName is name with characters other than letters, digits, '.',
// '_' and '-' replaced by '_', and '_' prepended to a name starting with a
// dot, so that it never leaves its directory.
func safeFileName(name string) string {
	b := []byte(name)
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

// Validate checks that f can be fetched and verified: a safe name, a URL, a
// full SHA-256 or a prefix of at least 8 hex digits, a size that is not
// negative.
func (f File) Validate() error {
	switch {
	case !safeName.MatchString(f.Name) || f.Name == "." || f.Name == "..":
		return fmt.Errorf("%w: name %q", ErrInvalid, f.Name)
	case f.SHA256 != "" && !hexSHA.MatchString(f.SHA256):
		return fmt.Errorf("%w: %s: SHA-256 %q is not 64 lower-case hex digits", ErrInvalid, f.Name, f.SHA256)
	case f.SHA256 == "" && !hexPrefix.MatchString(f.SHA256Prefix):
		return fmt.Errorf("%w: %s has no SHA-256 and no hex prefix of one (%q)", ErrInvalid, f.Name, f.SHA256Prefix)
	case f.SHA256 != "" && f.SHA256Prefix != "":
		return fmt.Errorf("%w: %s has both a SHA-256 and a prefix", ErrInvalid, f.Name)
	case f.Size < 0:
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
func (c *Cache) Cached(f File) (string, bool) {
	if f.Validate() != nil {
		return "", false
	}
	p := c.Path(f)
	ok, _ := c.verified(f, p)
	return p, ok
}

// Fetch returns the path of a verified copy of f, downloading it first if
// the cache has none. See the package documentation for the guarantees.
func (c *Cache) Fetch(ctx context.Context, f File) (string, error) {
	if err := f.Validate(); err != nil {
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
	if ok, err := c.fromSources(f, p); ok || err != nil {
		return p, err
	}
	if err := c.download(ctx, f, p); err != nil {
		return "", err
	}
	return p, nil
}

// verified reports whether p holds f. A nil error with false means there
// is no file; an error means a file is there but is not f.
func (c *Cache) verified(f File, p string) (bool, error) {
	st, err := os.Stat(p)
	if err != nil {
		return false, nil
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("%w: %s is not a regular file", ErrChecksum, p)
	}
	if f.Size > 0 && st.Size() != f.Size {
		return false, fmt.Errorf("%w: %s has %d bytes, want %d", ErrSize, p, st.Size(), f.Size)
	}
	key := sidecar(f.Digest(), st)
	if b, err := os.ReadFile(p + ".sha256"); err == nil && string(b) == key {
		return true, nil
	}
	sum, err := hashFile(p)
	if err != nil {
		return false, err
	}
	if !f.matches(sum) {
		return false, fmt.Errorf("%w: %s has sha256 %s, want %s", ErrChecksum, p, sum, f.Digest())
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
func (c *Cache) unavailable(f File, p string, err error) error {
	return fmt.Errorf("%w: %s: %w\n"+
		"download it by other means and place it at\n  %s\n"+
		"URL:    %s\nsha256: %s\nsize:   %s",
		ErrUnavailable, f.Name, err, p, f.URL, f.Digest(), sizeText(f.Size))
}

func sizeText(n int64) string {
	if n == 0 {
		return "not published"
	}
	return fmt.Sprintf("%d bytes", n)
}

// limit is the most bytes f may have.
func (c *Cache) limit(f File) int64 {
	switch {
	case f.Size > 0:
		return f.Size
	case c.MaxBytes > 0:
		return c.MaxBytes
	}
	return DefaultMaxBytes
}

// fromSources copies a verified copy of f from the first Source that has
// one into p. It reports false, nil when no Source has the file.
func (c *Cache) fromSources(f File, p string) (bool, error) {
	for _, src := range c.Sources {
		fh, err := src.Open(f.Name)
		if err != nil {
			continue
		}
		st, err := fh.Stat()
		if err != nil || !st.Mode().IsRegular() || (f.Size > 0 && st.Size() != f.Size) || st.Size() > c.limit(f) {
			fh.Close()
			continue
		}
		tmp, err := os.CreateTemp(c.Dir, "."+f.Name+".src-*")
		if err != nil {
			fh.Close()
			return false, fmt.Errorf("weights: %w", err)
		}
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(tmp, h), io.LimitReader(fh, c.limit(f)))
		fh.Close()
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil && !f.matches(hex.EncodeToString(h.Sum(nil))) {
			err = fmt.Errorf("%w: %s in a read-only source has sha256 %x, want %s", ErrChecksum, f.Name, h.Sum(nil), f.Digest())
		}
		if err == nil {
			err = os.Rename(tmp.Name(), p)
		}
		if err != nil {
			os.Remove(tmp.Name())
			return false, fmt.Errorf("weights: %w", err)
		}
		if st, err := os.Stat(p); err == nil {
			_ = os.WriteFile(p+".sha256", []byte(sidecar(f.Digest(), st)), 0o644)
		}
		return true, nil
	}
	return false, nil
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
func (c *Cache) download(ctx context.Context, f File, p string) error {
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
	if err != nil || (f.Size > 0 && st.Size() != f.Size) {
		if last == nil {
			last = errors.New("incomplete download")
		}
		return c.unavailable(f, p, fmt.Errorf("%w (run again to resume from %s)", last, part))
	}
	sum, err := hashFile(part)
	if err != nil {
		return err
	}
	if !f.matches(sum) {
		_ = os.Remove(part)
		return fmt.Errorf("%w: %s from %s: got sha256 %s, want %s (partial file deleted)", ErrChecksum, f.Name, f.URL, sum, f.Digest())
	}
	if err := os.Rename(part, p); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	if st, err := os.Stat(p); err == nil {
		_ = os.WriteFile(p+".sha256", []byte(sidecar(f.Digest(), st)), 0o644)
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
// server ignores the range). It reports whether part now holds the whole
// file: f.Size bytes, or when no size is declared, a complete response.
func (c *Cache) fetchOnce(ctx context.Context, f File, part string) (bool, error) {
	var off int64
	if st, err := os.Stat(part); err == nil && st.Mode().IsRegular() {
		off = st.Size()
	}
	limit := c.limit(f)
	if off > limit {
		off = 0 // not a prefix of f
	}
	if f.Size > 0 && off == f.Size {
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
	remaining := limit - off
	if resp.ContentLength > remaining {
		_ = os.Remove(part)
		return false, fmt.Errorf("%w: %s: server announces %d bytes from offset %d, the file has at most %d", ErrSize, f.Name, resp.ContentLength, off, limit)
	}
	total := f.Size
	if total == 0 && resp.ContentLength >= 0 {
		total = off + resp.ContentLength
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return false, fmt.Errorf("weights: %w", err)
	}
	pr := newProgress(c.Progress, f.Name, off, total)
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
		return false, fmt.Errorf("%w: %s: server sent more than %d bytes (partial file deleted)", ErrSize, f.Name, limit)
	}
	if cerr != nil {
		return false, unavailableError{err: fmt.Errorf("after %d of %s: %w", off+n, sizeText(total), cerr), retry: ctx.Err() == nil}
	}
	if (f.Size > 0 && n < remaining) || (f.Size == 0 && resp.ContentLength >= 0 && n < resp.ContentLength) {
		return false, unavailableError{err: fmt.Errorf("connection closed after %d of %s", off+n, sizeText(total)), retry: true}
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
