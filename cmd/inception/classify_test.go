package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/assets"
	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/train/data"
	"github.com/inceptionzoo/inception/zoo"
)

// writeImage writes a w×h gradient picture with a bright square as PNG or
// JPEG (by the extension of path).
func writeImage(t *testing.T, path string, w, h int, seed uint8) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(int(seed)*53 + x ^ y), 255}
			if x > w/4 && x < w/2 && y > h/3 && y < h*2/3 {
				c = color.RGBA{240, 230 - seed*40, 40 + seed*60, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	f, err := os.Create(path)
	require.NoError(t, err)
	if strings.HasSuffix(path, ".png") {
		require.NoError(t, png.Encode(f, img))
	} else {
		require.NoError(t, jpeg.Encode(f, img, &jpeg.Options{Quality: 90}))
	}
	require.NoError(t, f.Close())
}

// wantLines formats preds as classify prints them.
func wantLines(file string, preds []zoo.Prediction) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", file)
	for i, p := range preds {
		fmt.Fprintf(&b, "  %2d. %.3f  %s (%d)\n", i+1, p.Score, p.Label, p.Index)
	}
	return b.String()
}

func TestClassify(t *testing.T) {
	drawProgress = true // the buffers standing in for stderr are not terminals
	t.Cleanup(func() { drawProgress = false })
	z := newModelZoo(t)
	cache := t.TempDir()
	imgs := t.TempDir()
	a, b, c := filepath.Join(imgs, "a.png"), filepath.Join(imgs, "b.jpg"), filepath.Join(imgs, "c.png")
	writeImage(t, a, 320, 240, 0)
	writeImage(t, b, 200, 300, 1)
	writeImage(t, c, 256, 256, 2)
	require.NoError(t, os.WriteFile(filepath.Join(imgs, "notes.txt"), []byte("not an image"), 0o644))

	// One image, downloading the weights.
	out, _, err := runWith(t, z.env, classifyCmd, "--pretrained", "--cache", cache, a)
	require.NoError(t, err)
	weightsPath := filepath.Join(cache, "light-v1.onnx")
	require.FileExists(t, weightsPath)
	m, err := zoo.Load("inception-v1", zoo.WithWeights(weightsPath))
	require.NoError(t, err)
	img, err := preprocess.Open(a)
	require.NoError(t, err)
	want, err := m.PredictImage(img, 5)
	require.NoError(t, err)
	require.NotEmpty(t, want[0].Label)
	require.Equal(t, "inception-v1.light-v1, weights "+weightsPath+"\n"+wantLines(a, want), out)

	// Without --pretrained the cached copy is used, without a request.
	n := z.requests.Load()
	out2, _, err := runWith(t, z.env, classifyCmd, "--model", "googlenet", "--cache", cache, a)
	require.NoError(t, err)
	require.Equal(t, out, out2)
	require.Equal(t, n, z.requests.Load(), "requests")

	// A directory is a batch: JSON, a progress bar, only image files.
	out, progress, err := runWith(t, z.env, classifyCmd, "--cache", cache, "--json", "--top", "3", imgs)
	require.NoError(t, err)
	require.Contains(t, progress, "3/3 images")
	var got struct {
		Model, Weights string
		Images         []classifyResult
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "inception-v1.light-v1", got.Model)
	require.Equal(t, weightsPath, got.Weights)
	var batch []image.Image
	for _, p := range []string{a, b, c} {
		img, err := preprocess.Open(p)
		require.NoError(t, err)
		batch = append(batch, img)
	}
	wantAll, err := m.PredictImages(batch, 3)
	require.NoError(t, err)
	require.Len(t, got.Images, 3)
	for i, r := range got.Images {
		require.Equal(t, []string{a, b, c}[i], r.File)
		require.Empty(t, r.Error)
		require.Len(t, r.Top, 3)
		for k, p := range r.Top {
			w := wantAll[i][k]
			if p.Index != w.Index || p.Label != w.Label || p.Score != w.Score {
				t.Errorf("%s rank %d: got %+v, want %+v", r.File, k, p, w)
			}
		}
	}

	// A glob picks the matching image files.
	out, progress, err = runWith(t, z.env, classifyCmd, "--cache", cache, "--top", "2", filepath.Join(imgs, "*.png"))
	require.NoError(t, err)
	require.Contains(t, progress, "2/2 images")
	require.Contains(t, out, a+":\n")
	require.Contains(t, out, c+":\n")
	require.NotContains(t, out, b)

	// inception-v2 through the same path.
	out, _, err = runWith(t, z.env, classifyCmd, "--model", "inception-v2", "--pretrained", "--cache", cache, "--top", "1", b)
	require.NoError(t, err)
	require.Contains(t, out, "inception-v2.light-v2, weights "+filepath.Join(cache, "light-v2.onnx"))
	require.Equal(t, 3, strings.Count(out, "\n"), out)
}

func TestClassifyErrors(t *testing.T) {
	z := newModelZoo(t)
	cache := t.TempDir()
	_, _, err := runWith(t, z.env, fetchCmd, "inception-v1", "--cache", cache)
	require.NoError(t, err)
	imgs := t.TempDir()
	good, broken := filepath.Join(imgs, "good.png"), filepath.Join(imgs, "broken.png")
	writeImage(t, good, 64, 48, 1)
	require.NoError(t, os.WriteFile(broken, []byte("\x89PNG but not really"), 0o644))
	v2 := filepath.Join(t.TempDir(), "v2.onnx")
	require.NoError(t, os.WriteFile(v2, z.files["light-v2"], 0o644))

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown model", []string{"--model", "incepton-v1", good}, []string{`unknown model "incepton-v1"; did you mean "inception-v1"`}},
		{"unreadable image", []string{"--cache", cache, broken}, []string{broken, "unsupported or corrupt image"}},
		{"missing image", []string{"--cache", cache, filepath.Join(imgs, "nope.png")}, []string{"image " + filepath.Join(imgs, "nope.png") + ": no such file"}},
		{"empty glob", []string{"--cache", cache, filepath.Join(imgs, "*.webp")}, []string{"no image files", "*.webp"}},
		{"weights that do not fit", []string{"--weights", v2, good}, []string{"inception-v1", v2, "layer conv1.7x7_s2"}},
		{"both weight flags", []string{"--weights", v2, "--pretrained", good}, []string{"exclude each other"}},
		{"top", []string{"--top", "0", good}, []string{"--top 0: want 1 or more"}},
		{"top above the classes", []string{"--cache", cache, "--top", "1001", good}, []string{"--top 1001: want 1 to 1000"}},
		{"not cached", []string{"--cache", t.TempDir(), good}, []string{"no pretrained weights in the cache", "--pretrained", "--weights FILE"}},
		{"no weights known", []string{"--model", "inception-v1-tv", good}, []string{"inception-v1-tv has no published weights", "--weights FILE", "--allow-seeded"}},
		{"model without images", []string{"--model", "inception-v3"}, []string{"--model needs IMAGE, DIR or GLOB arguments", "shipped model"}},
		{"pretrained without images", []string{"--pretrained"}, []string{"--pretrained needs IMAGE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runWith(t, z.env, classifyCmd, tt.args...)
			require.Error(t, err)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
			require.NotContains(t, err.Error(), "\n", "one-line error")
			require.Empty(t, out)
		})
	}

	// In a batch, an unreadable image is reported and the others are
	// classified; the command fails.
	out, _, err := runWith(t, z.env, classifyCmd, "--cache", cache, imgs)
	require.ErrorContains(t, err, "1 of 2 images could not be classified")
	require.Contains(t, out, good+":\n   1. ")
	require.Contains(t, out, broken+": error: "+broken+": preprocess: unsupported or corrupt image")
}

// TestClassifyShipped runs `inception classify` without arguments from a
// directory outside any checkout (the model and images are embedded) and
// checks its answers against the shipped ONNX file run by the ONNX runner
// on the PNG bytes divided by 255, the way train/data feeds Fashion-MNIST
// to the trainer.
func TestClassifyShipped(t *testing.T) {
	e := env{reg: registry.Default}
	t.Chdir(t.TempDir())
	cache := t.TempDir()

	out, _, err := runWith(t, e, classifyCmd, "--json", "--top", "3", "--cache", cache)
	require.NoError(t, err)
	var got struct {
		Model, Weights    string
		Input             []int64
		Top               int
		Images            []shippedResult
		Labelled, Correct int
		InTop             int `json:"in_top_k"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "inception-v1-d2l.fmnist96", got.Model)
	const size = 96
	require.Equal(t, []int64{1, size, size}, got.Input)
	require.Equal(t, 3, got.Top)

	// The oracle: the 8-bit pixels resized from 28x28 as the training set
	// was (train/data's bilinear rule, rounded to bytes; not the
	// preprocess package classify uses), / 255, no normalisation.
	paths, err := fs.Glob(assets.FS, assets.Images+"/*.png")
	require.NoError(t, err)
	require.Len(t, paths, 10)
	require.Len(t, got.Images, len(paths))
	x := tensor.New(len(paths), 1, size, size)
	for i, p := range paths {
		f, err := assets.FS.Open(p)
		require.NoError(t, err)
		img, err := png.Decode(f)
		require.NoError(t, f.Close())
		require.NoError(t, err)
		g, ok := img.(*image.Gray)
		require.True(t, ok, "%s: %T, want 8-bit grayscale", p, img)
		require.Equal(t, image.Rect(0, 0, 28, 28), g.Bounds())
		px := make([]float32, len(g.Pix))
		for k, v := range g.Pix {
			px[k] = float32(v)
		}
		xi := x.Data[i*size*size : (i+1)*size*size]
		data.Bilinear(px, 28, 28, xi, size, size)
		for k, v := range xi {
			xi[k] = float32(uint8(min(255, max(0, v+0.5)))) / 255
		}
	}
	raw, err := assets.FS.ReadFile(assets.D2LModel)
	require.NoError(t, err)
	modelPath := filepath.Join(t.TempDir(), "m.onnx")
	require.NoError(t, os.WriteFile(modelPath, raw, 0o644))
	m, err := onnx.Load(modelPath, onnx.LoadOptions{})
	require.NoError(t, err)
	outs, err := m.Run(map[string]*tensor.Tensor{m.InputNames()[0]: x})
	require.NoError(t, err)
	want := zoo.TopKLogits(outs[m.OutputNames()[0]], 3)
	names := labels.FashionMNIST()
	correct := 0
	for i, r := range got.Images {
		base := path.Base(paths[i])
		require.Equal(t, paths[i], r.File)
		label, err := strconv.Atoi(strings.SplitN(base, "-", 2)[0])
		require.NoError(t, err)
		if r.Label != label || r.LabelName != names[label] {
			t.Errorf("%s: label %d %q, want %d %q", base, r.Label, r.LabelName, label, names[label])
		}
		require.Len(t, r.Top, 3)
		for k, p := range r.Top {
			w := want[i][k]
			// classify resizes with the preprocess package (x/image's
			// bilinear kernel, its own rounding), the oracle as the
			// training set was: the probabilities differ by up to ~1e-3
			if p.Index != w.Index || p.Label != names[w.Index] || math.Abs(float64(p.Score-w.Score)) > 5e-3 {
				t.Errorf("%s rank %d: got %+v, want %+v (%s)", base, k+1, p, w, names[w.Index])
			}
		}
		if r.Correct != (want[i][0].Index == label) {
			t.Errorf("%s: correct %v, want %v", base, r.Correct, !r.Correct)
		}
		if r.Correct {
			correct++
		}
	}
	if got.Labelled != 10 || got.Correct != correct {
		t.Errorf("labelled %d correct %d, want 10 and %d", got.Labelled, got.Correct, correct)
	}
	// The model scores >= 0.88 on the 10,000 test images (make eval-d2l);
	// fewer than 7 of these 10 would mean a broken file or preprocessing.
	if correct < 7 {
		t.Errorf("%d of 10 bundled images correct, want at least 7", correct)
	}
	require.FileExists(t, filepath.Join(cache, assets.D2LModel), "the embedded file is verified into the cache")

	// The text form.
	out, _, err = runWith(t, e, classifyCmd, "--cache", cache)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 13, out)
	require.Equal(t, "inception-v1-d2l.fmnist96 (Fashion-MNIST, input 1x96x96), weights inception-v1-d2l-fmnist96.onnx (shipped in the binary)", lines[0])
	require.Regexp(t, `^IMAGE +TRUE +PREDICTED +RESULT$`, lines[1])
	require.Regexp(t, `^fashion-mnist/0-t-shirt-top\.png +T-shirt/top +\S.* \d\.\d{3} +(ok|wrong)$`, lines[2])
	require.Equal(t, fmt.Sprintf("%d of 10 correct (top-1)", correct), lines[12])
}

// TestClassifyShippedErrors: flags that need image arguments are usage
// errors (exit status 2).
func TestClassifyShippedErrors(t *testing.T) {
	e := env{reg: registry.Default}
	for _, args := range [][]string{{"--model", "inception-v3"}, {"--pretrained"}, {"--file", "x"}, {"--top", "11"}} {
		_, _, err := runWith(t, e, classifyCmd, append(args, "--cache", t.TempDir())...)
		require.Error(t, err, args)
		require.Equal(t, 2, exitCode(err), "%v: %v", args, err)
	}
}

func TestImageLabel(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"0-t-shirt-top.png", 0},
		{"9-ankle-boot.png", 9},
		{"10-x.png", -1},
		{"-1-x.png", -1},
		{"x-3.png", -1},
		{"3.png", -1},
	}
	for _, tt := range tests {
		if got := imageLabel(filepath.Join("d", tt.name), 10); got != tt.want {
			t.Errorf("imageLabel(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}
