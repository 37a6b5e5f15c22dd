package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"

	"github.com/inceptionzoo/inception/internal/regular"
	"github.com/inceptionzoo/inception/spec"
)

var update = flag.Bool("update", false, "rewrite testdata/hostile from the generators in hostileCases")

const hostileDir = "testdata/hostile"

// hostileCase is one file of the hostile image corpus: its generator and
// the error Decode (or, with tensor set, Tensor after a successful
// Decode) must return.
type hostileCase struct {
	file   string
	gen    func(t *testing.T) []byte
	tensor bool
	want   error
	substr string
}

// png16Huge is a 16-bit RGBA PNG whose header declares 8192x8192 pixels.
func png16Huge(t *testing.T) []byte {
	src := image.NewNRGBA64(image.Rect(0, 0, 4, 4))
	src.Set(1, 1, color.NRGBA64{1000, 2000, 3000, 40000})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, src))
	return withPNGSize(buf.Bytes(), 8192, 8192)
}

// withPNGSize rewrites the IHDR width and height (and its CRC).
func withPNGSize(b []byte, w, h uint32) []byte {
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func encodedPNG(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{"progressive_8192x8192_truncated.jpg", func(*testing.T) []byte { return progressiveJPEG(8192, 8192, 3, 0, 64) }, false, ErrTooLarge, "MaxDecodeBytes"},
		{"progressive_101_scans.jpg", func(*testing.T) []byte { return progressiveJPEG(64, 64, 1, MaxJPEGScans, -1) }, false, ErrTooLarge, "MaxJPEGScans"},
		{"progressive_4096x4096_65_scans.jpg", func(*testing.T) []byte { return progressiveJPEG(4096, 4096, 1, 64, -1) }, false, ErrTooLarge, "MaxJPEGScanBlocks"},
		{"jpeg_segment_length_1.jpg", func(*testing.T) []byte { return []byte{0xff, 0xd8, 0xff, 0xdb, 0x00, 0x01, 0xff, 0xd9} }, false, ErrFormat, ""},
		{"jpeg_truncated.jpg", func(*testing.T) []byte { return progressiveJPEG(40, 24, 3, 3, -1)[:150] }, false, ErrFormat, ""},
		{"png16_8192x8192.png", png16Huge, false, ErrTooLarge, "MaxDecodeBytes"},
		{"png_100000x100000.png", func(t *testing.T) []byte { return withPNGSize(encodedPNG(t, quadrants(4, 4)), 100000, 100000) }, false, ErrTooLarge, "limit"},
		{"png_truncated.png", func(t *testing.T) []byte { return encodedPNG(t, quadrants(40, 30))[:60] }, false, ErrFormat, ""},
		{"png_1x200000.png", func(t *testing.T) []byte { return encodedPNG(t, image.NewGray(image.Rect(0, 0, 1, 200000))) }, true, ErrTooLarge, "resizes to"},
		{"bmp_truncated.bmp", func(t *testing.T) []byte {
			var buf bytes.Buffer
			require.NoError(t, bmp.Encode(&buf, quadrants(20, 10)))
			return buf.Bytes()[:200]
		}, false, ErrFormat, ""},
		{"garbage.bin", func(*testing.T) []byte { return []byte("GIF89a\x00\x10\x00\x10 not really") }, false, ErrFormat, ""},
	}
}

// hostilePreset is the preprocessing the corpus's tensor cases run: a
// 28x28 model's.
var hostilePreset = spec.Preprocess{Resize: 28, Crop: 28, Interpolation: "bilinear", Norm: spec.Gray}

// TestHostileCorpus decodes every file of testdata/hostile (regenerated
// with -update) and checks its error; none may allocate more than a few
// MiB.
func TestHostileCorpus(t *testing.T) {
	cases := hostileCases()
	if *update {
		require.NoError(t, os.MkdirAll(hostileDir, 0o755))
		for _, c := range cases {
			require.NoError(t, os.WriteFile(filepath.Join(hostileDir, c.file), c.gen(t), 0o644))
		}
	}
	files, err := os.ReadDir(hostileDir)
	require.NoError(t, err)
	require.Len(t, files, len(cases), "testdata/hostile has files without a case, or cases without a file (run with -update)")
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(hostileDir, c.file))
			require.NoError(t, err, "run go test ./preprocess -run TestHostileCorpus -update")
			n := allocated(func() {
				var img image.Image
				img, err = Decode(bytes.NewReader(data))
				if c.tensor {
					require.NoError(t, err)
					_, err = Tensor(img, hostilePreset)
				}
			})
			require.ErrorIs(t, err, c.want)
			require.ErrorContains(t, err, c.substr)
			require.Less(t, n, uint64(64<<20), "allocated %d bytes", n)
		})
	}
}

// bitWriter writes the entropy-coded bits of a JPEG scan, most significant
// first, stuffing a zero after every 0xff byte.
type bitWriter struct {
	out   []byte
	acc   uint32
	nbits uint
}

func (b *bitWriter) put(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		b.acc = b.acc<<1 | (v>>uint(i))&1
		b.nbits++
		if b.nbits == 8 {
			b.out = append(b.out, byte(b.acc))
			if byte(b.acc) == 0xff {
				b.out = append(b.out, 0)
			}
			b.acc, b.nbits = 0, 0
		}
	}
}

// flush pads the last byte with one bits.
func (b *bitWriter) flush() []byte {
	for b.nbits != 0 {
		b.put(1, 1)
	}
	return b.out
}

func segment(marker byte, body ...byte) []byte {
	return append([]byte{0xff, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)}, body...)
}

// progressiveJPEG returns a progressive JPEG of w×h pixels with nc
// components (sampling 1x1 each) whose coefficients are all zero (every
// sample 128): a DHT with one DC code and fifteen end-of-band run codes,
// one interleaved DC scan, then acScans AC scans per component, each a
// few end-of-band runs over all of the component's blocks. With dcData
// >= 0, the DC scan carries only that many bytes and the file ends there
// (a truncated file whose header still makes a decoder allocate).
func progressiveJPEG(w, h, nc, acScans, dcData int) []byte {
	out := []byte{0xff, 0xd8}
	q := make([]byte, 65)
	for i := 1; i < 65; i++ {
		q[i] = 1
	}
	out = append(out, segment(0xdb, q...)...)
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(nc)}
	for c := 1; c <= nc; c++ {
		sof = append(sof, byte(c), 0x11, 0)
	}
	out = append(out, segment(0xc2, sof...)...)
	// DC table 0: one code "0" for category 0. AC table 0: symbols
	// 0x00, 0x10, …, 0xe0 (EOBr runs) with the 4-bit codes 0 … 14.
	dc := append([]byte{0x00, 1}, make([]byte, 15)...)
	dc = append(dc, 0)
	ac := append([]byte{0x10, 0, 0, 0, 15}, make([]byte, 12)...)
	for r := 0; r < 15; r++ {
		ac = append(ac, byte(r<<4))
	}
	out = append(out, segment(0xc4, dc...)...)
	out = append(out, segment(0xc4, ac...)...)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)

	sos := []byte{byte(nc)}
	for c := 1; c <= nc; c++ {
		sos = append(sos, byte(c), 0x00)
	}
	sos = append(sos, 0, 0, 0)
	out = append(out, segment(0xda, sos...)...)
	if dcData >= 0 {
		return append(out, make([]byte, dcData)...)
	}
	var bw bitWriter
	for i := 0; i < blocks*nc; i++ {
		bw.put(0, 1) // DC difference category 0
	}
	out = append(out, bw.flush()...)
	for s := 0; s < acScans; s++ {
		for c := 1; c <= nc; c++ {
			out = append(out, segment(0xda, 1, byte(c), 0x00, 1, 63, 0)...)
			var bw bitWriter
			for left := blocks; left > 0; {
				r := 0
				for r < 14 && 1<<(r+1) <= left {
					r++
				}
				extra := min(left-1<<r, 1<<r-1)
				bw.put(uint32(r), 4)
				bw.put(uint32(extra), uint(r))
				left -= 1<<r + extra
			}
			out = append(out, bw.flush()...)
		}
	}
	return append(out, 0xff, 0xd9)
}

// TestProgressiveJPEGGenerator: the generator's files are valid JPEGs
// that image/jpeg decodes to uniform grey, and scanJPEG reads their frame
// and scans.
func TestProgressiveJPEGGenerator(t *testing.T) {
	for _, nc := range []int{1, 3} {
		data := progressiveJPEG(40, 24, nc, 3, -1)
		img, err := Decode(bytes.NewReader(data))
		require.NoError(t, err, "nc=%d", nc)
		require.Equal(t, image.Rect(0, 0, 40, 24), img.Bounds())
		r, g, b, _ := img.At(17, 9).RGBA()
		require.InDelta(t, 128, int(r>>8), 1)
		require.InDelta(t, 128, int(g>>8), 1)
		require.InDelta(t, 128, int(b>>8), 1)
		f, err := scanJPEG(data)
		require.NoError(t, err)
		require.True(t, f.progressive)
		require.Equal(t, [2]int{40, 24}, [2]int{f.width, f.height})
		require.Equal(t, repeatSampling(nc), f.sampling)
		require.Equal(t, 1+3*nc, f.scans)
		blocks := int64(5 * 3)
		require.Equal(t, blocks*int64(nc)*(1+3), f.scanBlocks(), "the DC scan codes every component, each AC scan one")
		require.Equal(t, blocks*int64(nc)*(64+256), f.decodeBytes())
	}
}

func repeatSampling(n int) [][2]int {
	var s [][2]int
	for range n {
		s = append(s, [2]int{1, 1})
	}
	return s
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestHostileJPEG: a kilobyte progressive JPEG declaring 8192x8192 pixels
// is refused from its header (image/jpeg would allocate about 1 GB of
// coefficients and planes before finding the data truncated), and a small
// JPEG with more than MaxJPEGScans scans is refused before decoding (each
// scan visits every block).
func TestHostileJPEG(t *testing.T) {
	huge := progressiveJPEG(8192, 8192, 3, 0, 64)
	require.Less(t, len(huge), 2048)
	var err error
	n := allocated(func() { _, err = Decode(bytes.NewReader(huge)) })
	require.ErrorIs(t, err, ErrTooLarge)
	require.Contains(t, err.Error(), "MaxDecodeBytes")
	require.Less(t, n, uint64(16<<20), "allocated %d bytes for a %d-byte file", n, len(huge))

	many := progressiveJPEG(64, 64, 1, MaxJPEGScans, -1) // 1 + MaxJPEGScans scans
	_, err = Decode(bytes.NewReader(many))
	require.ErrorIs(t, err, ErrTooLarge)
	require.Contains(t, err.Error(), "MaxJPEGScans")
	ok := progressiveJPEG(64, 64, 1, MaxJPEGScans-1, -1)
	_, err = Decode(bytes.NewReader(ok))
	require.NoError(t, err)

	// 4096x4096 grey: 262144 blocks, 84 MB of coefficients (within
	// MaxDecodeBytes); 64 scans make exactly MaxJPEGScanBlocks visits, 65
	// one scan's worth more.
	f, err := scanJPEG(progressiveJPEG(4096, 4096, 1, 63, -1))
	require.NoError(t, err)
	require.Equal(t, int64(MaxJPEGScanBlocks), f.scanBlocks())
	_, err = Decode(bytes.NewReader(progressiveJPEG(4096, 4096, 1, 64, -1)))
	require.ErrorIs(t, err, ErrTooLarge)
	require.Contains(t, err.Error(), "MaxJPEGScanBlocks")

	// A photo-size progressive JPEG within the budget decodes.
	_, err = Decode(bytes.NewReader(progressiveJPEG(2000, 1500, 3, 2, -1)))
	require.NoError(t, err)
}

// TestHostilePNG: a 16-bit RGBA PNG declaring 8192x8192 pixels (within
// MaxPixels, 512 MiB decoded) is refused from its header.
func TestHostilePNG(t *testing.T) {
	src := image.NewNRGBA64(image.Rect(0, 0, 4, 4))
	src.Set(1, 1, color.NRGBA64{1000, 2000, 3000, 40000})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, src))
	b := buf.Bytes()
	require.Equal(t, byte(16), b[24], "bit depth")
	binary.BigEndian.PutUint32(b[16:], 8192)
	binary.BigEndian.PutUint32(b[20:], 8192)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	var err error
	n := allocated(func() { _, err = Decode(bytes.NewReader(b)) })
	require.ErrorIs(t, err, ErrTooLarge)
	require.Contains(t, err.Error(), "512 MiB")
	require.Less(t, n, uint64(16<<20))
}

func TestDecodeBMP(t *testing.T) {
	src := quadrants(21, 11)
	var buf bytes.Buffer
	require.NoError(t, bmp.Encode(&buf, src))
	img, err := Decode(&buf)
	require.NoError(t, err)
	require.Equal(t, src.Rect, img.Bounds())
	for _, p := range []image.Point{{0, 0}, {15, 8}, {20, 10}, {3, 9}} {
		if got, want := img.At(p.X, p.Y), src.At(p.X, p.Y); !near(got, want) {
			t.Errorf("at %v: got %v, want %v", p, got, want)
		}
	}
}

func TestExtensions(t *testing.T) {
	require.Equal(t, []string{".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp"}, Extensions())
	for name, want := range map[string]bool{"a.JPG": true, "b.png": true, "c.Bmp": true, "d.tiff": false, "e": false, "f.webp": true, "png": false} {
		if got := IsImage(name); got != want {
			t.Errorf("IsImage(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestOpenFIFO: a FIFO named as an image is refused at once, not read
// forever.
func TestOpenFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cat.png")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := Open(p); done <- err }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, regular.ErrNotRegular)
	case <-time.After(10 * time.Second):
		t.Fatal("Open blocked on a FIFO")
	}
	_, err := Open(os.DevNull)
	require.ErrorIs(t, err, regular.ErrNotRegular)
}

// TestScanJPEGHostile: truncations and mutations of valid files never
// make scanJPEG panic or count more scans than SOS markers present.
func TestScanJPEGHostile(t *testing.T) {
	good := progressiveJPEG(24, 16, 3, 2, -1)
	for n := range good {
		checkScan(t, good[:n])
	}
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0x5a
		checkScan(t, b)
	}
	f, err := scanJPEG(segment(0xe0, 1, 2, 3)) // no SOI
	require.ErrorIs(t, err, ErrFormat)
	require.Zero(t, f.scans)
	_, err = scanJPEG([]byte{0xff, 0xd8, 0xff, 0xc4, 0, 1})
	require.ErrorIs(t, err, ErrFormat, "segment length below 2")
}

func checkScan(t *testing.T, data []byte) {
	t.Helper()
	f, err := scanJPEG(data)
	if err != nil && !errors.Is(err, ErrFormat) {
		t.Fatalf("error %v does not wrap ErrFormat", err)
	}
	if sos := bytes.Count(data, []byte{0xff, 0xda}); f.scans > sos {
		t.Fatalf("counted %d scans, the data has %d SOS markers", f.scans, sos)
	}
	_ = f.decodeBytes()
}

func FuzzScanJPEG(f *testing.F) {
	f.Add(progressiveJPEG(24, 16, 3, 2, -1))
	f.Add(progressiveJPEG(8192, 8192, 3, 0, 64))
	f.Add(progressiveJPEG(16, 16, 1, 1, -1)[:40])
	var buf bytes.Buffer
	_ = png.Encode(&buf, quadrants(5, 3))
	f.Add(buf.Bytes())
	f.Add([]byte{0xff, 0xd8})
	f.Add([]byte{})
	addCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScan(t, data)
		if len(data) < 1<<16 {
			_, _ = Decode(bytes.NewReader(data))
		}
	})
}

// addCorpus adds the files of testdata/hostile to a fuzz target's seeds.
func addCorpus(f *testing.F) {
	files, _ := os.ReadDir(hostileDir)
	for _, e := range files {
		if b, err := os.ReadFile(filepath.Join(hostileDir, e.Name())); err == nil {
			f.Add(b)
		}
	}
}
