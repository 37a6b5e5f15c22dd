//go:build beamworker && !nobeam

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPipelineSeparateWorker runs `inception pipeline classify` with its
// worker in another process, the way Dataflow and Flink run it: prism
// starts the Beam Go SDK's container boot program (the one in the Go SDK
// container image, built here from the SDK module) as a PROCESS
// environment; boot fetches the staged worker binary — this command,
// built with CGO_ENABLED=0 — and runs it with --worker=true, which makes it
// the SDK harness. The answers must be those of `inception classify`.
//
// It builds two binaries (about a minute on 2 cores), so it has a build
// tag of its own: go test -tags beamworker -run SeparateWorker ./cmd/inception
// (make beam-worker).
func TestPipelineSeparateWorker(t *testing.T) {
	dir, good, model := pipelineInputs(t)
	bin := t.TempDir()
	build := func(out, pkg string) {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "go build %s: %s", pkg, b)
	}
	inception, boot := filepath.Join(bin, "inception"), filepath.Join(bin, "boot")
	build(inception, ".")
	// boot copies the worker binary to /tmp/binNNN/worker (a fixed
	// directory) and leaves it there, as a container would: remove the
	// copies of this test's binary.
	t.Cleanup(func() { removeWorkerCopies(t, inception) })
	build(boot, "github.com/apache/beam/sdks/v2/go/container")
	// prism starts the command with --id='ID' (quotes included, no shell to
	// remove them); boot wants the bare id.
	wrapper := filepath.Join(bin, "boot.sh")
	require.NoError(t, os.WriteFile(wrapper, []byte(`#!/bin/sh
id=$(printf '%s' "$1" | sed "s/^--id='\(.*\)'$/\1/")
shift
exec `+boot+` --id="$id" "$@"
`), 0o755))

	out := filepath.Join(t.TempDir(), "out.jsonl")
	cmd := exec.Command(inception, "pipeline", "classify", "--model", "inception-v1-d2l", "--weights", model,
		"--input", filepath.Join(dir, "*.png"), "--output", out, "--max-errors", "1",
		"--runner", "prism", "--environment_type", "PROCESS", "--environment_config", `{"command":"`+wrapper+`"}`)
	// boot writes pipeline_options.json into its working directory.
	cmd.Dir = t.TempDir()
	// Output to a file, not a pipe: a pipe would also wait for the worker
	// process, which inherits it and outlives its parent by up to a second.
	logPath := filepath.Join(t.TempDir(), "log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	err = cmd.Run()
	require.NoError(t, logFile.Close())
	b, rerr := os.ReadFile(logPath)
	require.NoError(t, rerr)
	log := string(b)
	require.NoError(t, err, "%s", log)
	require.Contains(t, log, "worker binary "+inception)
	require.Contains(t, log, "Worker exited successfully!") // printed by the worker process's harness
	require.Contains(t, log, "images 12, errors 1")

	want := classifyTop(t, append([]string{"--model", "inception-v1-d2l", "--weights", model}, good...)...)
	got := map[string][]jsonPrediction{}
	for _, line := range nonEmptyLines(t, out) {
		var r struct {
			Image string           `json:"image"`
			Top   []jsonPrediction `json:"top"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		got[r.Image] = r.Top
	}
	require.Equal(t, want, got)
}

// removeWorkerCopies removes the /tmp/bin*/worker directories that hold a
// copy of the binary at path (same size and SHA-256), and nothing else.
func removeWorkerCopies(t *testing.T, path string) {
	want, err := fileDigest(path)
	require.NoError(t, err)
	copies, _ := filepath.Glob("/tmp/bin*/worker")
	for _, c := range copies {
		ents, err := os.ReadDir(filepath.Dir(c))
		if err != nil || len(ents) != 1 {
			continue
		}
		if got, err := fileDigest(c); err == nil && got == want {
			os.RemoveAll(filepath.Dir(c))
		}
	}
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
