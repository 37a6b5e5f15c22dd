//go:build unix

package regular

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	tests := []struct {
		path string
		want error // nil: opens
	}{
		{file, nil},
		{link, nil},
		{fifo, ErrNotRegular},
		{dir, ErrNotRegular},
		{os.DevNull, ErrNotRegular},
		{filepath.Join(dir, "missing"), os.ErrNotExist},
	}
	for _, tt := range tests {
		done := make(chan error, 1)
		go func() {
			f, err := Open(tt.path)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Open(%s) err = %v, want %v", tt.path, err, tt.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) blocked", tt.path) // a FIFO opened without O_NONBLOCK
		}
	}
}

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(p, 5); err != nil || string(b) != "12345" {
		t.Errorf("ReadFile(limit 5) = %q, %v", b, err)
	}
	if _, err := ReadFile(p, 4); !errors.Is(err, ErrTooLong) {
		t.Errorf("ReadFile(limit 4) err = %v, want ErrTooLong", err)
	}
}
