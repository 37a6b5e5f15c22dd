package onnx

import (
	"bytes"
	"os"
	"testing"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/tensor"
)

// BenchmarkLightInception measures a steady-state Run of the randomized
// light graphs at batch 1.
func BenchmarkLightInception(b *testing.B) {
	for _, name := range []string{"light_inception_v1", "light_inception_v2"} {
		b.Run(name, func(b *testing.B) {
			raw, err := os.ReadFile(sharedFile(b, name+".onnx"))
			if err != nil {
				b.Fatal(err)
			}
			if raw, err = testkit.RandomizeConstantWeights(raw, 1); err != nil {
				b.Fatal(err)
			}
			m, err := LoadReader(bytes.NewReader(raw), LoadOptions{})
			if err != nil {
				b.Fatal(err)
			}
			in := map[string]*tensor.Tensor{"data_0": standardInput(1, 3, 224, 224)}
			b.ResetTimer()
			for range b.N {
				if _, err := m.Run(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
