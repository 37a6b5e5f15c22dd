package repo

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRoot(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkout := filepath.Join(outside, "co")
	sub := filepath.Join(checkout, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(checkout, "go.mod"), []byte("// c\nmodule "+ModulePath+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ dir, want string }{
		{outside, ""},
		{checkout, checkout},
		{sub, checkout},
	}
	for _, tt := range tests {
		got, err := Root(tt.dir)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("Root(%s) = %q, %v; want %q", tt.dir, got, err, tt.want)
		}
		if tt.want == "" && !errors.Is(err, ErrNoRoot) {
			t.Errorf("Root(%s) error %v, want ErrNoRoot", tt.dir, err)
		}
	}
	if root, err := Root(""); err != nil || filepath.Base(filepath.Dir(root)) == "" {
		t.Errorf("Root of this checkout: %q, %v", root, err)
	}
}
