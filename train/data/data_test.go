package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"runtime"
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
	require.Equal(t, 2, s.Len())
	require.Equal(t, []int{3, 9}, []int{s.Label(0), s.Label(1)})
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

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// TestIDXBomb: a 1 KB gzip declaring 2^20 28x28 images (822 MB) is
// refused at its header, and a file whose data stops early costs memory
// for what it holds, not for what it declares.
func TestIDXBomb(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.gz")
	require.NoError(t, os.WriteFile(big, gz(t, idx([]uint32{1 << 20, 28, 28}, make([]byte, 4096))), 0o644))
	_, _, err := ReadIDX(big)
	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "MaxIDXBytes")

	// declares 200 MB (within the limit), holds 1 MB of zeros
	short := filepath.Join(dir, "short.gz")
	require.NoError(t, os.WriteFile(short, gz(t, idx([]uint32{255102, 28, 28}, make([]byte, 1<<20))), 0o644))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err = ReadIDX(short)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, ErrFormat)
	require.ErrorContains(t, err, "1048576 of the 199999968 bytes")
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("reading a truncated file allocated %d bytes, want < 16 MiB", alloc)
	}
}

// TestLabelsStayBytes: Fashion-MNIST labels are kept one byte per sample
// and out-of-range labels are refused.
func TestLabelsStayBytes(t *testing.T) {
	s, err := NewBytes(nn.Shape{1, 1, 1}, []uint8{1, 2, 3}, []int{0, 9, 255}, nil)
	require.NoError(t, err)
	require.Len(t, s.lab8, 3)
	require.Nil(t, s.lab16)
	require.Equal(t, 255, s.Label(2))
	s, err = NewBytes(nn.Shape{1, 1, 1}, []uint8{1, 2}, []int{0, 300}, nil)
	require.NoError(t, err)
	require.Equal(t, 300, s.Label(1))
	_, err = NewBytes(nn.Shape{1, 1, 1}, []uint8{1, 2}, []int{0, 2}, []string{"a", "b"})
	require.ErrorIs(t, err, ErrFormat)
	_, err = NewBytes(nn.Shape{1, 1, 1}, []uint8{1}, []int{-1}, nil)
	require.ErrorIs(t, err, ErrFormat)
}

func TestFingerprint(t *testing.T) {
	mk := func(pix []uint8, labels []int) *Set {
		s, err := NewBytes(nn.Shape{1, 1, 2}, pix, labels, []string{"a", "b"})
		require.NoError(t, err)
		return s
	}
	a := mk([]uint8{1, 2, 3, 4}, []int{0, 1})
	require.Equal(t, a.Fingerprint(), mk([]uint8{1, 2, 3, 4}, []int{0, 1}).Fingerprint())
	require.Regexp(t, "^sha256:[0-9a-f]{64}$", a.Fingerprint())
	for name, b := range map[string]*Set{
		"pixel":  mk([]uint8{1, 2, 3, 5}, []int{0, 1}),
		"label":  mk([]uint8{1, 2, 3, 4}, []int{1, 1}),
		"subset": a.Subset(1),
	} {
		require.NotEqual(t, a.Fingerprint(), b.Fingerprint(), name)
	}
	r, err := a.Resize(3)
	require.NoError(t, err)
	require.NotEqual(t, a.Fingerprint(), r.Fingerprint(), "resized")
	f, err := NewFloats(nn.Shape{1, 1, 2}, []float32{1, 2, 3, 4}, []int{0, 1}, []string{"a", "b"})
	require.NoError(t, err)
	require.NotEqual(t, a.Fingerprint(), f.Fingerprint(), "floats")
}

// FuzzDecodeIDX: any input gives dims and data or ErrFormat, never a
// panic, and the data has the size the dims declare.
func FuzzDecodeIDX(f *testing.F) {
	f.Add(idx([]uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(idx([]uint32{2, 2, 2}, []byte{0, 255, 0, 255, 51, 51, 51, 51}))
	f.Add(idx([]uint32{4}, []byte{1, 2}))                    // truncated data
	f.Add(idx([]uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6})[:9]) // truncated header
	f.Add(idx([]uint32{1 << 16, 1 << 16}, nil))              // too big
	f.Add(idx([]uint32{0}, nil))                             // zero dim
	f.Add([]byte{0, 0, 8, 9, 0, 0, 0, 1})                    // rank 9
	f.Add([]byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0})     // float type
	f.Fuzz(func(t *testing.T, b []byte) {
		dims, data, err := DecodeIDX(bytes.NewReader(b), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not ErrFormat", err)
			}
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if len(data) != n || n > MaxIDXBytes || len(dims) > MaxIDXRank {
			t.Fatalf("dims %v, %d bytes", dims, len(data))
		}
	})
}
