package onnx

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/tensor"
)

// BenchmarkLightInception measures a steady-state Run of the randomized
// light graphs at batch 1 and 8 on both executors: the engine (what Load
// picks for them) and the interpreter (LoadOptions.Interpret). Compare
// the executors within one run (benchstat on the executor= dimension).
func BenchmarkLightInception(b *testing.B) {
	for _, name := range []string{"light_inception_v1", "light_inception_v2"} {
		raw, err := os.ReadFile(sharedFile(b, name+".onnx"))
		if err != nil {
			b.Fatal(err)
		}
		if raw, err = testkit.RandomizeConstantWeights(raw, 1); err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 8} {
			for _, interp := range []bool{false, true} {
				exec := map[bool]string{false: "engine", true: "interpreter"}[interp]
				b.Run(fmt.Sprintf("%s/batch=%d/executor=%s", name, batch, exec), func(b *testing.B) {
					m, err := LoadReader(bytes.NewReader(raw), LoadOptions{Interpret: interp})
					if err != nil {
						b.Fatal(err)
					}
					x := testkit.StandardInput(batch, 3, 224, 224)
					in := map[string]*tensor.Tensor{"data_0": x}
					if _, err := m.Run(in); err != nil { // plan, workspaces
						b.Fatal(err)
					}
					b.ResetTimer()
					for range b.N {
						if _, err := m.Run(in); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
