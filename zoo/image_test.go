package zoo_test

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/zoo"
)

// picture is a deterministic w×h test image: colour gradients and a
// bright square.
func picture(w, h int, seed uint8) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(int(seed)*37 + x ^ y), 255}
			if x > w/3 && x < w/2 && y > h/3 && y < h/2 {
				c = color.RGBA{250, 250, 200, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func TestPredictImage(t *testing.T) {
	models := []string{"inception-v1-d2l", "inception-v1"}
	if raceEnabled {
		models = models[:1] // a full-size model under -race takes too long
	}
	for _, name := range models {
		m, err := zoo.Load(name)
		require.NoError(t, err)
		img := picture(320, 240, 1)
		got, err := m.PredictImage(img, 5)
		require.NoError(t, err, name)
		require.Len(t, got, 5)

		// The same as preprocessing by hand and calling Predict.
		x, err := preprocess.Tensor(img, m.Spec.Preprocess)
		require.NoError(t, err)
		want, err := m.Predict(x, 5)
		require.NoError(t, err)
		names := m.Labels()
		require.Len(t, names, m.Spec.Classes)
		for i, p := range got {
			require.Equal(t, want[0][i].Index, p.Index, "%s rank %d", name, i)
			require.Equal(t, want[0][i].Score, p.Score, "%s rank %d", name, i)
			require.Equal(t, names[p.Index], p.Label, "%s rank %d", name, i)
			if p.Score <= 0 || p.Score > 1 {
				t.Errorf("%s rank %d: score %v is not a probability", name, i, p.Score)
			}
			if i > 0 && p.Score > got[i-1].Score {
				t.Errorf("%s: scores not descending at rank %d: %v > %v", name, i, p.Score, got[i-1].Score)
			}
		}
	}
}

func TestPredictImageD2LLabels(t *testing.T) {
	m, err := zoo.Load("inception-v1-d2l")
	require.NoError(t, err)
	got, err := m.PredictImage(picture(28, 28, 2), 10)
	require.NoError(t, err)
	seen := map[string]bool{}
	sum := 0.0
	for _, p := range got {
		seen[p.Label] = true
		sum += float64(p.Score)
	}
	require.InDelta(t, 1, sum, 1e-5, "all 10 probabilities sum to 1")
	require.Len(t, seen, 10)
	for _, n := range labels.FashionMNIST() {
		require.True(t, seen[n], "label %q missing", n)
	}
	require.Equal(t, labels.FashionMNIST(), m.Labels())
}

// TestPredictImages runs more images than one internal chunk and checks
// each result against PredictImage.
func TestPredictImages(t *testing.T) {
	n := 10
	if raceEnabled {
		n = 2
	}
	m, err := zoo.Load("inception-v1-d2l")
	require.NoError(t, err)
	imgs := make([]image.Image, n)
	for i := range imgs {
		imgs[i] = picture(60+7*i, 50, uint8(i))
	}
	got, err := m.PredictImages(imgs, 3)
	require.NoError(t, err)
	require.Len(t, got, n)
	for i, img := range imgs {
		want, err := m.PredictImage(img, 3)
		require.NoError(t, err)
		for r := range want {
			require.Equal(t, want[r].Index, got[i][r].Index, "image %d rank %d", i, r)
			require.InDelta(t, want[r].Score, got[i][r].Score, 1e-6, "image %d rank %d", i, r)
		}
	}
}

func TestPredictImageErrors(t *testing.T) {
	m, err := zoo.Load("inception-v1-d2l")
	require.NoError(t, err)
	_, err = m.PredictImages(nil, 3)
	require.Error(t, err)
	_, err = m.PredictImages([]image.Image{picture(30, 30, 0), nil}, 3)
	require.ErrorIs(t, err, preprocess.ErrImage)
	require.Contains(t, err.Error(), "image 1")

	// A preset that does not produce the model's input shape.
	e, err := registry.Default.Lookup("inception-v1-d2l")
	require.NoError(t, err)
	e.Name, e.Aliases = "d2l-rgb-preset", nil
	e.Preprocess = spec.Preprocess{Resize: 96, Crop: 96, Interpolation: "bilinear", Norm: spec.Norm{Range: 1, Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}}
	r, err := registry.New(e)
	require.NoError(t, err)
	bad, err := zoo.Load("d2l-rgb-preset", zoo.WithRegistry(r))
	require.NoError(t, err)
	_, err = bad.PredictImage(picture(30, 30, 0), 3)
	require.ErrorContains(t, err, "preprocessing preset gives 3x96x96, the model takes 1x96x96")
}

func TestLabelsByClassCount(t *testing.T) {
	m, err := zoo.Load("inception-v1-d2l", zoo.WithClasses(7))
	require.NoError(t, err)
	require.Nil(t, m.Labels())
	got, err := m.PredictImage(picture(40, 40, 3), 2)
	require.NoError(t, err)
	require.Equal(t, "", got[0].Label, "no names for a 7-class head")
	require.False(t, math.IsNaN(float64(got[0].Score)))
}
