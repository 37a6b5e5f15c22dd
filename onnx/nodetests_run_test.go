package onnx

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// nodeTestCases lists the ONNX backend test directories (relative to
// onnxTestData) for the operators Load supports. Each must pass unless
// testdata/node_known_failures.txt lists it with a reason.
var nodeTestCases = []string{
	// Conv
	"node/test_basic_conv_with_padding", "node/test_basic_conv_without_padding",
	"node/test_conv_with_autopad_same", "node/test_conv_with_strides_and_asymmetric_padding",
	"node/test_conv_with_strides_no_padding", "node/test_conv_with_strides_padding",
	// MaxPool
	"node/test_maxpool_1d_default", "node/test_maxpool_2d_ceil", "node/test_maxpool_2d_default",
	"node/test_maxpool_2d_dilations", "node/test_maxpool_2d_pads", "node/test_maxpool_2d_precomputed_pads",
	"node/test_maxpool_2d_precomputed_same_upper", "node/test_maxpool_2d_precomputed_strides",
	"node/test_maxpool_2d_same_lower", "node/test_maxpool_2d_same_upper", "node/test_maxpool_2d_strides",
	"node/test_maxpool_2d_uint8", "node/test_maxpool_3d_default",
	"node/test_maxpool_with_argmax_2d_precomputed_pads", "node/test_maxpool_with_argmax_2d_precomputed_strides",
	// AveragePool
	"node/test_averagepool_1d_default", "node/test_averagepool_2d_ceil", "node/test_averagepool_2d_default",
	"node/test_averagepool_2d_pads", "node/test_averagepool_2d_pads_count_include_pad",
	"node/test_averagepool_2d_precomputed_pads", "node/test_averagepool_2d_precomputed_pads_count_include_pad",
	"node/test_averagepool_2d_precomputed_same_upper", "node/test_averagepool_2d_precomputed_strides",
	"node/test_averagepool_2d_same_lower", "node/test_averagepool_2d_same_upper", "node/test_averagepool_2d_strides",
	"node/test_averagepool_3d_default",
	// GlobalAveragePool
	"node/test_globalaveragepool", "node/test_globalaveragepool_precomputed",
	// LRN
	"node/test_lrn", "node/test_lrn_default",
	// BatchNormalization
	"node/test_batchnorm_epsilon", "node/test_batchnorm_example",
	"node/test_batchnorm_epsilon_training_mode", "node/test_batchnorm_example_training_mode",
	// Relu
	"node/test_relu",
	// Concat
	"node/test_concat_1d_axis_0", "node/test_concat_1d_axis_negative_1", "node/test_concat_2d_axis_0",
	"node/test_concat_2d_axis_1", "node/test_concat_2d_axis_negative_1", "node/test_concat_2d_axis_negative_2",
	"node/test_concat_3d_axis_0", "node/test_concat_3d_axis_1", "node/test_concat_3d_axis_2",
	"node/test_concat_3d_axis_negative_1", "node/test_concat_3d_axis_negative_2", "node/test_concat_3d_axis_negative_3",
	// Add, Sub, Mul, Div
	"node/test_add", "node/test_add_bcast", "node/test_add_uint8",
	"node/test_sub", "node/test_sub_bcast", "node/test_sub_example", "node/test_sub_uint8",
	"node/test_mul", "node/test_mul_bcast", "node/test_mul_example", "node/test_mul_uint8",
	"node/test_div", "node/test_div_bcast", "node/test_div_example", "node/test_div_uint8",
	// Sum
	"node/test_sum_example", "node/test_sum_one_input", "node/test_sum_two_inputs",
	// Gemm
	"node/test_gemm_all_attributes", "node/test_gemm_alpha", "node/test_gemm_beta",
	"node/test_gemm_default_matrix_bias", "node/test_gemm_default_no_bias", "node/test_gemm_default_scalar_bias",
	"node/test_gemm_default_single_elem_vector_bias", "node/test_gemm_default_vector_bias",
	"node/test_gemm_default_zero_bias", "node/test_gemm_transposeA", "node/test_gemm_transposeB",
	// MatMul
	"node/test_matmul_2d", "node/test_matmul_3d", "node/test_matmul_4d",
	// Flatten
	"node/test_flatten_axis0", "node/test_flatten_axis1", "node/test_flatten_axis2", "node/test_flatten_axis3",
	"node/test_flatten_default_axis", "node/test_flatten_negative_axis1", "node/test_flatten_negative_axis2",
	"node/test_flatten_negative_axis3", "node/test_flatten_negative_axis4",
	// Reshape
	"node/test_reshape_allowzero_reordered", "node/test_reshape_extended_dims", "node/test_reshape_negative_dim",
	"node/test_reshape_negative_extended_dims", "node/test_reshape_one_dim", "node/test_reshape_reduced_dims",
	"node/test_reshape_reordered_all_dims", "node/test_reshape_reordered_last_dims",
	"node/test_reshape_zero_and_negative_dim", "node/test_reshape_zero_dim",
	// Softmax
	"node/test_softmax_axis_0", "node/test_softmax_axis_1", "node/test_softmax_axis_2",
	"node/test_softmax_default_axis", "node/test_softmax_example", "node/test_softmax_large_number",
	"node/test_softmax_negative_axis",
	// Dropout
	"node/test_dropout_default", "node/test_dropout_default_mask", "node/test_dropout_default_mask_ratio",
	"node/test_dropout_default_old", "node/test_dropout_default_ratio", "node/test_dropout_random_old",
	"node/test_training_dropout", "node/test_training_dropout_default", "node/test_training_dropout_default_mask",
	"node/test_training_dropout_mask", "node/test_training_dropout_zero_ratio", "node/test_training_dropout_zero_ratio_mask",
	// Identity
	"node/test_identity", "node/test_identity_opt", "node/test_identity_sequence",
	// Constant, ConstantOfShape
	"node/test_constant", "node/test_constantofshape_float_ones", "node/test_constantofshape_int_shape_zero",
	"node/test_constantofshape_int_zeros",
	// Unsqueeze, Squeeze
	"node/test_unsqueeze_axis_0", "node/test_unsqueeze_axis_1", "node/test_unsqueeze_axis_2",
	"node/test_unsqueeze_axis_3", "node/test_unsqueeze_negative_axes", "node/test_unsqueeze_three_axes",
	"node/test_unsqueeze_two_axes", "node/test_unsqueeze_unsorted_axes",
	"node/test_squeeze", "node/test_squeeze_negative_axes",
	// Gather
	"node/test_gather_0", "node/test_gather_1", "node/test_gather_2d_indices", "node/test_gather_negative_indices",
	// Shape
	"node/test_shape", "node/test_shape_clip_end", "node/test_shape_clip_start", "node/test_shape_end_1",
	"node/test_shape_end_negative_1", "node/test_shape_example", "node/test_shape_start_1",
	"node/test_shape_start_1_end_2", "node/test_shape_start_1_end_negative_1", "node/test_shape_start_negative_1",
	// Pad
	"node/test_constant_pad", "node/test_edge_pad", "node/test_reflect_pad",
	// Clip
	"node/test_clip", "node/test_clip_default_inbounds", "node/test_clip_default_int8_inbounds",
	"node/test_clip_default_int8_max", "node/test_clip_default_int8_min", "node/test_clip_default_max",
	"node/test_clip_default_min", "node/test_clip_example", "node/test_clip_inbounds", "node/test_clip_outbounds",
	"node/test_clip_splitbounds",
	// Transpose
	"node/test_transpose_all_permutations_0", "node/test_transpose_all_permutations_1",
	"node/test_transpose_all_permutations_2", "node/test_transpose_all_permutations_3",
	"node/test_transpose_all_permutations_4", "node/test_transpose_all_permutations_5", "node/test_transpose_default",
	// Cast
	"node/test_cast_BFLOAT16_to_FLOAT", "node/test_cast_DOUBLE_to_FLOAT", "node/test_cast_DOUBLE_to_FLOAT16",
	"node/test_cast_FLOAT16_to_DOUBLE", "node/test_cast_FLOAT16_to_FLOAT", "node/test_cast_FLOAT_to_BFLOAT16",
	"node/test_cast_FLOAT_to_DOUBLE", "node/test_cast_FLOAT_to_FLOAT16", "node/test_cast_FLOAT_to_STRING",
	"node/test_cast_STRING_to_FLOAT",

	// PyTorch-converted modules (Conv, Pool, BN, Linear, Softmax, padding).
	"pytorch-converted/test_AvgPool1d", "pytorch-converted/test_AvgPool1d_stride",
	"pytorch-converted/test_AvgPool2d", "pytorch-converted/test_AvgPool2d_stride",
	"pytorch-converted/test_AvgPool3d", "pytorch-converted/test_AvgPool3d_stride",
	"pytorch-converted/test_AvgPool3d_stride1_pad0_gpu_input",
	"pytorch-converted/test_BatchNorm1d_3d_input_eval", "pytorch-converted/test_BatchNorm2d_eval",
	"pytorch-converted/test_BatchNorm2d_momentum_eval", "pytorch-converted/test_BatchNorm3d_eval",
	"pytorch-converted/test_BatchNorm3d_momentum_eval", "pytorch-converted/test_ConstantPad2d",
	"pytorch-converted/test_Conv1d", "pytorch-converted/test_Conv1d_dilated", "pytorch-converted/test_Conv1d_groups",
	"pytorch-converted/test_Conv1d_pad1", "pytorch-converted/test_Conv1d_pad1size1", "pytorch-converted/test_Conv1d_pad2",
	"pytorch-converted/test_Conv1d_pad2size1", "pytorch-converted/test_Conv1d_stride",
	"pytorch-converted/test_Conv2d", "pytorch-converted/test_Conv2d_depthwise", "pytorch-converted/test_Conv2d_depthwise_padded",
	"pytorch-converted/test_Conv2d_depthwise_strided", "pytorch-converted/test_Conv2d_depthwise_with_multiplier",
	"pytorch-converted/test_Conv2d_dilated", "pytorch-converted/test_Conv2d_groups", "pytorch-converted/test_Conv2d_groups_thnn",
	"pytorch-converted/test_Conv2d_no_bias", "pytorch-converted/test_Conv2d_padding", "pytorch-converted/test_Conv2d_strided",
	"pytorch-converted/test_Conv3d", "pytorch-converted/test_Conv3d_dilated", "pytorch-converted/test_Conv3d_dilated_strided",
	"pytorch-converted/test_Conv3d_groups", "pytorch-converted/test_Conv3d_no_bias", "pytorch-converted/test_Conv3d_stride",
	"pytorch-converted/test_Conv3d_stride_padding",
	"pytorch-converted/test_Linear", "pytorch-converted/test_Linear_no_bias",
	"pytorch-converted/test_MaxPool1d", "pytorch-converted/test_MaxPool1d_stride",
	"pytorch-converted/test_MaxPool1d_stride_padding_dilation", "pytorch-converted/test_MaxPool2d",
	"pytorch-converted/test_MaxPool2d_stride_padding_dilation", "pytorch-converted/test_MaxPool3d",
	"pytorch-converted/test_MaxPool3d_stride", "pytorch-converted/test_MaxPool3d_stride_padding",
	"pytorch-converted/test_ReLU", "pytorch-converted/test_Softmax", "pytorch-converted/test_ZeroPad2d",
	"pytorch-converted/test_softmax_functional_dim3", "pytorch-converted/test_softmax_lastdim",

	// PyTorch operator exports for the same operators.
	"pytorch-operator/test_operator_add_broadcast", "pytorch-operator/test_operator_add_size1_broadcast",
	"pytorch-operator/test_operator_add_size1_right_broadcast", "pytorch-operator/test_operator_add_size1_singleton_broadcast",
	"pytorch-operator/test_operator_addconstant", "pytorch-operator/test_operator_addmm",
	"pytorch-operator/test_operator_basic", "pytorch-operator/test_operator_clip", "pytorch-operator/test_operator_concat2",
	"pytorch-operator/test_operator_conv", "pytorch-operator/test_operator_flatten", "pytorch-operator/test_operator_maxpool",
	"pytorch-operator/test_operator_mm", "pytorch-operator/test_operator_non_float_params", "pytorch-operator/test_operator_pad",
	"pytorch-operator/test_operator_params", "pytorch-operator/test_operator_permute2", "pytorch-operator/test_operator_view",
}

const knownFailuresFile = "testdata/node_known_failures.txt"

// loadKnownFailures reads "<test_dir> <reason>" lines ('#' comments).
func loadKnownFailures(t *testing.T) map[string]string {
	f, err := os.Open(knownFailuresFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		dir, reason, ok := strings.Cut(line, " ")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("%s: line %q has no reason", knownFailuresFile, line)
		}
		m[dir] = strings.TrimSpace(reason)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// Tolerances: the ONNX backend suite's defaults.
const nodeRTol, nodeATol = 1e-3, 1e-7

// loadNodeTestModel loads dir/model.onnx. Models that import a default
// opset below MinOpset (the pytorch-converted and pytorch-operator cases
// are opset 6, test_globalaveragepool opset 1) are loaded as opset
// MinOpset: the operators listed here kept their semantics from those
// versions to opset 7, except the legacy broadcast attributes of
// Add/Sub/Mul/Div/Gemm, which the known-failures file lists where they
// matter.
func loadNodeTestModel(dir string) (*Model, error) {
	b, err := nodeTestModelBytes(dir)
	if err != nil {
		return nil, err
	}
	return LoadReader(bytes.NewReader(b), LoadOptions{Decode: DecodeOptions{BaseDir: dir}})
}

// nodeTestModelBytes returns dir/model.onnx with its opset raised to
// MinOpset when lower.
func nodeTestModelBytes(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nil, err
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		return nil, err
	}
	bumped := false
	for _, oi := range mp.OpsetImport {
		if (oi.GetDomain() == "" || oi.GetDomain() == "ai.onnx") && oi.GetVersion() < MinOpset {
			oi.Version = proto.Int64(MinOpset)
			bumped = true
		}
	}
	if bumped {
		return proto.Marshal(&mp)
	}
	return b, nil
}

// runNodeTest loads dir/model.onnx and checks every test_data_set_*.
func runNodeTest(dir string) error {
	m, err := loadNodeTestModel(dir)
	if err != nil {
		return err
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return fmt.Errorf("no test_data_set_* in %s", dir)
	}
	for _, set := range sets {
		ins := map[string]*Tensor{}
		for k, name := range m.InputNames() {
			t, err := decodeTensorFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
			if err != nil {
				return err
			}
			ins[name] = t
		}
		outs, err := m.RunTensors(ins)
		if err != nil {
			return err
		}
		for k, name := range m.OutputNames() {
			want, err := decodeTensorFile(filepath.Join(set, fmt.Sprintf("output_%d.pb", k)))
			if err != nil {
				return err
			}
			if err := compareTensor(outs[name], want); err != nil {
				return fmt.Errorf("%s output %d (%s): %w", filepath.Base(set), k, name, err)
			}
		}
	}
	return nil
}

func decodeTensorFile(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeTensor(f, DefaultLimits)
}

func compareTensor(got, want *Tensor) error {
	if got == nil {
		return fmt.Errorf("missing output")
	}
	if fmt.Sprint(got.Dims) != fmt.Sprint(want.Dims) {
		return fmt.Errorf("shape %v, want %v", got.Dims, want.Dims)
	}
	if want.Int != nil {
		if got.Int == nil {
			return fmt.Errorf("got float output, want %v", want.DType)
		}
		for i := range want.Int {
			if got.Int[i] != want.Int[i] {
				return fmt.Errorf("element %d: got %d, want %d", i, got.Int[i], want.Int[i])
			}
		}
		return nil
	}
	if got.Float == nil {
		return fmt.Errorf("got integer output, want %v", want.DType)
	}
	if i, ok := allClose(got.Float, want.Float, nodeRTol, nodeATol); !ok {
		return fmt.Errorf("element %d: got %v, want %v (rtol %g, atol %g)", i, got.Float[i], want.Float[i], nodeRTol, nodeATol)
	}
	return nil
}

// TestONNXNodeTestsRun runs the listed backend tests: each must pass
// unless it is a known failure, and a known failure that passes is an
// error too (so the list stays accurate).
func TestONNXNodeTestsRun(t *testing.T) {
	if _, err := os.Stat(filepath.Join(onnxTestData, "node")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ONNX backend test data missing under CI: %v (apt-get install libonnx-testdata)", err)
		}
		t.Skipf("ONNX backend test data missing (%v); install with: apt-get install libonnx-testdata", err)
	}
	known := loadKnownFailures(t)
	listed := map[string]bool{}
	for _, c := range nodeTestCases {
		listed[c] = true
	}
	for k := range known {
		if !listed[k] {
			t.Errorf("%s lists %s, which is not in nodeTestCases", knownFailuresFile, k)
		}
	}
	type tally struct{ pass, known, total int }
	perOp := map[string]*tally{}
	for _, c := range nodeTestCases {
		dir := filepath.Join(onnxTestData, c)
		op := opOfTest(dir)
		if perOp[op] == nil {
			perOp[op] = &tally{}
		}
		perOp[op].total++
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		err := runNodeTest(dir)
		reason, isKnown := known[c]
		switch {
		case err == nil && isKnown:
			t.Errorf("%s passes but is listed as a known failure (%s); remove it from %s", c, reason, knownFailuresFile)
		case err == nil:
			perOp[op].pass++
		case isKnown:
			perOp[op].known++
			t.Logf("known failure %s (%s): %v", c, reason, err)
		default:
			t.Errorf("%s: %v", c, err)
		}
	}
	ops := make([]string, 0, len(perOp))
	for op := range perOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		s := perOp[op]
		t.Logf("%-20s %3d/%-3d pass, %d known failures", op, s.pass, s.total, s.known)
	}
}

// opOfTest names the operator a test directory exercises (the op of its
// first non-Constant node), for the summary.
func opOfTest(dir string) string {
	b, err := nodeTestModelBytes(dir)
	if err != nil {
		return "(unreadable)"
	}
	g, err := Decode(bytes.NewReader(b), DecodeOptions{})
	if err != nil || len(g.Nodes) == 0 {
		return "(undecodable)"
	}
	for _, n := range g.Nodes {
		if n.OpType != "Constant" {
			return n.OpType
		}
	}
	return g.Nodes[0].OpType
}
