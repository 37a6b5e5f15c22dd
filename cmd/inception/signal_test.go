//go:build !windows

package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStopsCleanly(t *testing.T) {
	root := newRoot()
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"train", "--model", "inception-v1-d2l"}, true},
		{[]string{"finetune"}, true},
		{[]string{"serve", "x"}, true},
		{[]string{"pipeline", "classify", "--input", "x"}, true},
		{[]string{"embed"}, true},
		{[]string{"fid", "a", "b"}, true},
		{[]string{"fetch", "inception-v3"}, true},
		{[]string{"bench", "inception-v3"}, false},
		{[]string{"classify"}, false},
		{[]string{"conformance"}, false},
		{[]string{"no-such-command"}, false},
		{nil, false},
	} {
		require.Equal(t, tc.want, stopsCleanly(root, tc.args), "%q", tc.args)
	}
}

// startCLI starts the built binary with args and returns it with a
// scanner over its stdout.
func startCLI(t *testing.T, bin string, args ...string) (*exec.Cmd, *bufio.Scanner, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, bufio.NewScanner(out), stderr
}

// exitWithin waits for cmd and returns its exit code, failing after d.
func exitWithin(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("killed by %v", ws.Signal())
			}
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(d):
		t.Fatalf("still running %v after the signal", d)
		return -1
	}
}

// TestSignals: Ctrl-C during `inception train` stops it between two
// steps with a checkpoint (exit 130, resumable); during a command that
// does not stop cleanly (bench) it exits at once with 130, as without a
// handler. Both used to be ignored: the handler cancelled a context that
// neither command looked at.
func TestSignals(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	data, ck := filepath.Join(dir, "data"), filepath.Join(dir, "ck")
	writeClassFolder(t, data, []string{"cat", "dog"}, 8)

	cmd, out, stderr := startCLI(t, bin, "train", "--model", "inception-v1-d2l", "--data", data, "--size", "28",
		"--epochs", "1000", "--batch", "4", "--log-every", "1", "--checkpoint", ck, "--checkpoint-every", "1000000")
	for out.Scan() {
		if strings.HasPrefix(out.Text(), "epoch 1/") {
			break
		}
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	go func() { // drain
		for out.Scan() {
		}
	}()
	require.Equal(t, 130, exitWithin(t, cmd, time.Minute), stderr.String())
	require.Contains(t, stderr.String(), "train: interrupted at epoch 1")
	require.Contains(t, stderr.String(), "checkpoint saved in "+ck)
	require.FileExists(t, filepath.Join(ck, "checkpoint.gob"))

	cmd, _, stderr = startCLI(t, bin, "bench", "inception-v1-d2l", "--runs", "100000")
	time.Sleep(2 * time.Second)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.Equal(t, 130, exitWithin(t, cmd, 10*time.Second), stderr.String())
}
