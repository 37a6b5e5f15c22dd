package preprocess_test

import (
	"fmt"
	"image"
	"image/color"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/registry"
)

// ExampleTensor turns a 320×240 picture into the input of inception-v3:
// the shorter side resized to 342, a 299×299 centre crop, values
// normalised per channel with the preset's mean and standard deviation.
func ExampleTensor() {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			img.SetRGBA(x, y, color.RGBA{R: uint8(x * 255 / 319), G: 128, B: 255, A: 255})
		}
	}
	spec, err := registry.Lookup("inception-v3")
	if err != nil {
		panic(err)
	}
	x, err := preprocess.Tensor(img, spec.Preprocess)
	if err != nil {
		panic(err)
	}
	p := spec.Preprocess
	fmt.Println(p.Resize, p.Crop, p.Interpolation, x.Shape)
	// Channel 1 (green) is a constant 128/255 everywhere, normalised.
	fmt.Printf("%.3f %.3f\n", x.Data[299*299], (128.0/255-p.Mean[1])/p.Std[1])
	// Output:
	// 342 299 bilinear [1 3 299 299]
	// 0.205 0.205
}

// ExampleExtensions lists the image file extensions Decode reads, the
// list the CLI and the data loaders pick files by.
func ExampleExtensions() {
	fmt.Println(preprocess.Extensions())
	fmt.Println(preprocess.IsImage("cat.JPG"), preprocess.IsImage("cat.tiff"))
	// Output:
	// [.bmp .gif .jpeg .jpg .png .webp]
	// true false
}
