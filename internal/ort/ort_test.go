package ort

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLibraryPath(t *testing.T) {
	const lib = "onnxruntime-" + Version + "/libonnxruntime.so.1"
	tests := []struct {
		name                     string
		ortLib, cache, xdg, home string
		want                     string
	}{
		{name: "override", ortLib: "/opt/ort/libonnxruntime.so", cache: "/c", xdg: "/x", home: "/h", want: "/opt/ort/libonnxruntime.so"},
		{name: "INCEPTION_CACHE", cache: "/c", xdg: "/x", home: "/h", want: "/c/" + lib},
		{name: "XDG_CACHE_HOME", xdg: "/x", home: "/h", want: "/x/inceptionzoo/" + lib},
		{name: "HOME", home: "/h", want: "/h/.cache/inceptionzoo/" + lib},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("INCEPTION_ORT_LIB", tc.ortLib)
			t.Setenv("INCEPTION_CACHE", tc.cache)
			t.Setenv("XDG_CACHE_HOME", tc.xdg)
			t.Setenv("HOME", tc.home)
			if got := LibraryPath(); got != tc.want {
				t.Errorf("LibraryPath() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLibraryPathMatchesSetup checks that LibraryPath's default is where
// scripts/setup.sh installs the library, for each way of choosing the cache.
func TestLibraryPathMatchesSetup(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	script := filepath.Join("..", "..", "scripts", "setup.sh")
	envs := []struct{ cache, xdg, home string }{
		{cache: "/c", xdg: "/x", home: "/h"},
		{xdg: "/x", home: "/h"},
		{home: "/h"},
	}
	for _, e := range envs {
		t.Setenv("INCEPTION_ORT_LIB", "")
		t.Setenv("INCEPTION_CACHE", e.cache)
		t.Setenv("XDG_CACHE_HOME", e.xdg)
		t.Setenv("HOME", e.home)
		out, err := exec.Command(bash, script, "--print-ort-lib").Output()
		require.NoError(t, err)
		got, want := strings.TrimSpace(string(out)), LibraryPath()
		if got != want {
			t.Errorf("%+v: setup.sh installs to %q, LibraryPath() = %q", e, got, want)
		}
	}
}

func TestCheckLibrary(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "libonnxruntime.so.1")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	tests := []struct {
		name    string
		path    string
		wantErr error
	}{
		{"present", file, nil},
		{"missing", filepath.Join(dir, "nope.so"), ErrNoLibrary},
		{"directory", dir, ErrNoLibrary},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkLibrary(tc.path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("checkLibrary(%q) = %v, want %v", tc.path, err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "scripts/setup.sh") {
				t.Errorf("error %q lacks the install hint", err)
			}
		})
	}
}
