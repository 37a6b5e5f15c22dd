package onnx

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/onnx/onnxir"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
)

var update = flag.Bool("update", false, "rewrite testdata/hostile from the generators in hostileCases")

const hostileDir = "testdata/hostile"

// hostileCase is one file of the hostile corpus: its generator, the options
// to decode and load it with, and the expected sentinel and message
// substring. A decode case must fail in onnxir.Decode; a load case (load
// set) decodes and must fail in Load, which validates operators and
// computes what does not depend on the inputs.
type hostileCase struct {
	file       string
	gen        func() []byte
	limits     onnxir.Limits
	loadLimits Limits
	ext        bool // decode with BaseDir = a prepared external-data directory
	load       bool
	want       error
	substr     string
}

func truncated(frac float64) func() []byte {
	return func() []byte {
		b := mustMarshal(graphWith(func(g *pb.GraphProto) {
			g.Initializer = append(g.Initializer, rawTensor("big", []int64{64}, make([]byte, 256)))
		}))
		return b[:int(float64(len(b))*frac)]
	}
}

func garbage() []byte {
	r := rand.New(rand.NewSource(1))
	b := make([]byte, 512)
	r.Read(b)
	b[0] = 0xff // field 31, wire type 7: invalid
	return b
}

// deepType nests sequence types beyond the protobuf recursion limit.
func deepType() []byte {
	t := &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(1)}}}
	for range 200 {
		t = &pb.TypeProto{Value: &pb.TypeProto_SequenceType{SequenceType: &pb.TypeProto_Sequence{ElemType: t}}}
	}
	return mustMarshal(graphWith(func(g *pb.GraphProto) {
		g.Input = append(g.Input, &pb.ValueInfoProto{Name: proto.String("deep"), Type: t})
	}))
}

func gen(m *pb.ModelProto) func() []byte { return func() []byte { return mustMarshal(m) } }

func hostileCases() []hostileCase {
	cycle := graphWith(func(g *pb.GraphProto) {
		g.Node = []*pb.NodeProto{
			node("head", "Relu", []string{"x"}, []string{"h"}),
			node("loop_a", "Add", []string{"h", "b"}, []string{"a"}),
			node("loop_b", "Relu", []string{"a"}, []string{"b"}),
			node("tail", "Relu", []string{"a"}, []string{"y"}),
		}
	})
	return []hostileCase{
		{file: "empty.onnx", gen: func() []byte { return nil }, want: ErrFormat, substr: "empty input"},
		{file: "garbage.onnx", gen: garbage, want: ErrFormat, substr: "ModelProto"},
		{file: "truncated_10.onnx", gen: truncated(0.10), want: ErrFormat, substr: "ModelProto"},
		{file: "truncated_50.onnx", gen: truncated(0.50), want: ErrFormat, substr: "ModelProto"},
		{file: "truncated_90.onnx", gen: truncated(0.90), want: ErrFormat, substr: "ModelProto"},
		{file: "truncated_last_byte.onnx", gen: truncated(0.999), want: ErrFormat, substr: "ModelProto"},
		{file: "no_graph.onnx", gen: gen(model(nil)), want: ErrFormat, substr: "no graph"},
		{file: "empty_graph.onnx", gen: gen(model(&pb.GraphProto{Name: proto.String("g")})), want: ErrFormat, substr: "no nodes"},
		{file: "missing_ir_version.onnx", gen: gen(func() *pb.ModelProto { m := model(validGraph()); m.IrVersion = nil; return m }()),
			want: ErrFormat, substr: "ir_version"},
		{file: "no_opset_import.onnx", gen: gen(func() *pb.ModelProto { m := model(validGraph()); m.OpsetImport = nil; return m }()),
			want: ErrFormat, substr: "no default (ai.onnx) domain"},
		{file: "cycle.onnx", gen: gen(cycle), want: ErrFormat, substr: `node "loop_a" (Add): malformed model: graph has a cycle`},
		{file: "self_loop.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node = append(g.Node, node("selfish", "Relu", []string{"z"}, []string{"z"}))
		})), want: ErrFormat, substr: `node "selfish" (Relu): malformed model: graph has a cycle`},
		{file: "dangling_input.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node[1].Input = []string{"ghost"}
		})), want: ErrFormat, substr: `node "relu" (Relu): malformed model: input "ghost" is not`},
		{file: "duplicate_output.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node = append(g.Node, node("again", "Relu", []string{"x"}, []string{"s"}))
		})), want: ErrFormat, substr: `node "again" (Relu): malformed model: output "s" is also produced by node "add"`},
		{file: "output_shadows_initializer.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node[0].Output = []string{"w"}
		})), want: ErrFormat, substr: `node "add" (Add): malformed model: output "w" is also defined as initializer`},
		{file: "output_shadows_input.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node[1].Output = []string{"x"}
		})), want: ErrFormat, substr: `output "x" is also defined as graph input`},
		{file: "duplicate_initializer.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer = append(g.Initializer, floatTensor("w", []int64{1}, 5))
		})), want: ErrFormat, substr: `tensor "w": malformed model: duplicate initializer`},
		{file: "negative_dim.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].Dims = []int64{-4}
		})), want: ErrFormat, substr: `tensor "w": malformed model: dims[0] = -4 is negative`},
		{file: "dim_2pow40.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].Dims = []int64{1 << 40}
		})), want: ErrLimit, substr: `tensor "w": malformed model: limit exceeded: dims [1099511627776]: 1099511627776 elements exceed MaxTensorElements`},
		{file: "dims_overflow.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].Dims = []int64{1 << 32, 1 << 32, 4}
		})), want: ErrLimit, substr: "element count overflows int64"},
		{file: "rank_100.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].Dims = make([]int64, 100)
		})), want: ErrLimit, substr: `tensor "w": malformed model: limit exceeded: rank 100 exceeds MaxRank 8`},
		{file: "input_rank_100.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Input[0] = vi("x", make([]int64, 100)...)
		})), want: ErrLimit, substr: `tensor "x": malformed model: limit exceeded: rank 100`},
		{file: "huge_repeated_dims.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].Dims = make([]int64, 20_000)
		})), want: ErrLimit, substr: "rank 20000 exceeds MaxRank"},
		{file: "deep_nested_type.onnx", gen: deepType, want: ErrFormat, substr: "ModelProto"},
		{file: "raw_data_size.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].RawData = rawFloat(1, 2, 3)
		})), want: ErrFormat, substr: `tensor "w": malformed model: raw_data has 12 bytes, want 16 (4 elements of FLOAT, 4 bytes each)`},
		{file: "float_data_count.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = floatTensor("w", []int64{4}, 1, 2, 3)
		})), want: ErrFormat, substr: `tensor "w": malformed model: float_data has 3 values, want 4`},
		{file: "raw_and_typed.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].FloatData = []float32{1, 2, 3, 4}
		})), want: ErrFormat, substr: "both raw_data and a typed data field"},
		{file: "int32_out_of_range.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = &pb.TensorProto{Name: proto.String("w"), Dims: []int64{2}, DataType: proto.Int32(int32(onnxir.Uint8)), Int32Data: []int32{7, 300}}
		})), want: ErrFormat, substr: "int32_data[1] = 300 out of range for UINT8"},
		{file: "string_tensor.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = &pb.TensorProto{Name: proto.String("w"), Dims: []int64{1}, DataType: proto.Int32(int32(onnxir.String)), StringData: [][]byte{[]byte("hi")}}
		})), want: ErrUnsupported, substr: `tensor "w": unsupported feature: data_type STRING`},
		{file: "complex_tensor.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].DataType = proto.Int32(int32(onnxir.Complex64))
		})), want: ErrUnsupported, substr: "data_type COMPLEX64"},
		{file: "undefined_dtype.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].DataType = nil
		})), want: ErrFormat, substr: "data_type is UNDEFINED"},
		{file: "unknown_domain.onnx", gen: gen(func() *pb.ModelProto {
			m := graphWith(func(g *pb.GraphProto) { g.Node[1].Domain = proto.String("com.evil") })
			m.OpsetImport = append(m.OpsetImport, &pb.OperatorSetIdProto{Domain: proto.String("com.evil"), Version: proto.Int64(1)})
			return m
		}()), want: ErrUnsupported, substr: `node "relu" (Relu): unsupported feature: operator domain "com.evil"`},
		{file: "undeclared_domain.onnx", gen: gen(graphWith(func(g *pb.GraphProto) { g.Node[1].Domain = proto.String("com.evil") })),
			want: ErrFormat, substr: `domain "com.evil" is not in opset_import`},
		{file: "opset_6.onnx", gen: gen(func() *pb.ModelProto { m := model(validGraph()); m.OpsetImport[0].Version = proto.Int64(6); return m }()),
			want: ErrUnsupported, substr: "opset 6 outside supported [7, 21]"},
		{file: "opset_99.onnx", gen: gen(func() *pb.ModelProto { m := model(validGraph()); m.OpsetImport[0].Version = proto.Int64(99); return m }()),
			want: ErrUnsupported, substr: "opset 99 outside supported [7, 21]"},
		{file: "ext_dotdot.onnx", ext: true, gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = extTensor("w", []int64{4}, "location", "../x")
		})), want: ErrUnsafePath, substr: `tensor "w": malformed model: unsafe external data path: location "../x" contains ..`},
		{file: "ext_dotdot_inner.onnx", ext: true, gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = extTensor("w", []int64{4}, "location", `sub\..\..\x`)
		})), want: ErrUnsafePath, substr: "contains .."},
		{file: "ext_absolute.onnx", ext: true, gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = extTensor("w", []int64{4}, "location", "/etc/passwd")
		})), want: ErrUnsafePath, substr: `location "/etc/passwd" is absolute`},
		{file: "ext_symlink_escape.onnx", ext: true, gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = extTensor("w", []int64{4}, "location", "escape.bin")
		})), want: ErrUnsafePath, substr: `location "escape.bin" resolves outside the base directory`},
		{file: "ext_beyond_file.onnx", ext: true, gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = extTensor("w", []int64{4}, "location", "weights.bin", "offset", "8", "length", "16")
		})), want: ErrFormat, substr: `external data "weights.bin": offset 8 + length 16 exceeds file size 16`},
		{file: "ext_wrong_length.onnx", ext: true, gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = extTensor("w", []int64{4}, "location", "weights.bin", "length", "1000000")
		})), want: ErrFormat, substr: "external_data length 1000000, want 16 bytes"},
		{file: "ext_missing.onnx", ext: true, gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = extTensor("w", []int64{4}, "location", "nope.bin")
		})), want: ErrFormat, substr: `external data "nope.bin" does not exist`},
		{file: "ext_disabled.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = extTensor("w", []int64{4}, "location", "weights.bin")
		})), want: ErrUnsupported, substr: "external data is disabled"},
		{file: "nan_weights.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].RawData = rawFloat(1, float32NaN(), 3, 4)
		})), want: ErrFormat, substr: `tensor "w": malformed model: non-finite value NaN at element 1`},
		{file: "inf_weights.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = floatTensor("w", []int64{4}, 1, 2, 3, float32Inf())
		})), want: ErrFormat, substr: "non-finite value +Inf at element 3"},
		{file: "float16_inf_weights.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = &pb.TensorProto{Name: proto.String("w"), Dims: []int64{2}, DataType: proto.Int32(int32(onnxir.Float16)), Int32Data: []int32{0x3c00, 0xfc00}}
		})), want: ErrFormat, substr: "non-finite value -Inf at element 1"},
		{file: "too_many_nodes.onnx", limits: onnxir.Limits{MaxNodes: 3}, gen: gen(graphWith(func(g *pb.GraphProto) {
			for _, n := range []string{"r1", "r2", "r3"} {
				g.Node = append(g.Node, node(n, "Relu", []string{"x"}, []string{n}))
			}
		})), want: ErrLimit, substr: "graph has 5 nodes, over MaxNodes 3"},
		{file: "initializer_bytes.onnx", limits: onnxir.Limits{MaxInitializerBytes: 1024}, gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer = append(g.Initializer, rawTensor("a", []int64{200}, make([]byte, 800)), rawTensor("b", []int64{200}, make([]byte, 800)))
		})), want: ErrLimit, substr: `tensor "b": malformed model: limit exceeded: decoding 200 FLOAT elements (800 bytes) would bring tensor data to 1616 bytes, over MaxInitializerBytes 1024`},
		{file: "model_bytes.onnx", limits: onnxir.Limits{MaxModelBytes: 64}, gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0] = rawTensor("w", []int64{64}, make([]byte, 256))
		})), want: ErrLimit, substr: "input exceeds MaxModelBytes 64"},
		{file: "output_never_produced.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Output = append(g.Output, vi("phantom", 1))
		})), want: ErrFormat, substr: `tensor "phantom": malformed model: graph output is never produced`},
		{file: "duplicate_graph_output.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Output = append(g.Output, vi("y", 1, 4))
		})), want: ErrFormat, substr: `tensor "y": malformed model: graph output listed twice`},
		{file: "attr_wrong_type.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node = append(g.Node, node("conv", "Conv", []string{"x", "w"}, []string{"c"}, attrF("kernel_shape", 3)))
		})), want: ErrFormat, substr: `node "conv" (Conv): malformed model: attribute "kernel_shape" is FLOAT, want INTS`},
		{file: "attr_value_mismatch.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			a := attrInts("perm", 1, 0)
			a.Floats = []float32{1}
			g.Node = append(g.Node, node("tr", "Transpose", []string{"x"}, []string{"t"}, a))
		})), want: ErrFormat, substr: `node "tr" (Transpose): malformed model: attribute "perm" is declared INTS but carries a FLOATS value`},
		{file: "attr_duplicate.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node[1].Attribute = []*pb.AttributeProto{attrF("alpha", 1), attrF("alpha", 2)}
		})), want: ErrFormat, substr: `attribute "alpha" given twice`},
		{file: "attr_graph.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node[1].Attribute = []*pb.AttributeProto{{Name: proto.String("then_branch"), Type: pb.AttributeProto_GRAPH.Enum(), G: &pb.GraphProto{}}}
		})), want: ErrUnsupported, substr: `node "relu" (Relu): unsupported feature: attribute "then_branch" of type GRAPH`},
		{file: "attr_tensor_nan.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node = append(g.Node, node("fill", "ConstantOfShape", []string{"x"}, []string{"f"},
				&pb.AttributeProto{Name: proto.String("value"), Type: pb.AttributeProto_TENSOR.Enum(), T: rawTensor("", []int64{1}, rawFloat(float32NaN()))}))
		})), want: ErrFormat, substr: `node "fill" (ConstantOfShape): tensor "value": malformed model: non-finite value NaN`},
		{file: "empty_op_type.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node[1].OpType = proto.String("")
		})), want: ErrFormat, substr: `node "relu" (): malformed model: empty op_type`},
		{file: "unnamed_node_dangling.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Node[1].Name = nil
			g.Node[1].Input = []string{"ghost"}
		})), want: ErrFormat, substr: `node "#1" (Relu)`},
		{file: "segment.onnx", gen: gen(graphWith(func(g *pb.GraphProto) {
			g.Initializer[0].Segment = &pb.TensorProto_Segment{Begin: proto.Int64(0), End: proto.Int64(4)}
		})), want: ErrUnsupported, substr: "segmented tensor"},
		{file: "ir_version_99.onnx", gen: gen(func() *pb.ModelProto { m := model(validGraph()); m.IrVersion = proto.Int64(99); return m }()),
			want: ErrUnsupported, substr: "ir_version 99 is newer"},
		// Issue #18 item 14: protobuf expansion, bounded before unmarshalling.
		{file: "empty_nodes.onnx", limits: onnxir.Limits{MaxNodes: 1000}, gen: emptyNodes(5000),
			want: ErrLimit, substr: "graph has 5000 nodes, over MaxNodes 1000"},
		{file: "empty_attributes.onnx", limits: onnxir.Limits{MaxParseBytes: 1 << 20}, gen: emptyAttributes(20000),
			want: ErrLimit, substr: "over MaxParseBytes 1048576"},

		// Load: operator attributes against the spec (issue #18 item 2).
		{file: "bn_negative_epsilon.onnx", load: true, gen: gen(opGraph("BatchNormalization", []int64{1, 2, 3, 3}, bnParams(2), attrF("epsilon", -1e-3))),
			want: ErrFormat, substr: `node "op" (BatchNormalization): malformed model: epsilon -0.001 is negative`},
		{file: "bn_nan_epsilon.onnx", load: true, gen: gen(opGraph("BatchNormalization", []int64{1, 2, 3, 3}, bnParams(2), attrF("epsilon", float32NaN()))),
			want: ErrFormat, substr: "epsilon = NaN is not finite"},
		{file: "pad_repeated_axes.onnx", load: true, gen: gen(withOpset(18, opGraph("Pad", []int64{1, 2, 3, 3}, []*pb.TensorProto{
			int64Tensor("pads", []int64{4}, 1, 1, 1, 1), floatTensor("value", nil, 0), int64Tensor("axes", []int64{2}, 2, 2)}))),
			want: ErrFormat, substr: `node "op" (Pad): malformed model: axes [2 2] repeat axis 2`},
		{file: "squeeze_repeated_axes.onnx", load: true, gen: gen(opGraph("Squeeze", []int64{1, 1, 4}, []*pb.TensorProto{int64Tensor("axes", []int64{2}, 0, 0)})),
			want: ErrFormat, substr: "axes [0 0] repeat axis 0"},
		{file: "conv_group_mismatch.onnx", load: true, gen: gen(opGraph("Conv", []int64{1, 4, 5, 5}, []*pb.TensorProto{floatTensor("w", []int64{3, 2, 3, 3}, make([]float32, 54)...)}, attrInt("group", 3))),
			want: ErrFormat, substr: "do not fit group 3"},
		{file: "conv_zero_stride.onnx", load: true, gen: gen(opGraph("Conv", []int64{1, 2, 5, 5}, []*pb.TensorProto{floatTensor("w", []int64{1, 2, 3, 3}, make([]float32, 18)...)}, attrInts("strides", 0, 1))),
			want: ErrFormat, substr: "attribute strides = [0 1]: values must be >= 1"},
		{file: "conv_pads_length.onnx", load: true, gen: gen(opGraph("Conv", []int64{1, 2, 5, 5}, []*pb.TensorProto{floatTensor("w", []int64{1, 2, 3, 3}, make([]float32, 18)...)},
			attrInts("kernel_shape", 3, 3), attrInts("pads", 1, 1, 1))),
			want: ErrFormat, substr: "pads [1 1 1] has 3 values for a 2-D kernel_shape [3 3]"},
		{file: "pool_pad_ge_kernel.onnx", load: true, gen: gen(opGraph("MaxPool", []int64{1, 2, 5, 5}, nil, attrInts("kernel_shape", 3, 3), attrInts("pads", 3, 0, 0, 0))),
			want: ErrFormat, substr: "each pad must be smaller than the kernel extent"},
		{file: "pool_ceil_mode_2.onnx", load: true, gen: gen(opGraph("MaxPool", []int64{1, 2, 5, 5}, nil, attrInts("kernel_shape", 3, 3), attrInt("ceil_mode", 2))),
			want: ErrFormat, substr: "attribute ceil_mode = 2, want 0 or 1"},
		{file: "lrn_zero_size.onnx", load: true, gen: gen(opGraph("LRN", []int64{1, 2, 5, 5}, nil, attrInt("size", 0))),
			want: ErrFormat, substr: "size 0 must be in 1.."},
		{file: "lrn_negative_bias.onnx", load: true, gen: gen(opGraph("LRN", []int64{1, 2, 5, 5}, nil, attrInt("size", 3), attrF("bias", -1))),
			want: ErrFormat, substr: "want alpha >= 0 and bias > 0"},
		{file: "gemm_trans_2.onnx", load: true, gen: gen(opGraph("Gemm", []int64{2, 3}, []*pb.TensorProto{floatTensor("b", []int64{4, 3}, make([]float32, 12)...)}, attrInt("transB", 2))),
			want: ErrFormat, substr: "attribute transB = 2, want 0 or 1"},
		{file: "unknown_attribute.onnx", load: true, gen: gen(opGraph("Relu", []int64{1, 4}, nil, attrF("alpha", 0.1))),
			want: ErrFormat, substr: `node "op" (Relu): malformed model: attribute "alpha": Relu has no attributes`},
		{file: "dropout_ratio.onnx", load: true, gen: gen(withOpset(9, opGraph("Dropout", []int64{1, 4}, nil, attrF("ratio", 1.5)))),
			want: ErrFormat, substr: "ratio 1.5 outside [0, 1)"},
		{file: "reshape_allowzero.onnx", load: true, gen: gen(withOpset(14, opGraph("Reshape", []int64{2, 3}, []*pb.TensorProto{int64Tensor("shape", []int64{2}, 0, -1)}, attrInt("allowzero", 1)))),
			want: ErrFormat, substr: "shape [0 -1] has both 0 and -1, invalid with allowzero=1"},

		// Load: everything computed at Load has a total budget (issue #18
		// item 13). The files: twelve ConstantOfShape([2^28])
		// (12 GiB), a 4096x4096-kernel Conv and a MaxPool folded for
		// hours. The tests shrink the tensors and the limits together so
		// that each file fails after allocating at most 64 MiB.
		{file: "fold_bytes.onnx", load: true, loadLimits: Limits{MaxFoldBytes: 64 << 20}, gen: gen(constantFills(12, 1<<22)),
			want: ErrLimit, substr: `node "fill4" (ConstantOfShape): malformed model: limit exceeded: constant folding would hold 16777216 more bytes (67108864 so far), over MaxFoldBytes 67108864`},
		{file: "fold_bytes_issue.onnx", load: true, loadLimits: Limits{MaxFoldBytes: 64 << 20}, gen: gen(constantFills(12, 1<<28)),
			want: ErrLimit, substr: "constant folding would hold 1073741824 more bytes (0 so far), over MaxFoldBytes"},
		{file: "fold_conv_ops.onnx", load: true, gen: gen(foldedConv()),
			want: ErrLimit, substr: `node "conv" (Conv): malformed model: limit exceeded: constant folding would need 4294967296 more operations`},
		{file: "fold_maxpool_ops.onnx", load: true, gen: gen(foldedPool()),
			want: ErrLimit, substr: `node "pool" (MaxPool): malformed model: limit exceeded: constant folding would need 68988174336 more operations`},
	}
}

// opGraph is one node "op" of type op on a float input x of shape in,
// with the given initializers as its further inputs (in order), and its
// output y as the graph output.
func opGraph(op string, in []int64, inits []*pb.TensorProto, attrs ...*pb.AttributeProto) *pb.ModelProto {
	ins := []string{"x"}
	for _, t := range inits {
		ins = append(ins, t.GetName())
	}
	return model(&pb.GraphProto{
		Name: proto.String("g"), Input: []*pb.ValueInfoProto{vi("x", in...)}, Output: []*pb.ValueInfoProto{vi("y")},
		Initializer: inits, Node: []*pb.NodeProto{node("op", op, ins, []string{"y"}, attrs...)},
	})
}

func withOpset(v int64, m *pb.ModelProto) *pb.ModelProto {
	m.OpsetImport[0].Version = proto.Int64(v)
	return m
}

// bnParams are BatchNormalization's scale, B, mean and var for c channels.
func bnParams(c int) []*pb.TensorProto {
	var ts []*pb.TensorProto
	for _, name := range []string{"scale", "b", "mean", "var"} {
		v := make([]float32, c)
		for i := range v {
			v[i] = 1
		}
		ts = append(ts, floatTensor(name, []int64{int64(c)}, v...))
	}
	return ts
}

// constantFills is n ConstantOfShape([size]) nodes summed into the output.
func constantFills(n int, size int64) *pb.ModelProto {
	g := &pb.GraphProto{Name: proto.String("g"), Input: []*pb.ValueInfoProto{vi("x", 1)}, Output: []*pb.ValueInfoProto{vi("y")},
		Initializer: []*pb.TensorProto{int64Tensor("shape", []int64{1}, size)}}
	sum := []string{"x"}
	for i := range n {
		name := fmt.Sprintf("fill%d", i)
		g.Node = append(g.Node, node(name, "ConstantOfShape", []string{"shape"}, []string{name}))
		sum = append(sum, name)
	}
	g.Node = append(g.Node, node("sum", "Sum", sum, []string{"y"}))
	return model(g)
}

// foldedConv is a Conv of constants, folded at Load: 4096 filters of
// 32x32 over a 63x63 image, 2^32 multiply-adds (the file, with
// 16384 filters of 128x128 over 255x255, needs 2^42).
func foldedConv() *pb.ModelProto {
	return model(&pb.GraphProto{Name: proto.String("g"), Input: []*pb.ValueInfoProto{vi("x", 1)}, Output: []*pb.ValueInfoProto{vi("y")},
		Initializer: []*pb.TensorProto{int64Tensor("xs", []int64{4}, 1, 1, 63, 63), int64Tensor("ws", []int64{4}, 4096, 1, 32, 32)},
		Node: []*pb.NodeProto{
			node("img", "ConstantOfShape", []string{"xs"}, []string{"img"}),
			node("w", "ConstantOfShape", []string{"ws"}, []string{"w"}),
			node("conv", "Conv", []string{"img", "w"}, []string{"c"}),
			node("out", "Add", []string{"x", "c"}, []string{"y"}),
		}})
}

// foldedPool is a 512x512 MaxPool of a constant 1024x1024 image, folded at
// Load: 2^36 comparisons.
func foldedPool() *pb.ModelProto {
	return model(&pb.GraphProto{Name: proto.String("g"), Input: []*pb.ValueInfoProto{vi("x", 1)}, Output: []*pb.ValueInfoProto{vi("y")},
		Initializer: []*pb.TensorProto{int64Tensor("xs", []int64{4}, 1, 1, 1024, 1024)},
		Node: []*pb.NodeProto{
			node("img", "ConstantOfShape", []string{"xs"}, []string{"img"}),
			node("pool", "MaxPool", []string{"img"}, []string{"p"}, attrInts("kernel_shape", 512, 512)),
			node("out", "Add", []string{"x", "p"}, []string{"y"}),
		}})
}

// emptyNodes is a ModelProto whose graph holds n empty NodeProtos, 2 bytes
// each on the wire and over 200 in memory once unmarshalled.
func emptyNodes(n int) func() []byte {
	return func() []byte {
		var g []byte
		for range n {
			g = protowire.AppendBytes(protowire.AppendTag(g, 1, protowire.BytesType), nil)
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), g)
	}
}

// emptyAttributes is a ModelProto with one node of n empty attributes.
func emptyAttributes(n int) func() []byte {
	return func() []byte {
		var nd []byte
		for range n {
			nd = protowire.AppendBytes(protowire.AppendTag(nd, 5, protowire.BytesType), nil)
		}
		g := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), nd)
		return protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), g)
	}
}

// TestHostileCorpus checks every file of the corpus: a decode case must
// fail in onnxir.Decode, a load case must decode and then fail in Load,
// each with its sentinel and message; and Load fails on every file.
func TestHostileCorpus(t *testing.T) {
	cases := hostileCases()
	if len(cases) < 80 {
		t.Fatalf("corpus has %d cases, want >= 80", len(cases))
	}
	if *update {
		if err := os.MkdirAll(hostileDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if err := os.WriteFile(filepath.Join(hostileDir, c.file), c.gen(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	extDir := prepareExtDir(t)
	seen := map[string]bool{}
	check := func(t *testing.T, what string, err error, c hostileCase) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: got no error, want %v", what, c.want)
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got error %q, want errors.Is %v", what, err, c.want)
		}
		if !strings.Contains(err.Error(), c.substr) {
			t.Errorf("%s: got error %q, want substring %q", what, err, c.substr)
		}
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: error %q wraps neither ErrFormat nor ErrUnsupported", what, err)
		}
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.file, ".onnx"), func(t *testing.T) {
			if seen[c.file] {
				t.Fatalf("duplicate corpus file %s", c.file)
			}
			seen[c.file] = true
			data, err := os.ReadFile(filepath.Join(hostileDir, c.file))
			if err != nil {
				t.Fatalf("%v (run: go test ./onnx -run TestHostileCorpus -update)", err)
			}
			if !bytes.Equal(data, c.gen()) {
				t.Errorf("%s differs from its generator (run: go test ./onnx -run TestHostileCorpus -update)", c.file)
			}
			opts := onnxir.DecodeOptions{Limits: c.limits}
			if c.ext {
				opts.BaseDir = extDir
			}
			g, err := onnxir.Decode(bytes.NewReader(data), opts)
			if c.load {
				if err != nil {
					t.Fatalf("Decode: %v, want a graph (the file must fail in Load)", err)
				}
				_ = g
				_, err = LoadReader(bytes.NewReader(data), LoadOptions{Decode: opts, Limits: c.loadLimits})
				check(t, "Load", err, c)
				return
			}
			check(t, "Decode", err, c)
			_, err = LoadReader(bytes.NewReader(data), LoadOptions{Decode: opts, Limits: c.loadLimits})
			if !errors.Is(err, c.want) {
				t.Errorf("Load: got %v, want errors.Is %v", err, c.want)
			}
		})
	}
	// Every file in the directory must be in the table.
	entries, err := os.ReadDir(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".onnx") && !seen[e.Name()] {
			t.Errorf("%s in %s has no entry in hostileCases", e.Name(), hostileDir)
		}
	}
}
