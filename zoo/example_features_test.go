package zoo_test

import (
	"fmt"

	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

func ExampleModel_Features() {
	m, err := zoo.Load("inception-v1-d2l") // seeded weights; use Pretrained or WithWeights for real ones
	if err != nil {
		panic(err)
	}
	x := tensor.New(2, 1, 96, 96)
	f, err := m.Features(x) // the classifier's input, from one pass
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Shape, m.FeatureDim())
	// Output: [2 1024] 1024
}

func ExampleModel_Activations() {
	m, err := zoo.Load("inception-v1-d2l", zoo.WithLayers("3.4e"))
	if err != nil {
		panic(err)
	}
	a, err := m.Activations(tensor.New(1, 1, 96, 96), "3.4e")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Output.Shape, a.Features.Shape, a.Layers["3.4e"].Shape, zoo.SpatialMean(a.Layers["3.4e"]).Shape)
	// Output: [1 10] [1 1024] [1 832 6 6] [1 832]
}

func ExampleModel_FeatureInfo() {
	m, err := zoo.Load("inception-v3")
	if err != nil {
		panic(err)
	}
	for _, f := range m.FeatureInfo() {
		fmt.Println(f.Name, f.Channels, f.Reduction)
	}
	// Output:
	// Conv2d_2b_3x3 64 2
	// Conv2d_4a_3x3 192 4
	// Mixed_5d 288 8
	// Mixed_6e 768 16
	// Mixed_7c 2048 32
}

func ExampleWithoutHead() {
	m, err := zoo.Load("inception-v3", zoo.WithoutHead())
	if err != nil {
		panic(err)
	}
	_, hasFC := m.Params["fc.weight"]
	fmt.Println(m.Graph.OutputShape(), m.Classes(), hasFC)
	// Output: 2048 0 false
}

func ExampleTruncateAt() {
	m, err := zoo.Load("inception-v3-fid", zoo.TruncateAt("maxpool1"))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Graph.OutputShape(), len(m.Params))
	// Output: 64x73x73 15
}
