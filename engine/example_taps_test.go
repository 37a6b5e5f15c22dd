package engine_test

import (
	"fmt"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/tensor"
)

// Tap an intermediate block and get it with the model output from one pass.
func ExampleCompileWith() {
	net := nn.Seq(
		nn.ConvUnit{Name: "stem", BNEps: 1e-3, Conv: nn.Conv{Out: 8, Kernel: nn.K(3), Pad: nn.P(1)}}.Block(),
		nn.GlobalAvgPool{Name: "pool"}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 4, Bias: true},
	)
	g, err := nn.Lower(net, nn.Shape{3, 16, 16})
	if err != nil {
		panic(err)
	}
	var stem int
	for _, b := range g.Blocks {
		if b.Path == "stem" {
			stem = b.Node
		}
	}
	m, err := engine.CompileWith(g, nn.InitParams(g, 1), engine.Options{Taps: []int{stem}})
	if err != nil {
		panic(err)
	}
	vals, err := m.RunNodes(tensor.New(2, 3, 16, 16), g.Output, stem)
	if err != nil {
		panic(err)
	}
	fmt.Println(vals[0].Shape, vals[1].Shape)
	// Output: [2 4] [2 8 16 16]
}
