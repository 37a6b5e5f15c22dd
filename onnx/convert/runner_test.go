package convert_test

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/tensor"
)

// TestExportRunsLikeEngine runs exports with the package onnx runner, on
// both its executors, and compares every output with the engine on the
// same graph and weights (rtol 1e-3, atol 1e-4): the export's semantics,
// not just its form. On the engine executor (which Load must pick for
// every zoo export) the ONNX graph is rebuilt from the file, so this also
// checks that rebuilding; the interpreter shares nothing with the engine
// but the kernels.
func TestExportRunsLikeEngine(t *testing.T) {
	opGraph := func() (*nn.Graph, nn.Params) {
		g, err := nn.Lower(opMappingBlock(), nn.Shape{2, 10, 10})
		require.NoError(t, err)
		return g, nn.InitParams(g, 3)
	}
	tests := []struct {
		name  string
		opset int
		build func() (*nn.Graph, nn.Params)
	}{
		{"ops", 10, opGraph},
		{"ops", 17, opGraph},
		{"inception-v1", 9, func() (*nn.Graph, nn.Params) { return build(t, "inception-v1", nn.Options{Aux: true}) }},
		{"inception-v1", 13, func() (*nn.Graph, nn.Params) { return build(t, "inception-v1", nn.Options{}) }},
		{"inception-v1-tv", 11, func() (*nn.Graph, nn.Params) {
			return build(t, "inception-v1-tv", nn.Options{Aux: true, TransformInput: true})
		}},
		{"inception-v2", 13, func() (*nn.Graph, nn.Params) { return build(t, "inception-v2", nn.Options{}) }},
	}
	for _, tt := range tests {
		g, p := tt.build()
		var buf bytes.Buffer
		require.NoError(t, convert.Export(&buf, g, p, convert.ExportOptions{Opset: tt.opset}))
		for _, interp := range []bool{false, true} {
			checkExportRun(t, tt.name, tt.opset, g, p, buf.Bytes(), interp)
		}
	}
}

func checkExportRun(t *testing.T, name string, opset int, g *nn.Graph, p nn.Params, file []byte, interp bool) {
	t.Helper()
	m, err := onnx.LoadReader(bytes.NewReader(file), onnx.LoadOptions{Interpret: interp})
	require.NoError(t, err, "%s opset %d", name, opset)
	if !interp {
		require.Equal(t, "engine", m.Executor(), "%s opset %d", name, opset)
	}
	e, err := engine.Compile(g, p)
	require.NoError(t, err)
	x := tensor.New(append([]int{2}, g.InputShape()...)...)
	r := nn.NewRand(5, "x")
	for i := range x.Data {
		x.Data[i] = r.Uniform(-1, 1)
	}
	want, err := e.RunAll(x)
	require.NoError(t, err)
	got, err := m.Run(map[string]*tensor.Tensor{"input": x})
	require.NoError(t, err)
	names := []string{"output"}
	for _, a := range g.Aux {
		names = append(names, a.Name)
	}
	for k, out := range names {
		y := got[out]
		require.NotNil(t, y, out)
		require.Equal(t, want[k].Shape, y.Shape, out)
		for i, w := range want[k].Data {
			if d := math.Abs(float64(y.Data[i] - w)); d > 1e-4+1e-3*math.Abs(float64(w)) {
				t.Fatalf("%s opset %d (%s) output %s[%d] = %v, engine %v", name, opset, m.Executor(), out, i, y.Data[i], w)
			}
		}
	}
}
