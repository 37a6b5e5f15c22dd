package registry_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestThirdPartyModule builds a program in a separate module that registers
// its own variant through registry.MustRegister and loads it with zoo.Load.
func TestThirdPartyModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a separate module; skipped with -short")
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	dir := t.TempDir()
	gomod, err := os.ReadFile("testdata/thirdparty/go.mod.txt")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(strings.ReplaceAll(string(gomod), "REPO_ROOT", root)), 0o644))
	src, err := os.ReadFile("testdata/thirdparty/main.go.txt")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	if got, want := strings.TrimSpace(string(out)), "ok [2 4] 268"; got != want {
		t.Errorf("third-party program printed %q, want %q", got, want)
	}
}
