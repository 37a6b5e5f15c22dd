package convert_test

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// ExampleExport lowers a small block tree, exports it with seeded weights
// and reads the file back: the nodes follow the lowered graph one op at a
// time, and every parameter is an initializer named by its path.
func ExampleExport() {
	block := nn.Seq(
		nn.Conv{Name: "conv", Out: 8, Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Pad: nn.P(1)},
		nn.BatchNorm{Name: "bn", Eps: 1e-5},
		nn.ReLU{},
		nn.GlobalAvgPool{},
		nn.Flatten{},
		nn.Linear{Name: "fc", Out: 10, Bias: true},
	)
	g, err := nn.Lower(block, nn.Shape{3, 32, 32})
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	if err := convert.Export(&buf, g, nn.InitParams(g, 1), convert.ExportOptions{ModelName: "tiny"}); err != nil {
		panic(err)
	}
	f, err := onnxir.Decode(&buf, onnxir.DecodeOptions{})
	if err != nil {
		panic(err)
	}
	var ops []string
	for _, n := range f.Nodes {
		ops = append(ops, n.OpType)
	}
	fmt.Println(strings.Join(ops, " "))
	var names []string
	for name, t := range f.Initializers {
		names = append(names, fmt.Sprint(name, t.Dims))
	}
	sort.Strings(names)
	fmt.Println(names)
	fmt.Println(f.Opset, f.Inputs[0].Name, f.Outputs[0].Name, f.Metadata[convert.MetaModel])
	// Output:
	// Conv BatchNormalization Relu GlobalAveragePool Flatten Gemm
	// [bn.bias[8] bn.running_mean[8] bn.running_var[8] bn.weight[8] conv.weight[8 3 3 3] fc.bias[10] fc.weight[10 8]]
	// 13 input output tiny
}
