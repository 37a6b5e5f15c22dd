package bninception_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/nn"
	bninception "github.com/inceptionzoo/inception/variants/bn"
	"github.com/stretchr/testify/require"
)

// dumpGraph is run by /usr/bin/python3 with the graph's path. It prints
// one line per weight tensor, in order of first use by a graph node
// ("W name shape"), and one line per compute op ("O signature"): Conv with
// its weight, kernel, strides, pads [top,left,bottom,right] and bias
// presence; BatchNormalization with its epsilon; the Caffe Scale layer
// (Unsqueeze → Mul → Unsqueeze → Add, printed once, at the Mul); pools with
// kernel, strides, pads, ceil_mode and count_include_pad; Concat with its
// arity; Reshape as Flatten; Gemm as Linear. A weight is an initializer or
// the output of a ConstantOfShape node whose shape input is a constant.
const dumpGraph = `
import sys
import onnx
from onnx import helper, numpy_helper

g = onnx.load(sys.argv[1]).graph
consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
shape_inputs = set()
weights = {}
for n in g.node:
    a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
    if n.op_type == "Constant":
        consts[n.output[0]] = numpy_helper.to_array(a["value"])
    elif n.op_type == "ConstantOfShape":
        shape_inputs.add(n.input[0])
        weights[n.output[0]] = [int(d) for d in consts[n.input[0]]]
for t in g.initializer:
    if t.name not in shape_inputs and t.data_type == onnx.TensorProto.FLOAT:
        weights[t.name] = list(t.dims)

seen = set()
def fmt(xs):
    return ",".join(str(int(x)) for x in xs)
for n in g.node:
    if n.op_type in ("Constant", "ConstantOfShape"):
        continue
    for i in n.input:
        if i in weights and i not in seen:
            seen.add(i)
            print("W", i, "x".join(str(d) for d in weights[i]))
    a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
    op = n.op_type
    if op == "Conv":
        k = weights[n.input[1]]
        assert a.get("group", 1) == 1 and a.get("dilations", [1, 1]) == [1, 1] and "auto_pad" not in a
        print("O Conv", n.input[1], "k%dx%d" % (k[2], k[3]), "s" + fmt(a.get("strides", [1, 1])),
              "p" + fmt(a.get("pads", [0, 0, 0, 0])), "bias=%d" % (len(n.input) > 2))
    elif op == "BatchNormalization":
        print("O BatchNormalization eps=%.0e" % a["epsilon"])
    elif op == "Mul":
        print("O ChannelScale bias=1")
    elif op in ("Unsqueeze", "Add"):
        pass
    elif op == "Relu":
        print("O Relu")
    elif op in ("MaxPool", "AveragePool"):
        assert "auto_pad" not in a
        line = "O %s k%s s%s p%s ceil=%d" % (op, "x".join(map(str, a["kernel_shape"])), fmt(a.get("strides", [1, 1])),
                                            fmt(a.get("pads", [0, 0, 0, 0])), a.get("ceil_mode", 0))
        if op == "AveragePool":
            line += " cip=%d" % a.get("count_include_pad", 0)
        print(line)
    elif op == "Concat":
        assert a["axis"] == 1
        print("O Concat n=%d" % len(n.input))
    elif op == "Reshape":
        print("O Flatten")
    elif op == "Gemm":
        assert a.get("transB", 0) == 1 and a.get("transA", 0) == 0
        assert a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0
        print("O Linear", n.input[1], "bias=%d" % (len(n.input) > 2))
    else:
        print("O", op)
`

// ourGraph renders inception-v2's lowered graph in dumpGraph's format.
func ourGraph(g *nn.Graph) (weights, ops []string) {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	pads := func(p nn.Pad) string { return fmt.Sprintf("%d,%d,%d,%d", p.T, p.L, p.B, p.R) }
	stride := func(s [2]int) string { return fmt.Sprintf("%d,%d", max(s[0], 1), max(s[1], 1)) }
	for _, n := range g.Nodes {
		for _, p := range n.Params {
			weights = append(weights, "W "+bninception.ONNXName(p.Path)+" "+nn.Shape(p.Shape).String())
		}
		var op string
		switch v := n.Op.(type) {
		case nn.Input:
			continue
		case nn.Conv:
			op = fmt.Sprintf("Conv %s k%dx%d s%s p%s bias=%d", bninception.ONNXName(n.Params[0].Path),
				v.Kernel[0], v.Kernel[1], stride(v.Stride), pads(v.Pad), b(v.Bias))
		case nn.BatchNorm:
			op = fmt.Sprintf("BatchNormalization eps=%.0e", v.Eps)
		case nn.ChannelScale:
			op = fmt.Sprintf("ChannelScale bias=%d", b(v.Bias))
		case nn.ReLU:
			op = "Relu"
		case nn.MaxPool:
			op = fmt.Sprintf("MaxPool k%dx%d s%s p%s ceil=%d", v.Kernel[0], v.Kernel[1], stride(v.Stride), pads(v.Pad), b(v.CeilMode))
		case nn.AvgPool:
			op = fmt.Sprintf("AveragePool k%dx%d s%s p%s ceil=%d cip=%d", v.Kernel[0], v.Kernel[1], stride(v.Stride), pads(v.Pad), b(v.CeilMode), b(v.CountIncludePad))
		case nn.Concat:
			op = fmt.Sprintf("Concat n=%d", len(n.Inputs))
		case nn.Flatten:
			op = "Flatten"
		case nn.Linear:
			op = fmt.Sprintf("Linear %s bias=%d", bninception.ONNXName(n.Params[0].Path), b(v.Bias))
		default:
			op = fmt.Sprintf("%T", n.Op)
		}
		ops = append(ops, "O "+op)
	}
	return weights, ops
}

// TestONNXGraph checks inception-v2 against the ONNX Model Zoo graph: the
// same weight tensors (names through ONNXName, shapes, order of first use)
// and the same sequence of ops with the same attributes; the graph's only
// extra op is its final Softmax. It needs Debian's python3-onnx; without it
// the test skips, or fails under CI=true.
func TestONNXGraph(t *testing.T) {
	// The ONNX test suite's "light" copy of the Model Zoo inception_v2
	// (onnx/onnx onnx/backend/test/data/light, Apache-2.0): the released
	// graph with every weight replaced by a ConstantOfShape node. It lives
	// in the shared reference folder beside the repository, never in it.
	lightGraph := testkit.SharedFile(t, "onnx-light", "light_inception_v2.onnx")
	requirePython(t, "onnx", "apt-get install python3-onnx")
	out, err := python(dumpGraph, lightGraph)
	require.NoError(t, err)
	var theirW, theirO []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "W ") {
			theirW = append(theirW, l)
		} else {
			theirO = append(theirO, l)
		}
	}
	g := lower(t, "inception-v2", nn.Options{})
	ourW, ourO := ourGraph(g)

	require.Len(t, theirW, 485)
	require.Equal(t, theirW, ourW, "weight tensors")

	require.Equal(t, "O Softmax", theirO[len(theirO)-1], "the graph ends in a Softmax")
	require.Equal(t, theirO[:len(theirO)-1], ourO, "ops")

	// Counts derived from the graph's tensors.
	var params, buffers int64
	for _, l := range theirW {
		f := strings.Fields(l)
		n := int64(1)
		for _, d := range strings.Split(f[2], "x") {
			var v int64
			_, err := fmt.Sscan(d, &v)
			require.NoError(t, err)
			n *= v
		}
		if strings.HasSuffix(f[1], "_mean_0") || strings.HasSuffix(f[1], "_var_0") {
			buffers += n
		} else {
			params += n
		}
	}
	require.EqualValues(t, bninception.ONNXParams, params)
	require.EqualValues(t, bninception.ONNXBuffers, buffers)
}

// requirePython skips the test (fails it under CI=true) unless
// /usr/bin/python3 can import module; hint says how to install it.
func requirePython(t *testing.T, module, hint string) {
	t.Helper()
	if _, err := python("import " + module); err != nil {
		msg := fmt.Sprintf("python3 module %s unavailable (%v); install it with: %s", module, err, hint)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func python(script string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("/usr/bin/python3", append([]string{"-c", script}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		return "", fmt.Errorf("%w: %s", err, lines[len(lines)-1])
	}
	return stdout.String(), nil
}
