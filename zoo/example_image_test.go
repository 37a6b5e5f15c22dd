package zoo_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"os"

	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/zoo"
)

// ExampleModel_PredictImage classifies an image with the 10-class D2L
// GoogLeNet. Its weights here are seeded, not trained, so the answer is
// arbitrary; PredictImage preprocesses the image as the model's preset
// says and labels the classes (Fashion-MNIST for this model).
func ExampleModel_PredictImage() {
	m, err := zoo.Load("inception-v1-d2l")
	if err != nil {
		panic(err)
	}
	img := image.NewGray(image.Rect(0, 0, 28, 28)) // a Fashion-MNIST-sized picture
	for y := 8; y < 20; y++ {
		for x := 6; x < 22; x++ {
			img.SetGray(x, y, color.Gray{Y: 200})
		}
	}
	top, err := m.PredictImage(img, 3)
	if err != nil {
		panic(err)
	}
	for _, p := range top {
		fmt.Printf("%d %-12s %.3f\n", p.Index, p.Label, p.Score)
	}
	// Output:
	// 3 Dress        0.325
	// 7 Sneaker      0.136
	// 0 T-shirt/top  0.130
}

// ExampleModel_ExportONNX writes a model as ONNX and reads the file back:
// one initializer per parameter, named by its path, and the zoo's
// metadata.
func ExampleModel_ExportONNX() {
	m, err := zoo.Load("inception-v1-d2l", zoo.WithSeed(7))
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	if err := m.ExportONNX(&buf, convert.ExportOptions{Opset: 13}); err != nil {
		panic(err)
	}
	g, err := onnxir.Decode(&buf, onnxir.DecodeOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println("opset", g.Opset, "initializers", len(g.Initializers), "parameters", len(m.Params))
	fmt.Println(g.Metadata[convert.MetaModel], g.Metadata[zoo.MetaClasses], g.Metadata[zoo.MetaOutput])
	// Output:
	// opset 13 initializers 116 parameters 116
	// inception-v1-d2l 10 logits
}

// ExamplePretrained classifies a photo with the ONNX Model Zoo's GoogLeNet:
// the first call downloads the weights (26.7 MiB, checked against their
// SHA-256) into the weight cache, later calls read the cached copy. The
// download needs network access to media.githubusercontent.com; offline,
// the error says where to place a copy of the file.
func ExamplePretrained() {
	m, err := zoo.Load("inception-v1", zoo.Pretrained(zoo.PretrainedProgress(os.Stderr)))
	if err != nil {
		fmt.Println(err)
		return
	}
	img, err := preprocess.Open("cat.jpg")
	if err != nil {
		fmt.Println(err)
		return
	}
	top, err := m.PredictImage(img, 5)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range top {
		fmt.Printf("%.3f %s\n", p.Score, p.Label)
	}
}

// ExampleFetchWeights downloads the weight file of one of a model's tags
// into the cache without loading the model (what `inception fetch` does),
// reporting progress; zoo.Load with Pretrained then uses the cached copy.
func ExampleFetchWeights() {
	e, err := registry.Lookup("inception-v1")
	if err != nil {
		panic(err)
	}
	for _, t := range e.Tags {
		fmt.Println(e.Ref(&t), t.File.Name, t.File.Size)
	}
	_, _, err = zoo.FetchWeights(context.Background(), nil, "inception-v1.bvlc_in1k", zoo.PretrainedProgress(os.Stderr))
	if err != nil {
		fmt.Println(err) // offline: says where to place the file
		return
	}
	m, err := zoo.Load("inception-v1.bvlc_in1k", zoo.Pretrained())
	fmt.Println(m != nil, err)
}
