package zoo_test

import (
	"errors"
	"fmt"
	"math"

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

// ExampleModel_PredictSamples classifies samples one by one: a sample
// with an infinite value gets an error, the others their top-k.
func ExampleModel_PredictSamples() {
	m, err := zoo.Load("inception-v1-d2l", zoo.WithInputSize(28, 28))
	if err != nil {
		panic(err)
	}
	good := tensor.New(m.Input()...) // a black 28x28 image
	bad := tensor.New(m.Input()...)
	bad.Data[0] = float32(math.Inf(1))
	res, err := m.PredictSamples([]*tensor.Tensor{good, bad}, 3)
	if err != nil {
		panic(err)
	}
	for i, r := range res {
		fmt.Println(i, len(r.Top), errors.Is(r.Err, zoo.ErrNonFinite))
	}
	// Output:
	// 0 3 false
	// 1 0 true
}

// ExampleModel_RequireTrained: a model without loaded weights is refused
// by the rule classify, eval and serve apply.
func ExampleModel_RequireTrained() {
	m, err := zoo.Load("inception-v1-d2l")
	if err != nil {
		panic(err)
	}
	fmt.Println(errors.Is(m.RequireTrained(), zoo.ErrSeeded))
	// Output: true
}
