package bninception_test

import (
	"fmt"
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	bninception "github.com/inceptionzoo/inception/variants/bn"
	"github.com/stretchr/testify/require"
)

func specOf(t *testing.T, name string) spec.Model {
	t.Helper()
	for _, s := range bninception.Specs() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no spec %q", name)
	return spec.Model{}
}

func lower(t *testing.T, name string, o nn.Options) *nn.Graph {
	t.Helper()
	s := specOf(t, name)
	b, err := s.Build(o)
	require.NoError(t, err)
	g, err := nn.Lower(b, s.Input)
	require.NoError(t, err)
	return g
}

func TestTableDepths(t *testing.T) {
	for _, tt := range []struct {
		name string
		mods []bninception.Module
		want []int
	}{
		{"608", bninception.Modules608, []int{256, 320, 576, 576, 576, 608, 608, 1056, 1024, 1024}},
		{"576", bninception.Modules576, []int{256, 320, 576, 576, 576, 576, 576, 1024, 1024, 1024}},
	} {
		in := 192
		var got []int
		for _, m := range tt.mods {
			in = m.Out(in)
			got = append(got, in)
		}
		require.Equal(t, tt.want, got, tt.name)
	}
}

func TestCounts(t *testing.T) {
	for _, tt := range []struct {
		model                 string
		params, buffers, macs int64
	}{
		// conv weights 10,240,192 + conv biases 10,016 + BN 2×10,016 + fc 1,025,000 (reference §3.3).
		{"inception-bn", 11295240, 20032, 2032600064},
		// derived from the ONNX graph; MACs equal the reference's 576 plan with a plain 7×7 stem.
		{"inception-v2", bninception.ONNXParams, bninception.ONNXBuffers, 2018851840},
	} {
		t.Run(tt.model, func(t *testing.T) {
			s := specOf(t, tt.model)
			g := lower(t, tt.model, nn.Options{})
			params, buffers, macs := g.Totals()
			require.EqualValues(t, tt.params, params)
			require.EqualValues(t, s.RefParams, params)
			require.EqualValues(t, tt.buffers, buffers)
			require.EqualValues(t, tt.macs, macs)
			require.EqualValues(t, s.RefMACs, macs)
			require.Equal(t, "1000", g.OutputShape().String())
			require.Empty(t, g.Aux)

			convs := 0
			for _, n := range g.Nodes {
				if c, ok := n.Op.(nn.Conv); ok {
					convs++
					require.Equal(t, tt.model == "inception-bn", c.Bias, "conv %s bias", n.Path)
				}
			}
			require.Equal(t, 69, convs)

			g10 := lower(t, tt.model, nn.Options{Classes: 10})
			p10, _, _ := g10.Totals()
			require.EqualValues(t, params-1024*990-990, p10)
			_, err := s.Build(nn.Options{Aux: true})
			require.Error(t, err)
		})
	}
	require.EqualValues(t, 11214888, bninception.ONNXParams)
	require.EqualValues(t, 19904, bninception.ONNXBuffers)
}

// TestStageShapes checks every top-level stage's output, in order.
func TestStageShapes(t *testing.T) {
	want := []string{
		"64x112x112", "64x56x56", "64x56x56", "192x56x56", "192x28x28", // stem
		"256x28x28", "320x28x28", "576x14x14", // 3a 3b 3c
		"576x14x14", "576x14x14", "", "", "", // 4a 4b, 4c 4d 4e per plan
		"1024x7x7", "1024x7x7", // 5a 5b
		"1024x1x1", "1024", "1000", // pool, flatten, fc
	}
	plan := map[string][3]string{
		"inception-bn": {"608x14x14", "608x14x14", "1056x7x7"},
		"inception-v2": {"576x14x14", "576x14x14", "1024x7x7"},
	}
	for model, p := range plan {
		w := append([]string(nil), want...)
		copy(w[10:13], p[:])
		var got []string
		for _, bi := range lower(t, model, nn.Options{}).Blocks {
			if bi.Depth == 1 {
				got = append(got, bi.Out.String())
			}
		}
		require.Equal(t, w, got, model)
	}
}

// TestModuleCounts pins each module's parameters and MACs.
func TestModuleCounts(t *testing.T) {
	want := map[string][][2]int64{
		"inception-bn": {
			{219552, 170999808}, {260704, 203112448}, {385632, 143904768},
			{610848, 119218176}, {666240, 130056192}, {915456, 178827264}, {1144000, 223584256}, {1451008, 164577280},
			{2210496, 108079104}, {2281248, 111541248},
		},
		"inception-v2": {
			{220032, 170999808}, {261248, 203112448}, {386176, 143904768},
			{611712, 119218176}, {667136, 130056192}, {897920, 175214592}, {1110144, 216760320}, {1441792, 162570240},
			{2185472, 106774528}, {2282880, 111541248},
		},
	}
	for model, w := range want {
		var got [][2]int64
		for _, bi := range lower(t, model, nn.Options{}).Blocks {
			if bi.Depth == 1 && bi.Kind == "Branches" {
				got = append(got, [2]int64{bi.Params, bi.MACs})
			}
		}
		require.Equal(t, w, got, model)
	}
}

func TestParamPaths(t *testing.T) {
	tests := map[string]map[string]string{
		"inception-bn": {
			"conv1_7x7_s2.weight": "64x3x7x7", "conv1_7x7_s2.bias": "64", "conv1_7x7_s2_bn.weight": "64",
			"conv1_7x7_s2_bn.running_var": "64", "conv2_3x3_reduce.weight": "64x64x1x1", "conv2_3x3.weight": "192x64x3x3",
			"inception_3a_1x1.weight": "64x192x1x1", "inception_3a_1x1_bn.bias": "64",
			"inception_3a_3x3_reduce.weight": "64x192x1x1", "inception_3a_3x3.weight": "64x64x3x3",
			"inception_3a_double_3x3_reduce.weight": "64x192x1x1", "inception_3a_double_3x3_1.weight": "96x64x3x3",
			"inception_3a_double_3x3_2.weight": "96x96x3x3", "inception_3a_pool_proj.weight": "32x192x1x1",
			"inception_3c_3x3.weight": "160x128x3x3", "inception_4d_1x1.weight": "96x608x1x1",
			"inception_4d_pool_proj.weight": "128x608x1x1", "inception_5a_1x1.weight": "352x1056x1x1",
			"inception_5b_pool_proj_bn.running_mean": "128", "last_linear.weight": "1000x1024", "last_linear.bias": "1000",
		},
		"inception-v2": {
			"conv1.7x7_s2.weight": "64x3x7x7", "conv1.7x7_s2.bn.weight": "64", "conv1.7x7_s2.bn.sc.bias": "64",
			"inception_3a.double3x3a.weight": "96x64x3x3", "inception_3a.double3x3b.bn.running_mean": "96",
			"inception_4c.pool_proj.weight": "96x576x1x1", "inception_5a.1x1.weight": "352x1024x1x1",
			"loss3.classifier.weight": "1000x1024", "loss3.classifier.bias": "1000",
		},
	}
	for model, want := range tests {
		have := map[string]string{}
		for _, p := range lower(t, model, nn.Options{}).Params() {
			have[p.Path] = nn.Shape(p.Shape).String()
		}
		for path, shape := range want {
			if got, ok := have[path]; !ok {
				t.Errorf("%s: no parameter %q", model, path)
			} else if got != shape {
				t.Errorf("%s: %s has shape %s, want %s", model, path, got, shape)
			}
		}
	}
}

func TestONNXName(t *testing.T) {
	for path, name := range map[string]string{
		"conv1.7x7_s2.weight":                 "conv1/7x7_s2_w_0",
		"conv1.7x7_s2.bn.weight":              "conv1/7x7_s2/bn_scale_0",
		"conv1.7x7_s2.bn.bias":                "conv1/7x7_s2/bn_bias_0",
		"conv1.7x7_s2.bn.running_mean":        "conv1/7x7_s2/bn_mean_0",
		"conv1.7x7_s2.bn.running_var":         "conv1/7x7_s2/bn_var_0",
		"conv1.7x7_s2.bn.sc.weight":           "conv1/7x7_s2/bn/sc_w_0",
		"conv1.7x7_s2.bn.sc.bias":             "conv1/7x7_s2/bn/sc_b_0",
		"inception_3a.double3x3a.weight":      "inception_3a/double3x3a_w_0",
		"loss3.classifier.weight":             "loss3/classifier_w_0",
		"loss3.classifier.bias":               "loss3/classifier_b_0",
		"inception_5b.pool_proj.bn.sc.weight": "inception_5b/pool_proj/bn/sc_w_0",
	} {
		require.Equal(t, name, bninception.ONNXName(path), path)
		require.Equal(t, path, bninception.ParamPath(name), name)
	}
	for _, bad := range []string{"", "weight", "conv1.7x7_s2.running_mean", "conv1.7x7_s2.gamma"} {
		require.Empty(t, bninception.ONNXName(bad), bad)
	}
	for _, bad := range []string{"", "data_0", "conv1/7x7_s2/bn_w_0", "conv1.x_w_0", "_w_0"} {
		require.Empty(t, bninception.ParamPath(bad), bad)
	}
	// Every parameter of the model has a distinct ONNX name that maps back.
	seen := map[string]bool{}
	for _, p := range lower(t, "inception-v2", nn.Options{}).Params() {
		name := bninception.ONNXName(p.Path)
		require.NotEmpty(t, name, p.Path)
		require.False(t, seen[name], name)
		seen[name] = true
		require.Equal(t, p.Path, bninception.ParamPath(name))
	}
	require.Len(t, seen, 485)
}

func ExampleONNXName() {
	fmt.Println(bninception.ONNXName("inception_3a.double3x3a.bn.sc.weight"))
	fmt.Println(bninception.ParamPath("conv2/3x3/bn_var_0"))
	// Output:
	// inception_3a/double3x3a/bn/sc_w_0
	// conv2.3x3.bn.running_var
}
