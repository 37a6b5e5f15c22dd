package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/image/bmp"
)

// quadrants is a w×h image with four flat colours: red top-left, green
// top-right, blue bottom-left, white bottom-right.
func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{0, 0, 0, 255}
			switch {
			case x < w/2 && y < h/2:
				c.R = 255
			case y < h/2:
				c.G = 255
			case x < w/2:
				c.B = 255
			default:
				c = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// exifSegment builds an APP1 Exif segment whose IFD0 holds a dummy tag and
// the orientation tag.
func exifSegment(bo binary.ByteOrder, orientation uint16) []byte {
	var t bytes.Buffer
	if bo == binary.LittleEndian {
		t.WriteString("II")
	} else {
		t.WriteString("MM")
	}
	w := func(v any) { _ = binary.Write(&t, bo, v) }
	w(uint16(42))
	w(uint32(8)) // IFD0 right after the header
	w(uint16(2)) // two entries
	// ImageWidth (LONG) first, so the parser has to skip an entry.
	w(uint16(0x0100))
	w(uint16(4))
	w(uint32(1))
	w(uint32(640))
	w(uint16(0x0112))
	w(uint16(3))
	w(uint32(1))
	w(orientation)
	w(uint16(0))
	w(uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// jpegWithExif encodes img and inserts seg right after SOI.
func jpegWithExif(t *testing.T, img image.Image, seg []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}))
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

func near(a, b color.Color) bool {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	d := func(x, y uint32) bool { return x-y < 0x1000 || y-x < 0x1000 }
	return d(ar, br) && d(ag, bg) && d(ab, bb)
}

func TestDecodeEXIFOrientation(t *testing.T) {
	red, green, blue, white := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 255, 0, 255}, color.RGBA{0, 0, 255, 255}, color.RGBA{255, 255, 255, 255}
	// Corner colours (top-left, top-right, bottom-left, bottom-right) after
	// each orientation is applied to the stored quadrant image.
	tests := []struct {
		o      uint16
		corner [4]color.RGBA
		w, h   int
	}{
		{1, [4]color.RGBA{red, green, blue, white}, 64, 48},
		{2, [4]color.RGBA{green, red, white, blue}, 64, 48},
		{3, [4]color.RGBA{white, blue, green, red}, 64, 48},
		{4, [4]color.RGBA{blue, white, red, green}, 64, 48},
		{5, [4]color.RGBA{red, blue, green, white}, 48, 64},
		{6, [4]color.RGBA{blue, red, white, green}, 48, 64},
		{7, [4]color.RGBA{white, green, blue, red}, 48, 64},
		{8, [4]color.RGBA{green, white, red, blue}, 48, 64},
	}
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, tt := range tests {
			data := jpegWithExif(t, quadrants(64, 48), exifSegment(bo, tt.o))
			if got := ExifOrientation(data); got != int(tt.o) {
				t.Fatalf("%v orientation %d: ExifOrientation = %d", bo, tt.o, got)
			}
			img, err := Decode(bytes.NewReader(data))
			require.NoError(t, err)
			b := img.Bounds()
			if b.Dx() != tt.w || b.Dy() != tt.h {
				t.Fatalf("%v orientation %d: got %dx%d, want %dx%d", bo, tt.o, b.Dx(), b.Dy(), tt.w, tt.h)
			}
			pts := []image.Point{{b.Min.X + 2, b.Min.Y + 2}, {b.Max.X - 3, b.Min.Y + 2}, {b.Min.X + 2, b.Max.Y - 3}, {b.Max.X - 3, b.Max.Y - 3}}
			for i, p := range pts {
				if got := img.At(p.X, p.Y); !near(got, tt.corner[i]) {
					t.Errorf("%v orientation %d corner %d: got %v, want %v", bo, tt.o, i, got, tt.corner[i])
				}
			}
		}
	}
}

func TestExifOrientationHostile(t *testing.T) {
	good := jpegWithExif(t, quadrants(8, 8), exifSegment(binary.BigEndian, 6))
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"empty", nil, 1},
		{"soi only", []byte{0xff, 0xd8}, 1},
		{"not jpeg", []byte("\x89PNG\r\n\x1a\n"), 1},
		{"no exif", jpegWithExif(t, quadrants(8, 8), nil), 1},
		{"good", good, 6},
		{"bad orientation value", jpegWithExif(t, quadrants(8, 8), exifSegment(binary.LittleEndian, 9)), 1},
		{"segment length past end", []byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E', 'x'}, 1},
		{"segment length below 2", []byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01, 0, 0}, 1},
		{"IFD offset past end", append([]byte{0xff, 0xd8, 0xff, 0xe1, 0, 16}, []byte("Exif\x00\x00MM\x00\x2a\xff\xff\xff\xf0")...), 1},
		{"entry count past end", append([]byte{0xff, 0xd8, 0xff, 0xe1, 0, 18}, []byte("Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\xff\xff")...), 1},
	}
	for _, tt := range tests {
		if got := ExifOrientation(tt.data); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
	// Every truncation of a valid file is safe.
	for n := range good {
		_ = ExifOrientation(good[:n])
	}
}

func FuzzExifOrientation(f *testing.F) {
	f.Add([]byte{0xff, 0xd8})
	f.Add(exifSegment(binary.LittleEndian, 3))
	f.Add(append([]byte{0xff, 0xd8}, exifSegment(binary.BigEndian, 8)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := ExifOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d outside 1..8", o)
		}
	})
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	_ = png.Encode(&buf, quadrants(5, 3))
	f.Add(buf.Bytes())
	buf.Reset()
	_ = jpeg.Encode(&buf, quadrants(5, 3), nil)
	f.Add(buf.Bytes())
	f.Add([]byte("GIF89a"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8L"))
	buf.Reset()
	_ = bmp.Encode(&buf, quadrants(5, 3))
	f.Add(buf.Bytes())
	f.Add(progressiveJPEG(24, 16, 3, 2, -1))
	f.Add(progressiveJPEG(8192, 8192, 3, 0, 64))
	addCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(bytes.NewReader(data))
		if err == nil && img.Bounds().Empty() {
			t.Fatal("nil error with an empty image")
		}
	})
}

func TestDecodeFormats(t *testing.T) {
	src := quadrants(20, 10)
	encode := map[string]func(*bytes.Buffer) error{
		"png":  func(b *bytes.Buffer) error { return png.Encode(b, src) },
		"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, src, nil) },
		"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, src, &jpeg.Options{Quality: 100}) },
	}
	for name, enc := range encode {
		var buf bytes.Buffer
		require.NoError(t, enc(&buf))
		img, err := Decode(&buf)
		require.NoError(t, err, name)
		if got, want := img.Bounds().Size(), src.Rect.Size(); got != want {
			t.Errorf("%s: got size %v, want %v", name, got, want)
		}
		want := color.RGBA{255, 255, 255, 255}
		if got := img.At(15, 8); !near(got, want) {
			t.Errorf("%s: got %v at (15,8), want %v", name, got, want)
		}
	}
}

// TestDecodeWebP decodes a lossless WebP written by PIL and compares it
// pixel for pixel with the source PNG.
func TestDecodeWebP(t *testing.T) {
	if exec.Command(python, "-c", "from PIL import features; assert features.check('webp')").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("PIL with WebP support missing under CI: apt-get install python3-pil")
		}
		t.Skip("PIL with WebP support missing: apt-get install python3-pil")
	}
	dir := t.TempDir()
	src := testImage(33, 17, 9)
	pngFile, webpFile := filepath.Join(dir, "a.png"), filepath.Join(dir, "a.webp")
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, src))
	require.NoError(t, os.WriteFile(pngFile, buf.Bytes(), 0o644))
	script := "import sys; from PIL import Image; Image.open(sys.argv[1]).save(sys.argv[2], lossless=True)"
	if out, err := exec.Command(python, "-c", script, pngFile, webpFile).CombinedOutput(); err != nil {
		t.Fatalf("writing webp: %v\n%s", err, out)
	}
	img, err := Open(webpFile)
	require.NoError(t, err)
	for y := 0; y < 17; y++ {
		for x := 0; x < 33; x++ {
			gr, gg, gb, _ := img.At(x, y).RGBA()
			w := src.RGBAAt(x, y)
			if gr>>8 != uint32(w.R) || gg>>8 != uint32(w.G) || gb>>8 != uint32(w.B) {
				t.Fatalf("(%d,%d): got %v, want %v", x, y, img.At(x, y), w)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	// A PNG header claiming 100000×100000 pixels: refused before decoding.
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, quadrants(4, 4)))
	huge := append([]byte{}, buf.Bytes()...)
	binary.BigEndian.PutUint32(huge[16:], 100000) // IHDR width
	binary.BigEndian.PutUint32(huge[20:], 100000) // IHDR height
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"text", []byte("hello, world"), ErrFormat},
		{"truncated png", buf.Bytes()[:30], ErrFormat},
		{"huge png", huge, ErrTooLarge},
	}
	for _, tt := range tests {
		_, err := Decode(bytes.NewReader(tt.data))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got error %v, want %v", tt.name, err, tt.want)
		}
	}
	_, err := Open(filepath.Join(t.TempDir(), "missing.png"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
