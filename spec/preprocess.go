package spec

import (
	"errors"
	"fmt"
	"math"

	"github.com/inceptionzoo/inception/nn"
)

// ErrPreset reports an unusable Preprocess.
var ErrPreset = errors.New("spec: invalid preprocessing preset")

// MaxSide bounds Preprocess.Resize and Preprocess.Crop (pixels per side), so
// that a hostile preset (from a file's metadata, say) cannot ask for an
// enormous tensor.
const MaxSide = 4096

// Norm is how a preset turns 8-bit pixels into values: scale to
// [0, Range], reorder to BGR or reduce to one luma channel, then per channel
// (x − Mean) / Std in the scaled units. A one-channel preset uses Mean[0]
// and Std[0]. Norm values are compared with ==; the presets below are the
// ones the published weights use.
type Norm struct {
	Name      string     `json:"norm"`
	Range     float32    `json:"range"`
	BGR       bool       `json:"bgr,omitempty"`
	Grayscale bool       `json:"grayscale,omitempty"`
	Mean      [3]float32 `json:"mean"`
	Std       [3]float32 `json:"std"`
}

// The normalisation presets of the published weights.
var (
	// ImageNet is torchvision's: RGB in [0, 1], ImageNet mean and std.
	ImageNet = Norm{Name: "imagenet", Range: 1,
		Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	// Inception is the TF-slim Inception range: RGB in [0, 1], then
	// (x − 0.5) / 0.5, i.e. [−1, 1].
	Inception = Norm{Name: "inception", Range: 1,
		Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.5, 0.5}}
	// CaffeBGR is BVLC Caffe's: BGR in [0, 255] minus the ILSVRC-2012 mean
	// pixel.
	CaffeBGR = Norm{Name: "caffe-bgr", Range: 255, BGR: true,
		Mean: [3]float32{103.939, 116.779, 123.68}, Std: [3]float32{1, 1, 1}}
	// BNInceptionBGR is the Caffe BN-Inception release's (Cadene's
	// bninception settings): BGR in [0, 255] minus [104, 117, 128].
	BNInceptionBGR = Norm{Name: "bninception-bgr", Range: 255, BGR: true,
		Mean: [3]float32{104, 117, 128}, Std: [3]float32{1, 1, 1}}
	// FaceNet is facenet-pytorch's fixed_image_standardization: RGB in
	// [0, 255], (x − 127.5) / 128.
	FaceNet = Norm{Name: "facenet", Range: 255,
		Mean: [3]float32{127.5, 127.5, 127.5}, Std: [3]float32{128, 128, 128}}
	// Gray is one luma channel in [0, 1], unnormalised (pixel / 255), as the
	// Fashion-MNIST models are trained.
	Gray = Norm{Name: "gray", Range: 1, Grayscale: true, Std: [3]float32{1, 1, 1}}
)

// Preprocess is the input pipeline a model's weights expect: decode, resize
// the shorter side to Resize with Interpolation, centre-crop Crop×Crop, then
// normalise as Norm says (see package preprocess). With Stretch, the whole
// image is resized to Crop×Crop instead (its aspect ratio is not kept and
// nothing is cropped; Resize must equal Crop; Interpolation must be
// "torch-bilinear"), as pytorch-fid resizes.
type Preprocess struct {
	Resize int `json:"resize"`
	Crop   int `json:"crop"`
	// Interpolation is "bilinear" or "bicubic" (PIL's resampling of the
	// 8-bit image, antialiased when shrinking, as torchvision's Resize on a
	// PIL image), or "torch-bilinear": PyTorch's
	// F.interpolate(mode="bilinear", align_corners=False) on the float
	// image in [0, 1] (ToTensor's values), without antialiasing and
	// without rounding to 8 bits, as pytorch-fid resizes inside its
	// network.
	Interpolation string `json:"interpolation"`
	Stretch       bool   `json:"stretch,omitempty"`
	Norm
}

// Pipeline returns a Preprocess with the given geometry and normalisation.
func Pipeline(resize, crop int, interpolation string, n Norm) Preprocess {
	return Preprocess{Resize: resize, Crop: crop, Interpolation: interpolation, Norm: n}
}

// Channels returns the number of channels p produces: 1 for a Grayscale
// preset, 3 otherwise.
func (p Preprocess) Channels() int {
	if p.Grayscale {
		return 1
	}
	return 3
}

// Shape returns the per-sample shape [C, Crop, Crop] that p produces.
func (p Preprocess) Shape() nn.Shape { return nn.Shape{p.Channels(), p.Crop, p.Crop} }

// Interpolations are the resampling kernels a Preprocess may name.
var Interpolations = []string{"bilinear", "bicubic", TorchBilinear}

// TorchBilinear is the Interpolation of PyTorch's F.interpolate(mode=
// "bilinear", align_corners=False) on float values (see Preprocess).
const TorchBilinear = "torch-bilinear"

// Validate checks that p describes a pipeline package preprocess can run.
func (p Preprocess) Validate() error {
	if p.Resize < 1 || p.Resize > MaxSide {
		return fmt.Errorf("%w: resize %d outside [1, %d]", ErrPreset, p.Resize, MaxSide)
	}
	if p.Crop < 1 || p.Crop > MaxSide {
		return fmt.Errorf("%w: crop %d outside [1, %d]", ErrPreset, p.Crop, MaxSide)
	}
	switch p.Interpolation {
	case "bilinear", "bicubic", TorchBilinear:
	default:
		return fmt.Errorf("%w: interpolation %q (want \"bilinear\", \"bicubic\" or %q)", ErrPreset, p.Interpolation, TorchBilinear)
	}
	if p.Stretch && p.Interpolation != TorchBilinear {
		return fmt.Errorf("%w: stretch is defined with %q interpolation only, not %q", ErrPreset, TorchBilinear, p.Interpolation)
	}
	if p.Stretch && p.Resize != p.Crop {
		return fmt.Errorf("%w: stretch resizes to the crop size: resize %d must equal crop %d", ErrPreset, p.Resize, p.Crop)
	}
	if !(p.Range > 0) || math.IsInf(float64(p.Range), 0) {
		return fmt.Errorf("%w: range %v must be positive (1 or 255)", ErrPreset, p.Range)
	}
	if p.BGR && p.Grayscale {
		return fmt.Errorf("%w: both BGR and grayscale", ErrPreset)
	}
	for i := range p.Channels() {
		m, s := float64(p.Mean[i]), float64(p.Std[i])
		if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) || math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("%w: channel %d has mean %v, std %v", ErrPreset, i, m, s)
		}
	}
	return nil
}

// String describes p in one line, e.g. "resize 342, crop 299, bilinear,
// imagenet".
func (p Preprocess) String() string {
	if p.Stretch {
		return fmt.Sprintf("stretch to %dx%d, %s, %s", p.Crop, p.Crop, p.Interpolation, p.Norm.Name)
	}
	return fmt.Sprintf("resize %d, crop %d, %s, %s", p.Resize, p.Crop, p.Interpolation, p.Norm.Name)
}
