package train

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
)

// TestFloat16Export: an export rewritten to float16 storage is about half
// the size, loads in the onnx runner and through convert.Import by name,
// and computes what the engine computes on the float16-rounded weights.
func TestFloat16Export(t *testing.T) {
	spec, err := registry.Default.Lookup("inception-v1-d2l")
	require.NoError(t, err)
	b, err := spec.Build(nn.Options{})
	require.NoError(t, err)
	g, err := nn.Lower(b, nn.Shape{1, 28, 28})
	require.NoError(t, err)
	p := nn.InitParams(g, 5)
	var buf bytes.Buffer
	require.NoError(t, convert.Export(&buf, g, p, convert.ExportOptions{ModelName: spec.Name}))
	half, err := Float16Initializers(buf.Bytes())
	require.NoError(t, err)
	if len(half) > buf.Len()*52/100 {
		t.Fatalf("float16 model is %d bytes, float32 %d: want about half", len(half), buf.Len())
	}
	// Weights by name, rounded.
	f, err := onnxir.Decode(bytes.NewReader(half), onnxir.DecodeOptions{})
	require.NoError(t, err)
	q, strategy, err := convert.Import(g, f, convert.ImportOptions{})
	require.NoError(t, err)
	require.Equal(t, convert.ByName, strategy)
	for k, v := range p {
		for i, x := range v.Data {
			h, _ := onnxir.Float32ToFloat16(x)
			if want := onnxir.Float16ToFloat32(h); q[k].Data[i] != want {
				t.Fatalf("%s[%d]: got %v, want %v (float16 of %v)", k, i, q[k].Data[i], want, x)
			}
		}
	}
	// The runner agrees with the engine on the rounded weights.
	m, err := onnx.LoadReader(bytes.NewReader(half), onnx.LoadOptions{})
	require.NoError(t, err)
	x := tensor.New(2, 1, 28, 28)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range x.Data {
		x.Data[i] = r.Float32()
	}
	outs, err := m.Run(map[string]*tensor.Tensor{"input": x})
	require.NoError(t, err)
	e, err := engine.Compile(g, q)
	require.NoError(t, err)
	want, err := e.Run(x)
	require.NoError(t, err)
	got := outs["output"]
	require.Equal(t, want.Shape, got.Shape)
	for i := range want.Data {
		if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > 1e-4+1e-3*math.Abs(float64(want.Data[i])) {
			t.Fatalf("output[%d]: runner %v, engine %v", i, got.Data[i], want.Data[i])
		}
	}
}
