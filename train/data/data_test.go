package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/nn"
)

func idx(dims []uint32, data []byte) []byte {
	b := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	return append(b, data...)
}

func TestDecodeIDX(t *testing.T) {
	dims, b, err := DecodeIDX(bytes.NewReader(idx([]uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6})), "t")
	require.NoError(t, err)
	require.Equal(t, []int{2, 3}, dims)
	require.Equal(t, []byte{1, 2, 3, 4, 5, 6}, b)
	bad := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"float type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}},
		{"zero dim", idx([]uint32{0}, nil)},
		{"short data", idx([]uint32{4}, []byte{1, 2})},
		{"huge dims", idx([]uint32{1 << 16, 1 << 16}, nil)},
	}
	for _, tt := range bad {
		_, _, err := DecodeIDX(bytes.NewReader(tt.in), tt.name)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", tt.name, err)
		}
	}
}

func TestFashionMNISTFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644))
	}
	write("t10k-images-idx3-ubyte.gz", idx([]uint32{2, 2, 2}, []byte{0, 255, 0, 255, 51, 51, 51, 51}))
	write("t10k-labels-idx1-ubyte.gz", idx([]uint32{2}, []byte{3, 9}))
	s, err := FashionMNIST(dir, false)
	require.NoError(t, err)
	require.Equal(t, nn.Shape{1, 2, 2}, s.Shape)
	require.Equal(t, []int{3, 9}, s.Labels)
	require.Equal(t, "Dress", s.Classes[3])
	x, l := make([]float32, 8), make([]int, 2)
	s.Fill([]int{1, 0}, x, l)
	require.Equal(t, []int{9, 3}, l)
	require.InDeltaSlice(t, []float32{0.2, 0.2, 0.2, 0.2, 0, 1, 0, 1}, x, 1e-6)
	_, err = FashionMNIST(t.TempDir(), true)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestBilinear(t *testing.T) {
	// 2×2 → 4×4 with half-pixel centres: PIL/torchvision bilinear values.
	src := []float32{0, 1, 2, 3}
	dst := make([]float32, 16)
	Bilinear(src, 2, 2, dst, 4, 4)
	want := []float32{
		0, 0.25, 0.75, 1,
		0.5, 0.75, 1.25, 1.5,
		1.5, 1.75, 2.25, 2.5,
		2, 2.25, 2.75, 3,
	}
	require.InDeltaSlice(t, want, dst, 1e-6)
	// Same size is the identity.
	same := make([]float32, 4)
	Bilinear(src, 2, 2, same, 2, 2)
	require.Equal(t, src, same)
}

func TestPerm(t *testing.T) {
	a, b := Perm(100, 7, 3), Perm(100, 7, 3)
	require.Equal(t, a, b)
	require.NotEqual(t, a, Perm(100, 7, 4))
	require.NotEqual(t, a, Perm(100, 8, 3))
	seen := make([]bool, 100)
	for _, v := range a {
		require.False(t, seen[v])
		seen[v] = true
	}
}
