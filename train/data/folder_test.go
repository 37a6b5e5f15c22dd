package data

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/spec"
)

var folderPre = spec.Preprocess{Resize: 8, Crop: 8, Interpolation: "bilinear",
	Norm: spec.Norm{Name: "test", Range: 1, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func encodePNG(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// TestImageFolderFormats: every extension preprocess lists is read (a BMP
// no longer fails the whole data set), other files, directories and FIFOs
// are skipped, and each sample equals preprocess.Tensor of its image.
func TestImageFolderFormats(t *testing.T) {
	dir := t.TempDir()
	red, blue := solid(12, 10, color.RGBA{200, 20, 20, 255}), solid(9, 14, color.RGBA{10, 30, 220, 255})
	var bm bytes.Buffer
	require.NoError(t, bmp.Encode(&bm, blue))
	writeFile(t, filepath.Join(dir, "a", "1.png"), encodePNG(t, red))
	writeFile(t, filepath.Join(dir, "a", "notes.txt"), []byte("not an image"))
	writeFile(t, filepath.Join(dir, "b", "2.BMP"), bm.Bytes())
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "b", "sub.png"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "b", "3.png"), 0o644))

	done := make(chan struct{})
	var s *Set
	var err error
	go func() { defer close(done); s, err = ImageFolder(dir, folderPre) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("ImageFolder blocked on a FIFO")
	}
	require.NoError(t, err)
	require.Equal(t, 2, s.Len())
	require.Equal(t, []string{"a", "b"}, s.Classes)
	require.Equal(t, []int{0, 1}, []int{s.Label(0), s.Label(1)})
	n := s.Shape.Numel()
	got := make([]float32, 2*n)
	s.Fill([]int{0, 1}, got, make([]int, 2))
	for i, img := range []image.Image{red, blue} {
		want, err := preprocess.Tensor(img, folderPre)
		require.NoError(t, err)
		require.Equal(t, want.Data, got[i*n:(i+1)*n], "sample %d", i)
	}

	// A corrupt image is an error naming it.
	writeFile(t, filepath.Join(dir, "a", "0.png"), []byte("\x89PNG broken"))
	_, err = ImageFolder(dir, folderPre)
	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, filepath.Join("a", "0.png"))
}

// peakHeap runs f and returns the largest live heap sampled while it runs.
func peakHeap(f func()) uint64 {
	var mu sync.Mutex
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapAlloc)
			mu.Unlock()
		}
	}()
	f()
	close(stop)
	<-done
	return peak
}

// TestImageFolderMemory: a class of twelve 2048x2048 PNGs (small files,
// 16 MiB each decoded) is loaded holding one decoded image at a time, not
// the whole class (200 MiB).
func TestImageFolderMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 24 large images")
	}
	dir := t.TempDir()
	for i := range 12 {
		b := encodePNG(t, solid(2048, 2048, color.RGBA{uint8(20 * i), 100, 50, 255}))
		writeFile(t, filepath.Join(dir, "a", string(rune('a'+i))+".png"), b)
		writeFile(t, filepath.Join(dir, "b", string(rune('a'+i))+".png"), b)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var s *Set
	var err error
	peak := peakHeap(func() { s, err = ImageFolder(dir, folderPre) })
	require.NoError(t, err)
	require.Equal(t, 24, s.Len())
	grew := peak - min(peak, base.HeapAlloc)
	t.Logf("peak live heap %d MiB above the start", grew>>20)
	require.Less(t, grew, uint64(100<<20), "ImageFolder held several decoded images at once")
}
