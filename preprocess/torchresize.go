package preprocess

import (
	"fmt"
	"image"

	"github.com/inceptionzoo/inception/spec"
)

// axisTaps are the source indices and weights of one output coordinate of
// PyTorch's bilinear interpolation along one axis.
type axisTaps struct {
	i0, i1 int
	l0, l1 float32
}

// torchTaps returns the taps of F.interpolate(mode="bilinear",
// align_corners=False) from in to out samples for the outputs [lo, hi),
// computed as ATen's CPU kernel does (torch 1.13,
// compute_source_index_and_lambda, whose index arithmetic is in double):
// scale = in/out in float32; the source coordinate scale·(i + 0.5) − 0.5
// in double, clamped at 0; i0 its integer part, i1 = i0 + 1 except at the
// last sample; λ1 = src − i0 rounded to float32, λ0 = 1 − λ1 in float32.
// (These weights equal torch's bit for bit; rounding the source coordinate
// to float32 first, as the kernel's types suggest, gives weights off by up
// to 3e-5 for a 1000-pixel side.) An axis whose size does not change is
// copied (λ0 = 1). Outputs outside [0, out) get no taps.
func torchTaps(in, out, lo, hi int) []axisTaps {
	taps := make([]axisTaps, hi-lo)
	scale := float32(in) / float32(out)
	for k := range taps {
		i := lo + k
		if i < 0 || i >= out {
			taps[k] = axisTaps{i0: -1}
			continue
		}
		if in == out {
			taps[k] = axisTaps{i0: i, i1: i, l0: 1}
			continue
		}
		src := max(float64(scale)*(float64(i)+0.5)-0.5, 0)
		i0 := int(src)
		i1 := i0
		if i0 < in-1 {
			i1++
		}
		l1 := float32(min(src-float64(i0), 1))
		taps[k] = axisTaps{i0: i0, i1: i1, l0: 1 - l1, l1: l1}
	}
	return taps
}

// sampleTorch writes the C×Crop×Crop tensor of img under a preset whose
// interpolation is spec.TorchBilinear into out: the 8-bit RGB image as
// ToTensor's float32 values v/255, resized with PyTorch's bilinear
// interpolation (the whole image to Crop×Crop with Stretch, else the
// shorter side to Resize and a centre crop, positions outside the resized
// image being 0), then normalised. The interpolation reads the four
// neighbours of each output straight from the 8-bit image, so no float
// copy of a large image is made; the arithmetic is float32 in ATen's
// order: each row interpolated along the width, then the two rows along
// the height. Against torch 1.13 (TestTorchBilinearMatchesTorch) 81% of
// the values are bit-identical and the rest within two float32 ulps
// (ATen's vectorised kernel rounds some sums differently).
func sampleTorch(out []float32, img image.Image, p spec.Preprocess) error {
	b := img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	w, h := p.Crop, p.Crop
	left, top := 0, 0
	if !p.Stretch {
		w, h = ResizedSize(iw, ih, p.Resize)
		if w < 1 || h < 1 || int64(w)*int64(h) > MaxPixels {
			return fmt.Errorf("%w: %d×%d resizes to %d×%d", ErrTooLarge, iw, ih, w, h)
		}
		left, top = cropOrigin(w, p.Crop), cropOrigin(h, p.Crop)
	}
	src := opaqueRGBA(img)
	xs := torchTaps(iw, w, left, left+p.Crop)
	ys := torchTaps(ih, h, top, top+p.Crop)
	at := func(y, x, c int) float32 { return float32(src.Pix[y*src.Stride+4*x+c]) / 255 }
	plane := p.Crop * p.Crop
	scale := float64(p.Range)
	var v [3]float64
	for oy, ty := range ys {
		for ox, tx := range xs {
			v = [3]float64{}
			if ty.i0 >= 0 && tx.i0 >= 0 {
				for c := range 3 {
					// float32(a*b) rounds each product: no fused multiply-add.
					t0 := float32(at(ty.i0, tx.i0, c)*tx.l0) + float32(at(ty.i0, tx.i1, c)*tx.l1)
					t1 := float32(at(ty.i1, tx.i0, c)*tx.l0) + float32(at(ty.i1, tx.i1, c)*tx.l1)
					v[c] = float64(float32(t0*ty.l0)+float32(t1*ty.l1)) * scale
				}
			}
			i := oy*p.Crop + ox
			if p.Grayscale {
				l := v[0]*0.299 + v[1]*0.587 + v[2]*0.114
				out[i] = float32((l - float64(p.Mean[0])) / float64(p.Std[0]))
				continue
			}
			r, g, bl := v[0], v[1], v[2]
			if p.BGR {
				r, bl = bl, r
			}
			out[i] = float32((r - float64(p.Mean[0])) / float64(p.Std[0]))
			out[plane+i] = float32((g - float64(p.Mean[1])) / float64(p.Std[1]))
			out[2*plane+i] = float32((bl - float64(p.Mean[2])) / float64(p.Std[2]))
		}
	}
	return nil
}
