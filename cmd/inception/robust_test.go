package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/zoo"
)

// cli runs the inception command in a child process (the test binary, see
// TestMain) with a shell prefix (e.g. "ulimit -f 64;"), returning its
// combined output and exit status.
func cli(t *testing.T, shell string, args ...string) (string, int) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	quoted := []string{shellQuote(exe)}
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	c := exec.Command("/bin/sh", "-c", shell+" exec "+strings.Join(quoted, " "))
	c.Env = append(os.Environ(), benchChildEnv+"=1")
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestExportAtomic: a failing export (a file size limit) leaves an
// existing file untouched and no temporary file; a FIFO or a device as
// -o is refused at once and left in place.
func TestExportAtomic(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "v1.onnx")
	old := bytes.Repeat([]byte("previous export "), 1000)
	require.NoError(t, os.WriteFile(out, old, 0o644))

	// 64 blocks of 512 bytes: far less than the 24 MB model.
	text, code := cli(t, "ulimit -f 64;", "export", "inception-v1-d2l", "-o", out)
	require.NotEqual(t, 0, code, text)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, old, got, "the existing file was changed by a failed export: %s", text)
	ents, _ := os.ReadDir(dir)
	require.Len(t, ents, 1, "temporary files left: %v", ents)

	fifo := filepath.Join(dir, "fifo.onnx")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for _, target := range []string{fifo, os.DevNull} {
		done := make(chan error, 1)
		go func() { _, err := run(t, "export", "inception-v1-d2l", "-o", target); done <- err }()
		select {
		case err := <-done:
			require.ErrorIs(t, err, atomicfile.ErrNotRegular, target)
		case <-time.After(30 * time.Second):
			t.Fatalf("export -o %s blocked", target)
		}
		st, err := os.Stat(target)
		require.NoError(t, err, "%s was removed", target)
		require.False(t, st.Mode().IsRegular())
	}
}

// TestExportKilled: a kill -9 during a re-export leaves the previous file
// whole (the new one was being written to a temporary file).
func TestExportKilled(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "v1.onnx")
	_, err := run(t, "export", "inception-v1-d2l", "-o", out)
	require.NoError(t, err)
	before, err := os.ReadFile(out)
	require.NoError(t, err)

	exe, err := os.Executable()
	require.NoError(t, err)
	c := exec.Command(exe, "export", "inception-v1-d2l", "-o", out, "--seed", "7")
	c.Env = append(os.Environ(), benchChildEnv+"=1")
	require.NoError(t, c.Start())
	// Kill it once it is writing: its temporary file appears.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(dir, ".v1.onnx.tmp-*"))
		if len(m) > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, c.Process.Kill())
	_ = c.Wait()
	after, err := os.ReadFile(out)
	require.NoError(t, err)
	if !bytes.Equal(before, after) {
		t.Fatalf("the existing export changed (%d bytes, was %d) after a kill during a re-export", len(after), len(before))
	}
}

// writePNG writes a w×h 8-bit picture.
func writePNG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

// TestClassifySeeded: an export of seeded weights, and a name without
// weights, are refused by classify and eval unless --allow-seeded; with
// it, classify says the weights are seeded.
func TestClassifySeeded(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "d2l.onnx")
	out, err := run(t, "export", "inception-v1-d2l", "-o", export)
	require.NoError(t, err)
	require.Contains(t, out, "not trained")
	img := filepath.Join(dir, "shoe.png")
	writePNG(t, img, 40, 30)
	cache := t.TempDir()

	for _, args := range [][]string{
		{"classify", "--model", "inception-v1-d2l", "--weights", export, img},
		{"classify", "--weights", export, "--cache", cache}, // the shipped images with another file
		{"eval", "--model", "inception-v1-d2l", "--data", "fashion-mnist"},
		{"eval", "--model", export, "--data", "fashion-mnist"},
	} {
		out, err := run(t, args...)
		require.ErrorIs(t, err, zoo.ErrSeeded, "%v: %s", args, out)
		require.ErrorContains(t, err, "--allow-seeded", "%v", args)
		require.NotContains(t, out, "1.000")
	}
	// A name without published weights (the test registry drops
	// inception-v1-tv's tags).
	_, _, err = runWith(t, newModelZoo(t).env, classifyCmd, "--model", "inception-v1-tv", "--cache", cache, img)
	require.ErrorContains(t, err, "inception-v1-tv has no published weights")
	require.ErrorContains(t, err, "--allow-seeded")

	out, err = run(t, "classify", "--model", "inception-v1-d2l", "--weights", export, "--allow-seeded", img)
	require.NoError(t, err)
	require.Contains(t, out, "warning: zoo: seeded weights, not trained")
	require.Contains(t, out, "weights "+export+" (seeded, not trained: the answers are meaningless)")
	require.Contains(t, out, img+":\n   1. ")
	out, err = run(t, "classify", "--model", "inception-v1-d2l", "--cache", cache, "--allow-seeded", img)
	require.NoError(t, err)
	require.Contains(t, out, "weights seeded (not trained")

	// A trained file passes without the flag.
	out, err = run(t, "classify", "--model", "inception-v1-d2l", "--weights", "../../assets/inception-v1-d2l-fmnist28.onnx", img)
	require.NoError(t, err)
	require.NotContains(t, out, "seeded")
}

// TestClassifyPerImageErrors: in a batch, an image that decodes but cannot
// be resized (1x200000), a FIFO, a corrupt file and a BMP: every readable
// image is classified and printed, each failure in its place, and the
// command fails with the count.
func TestClassifyPerImageErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a-good.png")
	thin := filepath.Join(dir, "b-thin.png")
	bmpFile := filepath.Join(dir, "c-picture.bmp")
	corrupt := filepath.Join(dir, "d-corrupt.jpg")
	fifo := filepath.Join(dir, "e-fifo.png")
	writePNG(t, good, 50, 40)
	writePNG(t, thin, 1, 200000) // resizes to 28x5600000 for the 28x28 model
	var buf bytes.Buffer
	pic := image.NewRGBA(image.Rect(0, 0, 30, 20))
	pic.Set(3, 4, color.RGBA{200, 10, 10, 255})
	require.NoError(t, bmp.Encode(&buf, pic))
	require.NoError(t, os.WriteFile(bmpFile, buf.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(corrupt, []byte("\xff\xd8\xff not a jpeg"), 0o644))
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	weightsFile := "../../assets/inception-v1-d2l-fmnist28.onnx"

	type result struct {
		out string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		out, err := run(t, "classify", "--model", "inception-v1-d2l", "--weights", weightsFile, "--top", "2", dir, fifo)
		ch <- result{out, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-time.After(60 * time.Second):
		t.Fatal("classify blocked (on the FIFO argument?)")
	}
	// The directory lists its regular files only; the FIFO given by name
	// is refused when opened.
	out, err := r.out, r.err
	require.ErrorContains(t, err, "3 of 5 images could not be classified")
	for _, want := range []string{
		good + ":\n   1. ",
		bmpFile + ":\n   1. ",
		thin + ": error: " + thin + ": preprocess: image too large",
		corrupt + ": error: ",
		fifo + ": error: preprocess: " + fifo + ": not a regular file (a FIFO)",
	} {
		require.Contains(t, out, want)
	}
}

// TestFetchVerify: `fetch --verify` re-hashes a cached file whose record
// still matches (edited in place, mtime restored), removes it and fails;
// the next fetch downloads it again.
func TestFetchVerify(t *testing.T) {
	z := newModelZoo(t)
	cache := t.TempDir()
	_, _, err := runWith(t, z.env, fetchCmd, "inception-v1", "--cache", cache)
	require.NoError(t, err)
	out, _, err := runWith(t, z.env, fetchCmd, "--verify", "--cache", cache)
	require.NoError(t, err)
	require.Regexp(t, `light-v1\.onnx +ok +[0-9a-f]{64}`, out)
	require.Contains(t, out, "1 verified, 0 removed")

	p := filepath.Join(cache, "light-v1.onnx")
	st, err := os.Stat(p)
	require.NoError(t, err)
	fh, err := os.OpenFile(p, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fh.WriteAt([]byte{0x42}, st.Size()/2)
	require.NoError(t, err)
	require.NoError(t, fh.Close())
	require.NoError(t, os.Chtimes(p, st.ModTime(), st.ModTime()))
	require.NoError(t, os.WriteFile(filepath.Join(cache, "stray.bin"), []byte("x"), 0o644))

	out, _, err = runWith(t, z.env, fetchCmd, "--verify", "--cache", cache)
	require.ErrorContains(t, err, "1 cached file(s) did not match and were removed")
	require.Regexp(t, `light-v1\.onnx +REMOVED +weights: checksum mismatch`, out)
	require.Regexp(t, `stray\.bin +unknown`, out)
	require.NoFileExists(t, p)

	out, _, err = runWith(t, z.env, fetchCmd, "--verify", "inception-v1", "--cache", cache)
	require.NoError(t, err)
	require.Regexp(t, `light-v1\.onnx +absent`, out)

	_, _, err = runWith(t, z.env, fetchCmd, "inception-v1", "--cache", cache)
	require.NoError(t, err)
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, z.files["light-v1"], got)
}

// TestFetchUnpinned: a tag whose digest is not pinned is fetched with the
// server's declared digest, and fetch and info say "not pinned (<reason>)".
func TestFetchUnpinned(t *testing.T) {
	z := newModelZoo(t)
	var specs []registry.Entry
	for _, e := range z.env.reg.Entries() {
		if e.Name == "inception-v1" {
			e.Tags = append([]spec.Tag(nil), e.Tags...)
			e.Tags[0].File.SHA256 = ""
			e.Tags[0].File.Unpinned = "the test server publishes no digest"
		}
		specs = append(specs, e)
	}
	reg, err := registry.New(specs...)
	require.NoError(t, err)
	e := env{reg: reg, client: z.env.client}
	cache := t.TempDir()
	out, stderr, err := runWith(t, e, fetchCmd, "inception-v1", "--cache", cache)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(cache, "light-v1.onnx"), strings.TrimSpace(out))
	require.Contains(t, stderr, "light-v1.onnx is not pinned (the test server publishes no digest); the server declared no digest; trusting the download on first use, sha256 ")
	require.Contains(t, stderr, "light-v1.onnx: not pinned (the test server publishes no digest)")

	for _, e := range specs {
		if e.Name == "inception-v1" {
			info := tagInfos(e)[0]
			require.Equal(t, "not pinned (the test server publishes no digest)", info.digestText())
			require.Empty(t, info.Digest)
			require.Equal(t, "the test server publishes no digest", info.Unpinned)
			require.Regexp(t, `^sha256 [0-9a-f]{64}$`, tagInfos(e)[1].digestText())
		}
	}
}

// TestFetchInterrupted: Ctrl-C (SIGINT) during a download that hangs (a
// proxy that never answers) ends the command with an error and status 130,
// not a kill, and releases the lock.
func TestFetchInterrupted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // hold it open, say nothing
		}
	}()
	cache := t.TempDir()
	exe, err := os.Executable()
	require.NoError(t, err)
	c := exec.Command(exe, "fetch", "inception-v1", "--cache", cache)
	proxy := "http://" + ln.Addr().String()
	c.Env = append(os.Environ(), benchChildEnv+"=1", "HTTPS_PROXY="+proxy, "https_proxy="+proxy, "NO_PROXY=", "no_proxy=")
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	require.NoError(t, c.Start())
	// Wait until it is downloading (its lock file exists), then interrupt.
	lock := filepath.Join(cache, "onnx-model-zoo-googlenet-12.onnx.lock")
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(lock); err == nil {
			break
		}
	}
	require.NoError(t, c.Process.Signal(os.Interrupt))
	start := time.Now()
	err = c.Wait()
	require.Less(t, time.Since(start), 10*time.Second)
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v: %s", err, out.String())
	require.Equal(t, 130, ee.ExitCode(), "exit status (killed by the signal?): %s", out.String())
	require.Contains(t, out.String(), "(signal: interrupt)")
	require.NoFileExists(t, lock)
}

// TestClassifyMemory: a directory of eight 2048x2048 PNGs (small files, 16
// MiB each decoded) is classified holding one decoded image at a time,
// not a chunk of eight (measured 2026-12-06: 72 MiB peak, 210 MiB before).
func TestClassifyMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes eight large images")
	}
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 2048, 2048))
	for i := range img.Pix {
		img.Pix[i] = uint8(i / 4096)
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	for i := range 8 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.png", i)), buf.Bytes(), 0o644))
	}
	weightsFile := "../../assets/inception-v1-d2l-fmnist28.onnx"
	// Load once so that the model's own allocations are not measured.
	_, err := run(t, "classify", "--model", "inception-v1-d2l", "--weights", weightsFile, filepath.Join(dir, "0.png"))
	require.NoError(t, err)
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
		}
	}()
	out, err := run(t, "classify", "--model", "inception-v1-d2l", "--weights", weightsFile, dir)
	close(stop)
	<-sampled
	require.NoError(t, err, out)
	require.Equal(t, 8, strings.Count(out, ":\n   1. "))
	grew := peak.Load() - min(peak.Load(), base.HeapAlloc)
	t.Logf("peak live heap %d MiB above the start", grew>>20)
	require.Less(t, grew, uint64(140<<20), "classify held several decoded images at once")
}
