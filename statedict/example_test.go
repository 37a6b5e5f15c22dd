package statedict_test

import (
	"fmt"
	"log"

	"github.com/inceptionzoo/inception/statedict"
)

// testdata/tiny.pt is torch.save of a Conv2d(1, 2, 1) + BatchNorm2d(2)
// state dict (testdata/oracle.py tiny).
func ExampleReadFile() {
	sd, err := statedict.ReadFile("testdata/tiny.pt", statedict.Limits{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sd.Format, "root:", fmt.Sprintf("%q", sd.Root))
	for _, t := range sd.Tensors {
		fmt.Printf("%-16s %-9s %v\n", t.Name, t.DType, t.Shape)
	}
	fmt.Println("skipped:", sd.Skipped)
	fmt.Printf("1.running_mean = %.3f\n", sd.Tensor("1.running_mean").Data)
	// Output:
	// torch-zip root: ""
	// 0.weight         float32   [2 1 1 1]
	// 0.bias           float32   [2]
	// 1.weight         float32   [2]
	// 1.bias           float32   [2]
	// 1.running_mean   float32   [2]
	// 1.running_var    float32   [2]
	// skipped: [1.num_batches_tracked]
	// 1.running_mean = [0.500 -0.250]
}

func ExampleDetect() {
	head := []byte("PK\x03\x04\x00\x00")
	fmt.Println(statedict.Detect(head))
	// Output: torch-zip
}
