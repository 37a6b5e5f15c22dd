package inceptionv1_test

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/nn"
	inceptionv1 "github.com/inceptionzoo/inception/variants/v1"
	"github.com/stretchr/testify/require"
)

// graphMACs runs ONNX's own shape inference on the graph and sums the
// Conv and Gemm multiply-accumulates — an independent check of the
// spatial plan (floor pooling gives other map sizes than Caffe's ceil).
const graphMACs = `
import sys, onnx
from onnx import numpy_helper
from onnx import shape_inference, helper
m = shape_inference.infer_shapes(onnx.load(sys.argv[1]))
g = m.graph
shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in list(g.value_info) + list(g.output) + list(g.input)}
consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
for n in g.node:
    if n.op_type == "Constant":
        consts[n.output[0]] = numpy_helper.to_array(helper.get_attribute_value(n.attribute[0]))
wshape = {}
for n in g.node:
    if n.op_type == "ConstantOfShape":
        wshape[n.output[0]] = [int(d) for d in consts[n.input[0]]]
for t in g.initializer:
    wshape.setdefault(t.name, list(t.dims))
total = 0
for n in g.node:
    if n.op_type == "Conv":
        o = shapes[n.output[0]]
        w = wshape[n.input[1]]
        k = 1
        for d in w[1:]:
            k *= int(d)
        total += o[1] * o[2] * o[3] * k
    elif n.op_type == "Gemm":
        total += shapes[n.input[0]][1] * shapes[n.output[0]][1]
print(total)
`

func TestCaffe2MatchesModelZooGraph(t *testing.T) {
	// The ONNX test suite's copy of the Model Zoo inception_v1 graph.
	lightV1 := testkit.SharedFile(t, "onnx-light", "light_inception_v1.onnx")
	if err := exec.Command("/usr/bin/python3", "-c", "import onnx").Run(); err != nil {
		testkit.Missing(t, "python3-onnx missing (%v): apt-get install python3-onnx", err)
	}
	out, err := exec.Command("/usr/bin/python3", "-c", graphMACs, lightV1).CombinedOutput()
	require.NoError(t, err, "%s", out)
	want, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	require.NoError(t, err)
	b, err := inceptionv1.Caffe2(nn.Options{})
	require.NoError(t, err)
	g, err := nn.Lower(b, nn.Shape{3, 224, 224})
	require.NoError(t, err)
	if _, _, got := g.Totals(); got != want {
		t.Errorf("inception-v1-caffe2 MACs = %d, the Model Zoo graph's = %d", got, want)
	}
}
