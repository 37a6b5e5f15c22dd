package weights

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// download fetches f into a partial file, resuming and retrying, verifies
// it and renames it to p. A partial file left by an earlier run that does
// not complete to an acceptable file is discarded and the download starts
// again from the beginning, once.
func (c *Cache) download(ctx context.Context, f File, p string) error {
	part := p + ".part"
	if !sharedPart {
		tmp, err := os.CreateTemp(c.Dir, "."+filepath.Base(p)+".*.part")
		if err != nil {
			return c.unavailable(f, p, err)
		}
		tmp.Close()
		part = tmp.Name()
		defer os.Remove(part) // a no-op after the rename
	}
	for round := 0; ; round++ {
		resumed := false
		if st, err := os.Stat(part); err == nil && st.Size() > 0 {
			resumed = true
		}
		declared, err := c.downloadPart(ctx, f, p, part)
		if err != nil {
			return err
		}
		sum, err := hashFile(part)
		if err != nil {
			return err
		}
		if err = c.accept(f, p, sum, declared); err == nil {
			if err := os.Rename(part, p); err != nil {
				return fmt.Errorf("weights: %w", err)
			}
			how := "the server declared no digest; trusting the download on first use"
			if declared != "" {
				how = "the download matches the digest the server declared"
			}
			c.recordFirstUse(f, p, sum, how)
			return nil
		}
		_ = os.Remove(part)
		if resumed && round == 0 {
			c.logf("%s: the partial download left by an earlier run did not complete to the right file (%v); discarded it, downloading again from the start\n", f.Name, err)
			continue
		}
		return fmt.Errorf("%w (downloaded from %s; partial file deleted)", err, f.URL)
	}
}

// downloadPart completes part with up to attempts requests. It returns the
// digest the server declared for the file ("" if none).
func (c *Cache) downloadPart(ctx context.Context, f File, p, part string) (string, error) {
	var last error
	var declared string
	complete := false
	for try := 0; try < attempts && !complete; try++ {
		if err := ctx.Err(); err != nil {
			return "", c.unavailable(f, p, err)
		}
		done, decl, err := c.fetchOnce(ctx, f, part)
		if decl != "" && declared != "" && decl != declared {
			// The file changed on the server between two requests: the
			// partial file may mix the two.
			_ = os.Remove(part)
			last = fmt.Errorf("the server's declared digest changed from %s to %s between requests", declared, decl)
			declared = decl
			continue
		}
		if decl != "" {
			declared = decl
		}
		if err != nil {
			var ue unavailableError
			if errors.As(err, &ue) {
				last = ue.err
				if ue.retry && ctx.Err() == nil {
					continue
				}
				return "", c.unavailable(f, p, last)
			}
			return "", err
		}
		complete = done
	}
	st, err := os.Stat(part)
	if !complete || err != nil || (f.Size > 0 && st.Size() != f.Size) {
		if last == nil {
			last = errors.New("incomplete download")
		}
		if sharedPart {
			last = fmt.Errorf("%w (run again to resume from %s)", last, part)
		}
		return "", c.unavailable(f, p, last)
	}
	return declared, nil
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
// file (f.Size bytes, or when no size is declared, a complete response),
// and the digest the server declared for the file.
func (c *Cache) fetchOnce(ctx context.Context, f File, part string) (bool, string, error) {
	var off int64
	if st, err := os.Lstat(part); err == nil {
		if st.Mode().IsRegular() {
			off = st.Size()
		} else if err := os.Remove(part); err != nil {
			return false, "", fmt.Errorf("weights: %s is not a regular file: %w", part, err)
		}
	}
	limit := c.limit(f)
	if off > limit {
		off = 0 // not a prefix of f
	}
	if f.Size > 0 && off == f.Size {
		return true, "", nil
	}

	// The watchdog cancels the request when nothing arrives for the stall
	// timeout: neither response headers nor body bytes.
	stall := c.stallTimeout()
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(stall, func() {
		cancel(fmt.Errorf("%w: nothing received for %v", ErrStalled, stall))
	})
	defer watchdog.Stop()
	stalled := func(err error) error {
		if cause := context.Cause(rctx); errors.Is(cause, ErrStalled) {
			return cause
		}
		return err
	}

	req, err := http.NewRequestWithContext(rctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return false, "", unavailableError{err: err}
	}
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	client, hops := c.recordingClient()
	resp, err := client.Do(req)
	if err != nil {
		if s := stalled(nil); s != nil {
			return false, "", unavailableError{err: s, retry: ctx.Err() == nil}
		}
		return false, "", unavailableError{err: err, retry: ctx.Err() == nil && !isPermanent(err)}
	}
	defer resp.Body.Close()
	watchdog.Reset(stall)
	declared := declaredDigest(hops(), resp.Header)

	flags := os.O_WRONLY | os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != off {
			// Not the range asked for: start over without one.
			_ = os.Remove(part)
			return false, declared, unavailableError{err: fmt.Errorf("server sent range %q for bytes=%d-", resp.Header.Get("Content-Range"), off), retry: true}
		}
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK:
		off = 0 // whole body: the partial file is replaced
		flags |= os.O_TRUNC
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
		_ = os.Remove(part)
		return false, declared, unavailableError{err: fmt.Errorf("server refused range bytes=%d-", off), retry: true}
	default:
		return false, declared, unavailableError{err: fmt.Errorf("GET %s: %s", f.URL, resp.Status), retry: resp.StatusCode >= 500}
	}
	remaining := limit - off
	if resp.ContentLength > remaining {
		_ = os.Remove(part)
		return false, declared, fmt.Errorf("%w: %s: server announces %d bytes from offset %d, the file has at most %d", ErrSize, f.Name, resp.ContentLength, off, limit)
	}
	total := f.Size
	if total == 0 && resp.ContentLength >= 0 {
		total = off + resp.ContentLength
	}
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return false, declared, fmt.Errorf("weights: %w", err)
	}
	pr := newProgress(c.Progress, f.Name, off, total, stall)
	body := &watchedReader{r: resp.Body, watchdog: watchdog, stall: stall}
	n, cerr := io.Copy(io.MultiWriter(out, pr), io.LimitReader(body, remaining+1))
	pr.finish()
	if err := out.Sync(); err != nil && cerr == nil {
		cerr = err
	}
	if err := out.Close(); err != nil && cerr == nil {
		cerr = err
	}
	if n > remaining {
		_ = os.Remove(part)
		return false, declared, fmt.Errorf("%w: %s: server sent more than %d bytes (partial file deleted)", ErrSize, f.Name, limit)
	}
	if cerr != nil {
		return false, declared, unavailableError{err: fmt.Errorf("after %d of %s: %w", off+n, sizeText(total), stalled(cerr)), retry: ctx.Err() == nil}
	}
	if (f.Size > 0 && n < remaining) || (f.Size == 0 && resp.ContentLength >= 0 && n < resp.ContentLength) {
		return false, declared, unavailableError{err: fmt.Errorf("connection closed after %d of %s", off+n, sizeText(total)), retry: true}
	}
	return true, declared, nil
}

// watchedReader resets the stall watchdog whenever bytes arrive.
type watchedReader struct {
	r        io.Reader
	watchdog *time.Timer
	stall    time.Duration
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.watchdog.Reset(w.stall)
	}
	return n, err
}

// recordingClient returns c's client with a redirect policy that also
// keeps the headers of each redirect response (Hugging Face declares an
// LFS file's digest on the redirect, not on the CDN's final response).
func (c *Cache) recordingClient() (*http.Client, func() []http.Header) {
	base := c.client()
	cl := *base
	var mu sync.Mutex
	var hops []http.Header
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.Response != nil {
			mu.Lock()
			hops = append(hops, req.Response.Header)
			mu.Unlock()
		}
		if base.CheckRedirect != nil {
			return base.CheckRedirect(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cl, func() []http.Header {
		mu.Lock()
		defer mu.Unlock()
		return append([]http.Header(nil), hops...)
	}
}

// declaredDigest returns the SHA-256 the server declares for the file:
// X-Linked-Etag of any response in the redirect chain (Hugging Face's LFS
// digest), else the ETag of the first response, when it is 64 hex digits.
func declaredDigest(hops []http.Header, final http.Header) string {
	all := append(hops, final)
	for _, h := range all {
		if d := etagDigest(h.Get("X-Linked-Etag")); d != "" {
			return d
		}
	}
	return etagDigest(all[0].Get("ETag"))
}

// etagDigest returns the lower-case hex SHA-256 an ETag value holds, or "".
func etagDigest(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	v = strings.ToLower(strings.Trim(v, `"`))
	if !hexSHA.MatchString(v) {
		return ""
	}
	return v
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

// progress draws a one-line progress bar: bytes, percentage and rate,
// redrawn while data arrives and, when nothing arrives for a while, with
// how long the download has been stalled.
type progress struct {
	w         io.Writer
	name      string
	mu        sync.Mutex
	done      int64 // bytes of the file present
	size      int64 // expected total, 0 if unknown
	start     int64 // bytes present before this request
	began     time.Time
	lastData  time.Time
	stallShow time.Duration // no data for this long is shown as stalled
	stop      chan struct{}
	wg        sync.WaitGroup
}

// maxStallShow is the longest silence before the bar says "stalled".
const maxStallShow = 5 * time.Second

func newProgress(w io.Writer, name string, done, size int64, stall time.Duration) *progress {
	now := time.Now()
	p := &progress{w: w, name: name, done: done, size: size, start: done, began: now, lastData: now,
		stallShow: min(maxStallShow, stall/3), stop: make(chan struct{})}
	if w != nil {
		tick := min(250*time.Millisecond, max(p.stallShow/2, time.Millisecond))
		p.wg.Add(1)
		go p.loop(tick)
	}
	return p
}

func (p *progress) loop(tick time.Duration) {
	defer p.wg.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.print()
			p.mu.Unlock()
		}
	}
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	p.done += int64(len(b))
	p.lastData = time.Now()
	p.mu.Unlock()
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
	line := fmt.Sprintf("\r%s [%s%s] %.1f/%.1f MiB %3d%% %.1f MiB/s", p.name,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
		float64(p.done)/mib, float64(p.size)/mib, 100*p.done/max(p.size, 1), rate)
	if quiet := time.Since(p.lastData); quiet >= p.stallShow {
		line += fmt.Sprintf(" (stalled: no data for %.0fs)", quiet.Seconds())
	} else {
		line += strings.Repeat(" ", 30) // blank a previous "stalled" note
	}
	writeLocked(p.w, line)
}

func (p *progress) finish() {
	if p.w == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	p.print()
	p.mu.Unlock()
	writeLocked(p.w, "\n")
}
