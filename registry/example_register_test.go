package registry_test

import (
	"fmt"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
)

// ExampleRegister adds a model to registry.Default, typically from the
// init function of a package that defines a variant; zoo.Load then finds
// it by name. (Not run: it would change Default for the other examples.)
func ExampleRegister() {
	err := registry.Register(registry.Entry{
		Name:    "my-inception",
		Aliases: []string{"mine"},
		Input:   nn.Shape{3, 64, 64},
		Classes: 10,
		Output:  spec.Logits,
		Build: func(o nn.Options) (nn.Block, error) {
			return nn.Seq(
				nn.Conv{Name: "conv", Out: 16, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: nn.P(1), Bias: true},
				nn.ReLU{}, nn.GlobalAvgPool{}, nn.Flatten{},
				nn.Linear{Name: "fc", Out: 10, Bias: true}), nil
		},
	})
	if err != nil {
		fmt.Println(err)
	}
}

// ExampleLookup finds a model by name or alias; an unknown name suggests
// the closest ones.
func ExampleLookup() {
	e, err := registry.Lookup("googlenet")
	fmt.Println(e.Name, e.Input, e.Classes, err)
	_, err = registry.Lookup("inception-v5")
	fmt.Println(err)
	// Output:
	// inception-v1 3x224x224 1000 <nil>
	// registry: unknown model "inception-v5"; did you mean "inception-v1" or "inception-v2" or "inception-v3"? (known: inception-bn, inception-resnet-v1, inception-resnet-v2, inception-v1, inception-v1-caffe2, inception-v1-d2l, inception-v1-tv, inception-v2, inception-v3, inception-v3-fid, inception-v4)
}
