package zoo_test

import (
	"fmt"

	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

func ExampleLoad() {
	m, err := zoo.Load("googlenet") // an alias of inception-v1
	if err != nil {
		panic(err)
	}
	s := m.Summary()
	fmt.Println(m.Spec.Name, s.Input, s.Params, s.MACs)
	// Output: inception-v1 3x224x224 6998552 1582671872
}

func ExampleModel_Predict() {
	m, err := zoo.Load("inception-v1-d2l", zoo.WithSeed(1))
	if err != nil {
		panic(err)
	}
	x := tensor.New(1, 1, 96, 96) // a black Fashion-MNIST-sized image
	top, err := m.Predict(x, 3)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(top), len(top[0]))
	// Output: 1 3
}
