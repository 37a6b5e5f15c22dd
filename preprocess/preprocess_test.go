package preprocess

import (
	"errors"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/spec"
)

func validPreset() spec.Preprocess {
	return spec.Preprocess{Resize: 8, Crop: 6, Interpolation: "bilinear", Norm: spec.Norm{Range: 1, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*spec.Preprocess)
		ok   bool
	}{
		{"valid", func(*spec.Preprocess) {}, true},
		{"bicubic", func(p *spec.Preprocess) { p.Interpolation = "bicubic" }, true},
		{"grayscale", func(p *spec.Preprocess) { p.Grayscale, p.Mean, p.Std = true, [3]float32{0}, [3]float32{1} }, true},
		{"no resize", func(p *spec.Preprocess) { p.Resize = 0 }, false},
		{"huge crop", func(p *spec.Preprocess) { p.Crop = MaxCrop + 1 }, false},
		{"nearest", func(p *spec.Preprocess) { p.Interpolation = "nearest" }, false},
		{"empty interpolation", func(p *spec.Preprocess) { p.Interpolation = "" }, false},
		{"zero range", func(p *spec.Preprocess) { p.Range = 0 }, false},
		{"zero std", func(p *spec.Preprocess) { p.Std = [3]float32{1, 0, 1} }, false},
		{"zero std in channel 0 of gray", func(p *spec.Preprocess) { p.Grayscale, p.Std = true, [3]float32{0, 1, 1} }, false},
		{"NaN mean", func(p *spec.Preprocess) { p.Mean[2] = float32(math.NaN()) }, false},
		{"BGR and gray", func(p *spec.Preprocess) { p.Grayscale, p.BGR = true, true }, false},
	}
	for _, tt := range tests {
		p := validPreset()
		tt.edit(&p)
		err := p.Validate()
		if got := err == nil; got != tt.ok {
			t.Errorf("%s: got error %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrPreset) {
			t.Errorf("%s: got %v, want an ErrPreset", tt.name, err)
		}
	}
}

func TestResizedSize(t *testing.T) {
	tests := []struct{ w, h, size, gotW, gotH int }{
		{500, 375, 256, 341, 256}, // int(256*500/375) = int(341.33)
		{375, 500, 256, 256, 341},
		{224, 224, 256, 256, 256},
		{1000, 700, 342, 488, 342},
		{3, 1000, 256, 256, 85333},
	}
	for _, tt := range tests {
		w, h := ResizedSize(tt.w, tt.h, tt.size)
		if w != tt.gotW || h != tt.gotH {
			t.Errorf("ResizedSize(%d, %d, %d) = %d, %d, want %d, %d", tt.w, tt.h, tt.size, w, h, tt.gotW, tt.gotH)
		}
	}
}

func TestCropOrigin(t *testing.T) {
	tests := []struct{ n, crop, want int }{
		{256, 224, 16},
		{341, 224, 58}, // 58.5 rounds half to even, as Python's round
		{343, 224, 60}, // 59.5 → 60
		{224, 224, 0},
		{200, 224, -12}, // zero padding of 12 on the left/top
		{201, 224, -11}, // torchvision pads (224-201)//2 = 11 before
	}
	for _, tt := range tests {
		if got := cropOrigin(tt.n, tt.crop); got != tt.want {
			t.Errorf("cropOrigin(%d, %d) = %d, want %d", tt.n, tt.crop, got, tt.want)
		}
	}
}

// TestTensorFlat checks the arithmetic on a flat image, where resizing
// cannot change a value: scaling, BGR, luma, normalisation, padding.
func TestTensorFlat(t *testing.T) {
	img := image.NewRGBA(image.Rect(10, 20, 40, 35)) // non-zero origin
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 51, 102, 204, 255
	}
	r, g, b := float32(51), float32(102), float32(204)
	tests := []struct {
		name string
		p    spec.Preprocess
		want []float32 // per channel, at the centre
	}{
		{"rgb 0-1", spec.Preprocess{Resize: 8, Crop: 8, Interpolation: "bilinear", Norm: spec.Norm{Range: 1, Mean: [3]float32{0, 0.1, 0.2}, Std: [3]float32{1, 2, 4}}},
			[]float32{r / 255, (g/255 - 0.1) / 2, (b/255 - 0.2) / 4}},
		{"bgr 0-255", spec.Preprocess{Resize: 16, Crop: 12, Interpolation: "bicubic", Norm: spec.Norm{Range: 255, BGR: true, Mean: [3]float32{104, 117, 128}, Std: [3]float32{1, 1, 1}}},
			[]float32{b - 104, g - 117, r - 128}},
		{"gray", spec.Preprocess{Resize: 9, Crop: 9, Interpolation: "bilinear", Norm: spec.Norm{Range: 1, Grayscale: true, Mean: [3]float32{0}, Std: [3]float32{1}}},
			[]float32{(0.299*r + 0.587*g + 0.114*b) / 255}},
	}
	for _, tt := range tests {
		x, err := Tensor(img, tt.p)
		require.NoError(t, err, tt.name)
		c, n := len(tt.want), tt.p.Crop
		require.Equal(t, []int{1, c, n, n}, x.Shape, tt.name)
		for ch, w := range tt.want {
			for i := 0; i < n*n; i++ {
				if got := x.Data[ch*n*n+i]; abs32(got-w) > 1e-5*(1+abs32(w)) {
					t.Fatalf("%s: channel %d pixel %d: got %v, want %v", tt.name, ch, i, got, w)
				}
			}
		}
	}

	// A crop larger than the resized image is padded with zero pixels,
	// which normalise to -mean/std.
	p := spec.Preprocess{Resize: 4, Crop: 8, Interpolation: "bilinear", Norm: spec.Norm{Range: 1, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}}
	x, err := Tensor(img, p) // resized to 8x4 (w×h): rows 0-1 and 6-7 are padding
	require.NoError(t, err)
	if got, want := x.Data[0], float32(-1); got != want {
		t.Errorf("padding: got %v, want %v", got, want)
	}
	if got, want := x.Data[3*8+3], (r/255-0.5)/0.5; abs32(got-want) > 1e-5 {
		t.Errorf("inside: got %v, want %v", got, want)
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// TestAlphaDropped checks that transparency is dropped, not composited,
// as PIL's convert("RGB") does, for NRGBA, RGBA and paletted images.
func TestAlphaDropped(t *testing.T) {
	p := spec.Preprocess{Resize: 4, Crop: 4, Interpolation: "bilinear", Norm: spec.Norm{Range: 255, Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}}
	c := color.NRGBA{200, 100, 50, 0}
	n := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{c})
	g := image.NewGray16(image.Rect(0, 0, 4, 4)) // generic path
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			n.SetNRGBA(x, y, c)
			g.SetGray16(x, y, color.Gray16{Y: 0x6464})
		}
	}
	for name, tt := range map[string]struct {
		img  image.Image
		want [3]float32
	}{
		"nrgba":    {n, [3]float32{200, 100, 50}},
		"paletted": {pal, [3]float32{200, 100, 50}},
		"gray16":   {g, [3]float32{100, 100, 100}},
	} {
		x, err := Tensor(tt.img, p)
		require.NoError(t, err, name)
		for ch := 0; ch < 3; ch++ {
			if got := x.Data[ch*16+5]; got != tt.want[ch] {
				t.Errorf("%s channel %d: got %v, want %v", name, ch, got, tt.want[ch])
			}
		}
	}
}

func TestBatch(t *testing.T) {
	p := validPreset()
	a, b := testImage(30, 20, 1), testImage(17, 40, 2)
	x, err := Batch([]image.Image{a, b}, p)
	require.NoError(t, err)
	require.Equal(t, []int{2, 3, 6, 6}, x.Shape)
	for i, img := range []image.Image{a, b} {
		one, err := Tensor(img, p)
		require.NoError(t, err)
		require.Equal(t, one.Data, x.Data[i*len(one.Data):(i+1)*len(one.Data)], "sample %d", i)
	}

	tests := []struct {
		name string
		imgs []image.Image
		p    spec.Preprocess
		want error
	}{
		{"no images", nil, p, ErrImage},
		{"nil image", []image.Image{a, nil}, p, ErrImage},
		{"empty image", []image.Image{image.NewRGBA(image.Rect(0, 0, 0, 5))}, p, ErrImage},
		{"bad preset", []image.Image{a}, spec.Preprocess{}, ErrPreset},
		{"extreme aspect", []image.Image{image.NewGray(image.Rect(0, 0, 1, 1<<24))}, p, ErrTooLarge},
	}
	for _, tt := range tests {
		_, err := Batch(tt.imgs, tt.p)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got error %v, want %v", tt.name, err, tt.want)
		}
	}
}

// BenchmarkTensor preprocesses a 12 MP photo-sized image (4032×3024 YCbCr
// 4:2:0, as a phone JPEG decodes) for the inception-v1-tv preset.
func BenchmarkTensor(b *testing.B) {
	img := image.NewYCbCr(image.Rect(0, 0, 4032, 3024), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i * 7)
	}
	p := spec.Preprocess{Resize: 256, Crop: 224, Interpolation: "bilinear", Norm: spec.Norm{Range: 1, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}}
	b.ResetTimer()
	for range b.N {
		if _, err := Tensor(img, p); err != nil {
			b.Fatal(err)
		}
	}
}
