package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"github.com/inceptionzoo/inception/internal/regular"
)

// Limits on untrusted image files.
const (
	// MaxPixels bounds the width×height of an image Decode accepts (and of
	// any image Tensor resizes): 64 MP, 256 MiB as 8-bit RGBA.
	MaxPixels = 64 << 20
	// MaxBytes bounds the size of an encoded image file.
	MaxBytes = 256 << 20
	// MaxDecodeBytes bounds the memory a decoder may need for one image, as
	// estimated from its header before decoding: the decoded pixels (8
	// bytes per pixel for 16-bit RGBA, 1 for grey or paletted; twice that
	// for an interlaced PNG, whose passes are decoded separately) and, for
	// a progressive JPEG, the coefficients the decoder keeps for every
	// 8x8 block (256 bytes per block and component). A 1 KB progressive
	// JPEG declaring 8192x8192 pixels would otherwise take 900 MB.
	MaxDecodeBytes = 256 << 20
	// MaxJPEGScans bounds the scans (SOS markers) of a JPEG. image/jpeg
	// visits every block of a scan's components in each scan, so a small
	// file repeating end-of-band runs over a large image costs minutes;
	// encoders write at most a few dozen scans (libjpeg's progressive
	// script has 10 for colour, 6 for grey).
	MaxJPEGScans = 100
	// MaxJPEGScanBlocks bounds the block visits of a JPEG's scans: the
	// sum over its scans of the 8x8 blocks of the components each codes.
	// A progressive 12 MP photo makes about 2 million; the largest
	// progressive JPEG MaxDecodeBytes admits, with libjpeg's ten scans,
	// about 8 million. image/jpeg takes some 100 ns per visit even for
	// empty blocks, so this bounds a JPEG's decoding to a few seconds.
	MaxJPEGScanBlocks = 16 << 20
)

// More errors returned by this package.
var (
	// ErrFormat reports a file that is not a supported image (JPEG, PNG,
	// GIF, WebP or BMP) or is corrupt.
	ErrFormat = errors.New("preprocess: unsupported or corrupt image")
	// ErrTooLarge reports an image over one of the limits: MaxPixels,
	// MaxBytes, MaxDecodeBytes, MaxJPEGScans or MaxJPEGScanBlocks.
	ErrTooLarge = errors.New("preprocess: image too large")
)

type codec struct {
	name   string
	ext    []string // file name extensions, lower case with the dot
	magic  func([]byte) bool
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
	// cost returns the bytes decoding needs (see MaxDecodeBytes), given
	// the header's configuration; it may refuse the file outright.
	cost func(data []byte, cfg image.Config) (int64, error)
}

// codecs are the formats Decode accepts, recognised by their magic bytes
// (not through image.RegisterFormat, so a program's other registered
// decoders are never reached with untrusted bytes).
var codecs = []codec{
	{"jpeg", []string{".jpg", ".jpeg"}, func(b []byte) bool { return bytes.HasPrefix(b, []byte("\xff\xd8")) }, jpeg.DecodeConfig, jpeg.Decode, jpegCost},
	{"png", []string{".png"}, func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }, png.DecodeConfig, png.Decode, pngCost},
	{"gif", []string{".gif"}, func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a"))
	}, gif.DecodeConfig, gif.Decode, pixelCost},
	{"webp", []string{".webp"}, func(b []byte) bool {
		return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
	}, webp.DecodeConfig, webp.Decode, pixelCost},
	{"bmp", []string{".bmp"}, func(b []byte) bool { return bytes.HasPrefix(b, []byte("BM")) }, bmp.DecodeConfig, bmp.Decode, pixelCost},
}

// Extensions returns the file name extensions of the formats Decode reads
// (lower case, with the dot, sorted): the one list the CLI and the data
// loaders pick image files by.
func Extensions() []string {
	var out []string
	for _, c := range codecs {
		out = append(out, c.ext...)
	}
	slices.Sort(out)
	return out
}

// IsImage reports whether name has one of the Extensions (in any case).
func IsImage(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, c := range codecs {
		if slices.Contains(c.ext, ext) {
			return true
		}
	}
	return false
}

// Open decodes the image file at path (see Decode). Only regular files are
// read: a FIFO, a device or a directory is refused (an error wrapping
// regular.ErrNotRegular) instead of blocking or reading forever.
func Open(path string) (image.Image, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	defer f.Close()
	img, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Decode reads a JPEG, PNG, GIF (first frame), WebP or BMP image. The
// image's size is read from its header and checked against MaxPixels, and
// the memory its decoder needs against MaxDecodeBytes (a JPEG's markers
// are walked first: its frame and its scans, against MaxJPEGScans and
// MaxJPEGScanBlocks), before any pixel is decoded; at most MaxBytes are read.
// A JPEG's EXIF orientation (APP1 Exif, IFD0 tag 0x0112) is applied, so the
// result is upright as a viewer shows it. Orientation tags of other
// formats are ignored.
func Decode(r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("preprocess: reading image: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrTooLarge, MaxBytes)
	}
	var c *codec
	for i := range codecs {
		if codecs[i].magic(data) {
			c = &codecs[i]
			break
		}
	}
	if c == nil {
		return nil, fmt.Errorf("%w: not JPEG, PNG, GIF, WebP or BMP", ErrFormat)
	}
	cfg, err := safe(func() (image.Config, error) { return c.config(bytes.NewReader(data)) })
	if err != nil {
		return nil, fmt.Errorf("%w: %s header: %w", ErrFormat, c.name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s of %d×%d pixels", ErrFormat, c.name, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("%w: %s of %d×%d pixels, limit %d", ErrTooLarge, c.name, cfg.Width, cfg.Height, MaxPixels)
	}
	need, err := c.cost(data, cfg)
	if err != nil {
		return nil, err
	}
	if need > MaxDecodeBytes {
		return nil, fmt.Errorf("%w: %s of %d×%d pixels needs about %d MiB to decode, limit %d MiB (MaxDecodeBytes)",
			ErrTooLarge, c.name, cfg.Width, cfg.Height, need>>20, MaxDecodeBytes>>20)
	}
	img, err := safe(func() (image.Image, error) { return c.decode(bytes.NewReader(data)) })
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, c.name, err)
	}
	if b := img.Bounds(); b.Empty() || int64(b.Dx())*int64(b.Dy()) > MaxPixels {
		return nil, fmt.Errorf("%w: %s decoded to %v", ErrFormat, c.name, b)
	}
	if c.name == "jpeg" {
		img = Orient(img, ExifOrientation(data))
	}
	return img, nil
}

// bytesPerPixel is the memory per pixel of the image type a decoder
// returns for a colour model.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3 // 4:4:4 at most
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // 16-bit RGBA and anything unknown
}

// pixelCost is the decoded image's size.
func pixelCost(_ []byte, cfg image.Config) (int64, error) {
	return int64(cfg.Width) * int64(cfg.Height) * bytesPerPixel(cfg.ColorModel), nil
}

// pngCost is the decoded image's size, twice for an interlaced PNG (its
// seven passes are decoded into images of their own, then merged).
func pngCost(data []byte, cfg image.Config) (int64, error) {
	n, _ := pixelCost(data, cfg)
	if len(data) > 28 && data[28] == 1 { // IHDR interlace method: Adam7
		n *= 2
	}
	return n, nil
}

// jpegCost walks the JPEG's markers (scanJPEG): too many scans are refused,
// and the decoder's memory is estimated from the frame header.
func jpegCost(data []byte, _ image.Config) (int64, error) {
	f, err := scanJPEG(data)
	if err != nil {
		return 0, err
	}
	if f.scans > MaxJPEGScans {
		return 0, fmt.Errorf("%w: JPEG with %d scans, limit %d (MaxJPEGScans)", ErrTooLarge, f.scans, MaxJPEGScans)
	}
	if n := f.scanBlocks(); n > MaxJPEGScanBlocks {
		return 0, fmt.Errorf("%w: JPEG of %d×%d pixels whose %d scans visit %d blocks, limit %d (MaxJPEGScanBlocks)",
			ErrTooLarge, f.width, f.height, f.scans, n, MaxJPEGScanBlocks)
	}
	return f.decodeBytes(), nil
}

// safe runs a third-party decoder, turning a panic on hostile bytes into an
// error.
func safe[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	return f()
}

// ExifOrientation returns the EXIF orientation (1–8) stored in the APP1
// segment of a JPEG file, or 1 (upright) when there is none or it cannot be
// read. It scans the markers before the image data only, never reads
// outside data and never panics.
func ExifOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return 1
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xff {
			return 1
		}
		m := data[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0x01 || (m >= 0xd0 && m <= 0xd7): // no length
			i += 2
			continue
		case m == 0xda || m == 0xd9: // start of scan, end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return 1
		}
		seg := data[i+4 : i+2+n]
		if m == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 of IFD0 of a TIFF structure; 0 if absent
// or invalid.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 0
	}
	n := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, count := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if typ != 3 || count != 1 { // SHORT, one value, stored inline
			return 0
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// Orient returns img transformed by EXIF orientation o so that it shows
// upright: 2 mirrors, 3 rotates 180°, 4 flips vertically, 5 transposes, 6
// rotates 90° clockwise, 7 transverses, 8 rotates 90° counter-clockwise.
// For 1 or an invalid value img is returned unchanged. The result of a
// transformation is an *image.RGBA with bounds at the origin.
func Orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Rect, img, b.Min, draw.Src)
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			copy(dst.Pix[y*dst.Stride+4*x:y*dst.Stride+4*x+4], src.Pix[sy*src.Stride+4*sx:])
		}
	}
	return dst
}
