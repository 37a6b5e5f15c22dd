package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/weights"
)

// modelZoo is a local stand-in for the ONNX Model Zoo host: it serves the
// ONNX test suite's light inception_v1 and inception_v2 graphs with seeded
// random weights, and a tampered copy of the first. Its registry holds the
// builtin specs with the inception-v1 and inception-v2 weight lists
// pointing at the server.
type modelZoo struct {
	env      env
	files    map[string][]byte // weight file name → content served
	requests atomic.Int64
}

func newModelZoo(t *testing.T) *modelZoo {
	t.Helper()
	z := &modelZoo{files: map[string][]byte{}}
	for name, light := range map[string]string{"light-v1": "light_inception_v1.onnx", "light-v2": "light_inception_v2.onnx"} {
		raw, err := os.ReadFile(sharedLight(t, light))
		require.NoError(t, err)
		b, err := testkit.RandomizeConstantWeights(raw, 3)
		require.NoError(t, err)
		z.files[name] = b
	}
	tampered := bytes.Clone(z.files["light-v1"])
	tampered[len(tampered)/2] ^= 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		z.requests.Add(1)
		name := strings.TrimPrefix(r.URL.Path, "/")
		b, ok := z.files[name]
		if name == "tampered" {
			b, ok = tampered, true
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	}))
	t.Cleanup(srv.Close)
	// A tag like the builtin one (its preset and naming), serving name.
	file := func(like spec.Tag, name string, b []byte) spec.Tag {
		sum := sha256.Sum256(b)
		like.Name = name
		like.File = weights.File{Name: name + ".onnx", URL: srv.URL + "/" + name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}
		return like
	}
	var specs []registry.Entry
	for _, s := range registry.Builtin() {
		switch s.Name {
		case "inception-v1":
			bad := file(s.Tags[0], "tampered", z.files["light-v1"]) // declares the good digest
			s.Tags = []spec.Tag{file(s.Tags[0], "light-v1", z.files["light-v1"]), bad}
		case "inception-v2":
			s.Tags = []spec.Tag{file(s.Tags[0], "light-v2", z.files["light-v2"])}
		case "inception-v1-tv":
			s.Tags = nil // a model without published weights
		}
		specs = append(specs, s)
	}
	reg, err := registry.New(specs...)
	require.NoError(t, err)
	z.env = env{reg: reg, client: srv.Client()}
	return z
}

// runWith runs a command built by mk with e, returning stdout and stderr.
func runWith(t *testing.T, e env, mk func(env) *cobra.Command, args ...string) (string, string, error) {
	t.Helper()
	cmd := mk(e)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true // as under newRoot
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestFetch(t *testing.T) {
	drawProgress = true // the buffer standing in for stderr is not a terminal
	t.Cleanup(func() { drawProgress = false })
	z := newModelZoo(t)
	dir := t.TempDir()
	out, progress, err := runWith(t, z.env, fetchCmd, "inception-v1", "--cache", dir)
	require.NoError(t, err)
	want := filepath.Join(dir, "light-v1.onnx")
	if got := strings.TrimSpace(out); got != want {
		t.Fatalf("fetch printed %q, want %q", got, want)
	}
	got, err := os.ReadFile(want)
	require.NoError(t, err)
	require.Equal(t, z.files["light-v1"], got)
	require.Contains(t, progress, "light-v1.onnx [", "progress bar on stderr")
	require.Contains(t, progress, "100%")

	// A second fetch (by alias) finds the verified copy: no request.
	n := z.requests.Load()
	out, _, err = runWith(t, z.env, fetchCmd, "googlenet", "--cache", dir)
	require.NoError(t, err)
	require.Equal(t, want, strings.TrimSpace(out))
	if got := z.requests.Load(); got != n {
		t.Errorf("requests %d after a cached fetch, want %d", got, n)
	}

	// $INCEPTION_CACHE is the default cache.
	envDir := t.TempDir()
	t.Setenv("INCEPTION_CACHE", envDir)
	out, _, err = runWith(t, z.env, fetchCmd, "inception-v2")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(envDir, "light-v2.onnx"), strings.TrimSpace(out))

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad checksum", []string{"inception-v1", "--file", "tampered", "--cache", dir}, "checksum"},
		{"unknown tag", []string{"inception-v1", "--file", "nope", "--cache", dir}, `no tag "nope" (have light-v1, tampered)`},
		{"unknown tag in the name", []string{"inception-v1.nope", "--cache", dir}, `no tag "nope" (have light-v1, tampered)`},
		{"two tags", []string{"inception-v1.light-v1", "--file", "tampered", "--cache", dir}, `names tag "light-v1"`},
		{"unknown model", []string{"incepton-v1", "--cache", dir}, `did you mean "inception-v1"`},
		{"no weights", []string{"inception-v1-tv", "--cache", dir}, "no weight tags"},
		{"no name", nil, "exactly one NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runWith(t, z.env, fetchCmd, tt.args...)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, out)
		})
	}
	// The tampered download was not kept.
	require.NoFileExists(t, filepath.Join(dir, "tampered.onnx"))
	require.NoFileExists(t, filepath.Join(dir, "tampered.onnx.part"))
}

// TestFetchRegistered checks that fetch and classify are subcommands of
// the real CLI.
func TestFetchRegistered(t *testing.T) {
	for _, name := range []string{"fetch", "classify"} {
		c, _, err := newRoot().Find([]string{name})
		require.NoError(t, err)
		require.Equal(t, name, c.Name())
	}
}
