package inceptionv4_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	inceptionv4 "github.com/inceptionzoo/inception/variants/v4"
	"github.com/stretchr/testify/require"
)

func lower(t *testing.T, model string, o nn.Options) *nn.Graph {
	t.Helper()
	for _, s := range inceptionv4.Specs() {
		if s.Name == model {
			b, err := s.Build(o)
			require.NoError(t, err)
			g, err := nn.Lower(b, s.Input)
			require.NoError(t, err)
			return g
		}
	}
	t.Fatalf("no model %q", model)
	return nil
}

// blocks maps each block path to its first BlockInfo (transparent children
// share their parent's path).
func blocks(g *nn.Graph) map[string]nn.BlockInfo {
	m := map[string]nn.BlockInfo{}
	for _, bi := range g.Blocks {
		if _, ok := m[bi.Path]; !ok {
			m[bi.Path] = bi
		}
	}
	return m
}

func TestTables(t *testing.T) {
	// Paper Table 1.
	want := map[string][4]int{
		"inception-v4":        {192, 224, 256, 384},
		"inception-resnet-v1": {192, 192, 256, 384},
		"inception-resnet-v2": {256, 256, 384, 384},
	}
	require.Len(t, inceptionv4.ReductionAFilters, len(want))
	for net, klmn := range want {
		r, err := inceptionv4.ReductionAFor(net)
		require.NoError(t, err)
		require.Equal(t, klmn, [4]int{r.K, r.L, r.M, r.N}, net)
	}
	_, err := inceptionv4.ReductionAFor("inception-v3")
	require.Error(t, err)

	v4 := inceptionv4.InceptionV4
	require.Equal(t, 384, v4.A.Out())
	require.Equal(t, 1024, v4.RedA.Out(v4.A.Out()))
	require.Equal(t, 1024, v4.B.Out())
	require.Equal(t, 1536, v4.RedB.Out(v4.B.Out()))
	require.Equal(t, 1536, v4.C.Out())
	require.Equal(t, v4.Features, v4.C.Out())
	require.Equal(t, [3]int{4, 7, 3}, [3]int{v4.NumA, v4.NumB, v4.NumC})

	for _, tt := range []struct {
		l             inceptionv4.ResNetLayout
		a, b, c       int
		na, nb, nc    int
		sa, sb, sc    float32
		features      int
		finalBlock8   bool
		stemLast      string
		mixed5bOutput int
	}{
		{inceptionv4.InceptionResNetV2, 320, 1088, 2080, 10, 20, 9, 0.17, 0.10, 0.20, 1536, true, "maxpool_5a", 320},
		{inceptionv4.InceptionResNetV1, 256, 896, 1792, 5, 10, 5, 0.17, 0.10, 0.20, 1792, true, "conv2d_4b", 0},
	} {
		l := tt.l
		require.Equal(t, tt.a, l.A.Up, l.Network)
		require.Equal(t, tt.b, l.RedA.Out(tt.a), l.Network)
		require.Equal(t, tt.b, l.B.Up, l.Network)
		require.Equal(t, tt.c, l.RedB.Out(tt.b), l.Network)
		require.Equal(t, tt.c, l.C.Up, l.Network)
		require.Equal(t, [3]int{tt.na, tt.nb, tt.nc}, [3]int{l.NumA, l.NumB, l.NumC}, l.Network)
		require.Equal(t, [3]float32{tt.sa, tt.sb, tt.sc}, [3]float32{l.ScaleA, l.ScaleB, l.ScaleC}, l.Network)
		require.Equal(t, tt.features, l.Features, l.Network)
		require.Equal(t, tt.finalBlock8, l.FinalBlock8, l.Network)
		require.Equal(t, tt.stemLast, l.Stem[len(l.Stem)-1].Name, l.Network)
		if tt.mixed5bOutput > 0 {
			require.NotNil(t, l.Mixed5b)
			require.Equal(t, tt.mixed5bOutput, l.Mixed5b.Out())
		} else {
			require.Nil(t, l.Mixed5b)
		}
	}
}

func TestCounts(t *testing.T) {
	buffers := map[string]int64{"inception-v4": 63168, "inception-resnet-v2": 60544, "inception-resnet-v1": 29600}
	for _, s := range inceptionv4.Specs() {
		t.Run(s.Name, func(t *testing.T) {
			g := lower(t, s.Name, nn.Options{})
			params, bufs, macs := g.Totals()
			require.Equal(t, s.RefParams, params)
			require.Equal(t, s.RefMACs, macs)
			require.Equal(t, buffers[s.Name], bufs)
			require.Equal(t, nn.Shape{s.Classes}, g.OutputShape())
			require.Empty(t, g.Aux)
			require.False(t, s.HasAux)
			require.False(t, s.HasTransform)
			require.Zero(t, s.RefParamsAux)
		})
	}
}

// TestClasses checks the TF-checkpoint head width (1001 classes, measured
// in the reference).
func TestClasses(t *testing.T) {
	for model, want := range map[string]int64{"inception-v4": 42681353, "inception-resnet-v2": 55845001} {
		g := lower(t, model, nn.Options{Classes: 1001})
		params, _, _ := g.Totals()
		require.Equal(t, want, params, model)
		require.Equal(t, nn.Shape{1001}, g.OutputShape(), model)
	}
}

func TestOptions(t *testing.T) {
	for _, s := range inceptionv4.Specs() {
		_, err := s.Build(nn.Options{Aux: true})
		require.Error(t, err, s.Name)
		_, err = s.Build(nn.Options{TransformInput: true})
		require.Error(t, err, s.Name)
	}
}

func TestSpecs(t *testing.T) {
	// timm's crop_pct 0.875 and 0.8975 at 299: floor(299/0.875) = 341,
	// floor(299/0.8975) = 333; facenet-pytorch: 160x160 face crops.
	resize := map[string]int{"inception-v4": 341, "inception-resnet-v2": 333, "inception-resnet-v1": 160}
	interp := map[string]string{"inception-v4": "bicubic", "inception-resnet-v2": "bicubic", "inception-resnet-v1": "bilinear"}
	norm := map[string]spec.Norm{"inception-v4": spec.Inception, "inception-resnet-v2": spec.Inception, "inception-resnet-v1": spec.FaceNet}
	var names []string
	for _, s := range inceptionv4.Specs() {
		names = append(names, s.Name)
		require.Contains(t, s.Paper, "arXiv:1602.07261")
		side := s.Preprocess.Crop
		require.Equal(t, nn.Shape{3, side, side}, s.Input)
		require.Equal(t, 1000, s.Classes)
		require.Equal(t, spec.Logits, s.Output)
		require.NotEmpty(t, s.Quirks)
		require.NotEmpty(t, s.Family)
		p := s.Preprocess
		require.Equal(t, resize[s.Name], p.Resize, s.Name)
		require.Equal(t, interp[s.Name], p.Interpolation, s.Name)
		require.Equal(t, norm[s.Name], p.Norm)
	}
	require.Equal(t, []string{"inception-v4", "inception-resnet-v2", "inception-resnet-v1"}, names)
}

func TestStageShapes(t *testing.T) {
	tests := map[string]map[string]string{
		"inception-v4": {
			"features.0": "32x149x149", "features.1": "32x147x147", "features.2": "64x147x147",
			"features.3": "160x73x73", "features.4": "192x71x71", "features.5": "384x35x35",
			"features.6": "384x35x35", "features.9": "384x35x35", "features.10": "1024x17x17",
			"features.11": "1024x17x17", "features.17": "1024x17x17", "features.18": "1536x8x8",
			"features.19": "1536x8x8", "features.21": "1536x8x8", "features": "1536x8x8",
			"global_pool": "1536x1x1", "last_linear": "1000",
			"features.10.branch2": "384x17x17", "features.18.branch2": "1024x8x8",
			"features.19.branch1_1a": "256x8x8", "features.19.branch2_2": "512x8x8",
		},
		"inception-resnet-v2": {
			"conv2d_1a": "32x149x149", "conv2d_2a": "32x147x147", "conv2d_2b": "64x147x147",
			"maxpool_3a": "64x73x73", "conv2d_3b": "80x73x73", "conv2d_4a": "192x71x71",
			"maxpool_5a": "192x35x35", "mixed_5b": "320x35x35", "repeat": "320x35x35",
			"repeat.9": "320x35x35", "mixed_6a": "1088x17x17", "repeat_1": "1088x17x17",
			"mixed_7a": "2080x8x8", "repeat_2": "2080x8x8", "block8": "2080x8x8",
			"conv2d_7b": "1536x8x8", "global_pool": "1536x1x1", "classif": "1000",
		},
		"inception-resnet-v1": { // at facenet's 160x160
			"conv2d_1a": "32x79x79", "conv2d_2a": "32x77x77", "conv2d_2b": "64x77x77",
			"maxpool_3a": "64x38x38", "conv2d_3b": "80x38x38", "conv2d_4a": "192x36x36",
			"conv2d_4b": "256x17x17", "repeat_1": "256x17x17", "mixed_6a": "896x8x8",
			"repeat_2": "896x8x8", "mixed_7a": "1792x3x3", "repeat_3": "1792x3x3", "block8": "1792x3x3",
			"avgpool_1a": "1792x1x1", "dropout": "1792x1x1", "last_linear": "512", "last_bn": "512", "logits": "1000",
		},
	}
	for model, want := range tests {
		got := blocks(lower(t, model, nn.Options{}))
		for path, w := range want {
			bi, ok := got[path]
			if !ok {
				t.Errorf("%s: no block %q", model, path)
				continue
			}
			if bi.Out.String() != w {
				t.Errorf("%s: block %q out = %s, want %s", model, path, bi.Out, w)
			}
		}
	}
}

type cost struct{ params, macs int64 }

func (c cost) plus(o ...cost) cost {
	for _, x := range o {
		c.params += x.params
		c.macs += x.macs
	}
	return c
}

func (c cost) times(n int64) cost { return cost{c.params * n, c.macs * n} }

func checkCosts(t *testing.T, model string, want map[string]cost) {
	t.Helper()
	got := blocks(lower(t, model, nn.Options{}))
	for path, w := range want {
		bi, ok := got[path]
		if !ok {
			t.Errorf("%s: no block %q", model, path)
			continue
		}
		if bi.Params != w.params || bi.MACs != w.macs {
			t.Errorf("%s: %q params/MACs = %d / %d, want %d / %d", model, path, bi.Params, bi.MACs, w.params, w.macs)
		}
	}
}

// TestBlockCosts checks the per-block parameters and MACs measured in the
// reference (architectures.md §5.1 and §5.2).
func TestBlockCosts(t *testing.T) {
	a := cost{317632, 387609600}
	b := cost{2936256, 847264768}
	c := cost{4553088, 290979840}
	v4 := map[string]cost{
		"features.10": {2306112, 1097164800},
		"features.18": {2747392, 511098880},
	}
	for i := 6; i <= 9; i++ {
		v4[fmt.Sprint("features.", i)] = a
	}
	for i := 11; i <= 17; i++ {
		v4[fmt.Sprint("features.", i)] = b
	}
	for i := 19; i <= 21; i++ {
		v4[fmt.Sprint("features.", i)] = c
	}
	checkCosts(t, "inception-v4", v4)

	// The stem (features.0 … features.5) as a whole.
	got := blocks(lower(t, "inception-v4", nn.Options{}))
	var stem cost
	for i := range 6 {
		bi := got[fmt.Sprint("features.", i)]
		stem = stem.plus(cost{bi.Params, bi.MACs})
	}
	require.Equal(t, cost{605728, 2289943648}, stem)

	checkCosts(t, "inception-resnet-v2", map[string]cost{
		"mixed_5b":  {268320, 327398400},
		"repeat":    {1231680, 1499008000},
		"mixed_6a":  {2664960, 1398185984},
		"repeat_1":  {22535680, 6498754560},
		"mixed_7a":  {3880960, 585424896},
		"repeat_2":  {18318816, 1170210816},
		"block8":    {2035424, 130023424},
		"conv2d_7b": {3197952, 204472320},
	})
}

// unit is the hand-computed cost of a conv-BN unit at an hw×hw output:
// weights cin·cout·kh·kw plus BN gamma and beta.
func unit(cin, cout, kh, kw, hw int) cost {
	w := int64(cin * cout * kh * kw)
	return cost{w + 2*int64(cout), w * int64(hw*hw)}
}

// proj is a residual block's 1×1 up-projection with bias.
func proj(cin, cout, hw int) cost {
	w := int64(cin * cout)
	return cost{w + int64(cout), w * int64(hw*hw)}
}

// TestResNetV1Costs derives Inception-ResNet-v1's per-block costs by hand
// from the §5.3 channel plan (the reference gives only the totals) and
// checks both the blocks and that they add up to the reference totals.
func TestResNetV1Costs(t *testing.T) {
	// facenet-pytorch's network at its 160x160 input.
	want := map[string]cost{
		"conv2d_1a": unit(3, 32, 3, 3, 79),
		"conv2d_2a": unit(32, 32, 3, 3, 77),
		"conv2d_2b": unit(32, 64, 3, 3, 77),
		"conv2d_3b": unit(64, 80, 1, 1, 38),
		"conv2d_4a": unit(80, 192, 3, 3, 36),
		"conv2d_4b": unit(192, 256, 3, 3, 17),
		"repeat_1.0": unit(256, 32, 1, 1, 17).plus(
			unit(256, 32, 1, 1, 17), unit(32, 32, 3, 3, 17),
			unit(256, 32, 1, 1, 17), unit(32, 32, 3, 3, 17), unit(32, 32, 3, 3, 17),
			proj(96, 256, 17)),
		"mixed_6a": unit(256, 384, 3, 3, 8).plus(
			unit(256, 192, 1, 1, 17), unit(192, 192, 3, 3, 17), unit(192, 256, 3, 3, 8)),
		"repeat_2.0": unit(896, 128, 1, 1, 8).plus(
			unit(896, 128, 1, 1, 8), unit(128, 128, 1, 7, 8), unit(128, 128, 7, 1, 8),
			proj(256, 896, 8)),
		"mixed_7a": unit(896, 256, 1, 1, 8).plus(unit(256, 384, 3, 3, 3),
			unit(896, 256, 1, 1, 8), unit(256, 256, 3, 3, 3),
			unit(896, 256, 1, 1, 8), unit(256, 256, 3, 3, 8), unit(256, 256, 3, 3, 3)),
		"repeat_3.0": unit(1792, 192, 1, 1, 3).plus(
			unit(1792, 192, 1, 1, 3), unit(192, 192, 1, 3, 3), unit(192, 192, 3, 1, 3),
			proj(384, 1792, 3)),
		"last_linear": {1792 * 512, 1792 * 512},
		"last_bn":     {2 * 512, 0},
		"logits":      {512*1000 + 1000, 512 * 1000},
	}
	// Spot values, computed by hand: a block's parameters do not depend on
	// the input size; its MACs scale with the plane (17², 8², 3²).
	require.Equal(t, cost{77440, 22195200}, want["repeat_1.0"])
	require.Equal(t, cost{690048, 44040192}, want["repeat_2.0"])
	require.Equal(t, cost{1600768, 14376960}, want["repeat_3.0"])
	want["block8"] = want["repeat_3.0"]
	want["repeat_1"] = want["repeat_1.0"].times(5)
	want["repeat_2"] = want["repeat_2.0"].times(10)
	want["repeat_3"] = want["repeat_3.0"].times(5)
	checkCosts(t, "inception-resnet-v1", want)

	var total cost
	for _, p := range []string{"conv2d_1a", "conv2d_2a", "conv2d_2b", "conv2d_3b", "conv2d_4a", "conv2d_4b",
		"repeat_1", "mixed_6a", "repeat_2", "mixed_7a", "repeat_3", "block8", "last_linear", "last_bn", "logits"} {
		total = total.plus(want[p])
	}
	// 23,995,624 parameters with 1000 classes; with facenet's 8631 classes
	// 27,910,327, which plus the 29,600 BN running statistics is the
	// 27,939,927 float tensors of facenet-pytorch's InceptionResnetV1
	// state dict.
	require.Equal(t, cost{23995624, 1418174304}, total)
}

func TestParamPaths(t *testing.T) {
	tests := map[string]map[string][]int{
		"inception-v4": {
			"features.0.conv.weight":                 {32, 3, 3, 3},
			"features.0.bn.weight":                   {32},
			"features.0.bn.running_var":              {32},
			"features.2.conv.weight":                 {64, 32, 3, 3},
			"features.3.conv.conv.weight":            {96, 64, 3, 3},
			"features.4.branch0.1.conv.weight":       {96, 64, 3, 3},
			"features.4.branch1.1.conv.weight":       {64, 64, 1, 7},
			"features.4.branch1.2.conv.weight":       {64, 64, 7, 1},
			"features.4.branch1.3.bn.bias":           {96},
			"features.5.conv.conv.weight":            {192, 192, 3, 3},
			"features.6.branch0.conv.weight":         {96, 384, 1, 1},
			"features.6.branch2.2.conv.weight":       {96, 96, 3, 3},
			"features.9.branch3.1.conv.weight":       {96, 384, 1, 1},
			"features.10.branch0.conv.weight":        {384, 384, 3, 3},
			"features.10.branch1.1.conv.weight":      {224, 192, 3, 3},
			"features.10.branch1.2.conv.weight":      {256, 224, 3, 3},
			"features.11.branch1.1.conv.weight":      {224, 192, 1, 7},
			"features.11.branch1.2.conv.weight":      {256, 224, 7, 1},
			"features.11.branch2.1.conv.weight":      {192, 192, 7, 1},
			"features.17.branch2.4.conv.weight":      {256, 224, 1, 7},
			"features.17.branch3.1.conv.weight":      {128, 1024, 1, 1},
			"features.18.branch0.1.conv.weight":      {192, 192, 3, 3},
			"features.18.branch1.3.conv.weight":      {320, 320, 3, 3},
			"features.19.branch0.conv.weight":        {256, 1536, 1, 1},
			"features.19.branch1_0.conv.weight":      {384, 1536, 1, 1},
			"features.19.branch1_1a.conv.weight":     {256, 384, 1, 3},
			"features.19.branch1_1b.conv.weight":     {256, 384, 3, 1},
			"features.21.branch2_0.conv.weight":      {384, 1536, 1, 1},
			"features.21.branch2_1.conv.weight":      {448, 384, 3, 1},
			"features.21.branch2_2.conv.weight":      {512, 448, 1, 3},
			"features.21.branch2_3a.conv.weight":     {256, 512, 1, 3},
			"features.21.branch2_3b.bn.running_mean": {256},
			"features.21.branch3.1.conv.weight":      {256, 1536, 1, 1},
			"last_linear.weight":                     {1000, 1536},
			"last_linear.bias":                       {1000},
		},
		"inception-resnet-v2": {
			"conv2d_1a.conv.weight":             {32, 3, 3, 3},
			"conv2d_4a.bn.weight":               {192},
			"mixed_5b.branch0.conv.weight":      {96, 192, 1, 1},
			"mixed_5b.branch1.1.conv.weight":    {64, 48, 5, 5},
			"mixed_5b.branch3.1.conv.weight":    {64, 192, 1, 1},
			"repeat.0.branch2.2.conv.weight":    {64, 48, 3, 3},
			"repeat.9.conv2d.weight":            {320, 128, 1, 1},
			"repeat.9.conv2d.bias":              {320},
			"mixed_6a.branch0.conv.weight":      {384, 320, 3, 3},
			"mixed_6a.branch1.2.conv.weight":    {384, 256, 3, 3},
			"repeat_1.19.branch1.1.conv.weight": {160, 128, 1, 7},
			"repeat_1.19.branch1.2.conv.weight": {192, 160, 7, 1},
			"repeat_1.0.conv2d.weight":          {1088, 384, 1, 1},
			"mixed_7a.branch1.1.conv.weight":    {288, 256, 3, 3},
			"mixed_7a.branch2.2.conv.weight":    {320, 288, 3, 3},
			"repeat_2.8.branch1.2.conv.weight":  {256, 224, 3, 1},
			"repeat_2.8.conv2d.weight":          {2080, 448, 1, 1},
			"block8.conv2d.bias":                {2080},
			"conv2d_7b.conv.weight":             {1536, 2080, 1, 1},
			"conv2d_7b.bn.running_mean":         {1536},
			"classif.weight":                    {1000, 1536},
			"classif.bias":                      {1000},
		},
		"inception-resnet-v1": {
			"conv2d_4b.conv.weight":            {256, 192, 3, 3},
			"repeat_1.4.branch2.2.conv.weight": {32, 32, 3, 3},
			"repeat_1.4.conv2d.weight":         {256, 96, 1, 1},
			"mixed_6a.branch0.conv.weight":     {384, 256, 3, 3},
			"mixed_6a.branch1.2.conv.weight":   {256, 192, 3, 3},
			"repeat_2.9.branch1.2.conv.weight": {128, 128, 7, 1},
			"repeat_2.9.conv2d.weight":         {896, 256, 1, 1},
			"mixed_7a.branch0.1.conv.weight":   {384, 256, 3, 3},
			"mixed_7a.branch2.2.conv.weight":   {256, 256, 3, 3},
			"repeat_3.4.branch1.1.conv.weight": {192, 192, 1, 3},
			"repeat_3.4.conv2d.bias":           {1792},
			"block8.conv2d.weight":             {1792, 384, 1, 1},
			"last_linear.weight":               {512, 1792},
			"last_bn.weight":                   {512},
			"last_bn.running_var":              {512},
			"logits.weight":                    {1000, 512},
			"logits.bias":                      {1000},
		},
	}
	for model, want := range tests {
		have := map[string][]int{}
		for _, p := range lower(t, model, nn.Options{}).Params() {
			have[p.Path] = p.Shape
		}
		for path, shape := range want {
			got, ok := have[path]
			if !ok {
				t.Errorf("%s: no parameter %q", model, path)
				continue
			}
			if !slices.Equal(got, shape) {
				t.Errorf("%s: %q shape = %v, want %v", model, path, got, shape)
			}
		}
	}
}

// TestOps checks the op mix: conv units without bias and with BN eps 1e-3,
// padding-excluding average pools, floor-mode max pools, the residual adds,
// and the node counts of the published ONNX exports (TurnkeyML: v4 has
// Conv 149, AveragePool 14, MaxPool 4; IRv2 Conv 244, AveragePool 1,
// MaxPool 4, Add 40).
func TestOps(t *testing.T) {
	type add struct {
		scale float32
		relu  bool
	}
	tests := []struct {
		model                 string
		convs, avg, max, adds int
		addKinds              map[add]int
	}{
		{"inception-v4", 149, 14, 4, 0, nil},
		{"inception-resnet-v2", 244, 1, 4, 40, map[add]int{{0.17, true}: 10, {0.10, true}: 20, {0.20, true}: 9, {1, false}: 1}},
		{"inception-resnet-v1", 6 + 5*7 + 4 + 10*5 + 7 + 6*5, 0, 3, 21, map[add]int{{0.17, true}: 5, {0.10, true}: 10, {0.20, true}: 5, {1, false}: 1}},
	}
	for _, tt := range tests {
		g := lower(t, tt.model, nn.Options{})
		var convs, avg, max, adds int
		kinds := map[add]int{}
		for _, n := range g.Nodes {
			switch op := n.Op.(type) {
			case nn.Conv:
				convs++
				if op.Bias {
					require.True(t, strings.HasSuffix(n.Path, ".conv2d"), "%s: conv with bias at %s", tt.model, n.Path)
					require.Equal(t, [2]int{1, 1}, op.Kernel)
				}
			case nn.BatchNorm:
				require.Equal(t, float32(1e-3), op.Eps, n.Path)
			case nn.AvgPool:
				avg++
				require.False(t, op.CountIncludePad, n.Path)
				require.Equal(t, nn.P(1), op.Pad, n.Path)
			case nn.MaxPool:
				max++
				require.False(t, op.CeilMode, n.Path)
				require.Equal(t, nn.Pad{}, op.Pad, n.Path)
			case nn.Add:
				adds++
				kinds[add{op.Scale, op.ReLU}]++
			}
		}
		require.Equal(t, tt.convs, convs, tt.model)
		require.Equal(t, tt.avg, avg, tt.model)
		require.Equal(t, tt.max, max, tt.model)
		require.Equal(t, tt.adds, adds, tt.model)
		if tt.addKinds != nil {
			require.Equal(t, tt.addKinds, kinds, tt.model)
		}
	}
}
