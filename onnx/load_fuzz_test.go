package onnx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// FuzzLoad checks that Load never panics, classifies every failure, and
// that a loaded model runs on a tiny input of its declared shape without
// panicking. Seeds: the light Inception graphs, the hostile corpus and the
// small graphs of the run tests. Small limits keep executions fast.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.onnx"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"light_inception_v1.onnx", "light_inception_v2.onnx"} {
		files = append(files, sharedFile(f, name))
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(mustMarshal(torchFlattenGraph(1)))
	f.Add(mustMarshal(model(validGraph())))
	limits := onnxir.Limits{MaxTensorElements: 1 << 16, MaxInitializerBytes: 8 << 20, MaxNodes: 512, MaxModelBytes: 1 << 20, MaxExternalDataBytes: 1 << 10}
	opts := LoadOptions{Decode: onnxir.DecodeOptions{Limits: limits}, Limits: Limits{MaxBatch: 4, MaxActivationBytes: 16 << 20, MaxFoldBytes: 16 << 20, MaxFoldOps: 1 << 24}}
	classified := func(t *testing.T, what string, err error) {
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrInput) {
			t.Fatalf("%s: unclassified error %q", what, err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadReader(bytes.NewReader(data), opts)
		classified(t, "Load", err)
		if err != nil {
			return
		}
		ins := map[string]*onnxir.Tensor{}
		for _, in := range m.Graph().Inputs {
			if in.Shape == nil {
				return
			}
			tt := &onnxir.Tensor{Name: in.Name, Dims: make([]int64, len(in.Shape))}
			n := int64(1)
			for k, d := range in.Shape {
				tt.Dims[k] = max(d.Value, 1)
				n *= tt.Dims[k]
				if n > 4096 {
					return
				}
			}
			if in.DType.IsFloat() {
				tt.DType, tt.Float = onnxir.Float32, make([]float32, n)
				for i := range tt.Float {
					tt.Float[i] = float32(i%7) - 3
				}
			} else {
				tt.DType, tt.Int = onnxir.Int64, make([]int64, n)
			}
			ins[in.Name] = tt
		}
		_, err = m.RunTensors(ins)
		classified(t, "RunTensors", err)
	})
}
