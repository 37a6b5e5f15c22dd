// Package atomicfile writes files so that a reader (or a crash) never sees a
// partial file and a failure never destroys what was there before: data goes
// to a temporary file in the target's directory, which is synced and then
// renamed over the target. Targets that are not regular files (devices,
// FIFOs, directories) are refused before anything is written; a symbolic
// link is followed, so the link stays and its target is replaced.
//
// Every file the project writes for a user (exports, checkpoints, weight
// caches, statistics, JSON lines) goes through this package.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotRegular reports a target path that exists and is not a regular file.
var ErrNotRegular = errors.New("atomicfile: target is not a regular file")

// File is a temporary file that becomes the target on Commit. Write to it
// like an *os.File; call exactly one of Commit or Abort (Abort after Commit
// is a no-op, so `defer f.Abort()` is the usual pattern).
type File struct {
	*os.File
	target string
	done   bool
}

// Create starts writing path. The target's directory must exist; an
// existing target must be a regular file (or a link to one). perm applies
// to a new file; an existing file keeps its mode.
func Create(path string, perm fs.FileMode) (*File, error) {
	target, err := Target(path)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(target); err == nil {
		perm = fi.Mode().Perm()
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	return &File{File: f, target: target}, nil
}

// Target resolves path to the file Create would replace: path itself, or the
// file a symbolic link at path points to. It fails with ErrNotRegular for an
// existing non-regular file, and when the directory does not exist, so a
// caller can check an output path before doing long work.
func Target(path string) (string, error) {
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return "", fmt.Errorf("atomicfile: %s: %w", path, err)
		}
	}
	fi, err := os.Stat(target)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return "", fmt.Errorf("%w: %s (%s)", ErrNotRegular, path, fi.Mode().Type())
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	dir := filepath.Dir(target)
	if di, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("atomicfile: %s: directory: %w", path, err)
	} else if !di.IsDir() {
		return "", fmt.Errorf("atomicfile: %s: %s is not a directory", path, dir)
	}
	return target, nil
}

// Commit syncs the data, closes the file and renames it over the target.
// On error the temporary file is removed and the target is untouched.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("atomicfile: %s: already committed or aborted", f.target)
	}
	f.done = true
	name := f.Name()
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, f.target)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("atomicfile: %s: %w", f.target, err)
	}
	syncDir(filepath.Dir(f.target))
	return nil
}

// Abort discards the temporary file; the target is untouched.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// WriteFile writes path atomically with the bytes write produces.
func WriteFile(path string, perm fs.FileMode, write func(w io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// syncDir makes the rename durable where the platform allows; errors are
// ignored because some filesystems do not support syncing directories.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
