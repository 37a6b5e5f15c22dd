package registry_test

import (
	"fmt"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
)

func ExampleRegistry_Register() {
	r, _ := registry.New(registry.Builtin()...)
	err := r.Register(registry.Entry{
		Name:    "my-net",
		Input:   nn.Shape{3, 32, 32},
		Classes: 10,
		Build: func(o nn.Options) (nn.Block, error) {
			return nn.Seq(nn.GlobalAvgPool{}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 10, Bias: true}), nil
		},
	})
	fmt.Println(err)
	_, err = r.Lookup("my-net")
	fmt.Println(err)
	fmt.Println(r.Register(registry.Entry{Name: "googlenet", Input: nn.Shape{3, 1, 1}, Classes: 1, Build: func(nn.Options) (nn.Block, error) { return nil, nil }}))
	// Output:
	// <nil>
	// <nil>
	// registry: name already registered: "googlenet" (registered by "inception-v1")
}

func ExampleNames() {
	for _, n := range registry.Names() {
		fmt.Println(n)
	}
	// Output:
	// inception-bn
	// inception-resnet-v1
	// inception-resnet-v2
	// inception-v1
	// inception-v1-caffe2
	// inception-v1-d2l
	// inception-v1-tv
	// inception-v2
	// inception-v3
	// inception-v3-fid
	// inception-v4
}
