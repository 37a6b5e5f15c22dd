// Package weights downloads, caches and verifies pretrained weight files.
// A File names one published file: its name in the cache, its URL, its size
// and how it is verified: its SHA-256 (the whole digest, or the leading hex
// digits a publisher such as torchvision puts in the file name), or, for a
// file whose digest could not be pinned when its entry was written, the
// reason why not (Unpinned). The model specs (package spec) attach a File
// to each pretrained tag; this package knows nothing about models.
//
// A Cache keeps one file per File in its directory, under File.Name (Path).
// Fetch returns a file only once its size (when declared) and digest match.
// The verification is remembered in a small record next to the file
// (<file>.sha256: the file's full SHA-256 and its size, modification time,
// change time, device and inode), so later calls do not hash the file
// again; a file edited in place is hashed again even when its modification
// time was restored, because its change time and inode cannot be restored.
// Verify hashes a cached file again regardless of the record.
//
// An Unpinned file is verified against the digest the server declares (the
// X-Linked-Etag or ETag header holding a 64-hex SHA-256, as Hugging Face
// serves its LFS files), when it declares one; the digest seen on the first
// download is recorded and every later use and download is checked against
// it (trust on first use, like ssh's known_hosts; delete the record to
// trust a new file). Each first use prints a one-line notice naming the
// digest and the reason it is not pinned.
//
// Before downloading, Fetch looks for the file in the Cache's read-only
// Sources (an embedded file system, a mirror directory) and copies a
// verified copy into the cache. A download goes to <file>.part, resumes with
// an HTTP Range request when a partial file is there, is refused when the
// server sends more than the declared size (or MaxBytes when the publisher
// declares none), and is renamed into place only after its digest matches,
// so a partial or mismatching file is never returned. A partial file left
// by an earlier run that does not complete to the right digest is
// discarded and downloaded again from the start; a fresh download that
// does not match is an error wrapping ErrChecksum.
//
// A Cache is safe for concurrent use. Downloads of one file are serialised by a lock on <file>.lock (flock)
// across goroutines and processes: a second Fetch waits (its progress says
// so), then finds the verified file. On platforms without flock, each
// download writes its own temporary file and the verified file is renamed
// into place, so concurrent downloads never mix their bytes either.
//
// Every request is bounded in time: a download that receives nothing (no
// response headers, no body bytes) for StallTimeout is abandoned and
// resumed; DefaultClient adds connect, TLS and header timeouts; ctx cancels
// everything. When the file cannot be downloaded (offline, server error,
// stalled) the error wraps ErrUnavailable and says where to place a copy
// obtained by other means.
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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/internal/regular"
)

// Errors returned by Fetch, wrapped with details.
var (
	// ErrChecksum reports a file whose SHA-256 differs from the pinned one,
	// the one the server declared, or the one recorded on first use; the
	// message carries both digests.
	ErrChecksum = errors.New("weights: checksum mismatch")
	// ErrSize reports a server sending more bytes than the declared size.
	ErrSize = errors.New("weights: size mismatch")
	// ErrUnavailable reports a file that could not be downloaded; the
	// message says which file to place where.
	ErrUnavailable = errors.New("weights: file unavailable")
	// ErrInvalid reports an unusable File (no digest, bad name).
	ErrInvalid = errors.New("weights: invalid weight file entry")
	// ErrStalled reports a download that received nothing for the
	// StallTimeout; it is wrapped in ErrUnavailable.
	ErrStalled = errors.New("weights: download stalled")
)

// attempts is how many times Fetch tries a download, resuming after a
// connection that ended early or stalled.
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
	// Exactly one of SHA256, SHA256Prefix and Unpinned is set.
	//
	// SHA256 is the lower-case hex digest of the whole file. When the
	// publisher gives only a prefix of it (torchvision's file names carry
	// the first 8 hex digits, which its check_hash verifies), SHA256Prefix
	// holds those digits. Unpinned says why no digest is pinned (e.g. "the
	// Hugging Face LFS digest was not reachable when this entry was
	// written"); the file is then verified against the digest the server
	// declares and the one recorded on first download (see the package
	// documentation).
	SHA256       string
	SHA256Prefix string
	Unpinned     string
}

// Pinned reports whether f carries a digest (full or prefix).
func (f File) Pinned() bool { return f.Unpinned == "" }

// Digest returns how f is verified, for messages: the full SHA-256, the
// prefix followed by "…", or "not pinned (<reason>)".
func (f File) Digest() string {
	switch {
	case f.SHA256 != "":
		return f.SHA256
	case f.SHA256Prefix != "":
		return f.SHA256Prefix + "…"
	}
	return "not pinned (" + f.Unpinned + ")"
}

// matches reports whether sum, a full hex SHA-256, is f's pinned digest.
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
	Dir string // where files are kept; see DefaultDir
	// Client makes the requests; nil means DefaultClient (connect, TLS and
	// header timeouts).
	Client *http.Client
	// Progress receives the download progress bar and notices (waiting for
	// another download, a discarded partial file). Notices about unpinned
	// files go to os.Stderr when Progress is nil: they are never silent.
	Progress io.Writer
	// Notices, when set, receives the one-line notices instead of Progress
	// (a command draws the redrawn bar only on a terminal, but its notices
	// always).
	Notices io.Writer
	// Sources are read-only places Fetch looks for a file (by File.Name)
	// before downloading it, e.g. an embedded file system or a mirror
	// directory (os.DirFS). A copy found there is verified like a download.
	Sources []fs.FS
	// MaxBytes bounds files whose size is not declared; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// StallTimeout abandons (and then resumes) a request that receives
	// nothing for this long; 0 means DefaultStallTimeout.
	StallTimeout time.Duration
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

// NewCache returns a Cache in DefaultDir with DefaultClient, reporting
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

// Validate checks that f can be fetched and verified: a safe name, a URL,
// exactly one of a full SHA-256, a prefix of at least 8 hex digits or a
// one-line reason for being unpinned, and a size that is not negative.
func (f File) Validate() error {
	pins := 0
	for _, s := range []string{f.SHA256, f.SHA256Prefix, f.Unpinned} {
		if s != "" {
			pins++
		}
	}
	switch {
	case !safeName.MatchString(f.Name) || f.Name == "." || f.Name == "..":
		return fmt.Errorf("%w: name %q", ErrInvalid, f.Name)
	case pins != 1:
		return fmt.Errorf("%w: %s needs exactly one of SHA256, SHA256Prefix and Unpinned (has %d)", ErrInvalid, f.Name, pins)
	case f.SHA256 != "" && !hexSHA.MatchString(f.SHA256):
		return fmt.Errorf("%w: %s: SHA-256 %q is not 64 lower-case hex digits", ErrInvalid, f.Name, f.SHA256)
	case f.SHA256Prefix != "" && !hexPrefix.MatchString(f.SHA256Prefix):
		return fmt.Errorf("%w: %s: SHA-256 prefix %q is not 8 to 63 lower-case hex digits", ErrInvalid, f.Name, f.SHA256Prefix)
	case f.Unpinned != "" && (strings.TrimSpace(f.Unpinned) != f.Unpinned || strings.ContainsAny(f.Unpinned, "\r\n")):
		return fmt.Errorf("%w: %s: the Unpinned reason %q must be one line without surrounding spaces", ErrInvalid, f.Name, f.Unpinned)
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
// whose record does not describe it (size, times, inode) is hashed again.
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
	if ctx == nil {
		ctx = context.Background()
	}
	p := c.Path(f)
	if ok, _ := c.verified(f, p); ok {
		return p, nil
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", c.unavailable(f, p, fmt.Errorf("creating cache directory: %w", err))
	}
	unlock, err := lockFile(ctx, p+".lock", func() {
		c.logf("%s: another download of this file is running; waiting for it\n", f.Name)
	})
	if err != nil {
		return "", c.unavailable(f, p, fmt.Errorf("locking %s.lock: %w", p, err))
	}
	defer unlock()
	// Under the lock: another process may have completed the file.
	ok, err := c.verified(f, p)
	if ok {
		return p, nil
	}
	if err != nil {
		// The file there is not f: never return it. It is removed so the
		// download can take its place (the record of an unpinned file's
		// first digest stays: the new file must match it).
		c.logf("%s: %v; downloading again\n", p, err)
		if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return "", fmt.Errorf("weights: removing mismatching %s: %w", p, rerr)
		}
		if f.Pinned() {
			_ = os.Remove(recordPath(p))
		}
	}
	if ok, err := c.fromSources(f, p); ok || err != nil {
		return p, err
	}
	if err := c.download(ctx, f, p); err != nil {
		return "", err
	}
	return p, nil
}

func hashFile(p string) (string, error) {
	fh, err := regular.Open(p)
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
	return &UnavailableError{File: f, Path: p, Err: err}
}

// UnavailableError is a file that could not be downloaded. It wraps
// ErrUnavailable and the cause. Error gives one line that says what to do;
// Details adds the URL, digest and size on separate lines.
type UnavailableError struct {
	File File   // the file
	Path string // where to place a copy obtained by other means
	Err  error  // why the download failed
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%v: %s (%s); download %s by other means and place it at %s",
		ErrUnavailable, e.File.Name, cause(e.Err), e.File.URL, e.Path)
}

// Details is the full account: the cause as the network stack gave it,
// where to place the file, its URL, digest and size.
func (e *UnavailableError) Details() string {
	return fmt.Sprintf("%v: %s: %v\ndownload it by other means and place it at\n  %s\nURL:    %s\nsha256: %s\nsize:   %s",
		ErrUnavailable, e.File.Name, e.Err, e.Path, e.File.URL, e.File.Digest(), sizeText(e.File.Size))
}

func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// cause says in a few words why a download failed: no network (a name that
// does not resolve, a refused or unreachable connection), a timeout, a
// cancellation, or the error itself.
func cause(err error) string {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return "no network: cannot resolve " + dns.Name
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "no network: host unreachable"
	case errors.Is(err, context.Canceled):
		// The context's cause (e.g. "interrupt signal received") ends the
		// message when the caller gave one.
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && msg[i+2:] != context.Canceled.Error() {
			return "cancelled: " + msg[i+2:]
		}
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
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
		out, err := atomicfile.Create(p, 0o644)
		if err != nil {
			fh.Close()
			return false, fmt.Errorf("weights: %w", err)
		}
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(out, h), io.LimitReader(fh, c.limit(f)))
		fh.Close()
		sum := hex.EncodeToString(h.Sum(nil))
		if err == nil {
			if err = c.accept(f, p, sum, ""); err != nil {
				err = fmt.Errorf("%s in a read-only source: %w", f.Name, err)
			}
		}
		if err != nil {
			out.Abort()
			return false, fmt.Errorf("weights: %w", err)
		}
		if err := out.Commit(); err != nil {
			return false, fmt.Errorf("weights: %w", err)
		}
		c.recordFirstUse(f, p, sum, "trusting the copy found in a read-only source on first use")
		return true, nil
	}
	return false, nil
}

// logf writes a notice to Progress, if set.
func (c *Cache) logf(format string, args ...any) {
	if w := c.noticeWriter(); w != nil {
		writeLocked(w, fmt.Sprintf(format, args...))
	}
}

// noticeWriter is where notices go: Notices, else Progress (nil: none).
func (c *Cache) noticeWriter() io.Writer {
	if c.Notices != nil {
		return c.Notices
	}
	return c.Progress
}

// noticef writes a notice that must not be lost: to Progress, else to
// os.Stderr.
func (c *Cache) noticef(format string, args ...any) {
	w := c.noticeWriter()
	if w == nil {
		w = os.Stderr
	}
	writeLocked(w, fmt.Sprintf(format, args...))
}

// outMu serialises the writes of concurrent Fetches (progress bars,
// notices) to a shared Progress writer.
var outMu sync.Mutex

func writeLocked(w io.Writer, s string) {
	outMu.Lock()
	defer outMu.Unlock()
	io.WriteString(w, s)
}
