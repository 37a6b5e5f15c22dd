package preprocess

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/inceptionzoo/inception/spec"
)

// torchResizeScript is the reference for spec.TorchBilinear: PIL's
// convert("RGB"), torchvision's ToTensor, then F.interpolate(mode=
// "bilinear", align_corners=False) to the stretched size (pytorch-fid's
// resize_input) or to torchvision's shorter-side size followed by
// CenterCrop, then the preset's normalisation in float32 as pytorch-fid
// writes it (2x - 1 for its preset).
const torchResizeScript = `
import json, sys
import torch, torch.nn.functional as F
from PIL import Image
from torchvision import transforms as T
for j in json.load(open(sys.argv[1])):
    x = T.ToTensor()(Image.open(j["png"]).convert("RGB"))[None]
    x = F.interpolate(x, size=(j["h"], j["w"]), mode="bilinear", align_corners=False)
    if not j["stretch"]:
        x = T.CenterCrop(j["crop"])(x)
    if j["fid"]:
        x = 2 * x - 1
    x[0].numpy().astype("<f4").tofile(j["out"])
`

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// fidPreset is pytorch-fid's input pipeline as a spec.Preprocess.
var fidPreset = spec.Preprocess{Resize: 299, Crop: 299, Interpolation: spec.TorchBilinear, Stretch: true, Norm: spec.Inception}

// TestTorchBilinearMatchesTorch compares spec.TorchBilinear with torch
// 1.13's F.interpolate on images smaller, larger and the same size as
// the output, in colour and grey: the resized values in [0, 1] (an
// identity normalisation) within rtol 1e-6, and pytorch-fid's full
// preset (2x − 1) within 2e-7 absolute.
func TestTorchBilinearMatchesTorch(t *testing.T) {
	requireTorchvision(t)
	identity := spec.Norm{Name: "identity", Range: 1, Std: [3]float32{1, 1, 1}}
	presets := []struct {
		name string
		p    spec.Preprocess
		fid  bool
	}{
		{"stretch-299", spec.Preprocess{Resize: 299, Crop: 299, Interpolation: spec.TorchBilinear, Stretch: true, Norm: identity}, false},
		{"fid", fidPreset, true},
		{"shorter-side-80-crop-64", spec.Preprocess{Resize: 80, Crop: 64, Interpolation: spec.TorchBilinear, Norm: identity}, false},
		{"pad-crop", spec.Preprocess{Resize: 40, Crop: 48, Interpolation: spec.TorchBilinear, Norm: identity}, false},
	}
	dir := t.TempDir()
	type job struct {
		PNG     string `json:"png"`
		H       int    `json:"h"`
		W       int    `json:"w"`
		Crop    int    `json:"crop"`
		Stretch bool   `json:"stretch"`
		FID     bool   `json:"fid"`
		Out     string `json:"out"`

		name string
		img  image.Image
		p    spec.Preprocess
	}
	var jobs []job
	sizes := [][2]int{{97, 61}, {299, 299}, {500, 375}, {1000, 700}, {300, 298}, {33, 400}}
	for i, sz := range sizes {
		var img image.Image = testImage(sz[0], sz[1], uint64(100+i))
		if i == 4 { // grey: convert("RGB") repeats the luma
			g := image.NewGray(img.Bounds())
			for y := 0; y < sz[1]; y++ {
				for x := 0; x < sz[0]; x++ {
					g.Set(x, y, color.GrayModel.Convert(img.At(x, y)))
				}
			}
			img = g
		}
		file := filepath.Join(dir, fmt.Sprintf("img%d.png", i))
		writePNG(t, file, img)
		for _, pr := range presets {
			w, h := pr.p.Crop, pr.p.Crop
			if !pr.p.Stretch {
				w, h = ResizedSize(sz[0], sz[1], pr.p.Resize)
			}
			jobs = append(jobs, job{PNG: file, H: h, W: w, Crop: pr.p.Crop, Stretch: pr.p.Stretch, FID: pr.fid,
				Out:  filepath.Join(dir, fmt.Sprintf("%s-%d.f32", pr.name, i)),
				name: fmt.Sprintf("%s/%dx%d", pr.name, sz[0], sz[1]), img: img, p: pr.p})
		}
	}
	jobsJSON, _ := json.Marshal(jobs)
	jobFile, script := filepath.Join(dir, "jobs.json"), filepath.Join(dir, "ref.py")
	if err := os.WriteFile(jobFile, jobsJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte(torchResizeScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(python, script, jobFile).CombinedOutput(); err != nil {
		t.Fatalf("reference: %v\n%s", err, out)
	}
	equal, total := 0, 0
	for _, j := range jobs {
		t.Run(j.name, func(t *testing.T) {
			got, err := Tensor(j.img, j.p)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(j.Out)
			if err != nil {
				t.Fatal(err)
			}
			if len(raw) != 4*len(got.Data) {
				t.Fatalf("got %d values, torch %d", len(got.Data), len(raw)/4)
			}
			spread := 0.0
			for i := range got.Data {
				w := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
				d := math.Abs(float64(got.Data[i]) - float64(w))
				tol := 1e-6 * math.Abs(float64(w))
				if j.p.Norm == spec.Inception {
					// 2x − 1 near 0 has no relative scale: rtol 1e-6 on x.
					tol = 1e-6 * (math.Abs(float64(w)) + 1)
				}
				spread = max(spread, math.Abs(float64(w)-float64(got.Data[0])))
				if d > tol {
					c, p := i/(j.p.Crop*j.p.Crop), i%(j.p.Crop*j.p.Crop)
					t.Fatalf("channel %d (%d,%d): got %v, torch %v (diff %g > %g)", c, p%j.p.Crop, p/j.p.Crop, got.Data[i], w, d, tol)
				}
				total++
				if d == 0 {
					equal++
				}
			}
			if spread < 0.5 {
				t.Fatalf("reference values span only %g: the image is too flat for the check to mean anything", spread)
			}
		})
	}
	t.Logf("%d tensors, %d values, %d bit-identical to torch", len(jobs), total, equal)
}

func TestStretchPresetValidation(t *testing.T) {
	ok := fidPreset
	if err := ok.Validate(); err != nil {
		t.Fatalf("pytorch-fid preset: %v", err)
	}
	for _, tt := range []struct {
		name string
		edit func(*spec.Preprocess)
	}{
		{"stretch with resize != crop", func(p *spec.Preprocess) { p.Resize = 342 }},
		{"stretch with PIL bilinear", func(p *spec.Preprocess) { p.Interpolation = "bilinear" }},
		{"unknown interpolation", func(p *spec.Preprocess) { p.Interpolation = "torch-bicubic" }},
	} {
		p := fidPreset
		tt.edit(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: Validate() = nil, want an error", tt.name)
		}
		if _, err := Tensor(testImage(8, 8, 1), p); err == nil {
			t.Errorf("%s: Tensor() error = nil, want an error", tt.name)
		}
	}
}

func TestTorchTaps(t *testing.T) {
	// 4 → 2: scale 2, sources 0.5 and 2.5; 2 → 4: scale 0.5, sources
	// -0.25 (clamped to 0), 0.25, 0.75, 1.25 (last sample: i1 = i0).
	tests := []struct {
		in, out int
		want    []axisTaps
	}{
		{4, 2, []axisTaps{{0, 1, 0.5, 0.5}, {2, 3, 0.5, 0.5}}},
		{2, 4, []axisTaps{{0, 1, 1, 0}, {0, 1, 0.75, 0.25}, {0, 1, 0.25, 0.75}, {1, 1, 0.75, 0.25}}},
		{3, 3, []axisTaps{{0, 0, 1, 0}, {1, 1, 1, 0}, {2, 2, 1, 0}}},
	}
	for _, tt := range tests {
		got := torchTaps(tt.in, tt.out, 0, tt.out)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("torchTaps(%d, %d) = %v, want %v", tt.in, tt.out, got, tt.want)
		}
	}
}
