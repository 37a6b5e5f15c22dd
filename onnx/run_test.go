package onnx

import (
	"math"
	"os"
	"testing"

	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/tensor"
)

// standardInput is the ONNX suite's input for the light models: element i
// of n is i/n.
func standardInput(shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(i) / float32(len(t.Data))
	}
	return t
}

func readTensorFile(t testing.TB, path string) *onnxir.Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tt, err := onnxir.DecodeTensor(f, onnxir.DefaultLimits)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tt
}

// allClose reports the first element where |got-want| > atol + rtol*|want|.
func allClose(got, want []float32, rtol, atol float64) (int, bool) {
	if len(got) != len(want) {
		return -1, false
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) && math.IsNaN(g) {
			continue
		}
		if math.IsInf(w, 0) && g == w {
			continue
		}
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			return i, false
		}
	}
	return 0, true
}

func TestLightInception(t *testing.T) {
	for _, name := range []string{"light_inception_v1", "light_inception_v2"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(sharedFile(t, name+".onnx"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := readTensorFile(t, sharedFile(t, name+"_output_0.pb"))
			out, err := m.Run(map[string]*tensor.Tensor{"data_0": standardInput(1, 3, 224, 224)})
			if err != nil {
				t.Fatal(err)
			}
			got := out["prob_1"]
			if got == nil {
				t.Fatalf("no output prob_1 in %v", m.OutputNames())
			}
			if !tensor.SameShape(got.Shape, []int{1, 1000}) {
				t.Fatalf("shape %v, want [1 1000]", got.Shape)
			}
			if i, ok := allClose(got.Data, want.Float, 1e-3, 1e-7); !ok {
				t.Fatalf("element %d: got %v, want %v", i, got.Data[i], want.Float[i])
			}
		})
	}
}
