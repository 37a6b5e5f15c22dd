package weights

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFetchCorruptPart: a .part left in the cache that is not a prefix of
// the file (a crash, another tool) is discarded and the file downloaded
// again from the start; the error does not blame the server.
func TestFetchCorruptPart(t *testing.T) {
	s := newServer(t, serveContent)
	c, log := newCache(t, s)
	f := entry(s.URL)
	require.NoError(t, os.MkdirAll(c.Dir, 0o755))
	bad := bytes.Clone(payload[:1000])
	bad[10] ^= 1
	require.NoError(t, os.WriteFile(c.Path(f)+".part", bad, 0o644))
	_, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	requireOnly(t, c, f, true)
	require.Equal(t, []string{"bytes=1000-", ""}, s.requests())
	require.Contains(t, log.String(), "partial download left by an earlier run")
}

// TestFetchFreshMismatchNotRetried: a download that started from nothing
// and does not match is the server's fault: one download, ErrChecksum.
func TestFetchFreshMismatchNotRetried(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	f.SHA256 = strings.Repeat("0", 64)
	_, err := c.Fetch(context.Background(), f)
	require.ErrorIs(t, err, ErrChecksum)
	require.Contains(t, err.Error(), s.URL)
	require.Len(t, s.requests(), 1)
}

// stallingHandler sends the headers and the first half of the payload,
// then sends nothing until the client goes away.
func stallingHandler(w http.ResponseWriter, r *http.Request, _ int) {
	w.Header().Set("Content-Length", itoa(len(payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload[:len(payload)/2])
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// TestFetchStalled: a server that stops sending (after the headers, or
// before them) is abandoned after StallTimeout, each of the attempts;
// progress says the download is stalled.
func TestFetchStalled(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    func(http.ResponseWriter, *http.Request, int)
	}{
		{"body", stallingHandler},
		{"headers", func(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.h)
			c, log := newCache(t, s)
			c.StallTimeout = 300 * time.Millisecond
			f := entry(s.URL)
			start := time.Now()
			_, err := c.Fetch(context.Background(), f)
			require.ErrorIs(t, err, ErrUnavailable)
			require.ErrorIs(t, err, ErrStalled)
			require.Less(t, time.Since(start), 10*time.Second)
			require.Len(t, s.requests(), attempts)
			if tt.name == "body" {
				require.Contains(t, log.String(), "stalled: no data for")
			}
		})
	}
}

// TestDefaultClientTimeouts: the default client has connect, TLS and header
// timeouts, and a Cache without a client uses it.
func TestDefaultClientTimeouts(t *testing.T) {
	tr, ok := DefaultClient.Transport.(*http.Transport)
	require.True(t, ok)
	require.Equal(t, HeaderTimeout, tr.ResponseHeaderTimeout)
	require.Equal(t, TLSHandshakeTimeout, tr.TLSHandshakeTimeout)
	require.NotNil(t, tr.DialContext)
	require.Same(t, DefaultClient, (&Cache{}).client())

	// A server that never answers, through the default client.
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() })
	c := &Cache{Dir: t.TempDir(), StallTimeout: 200 * time.Millisecond}
	_, err := c.Fetch(context.Background(), entry(s.URL))
	require.ErrorIs(t, err, ErrStalled)
}

// slowContent serves payload in 16 KiB pieces, 10 ms apart, honouring
// Range requests.
func slowContent(w http.ResponseWriter, r *http.Request, _ int) {
	var from int
	if rg := r.Header.Get("Range"); rg != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if err != nil || n >= len(payload) {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		from = n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(payload)-1, len(payload)))
		w.Header().Set("Content-Length", itoa(len(payload)-n))
		w.WriteHeader(http.StatusPartialContent)
	} else {
		w.Header().Set("Content-Length", itoa(len(payload)))
	}
	for i := from; i < len(payload); i += 16 << 10 {
		if _, err := w.Write(payload[i:min(i+16<<10, len(payload))]); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFetchConcurrentGoroutines: goroutines fetching one file download it
// once; every one gets the verified file.
func TestFetchConcurrentGoroutines(t *testing.T) {
	s := newServer(t, slowContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Fetch(context.Background(), f)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	requireOnly(t, c, f, true)
	require.Len(t, s.requests(), 1)
}

// helperEnv names the environment variables of the fetch helper process.
const helperEnv = "WEIGHTS_TEST_FETCH_HELPER"

// TestFetchHelperProcess is not a test: the concurrent-process test runs
// the test binary with helperEnv set, and this function then fetches one
// file and exits.
func TestFetchHelperProcess(t *testing.T) {
	args := os.Getenv(helperEnv)
	if args == "" {
		t.Skip("helper process for TestFetchConcurrentProcesses")
	}
	parts := strings.Split(args, "\n")
	size, _ := strconv.ParseInt(parts[3], 10, 64)
	f := File{Name: "test-weights.onnx", URL: parts[1], SHA256: parts[2], Size: size}
	var log bytes.Buffer
	c := &Cache{Dir: parts[0], Progress: &log}
	p, err := c.Fetch(context.Background(), f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fetch: %v\nlog: %s\n", err, log.String())
		os.Exit(3)
	}
	fmt.Println(p)
	os.Exit(0)
}

// TestFetchConcurrentProcesses: two processes fetching one file into one
// cache from a slow server do not collide in the .part file: one downloads,
// the other waits and finds the verified file.
func TestFetchConcurrentProcesses(t *testing.T) {
	if !sharedPart {
		t.Skip("no flock on this platform: each download has its own temporary file")
	}
	var full atomic.Int64
	s := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Header.Get("Range") == "" {
			full.Add(1)
		}
		slowContent(w, r, n)
	})
	c, _ := newCache(t, s)
	f := entry(s.URL)
	arg := strings.Join([]string{c.Dir, f.URL, f.SHA256, strconv.FormatInt(f.Size, 10)}, "\n")
	const procs = 2
	outs := make([]bytes.Buffer, procs)
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFetchHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+arg)
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		require.NoError(t, cmd.Start())
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "process %d: %s", i, outs[i].String())
		require.Contains(t, outs[i].String(), c.Path(f))
	}
	requireOnly(t, c, f, true)
	require.Equal(t, int64(1), full.Load(), "requests %q: the file was downloaded more than once", s.requests())
}

// redirecting serves /w.onnx as a redirect carrying hdr (as huggingface.co
// does, with X-Linked-Etag) to /cdn, which serves body.
func redirecting(t *testing.T, hdr map[string]string, body []byte) *server {
	return newServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/cdn" {
			http.ServeContent(w, r, "w.onnx", time.Time{}, bytes.NewReader(body))
			return
		}
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		http.Redirect(w, r, "/cdn", http.StatusFound)
	})
}

func unpinned(url string) File {
	return File{Name: "test-weights.onnx", URL: url + "/w.onnx", Size: int64(len(payload)),
		Unpinned: "the test server's digest is not known in advance"}
}

// TestFetchUnpinned: an unpinned file is verified against the digest the
// server declares (X-Linked-Etag on a redirect, or the ETag), trusted on
// first use without one, with a one-line notice naming the digest and the
// reason, and checked against the recorded digest afterwards.
func TestFetchUnpinned(t *testing.T) {
	sum := digest(payload)
	other := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		hdr     map[string]string
		wantErr bool
		notice  string
	}{
		{"X-Linked-Etag", map[string]string{"X-Linked-Etag": `"` + sum + `"`, "ETag": `"0123"`}, false, "matches the digest the server declared"},
		{"ETag", map[string]string{"ETag": `"` + sum + `"`}, false, "matches the digest the server declared"},
		{"weak upper-case ETag", map[string]string{"ETag": `W/"` + strings.ToUpper(sum) + `"`}, false, "matches the digest the server declared"},
		{"no digest", map[string]string{"ETag": `"not-a-digest"`}, false, "server declared no digest; trusting the download on first use"},
		{"mismatch", map[string]string{"X-Linked-Etag": other}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := redirecting(t, tt.hdr, payload)
			c, log := newCache(t, s)
			f := unpinned(s.URL)
			require.NoError(t, f.Validate())
			_, err := c.Fetch(context.Background(), f)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrChecksum)
				require.Contains(t, err.Error(), other)
				require.Contains(t, err.Error(), sum)
				requireOnly(t, c, f, false)
				return
			}
			require.NoError(t, err)
			requireOnly(t, c, f, true)
			var notices []string
			for _, l := range strings.Split(log.String(), "\n") {
				if strings.Contains(l, "not pinned") {
					notices = append(notices, l)
				}
			}
			require.Len(t, notices, 1, "one notice line in %q", log.String())
			require.Contains(t, notices[0], sum)
			require.Contains(t, notices[0], f.Unpinned)
			require.Contains(t, notices[0], tt.notice)

			// Later: served from the cache without a request or a notice.
			n := len(s.requests())
			log.Reset()
			_, err = c.Fetch(context.Background(), f)
			require.NoError(t, err)
			require.Len(t, s.requests(), n)
			require.NotContains(t, log.String(), "not pinned")

			// A changed file in the cache is refused against the recorded
			// digest, and so is a new download that differs from it.
			bad := bytes.Clone(payload)
			bad[5] ^= 1
			require.NoError(t, os.WriteFile(c.Path(f), bad, 0o644))
			_, ok := c.Cached(f)
			require.False(t, ok)
			s2 := redirecting(t, nil, bad)
			c.Client = s2.Client()
			f2 := f
			f2.URL = s2.URL + "/w.onnx"
			_, err = c.Fetch(context.Background(), f2)
			require.ErrorIs(t, err, ErrChecksum)
			require.Contains(t, err.Error(), "recorded when it was first used")
			require.Contains(t, err.Error(), sum)
		})
	}
}

// TestUnpinnedHandPlaced: an unpinned file placed in the cache by hand is
// trusted on first use, with the notice.
func TestUnpinnedHandPlaced(t *testing.T) {
	c, log := newCache(t, nil)
	f := unpinned("https://example.com")
	require.NoError(t, os.MkdirAll(c.Dir, 0o755))
	require.NoError(t, os.WriteFile(c.Path(f), payload, 0o644))
	p, ok := c.Cached(f)
	require.True(t, ok)
	require.Equal(t, c.Path(f), p)
	require.Contains(t, log.String(), "not pinned ("+f.Unpinned+"); trusting the file found in the cache, sha256 "+digest(payload))
}

func TestValidateUnpinned(t *testing.T) {
	sum := digest(payload)
	tests := []struct {
		name string
		f    File
		ok   bool
	}{
		{"sha256", File{SHA256: sum}, true},
		{"prefix", File{SHA256Prefix: sum[:8]}, true},
		{"unpinned", File{Unpinned: "no digest published"}, true},
		{"none", File{}, false},
		{"sha256 and unpinned", File{SHA256: sum, Unpinned: "x"}, false},
		{"prefix and unpinned", File{SHA256Prefix: sum[:8], Unpinned: "x"}, false},
		{"all three", File{SHA256: sum, SHA256Prefix: sum[:8], Unpinned: "x"}, false},
		{"multi-line reason", File{Unpinned: "a\nb"}, false},
		{"blank reason", File{Unpinned: " "}, false},
	}
	for _, tt := range tests {
		f := tt.f
		f.Name, f.URL = "w.onnx", "https://example.com/w.onnx"
		err := f.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: Validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	f := unpinned("https://example.com")
	require.Equal(t, "not pinned (the test server's digest is not known in advance)", f.Digest())
	require.False(t, f.Pinned())
}

// TestFetchFIFOInCache: a FIFO where the cached file should be does not
// block Fetch; it is replaced by the download.
func TestFetchFIFOInCache(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	require.NoError(t, os.MkdirAll(c.Dir, 0o755))
	if err := mkfifo(c.Path(f) + ".part"); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.Fetch(context.Background(), f); done <- err }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Fetch blocked on a FIFO")
	}
	requireOnly(t, c, f, true)
}

// TestVerify: Verify hashes again even when the record matches the file's
// identity, removes a mismatching copy, and reports absent files.
func TestVerify(t *testing.T) {
	s := newServer(t, serveContent)
	c, _ := newCache(t, s)
	f := entry(s.URL)
	r, err := c.Verify(f)
	require.NoError(t, err)
	require.Equal(t, Absent, r.Status)

	p, err := c.Fetch(context.Background(), f)
	require.NoError(t, err)
	r, err = c.Verify(f)
	require.NoError(t, err)
	require.Equal(t, Intact, r.Status)
	require.Equal(t, f.SHA256, r.SHA256)

	// Corrupt the file and forge its record to describe the corrupt copy:
	// Cached trusts the record, Verify does not.
	bad := bytes.Clone(payload)
	bad[100] ^= 1
	require.NoError(t, os.WriteFile(p, bad, 0o644))
	writeRecord(p, f.SHA256)
	_, ok := c.Cached(f)
	require.True(t, ok, "the forged record is trusted without hashing")
	r, err = c.Verify(f)
	require.NoError(t, err)
	require.Equal(t, Removed, r.Status)
	require.ErrorIs(t, r.Problem, ErrChecksum)
	require.Equal(t, digest(bad), r.SHA256)
	requireOnly(t, c, f, false)

	// Unpinned: the record of the first digest survives the removal.
	s2 := redirecting(t, map[string]string{"X-Linked-Etag": digest(payload)}, payload)
	c2, _ := newCache(t, s2)
	u := unpinned(s2.URL)
	p2, err := c2.Fetch(context.Background(), u)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p2, bad, 0o644))
	r, err = c2.Verify(u)
	require.NoError(t, err)
	require.Equal(t, Removed, r.Status)
	rec, ok := readRecord(p2)
	require.True(t, ok)
	require.Equal(t, digest(payload), rec.sum)
}
