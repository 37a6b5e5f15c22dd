package gorgon_test

import (
	"fmt"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/train/gorgon"
)

// ExampleBuild runs one forward and backward pass of a small network on a
// batch of two images and reads the gradients of its learned parameters.
func ExampleBuild() {
	g, err := nn.Lower(nn.Seq(
		nn.Conv{Name: "c", Out: 3, Kernel: nn.K(3), Pad: nn.P(1), Bias: true}, nn.ReLU{},
		nn.MaxPool{Kernel: nn.K(2), Stride: nn.K(2)},
		nn.Flatten{}, nn.Linear{Name: "fc", Out: 2, Bias: true},
	), nn.Shape{1, 4, 4})
	if err != nil {
		panic(err)
	}
	net, err := gorgon.Build(g, nn.InitParams(g, 1), gorgon.Config{Batch: 2})
	if err != nil {
		panic(err)
	}
	defer net.Close()
	x := make([]float32, 2*16)
	for i := range x {
		x[i] = float32(i%5) / 5
	}
	if _, _, err := net.Step(x, []int{0, 1}); err != nil {
		panic(err)
	}
	grads, err := net.Grads()
	if err != nil {
		panic(err)
	}
	for i, s := range net.Learn {
		fmt.Println(s.Path, len(grads[i]))
	}
	// Output:
	// c.weight 27
	// c.bias 3
	// fc.weight 24
	// fc.bias 2
}
