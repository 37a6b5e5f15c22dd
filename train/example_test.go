package train_test

import (
	"fmt"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/train"
	"github.com/inceptionzoo/inception/train/data"
)

// ExampleRun trains a small network for two epochs on 16 images: dark
// ones (class 0) and light ones (class 1).
func ExampleRun() {
	g, err := nn.Lower(nn.Seq(
		nn.Conv{Name: "c", Out: 4, Kernel: nn.K(3), Pad: nn.P(1), Bias: true}, nn.ReLU{},
		nn.GlobalAvgPool{}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 2, Bias: true},
	), nn.Shape{1, 8, 8})
	if err != nil {
		panic(err)
	}
	p := nn.InitParams(g, 1)
	train.D2LInit(g, p, 1)
	x := make([]float32, 16*64)
	labels := make([]int, 16)
	for i := range labels {
		labels[i] = i % 2
		for j := 0; j < 64; j++ {
			x[i*64+j] = 0.2 + 0.6*float32(labels[i])
		}
	}
	set, err := data.NewFloats(nn.Shape{1, 8, 8}, x, labels, []string{"dark", "light"})
	if err != nil {
		panic(err)
	}
	res, err := train.Run(train.Config{Model: "tiny", Graph: g, Params: p, Train: set, Epochs: 2, Batch: 4,
		Optimizer: &train.SGD{Momentum: 0.9}, Schedule: train.Schedule{Base: 0.1}, Seed: 1})
	fmt.Println(res.Steps, len(res.Epochs), err)
	// Output: 8 2 <nil>
}
