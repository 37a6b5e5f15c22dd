package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProgressOnlyOnTerminals: a log file or a pipe gets no redrawn bar.
func TestProgressOnlyOnTerminals(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	defer f.Close()
	require.Nil(t, newProgress(f, "x", 3))
	require.Nil(t, newProgress(&bytes.Buffer{}, "x", 3))
	var nilBar *progress
	nilBar.add(1) // a nil bar draws nothing and does not panic
	nilBar.clear()
	nilBar.finish()
}

func TestListImages(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.png", "a.jpg", "notes.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), nil, 0o644))
	}
	paths, batch, err := listImages("x", []string{dir}, isImage)
	require.NoError(t, err)
	require.True(t, batch)
	require.Equal(t, []string{filepath.Join(dir, "a.jpg"), filepath.Join(dir, "b.png")}, paths)
	paths, batch, err = listImages("x", []string{filepath.Join(dir, "b.png")}, isImage)
	require.NoError(t, err)
	require.False(t, batch)
	require.Len(t, paths, 1)
	_, _, err = listImages("x", []string{filepath.Join(dir, "*.webp")}, isImage)
	require.ErrorContains(t, err, "no image files")
	_, _, err = listImages("x", []string{filepath.Join(dir, "missing.png")}, isImage)
	require.ErrorContains(t, err, "no such file")
}
