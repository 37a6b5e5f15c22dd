package zoo_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// classifier returns the parameter paths of the Linear producing the
// main output of g.
func classifier(t *testing.T, g *nn.Graph) (weight, bias string) {
	t.Helper()
	n := g.Nodes[g.Output]
	for {
		if _, ok := n.Op.(nn.Softmax); !ok {
			break
		}
		n = g.Nodes[n.Inputs[0]]
	}
	require.IsType(t, nn.Linear{}, n.Op, "main output of %s", n.Path)
	w, _ := n.Param(nn.Weight)
	b, ok := n.Param(nn.Bias)
	if !ok {
		return w.Path, ""
	}
	return w.Path, b.Path
}

// linear computes f·Wᵀ + b in float64.
func linear(f *tensor.Tensor, w, b *tensor.Tensor) []float64 {
	n, d, c := f.Shape[0], f.Shape[1], w.Shape[0]
	out := make([]float64, n*c)
	for i := range n {
		for o := range c {
			s := 0.0
			if b != nil {
				s = float64(b.Data[o])
			}
			for k := range d {
				s += float64(f.Data[i*d+k]) * float64(w.Data[o*d+k])
			}
			out[i*c+o] = s
		}
	}
	return out
}

func requireClose(t *testing.T, what string, got []float32, want []float64, rtol, atol float64) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= atol+rtol*math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v (diff %g)", what, i, got[i], want[i], d)
		}
	}
}

// TestFeaturesAreClassifierInput checks, for every registered model, that
// Features is the classifier's input: the classifier applied to it (in
// float64, outside the engine) gives the logits Forward returns. For
// inception-resnet-v1, whose embedding is L2-normalised, the classifier
// input is its last_bn layer and Features is that row divided by its
// norm. A model loaded WithoutHead returns the same embedding from
// Forward, has no classifier parameters, and refuses to classify.
func TestFeaturesAreClassifierInput(t *testing.T) {
	if raceEnabled {
		t.Skip("full-size models under -race take minutes; TestActivationsConcurrent covers the race check")
	}
	wantDim := map[string]int{"inception-v1": 1024, "inception-v1-tv": 1024, "inception-v1-caffe2": 1024, "inception-v1-d2l": 1024,
		"inception-bn": 1024, "inception-v2": 1024, "inception-v3": 2048, "inception-v3-fid": 2048,
		"inception-v4": 1536, "inception-resnet-v2": 1536, "inception-resnet-v1": 512}
	for _, name := range registry.Names() {
		t.Run(name, func(t *testing.T) {
			m, err := zoo.Load(name)
			require.NoError(t, err)
			if d, ok := wantDim[name]; ok {
				require.Equal(t, d, m.FeatureDim())
			}
			x := input(m.Spec.Input, 2, 3)
			a, err := m.Activations(x)
			require.NoError(t, err)
			y, err := m.Forward(x)
			require.NoError(t, err)
			require.Equal(t, y.Data, a.Output.Data, "Activations.Output = Forward")
			require.Equal(t, []int{2, m.FeatureDim()}, a.Features.Shape)
			wp, bp := classifier(t, m.Graph)
			f := a.Features
			if m.Spec.FeaturesL2 {
				raw, err := m.ForwardLayers(x, "last_bn")
				require.NoError(t, err)
				f = raw[0]
				d := f.Shape[1]
				for i := range 2 {
					norm := 0.0
					for _, v := range f.Data[i*d : (i+1)*d] {
						norm += float64(v) * float64(v)
					}
					norm = math.Sqrt(norm)
					want := make([]float64, d)
					for k := range want {
						want[k] = float64(f.Data[i*d+k]) / norm
					}
					requireClose(t, "L2-normalised features", a.Features.Data[i*d:(i+1)*d], want, 1e-6, 1e-7)
				}
			}
			var b *tensor.Tensor
			if bp != "" {
				b = m.Params[bp]
			}
			want := linear(f, m.Params[wp], b)
			spread := 0.0
			for i := range want {
				spread = math.Max(spread, math.Abs(want[i]-want[0]))
			}
			require.Greater(t, spread, 1e-2, "logits must vary for the check to mean anything")
			requireClose(t, "logits", y.Data, want, 1e-4, 1e-4*spread)

			// Without the head.
			h, err := zoo.Load(name, zoo.WithoutHead())
			require.NoError(t, err)
			require.True(t, h.Headless())
			require.Equal(t, 0, h.Classes())
			require.NotContains(t, h.Params, wp)
			require.Equal(t, len(m.Params)-len(h.Params), map[bool]int{true: 2, false: 1}[bp != ""], "only the classifier's parameters go")
			cls := int64(m.Params[wp].Len())
			if b != nil {
				cls += int64(b.Len())
			}
			require.Equal(t, m.Summary().Params-cls, h.Summary().Params)
			hy, err := h.Forward(x)
			require.NoError(t, err)
			require.Equal(t, f.Data, hy.Data, "headless Forward = the classifier input, bit for bit")
			hf, err := h.Features(x)
			require.NoError(t, err)
			require.Equal(t, a.Features.Data, hf.Data, "headless Features")
			if _, err := h.Predict(x, 5); !errors.Is(err, zoo.ErrNoHead) {
				t.Errorf("headless Predict: err = %v, want ErrNoHead", err)
			}
			img := image.NewRGBA(image.Rect(0, 0, 8, 8))
			if _, err := h.PredictImages([]image.Image{img}, 5); !errors.Is(err, zoo.ErrNoHead) {
				t.Errorf("headless PredictImages: err = %v, want ErrNoHead", err)
			}
			if err := h.ExportONNX(&bytes.Buffer{}, convert.ExportOptions{}); !errors.Is(err, zoo.ErrNoHead) {
				t.Errorf("headless ExportONNX: err = %v, want ErrNoHead", err)
			}
		})
	}
}

// TestFeatureInfo checks the stages against timm's feature_info for the
// models timm has (inception_v4 differs at reduction 4, see FeatureInfo),
// and that every stage is a layer ForwardLayers returns with the stated
// shape.
func TestFeatureInfo(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"inception-v3", "Conv2d_2b_3x3/64/2 Conv2d_4a_3x3/192/4 Mixed_5d/288/8 Mixed_6e/768/16 Mixed_7c/2048/32"},
		{"inception-resnet-v2", "conv2d_2b/64/2 conv2d_4a/192/4 repeat/320/8 repeat_1/1088/16 conv2d_7b/1536/32"},
		{"inception-v4", "features.2/64/2 features.4/192/4 features.9/384/8 features.17/1024/16 features.21/1536/32"},
		{"inception-v1-tv", "conv1/64/2 conv3/192/4 inception3b/480/8 inception4e/832/16 inception5b/1024/32"},
		{"inception-v1", "conv1/64/2 conv2/192/4 inception_3b/480/8 inception_4e/832/16 inception_5b/1024/32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := zoo.Load(tt.name)
			require.NoError(t, err)
			var got string
			var paths []string
			for i, f := range m.FeatureInfo() {
				if i > 0 {
					got += " "
				}
				got += fmt.Sprintf("%s/%d/%d", f.Name, f.Channels, f.Reduction)
				paths = append(paths, f.Name)
			}
			require.Equal(t, tt.want, got)
			if testing.Short() || raceEnabled {
				return
			}
			x := input(m.Spec.Input, 1, 1)
			ls, err := m.ForwardLayers(x, paths...)
			require.NoError(t, err)
			for i, f := range m.FeatureInfo() {
				require.Equal(t, append([]int{1}, f.Shape...), ls[i].Shape, f.Name)
			}
		})
	}
}

// TestForwardLayers checks layers from the model's plan (WithLayers) and
// from the plan compiled on demand against each other, bit for bit, and
// Mixed_7c's spatial mean against the embedding (inception-v3's avgpool).
func TestForwardLayers(t *testing.T) {
	if raceEnabled {
		t.Skip("full-size model; TestActivationsConcurrent covers the race check")
	}
	declared, err := zoo.Load("inception-v3", zoo.WithLayers("Mixed_6e", "maxpool1"))
	require.NoError(t, err)
	plain, err := zoo.Load("inception-v3")
	require.NoError(t, err)
	x := input(plain.Spec.Input, 2, 5)
	a, err := declared.Activations(x, "Mixed_6e", "maxpool1")
	require.NoError(t, err)
	b, err := plain.Activations(x, "Mixed_7c", "Mixed_6e", "maxpool1")
	require.NoError(t, err)
	require.Equal(t, []int{2, 768, 17, 17}, b.Layers["Mixed_6e"].Shape)
	require.Equal(t, []int{2, 64, 73, 73}, b.Layers["maxpool1"].Shape)
	for _, l := range []string{"Mixed_6e", "maxpool1"} {
		require.Equal(t, a.Layers[l].Data, b.Layers[l].Data, l)
	}
	require.Equal(t, a.Output.Data, b.Output.Data)
	require.Equal(t, a.Features.Data, b.Features.Data)
	mean := zoo.SpatialMean(b.Layers["Mixed_7c"])
	want := make([]float64, len(mean.Data))
	for i, v := range b.Features.Data {
		want[i] = float64(v)
	}
	requireClose(t, "spatial mean of Mixed_7c", mean.Data, want, 1e-5, 1e-6)

	if _, err := plain.ForwardLayers(x, "Mixed_9z"); !errors.Is(err, zoo.ErrLayer) {
		t.Errorf("ForwardLayers(unknown): err = %v, want ErrLayer", err)
	}
	if _, err := zoo.Load("inception-v3", zoo.WithLayers("nope")); !errors.Is(err, zoo.ErrLayer) {
		t.Errorf("WithLayers(unknown): err = %v, want ErrLayer", err)
	}
}

// TestActivationsConcurrent asks for different layers from many
// goroutines at once (compiling the on-demand plan while others run) and
// requires the results of a serial run.
func TestActivationsConcurrent(t *testing.T) {
	m, err := zoo.Load("inception-v1-d2l")
	require.NoError(t, err)
	x := input(m.Spec.Input, 2, 7)
	layers := [][]string{{"2.3b"}, {"3.4e", "2.3b"}, {"4.5b"}, nil, {"1", "3.4e"}}
	ref, err := zoo.Load("inception-v1-d2l")
	require.NoError(t, err)
	want := make([]*zoo.Activations, len(layers))
	for i, l := range layers {
		want[i], err = ref.Activations(x, l...)
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for g := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := g % len(layers)
			a, err := m.Activations(x, layers[i]...)
			if err != nil {
				errs <- err
				return
			}
			for _, l := range layers[i] {
				if !slicesEqual(a.Layers[l].Data, want[i].Layers[l].Data) {
					errs <- fmt.Errorf("goroutine %d: layer %s differs from the serial run", g, l)
					return
				}
			}
			if !slicesEqual(a.Features.Data, want[i].Features.Data) {
				errs <- fmt.Errorf("goroutine %d: features differ from the serial run", g)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTruncateAt checks that a model cut after a trunk block computes that
// block's output bit for bit as the full model does, keeps only the
// parameters it needs, and neither classifies nor embeds.
func TestTruncateAt(t *testing.T) {
	full, err := zoo.Load("inception-v3")
	require.NoError(t, err)
	x := input(full.Spec.Input, 2, 11)
	for _, tc := range []struct {
		layer  string
		params int
	}{
		{"maxpool1", 3 * 5},     // three conv units: conv weight, bn weight, bias, mean, var
		{"Mixed_5b", 5*5 + 7*5}, // the stem's five units and Mixed_5b's seven
	} {
		m, err := zoo.Load("inception-v3", zoo.TruncateAt(tc.layer))
		require.NoError(t, err)
		require.Len(t, m.Params, tc.params, tc.layer)
		require.True(t, m.Headless())
		y, err := m.Forward(x)
		require.NoError(t, err)
		want, err := full.ForwardLayers(x, tc.layer)
		require.NoError(t, err)
		require.Equal(t, want[0].Shape, y.Shape, tc.layer)
		require.Equal(t, want[0].Data, y.Data, tc.layer)
		if _, err := m.Predict(x, 1); !errors.Is(err, zoo.ErrNoHead) {
			t.Errorf("%s: Predict: err = %v, want ErrNoHead", tc.layer, err)
		}
		if _, err := m.Features(x); !errors.Is(err, zoo.ErrNoHead) {
			t.Errorf("%s: Features: err = %v, want ErrNoHead", tc.layer, err)
		}
	}
	if _, err := zoo.Load("inception-v3", zoo.TruncateAt("Mixed_6e.branch1x1")); !errors.Is(err, zoo.ErrNotTrunk) {
		t.Errorf("TruncateAt(a branch): err = %v, want ErrNotTrunk", err)
	}
	if _, err := zoo.Load("inception-v3", zoo.TruncateAt("Mixed_9x")); !errors.Is(err, zoo.ErrLayer) {
		t.Errorf("TruncateAt(unknown): err = %v, want ErrLayer", err)
	}
	if _, err := zoo.Load("inception-v3", zoo.TruncateAt("maxpool1"), zoo.WithoutHead()); err == nil {
		t.Error("TruncateAt with WithoutHead: err = nil, want an error")
	}
}
