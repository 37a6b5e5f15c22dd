package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/metrics"
	"github.com/inceptionzoo/inception/npy"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// fidRef runs scripts/fid_reference.py (pytorch-fid's network and
// statistics restated over Debian's torch, numpy and scipy).
func fidRef(t *testing.T, args ...string) string {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import torch, torchvision, scipy, PIL").Run(); err != nil {
		testkit.Missing(t, "torch/torchvision/scipy reference unavailable (%v): apt-get install python3-torch python3-torchvision python3-scipy", err)
	}
	root, err := testkit.ModuleRoot()
	require.NoError(t, err)
	out, err := exec.Command("/usr/bin/python3", append([]string{filepath.Join(root, "scripts", "fid_reference.py")}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("fid_reference.py %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeImageSet writes n PNG pictures of varied sizes into dir: gradients
// shifted by shift with per-pixel noise; every seventh image is grey and
// every fifth has an alpha channel (both become RGB as PIL's convert("RGB")
// makes them). PNG decodes identically here and in PIL, so the features
// depend only on the pipeline and the network.
func writeImageSet(t *testing.T, dir string, n int, seed uint64, shift int) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	r := testkit.RandomInput(seed, 4*n) // sizes and colours
	for i := range n {
		w := 48 + int((r.Data[4*i]+1)*80)
		h := 48 + int((r.Data[4*i+1]+1)*80)
		noise := testkit.RandomInput(seed*1000+uint64(i), w*h)
		tint := int((r.Data[4*i+2] + 1) * 60)
		var img image.Image
		switch {
		case i%7 == 3:
			g := image.NewGray(image.Rect(0, 0, w, h))
			for y := range h {
				for x := range w {
					g.SetGray(x, y, color.Gray{uint8((x*255/w + y*97/h + shift + int(noise.Data[y*w+x]*25) + 512) % 256)})
				}
			}
			img = g
		default:
			m := image.NewNRGBA(image.Rect(0, 0, w, h))
			for y := range h {
				for x := range w {
					nz := int(noise.Data[y*w+x] * 30)
					a := uint8(255)
					if i%5 == 1 {
						a = uint8(40 + (x*7+y)%200)
					}
					m.SetNRGBA(x, y, color.NRGBA{uint8((x*255/w + shift + nz + 512) % 256), uint8((y*255/h + tint + 256) % 256),
						uint8(((x ^ y) + 3*shift + nz + 512) % 256), a})
				}
			}
			img = m
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("img%03d.png", i)))
		require.NoError(t, err)
		require.NoError(t, png.Encode(f, img))
		require.NoError(t, f.Close())
	}
}

type fidJSON struct {
	FID      float64     `json:"fid"`
	Dims     int         `json:"dims"`
	NA       *int        `json:"n_a"`
	NB       *int        `json:"n_b"`
	EpsAdded bool        `json:"eps_added"`
	SkippedA []badImage  `json:"skipped_a"`
	Extra    interface{} `json:"-"`
}

func relDiff(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(b), 1e-300) }

// fidFixture is what the FID tests share: seeded weights in pytorch-fid's
// layout and two folders of 80 images each.
type fidFixture struct {
	dir, weights, a, b string
}

func getFixture(t *testing.T) fidFixture {
	t.Helper()
	dir := t.TempDir()
	fx := fidFixture{dir: dir, weights: filepath.Join(dir, "fid.pth"), a: filepath.Join(dir, "a"), b: filepath.Join(dir, "b")}
	fidRef(t, "weights", "--seed", "11", "--out", fx.weights)
	writeImageSet(t, fx.a, 80, 1, 0)
	writeImageSet(t, fx.b, 80, 2, 60)
	return fx
}

// TestFIDMatchesPytorchFID compares `inception fid` with pytorch-fid's
// computation restated over torch/numpy/scipy, on seeded weights saved in
// pytorch-fid's layout and two sets of 80 generated images of assorted
// sizes (grey and RGBA among them):
//   - 64 dims (more images than dims): FID within 1e-3 relative, n_a, n_b,
//     and the plain output "FID: <value>";
//   - a rank-deficient case where pytorch-fid's eps fallback applies: set
//     B's statistics (.npz from the reference) come from weights whose
//     64-d features have other channels stuck at zero than A's, so
//     sqrtm(S_a S_b) is not finite; both add eps and agree within 1e-3.
func TestFIDMatchesPytorchFID(t *testing.T) {
	fx := getFixture(t)
	var ref fidJSON
	require.NoError(t, json.Unmarshal([]byte(fidRef(t, "fid", "--weights", fx.weights, "--dims", "64", fx.a, fx.b)), &ref))
	out, err := run(t, "fid", fx.a, fx.b, "--weights", fx.weights, "--dims", "64", "--json")
	require.NoError(t, err, out)
	var got fidJSON
	require.NoError(t, json.Unmarshal([]byte(jsonPart(out)), &got), out)
	require.Equal(t, 64, got.Dims)
	require.Equal(t, 80, *got.NA)
	require.Equal(t, 80, *got.NB)
	require.False(t, ref.EpsAdded)
	require.False(t, got.EpsAdded)
	require.Greater(t, ref.FID, 1e-3, "the sets must differ for the check to mean anything")
	if d := relDiff(got.FID, ref.FID); d > 1e-3 {
		t.Errorf("FID = %v, pytorch-fid reference %v (relative difference %.2g > 1e-3)", got.FID, ref.FID, d)
	}
	t.Logf("64 dims, 80 vs 80 images: FID %.10g, reference %.10g (relative difference %.2g)", got.FID, ref.FID, relDiff(got.FID, ref.FID))

	plain, err := run(t, "fid", fx.a, fx.b, "--weights", fx.weights, "--dims", "64")
	require.NoError(t, err)
	line := lastLine(plain)
	require.True(t, strings.HasPrefix(line, "FID: "), "output %q", plain)
	v, err := strconv.ParseFloat(strings.TrimPrefix(line, "FID: "), 64)
	require.NoError(t, err)
	require.Equal(t, got.FID, v)

	// Rank-deficient, with the eps fallback.
	wA, wB := filepath.Join(fx.dir, "dead-a.pth"), filepath.Join(fx.dir, "dead-b.pth")
	statsB := filepath.Join(fx.dir, "dead-b.npz")
	fidRef(t, "weights", "--seed", "11", "--dead", "4", "--out", wA)
	fidRef(t, "weights", "--seed", "11", "--dead", "4", "--dead-offset", "4", "--out", wB)
	fidRef(t, "stats", "--weights", wB, "--dims", "64", "--out", statsB, fx.b)
	require.NoError(t, json.Unmarshal([]byte(fidRef(t, "fid", "--weights", wA, "--dims", "64", fx.a, statsB)), &ref))
	out, err = run(t, "fid", fx.a, statsB, "--weights", wA, "--dims", "64", "--json")
	require.NoError(t, err, out)
	require.NoError(t, json.Unmarshal([]byte(jsonPart(out)), &got), out)
	require.True(t, ref.EpsAdded, "the reference must take the eps fallback for this case to test it")
	require.True(t, got.EpsAdded, "eps fallback")
	require.Nil(t, got.NB, "n_b of a .npz is null")
	if d := relDiff(got.FID, ref.FID); d > 1e-3 {
		t.Errorf("rank-deficient FID = %v, reference %v (relative difference %.2g > 1e-3)", got.FID, ref.FID, d)
	}
	t.Logf("rank-deficient with the eps fallback: FID %.10g, reference %.10g (relative difference %.2g)", got.FID, ref.FID, relDiff(got.FID, ref.FID))
}

// TestFIDSaveStats compares --save-stats at 2048 dimensions with the
// reference's pytorch-fid .npz (mu and sigma within 1e-3 relative), and
// FID between two .npz files with FID between the folders.
func TestFIDSaveStats(t *testing.T) {
	fx := getFixture(t)
	small := filepath.Join(fx.dir, "small")
	writeImageSet(t, small, 12, 3, 30)
	ours, theirs := filepath.Join(fx.dir, "ours.npz"), filepath.Join(fx.dir, "theirs.npz")
	out, err := run(t, "fid", "--save-stats", small, ours, "--weights", fx.weights)
	require.NoError(t, err, out)
	fidRef(t, "stats", "--weights", fx.weights, "--dims", "2048", "--out", theirs, small)
	a, err := metrics.ReadStatsNPZ(ours)
	require.NoError(t, err)
	b, err := metrics.ReadStatsNPZ(theirs)
	require.NoError(t, err)
	require.Len(t, a.Mu, 2048)
	check := func(what string, got, want []float64) {
		scale, num, den := 0.0, 0.0, 0.0
		for i := range want {
			scale = max(scale, math.Abs(want[i]))
			num += (got[i] - want[i]) * (got[i] - want[i])
			den += want[i] * want[i]
		}
		for i := range want {
			if d := math.Abs(got[i] - want[i]); d > 1e-3*math.Abs(want[i])+1e-4*scale {
				t.Fatalf("%s[%d] = %v, reference %v", what, i, got[i], want[i])
			}
		}
		t.Logf("%s: %d values, relative Frobenius difference %.2g", what, len(want), math.Sqrt(num/den))
		require.Less(t, math.Sqrt(num/den), 1e-3, what)
	}
	check("mu", a.Mu, b.Mu)
	check("sigma", a.Sigma.RawMatrix().Data, b.Sigma.RawMatrix().Data)

	// .npz inputs: the model is not needed, n is null.
	out, err = run(t, "fid", ours, theirs, "--json")
	require.NoError(t, err, out)
	var got fidJSON
	require.NoError(t, json.Unmarshal([]byte(jsonPart(out)), &got))
	require.Nil(t, got.NA)
	require.Equal(t, 2048, got.Dims)
	require.Less(t, got.FID, 1e-6*float64(len(a.Mu)), "FID of the same statistics computed twice")
}

// TestFIDErrors checks what a user gets wrong: an unreadable image (named;
// skipped and counted with --skip-bad), bad --dims, too few images, a
// missing argument.
func TestFIDErrors(t *testing.T) {
	fx := getFixture(t)
	bad := filepath.Join(fx.dir, "bad")
	writeImageSet(t, bad, 3, 4, 0)
	corrupt := filepath.Join(bad, "zz-corrupt.png")
	require.NoError(t, os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644))
	_, err := run(t, "fid", bad, fx.a, "--weights", fx.weights, "--dims", "64")
	require.Error(t, err)
	require.Contains(t, err.Error(), "zz-corrupt.png")
	require.Contains(t, err.Error(), "--skip-bad")
	out, err := run(t, "fid", bad, fx.a, "--weights", fx.weights, "--dims", "64", "--skip-bad", "--json")
	require.NoError(t, err, out)
	var got fidJSON
	require.NoError(t, json.Unmarshal([]byte(jsonPart(out)), &got))
	require.Equal(t, 3, *got.NA)
	require.Len(t, got.SkippedA, 1)
	require.Equal(t, corrupt, got.SkippedA[0].Path)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fid", fx.a, fx.b, "--weights", fx.weights, "--dims", "100"}, "want 64, 192, 768 or 2048"},
		{[]string{"fid", fx.a, "--weights", fx.weights}, "two paths"},
		{[]string{"fid", "--save-stats", fx.a, filepath.Join(fx.dir, "x.txt"), "--weights", fx.weights}, ".npz"},
		{[]string{"fid", fx.a, filepath.Join(fx.dir, "nope"), "--weights", fx.weights, "--dims", "64"}, "no such file"},
		{[]string{"fid", fx.a, fx.b, "--model", "inception-v3", "--weights", fx.weights}, ""},
	} {
		_, err := run(t, tc.args...)
		require.Error(t, err, "%v", tc.args)
		require.Contains(t, err.Error(), tc.want, "%v", tc.args)
	}
	one := filepath.Join(fx.dir, "one")
	writeImageSet(t, one, 1, 5, 0)
	_, err = run(t, "fid", one, fx.a, "--weights", fx.weights, "--dims", "64")
	require.ErrorContains(t, err, "at least 2")
}

// TestEmbedMatchesTorch checks `inception embed` end to end on image files
// against the reference's features of the same files (decoding, pytorch-fid's
// resize, the network): the 2048-d embedding and Mixed_6e's spatial means
// within rtol 1e-4; the .npy, the --files list and the JSON lines agree.
func TestEmbedMatchesTorch(t *testing.T) {
	fx := getFixture(t)
	files, err := filepath.Glob(filepath.Join(fx.a, "img00*.png"))
	require.NoError(t, err)
	require.Len(t, files, 10)
	prefix := filepath.Join(fx.dir, "emb")
	fidRef(t, append([]string{"images", "--weights", fx.weights, "--out", prefix}, files...)...)
	for _, tc := range []struct {
		layer, key string
		dims       int
	}{{"", "2048", 2048}, {"Mixed_6e", "768", 768}} {
		npyOut, list, jl := filepath.Join(fx.dir, "e.npy"), filepath.Join(fx.dir, "e.txt"), filepath.Join(fx.dir, "e.jsonl")
		args := func(more ...string) []string {
			a := []string{"embed", "--model", "inception-v3-fid", "--weights", fx.weights, "--batch", "4"}
			if tc.layer != "" {
				a = append(a, "--layer", tc.layer)
			}
			return append(a, more...)
		}
		out, err := run(t, args("--out", npyOut, "--files", list, fx.a+"/img00*.png")...)
		require.NoError(t, err, out)
		arr, err := npy.ReadNPYFile(npyOut)
		require.NoError(t, err)
		require.Equal(t, []int{10, tc.dims}, arr.Shape)
		names, err := os.ReadFile(list)
		require.NoError(t, err)
		require.Equal(t, strings.Join(files, "\n")+"\n", string(names))
		want := readF32(t, prefix+"-"+tc.key+".f32")
		scale := 0.0
		for _, w := range want {
			scale = max(scale, math.Abs(float64(w)))
		}
		for i, w := range want {
			if d := math.Abs(arr.Data[i] - float64(w)); d > 1e-4*math.Abs(float64(w))+1e-5*scale {
				t.Fatalf("%s: value %d = %v, torch %v", tc.key, i, arr.Data[i], w)
			}
		}
		out, err = run(t, args(append([]string{"--out", jl, "--json"}, files...)...)...)
		require.NoError(t, err, out)
		lines, err := os.ReadFile(jl)
		require.NoError(t, err)
		for i, l := range strings.Split(strings.TrimSpace(string(lines)), "\n") {
			var row struct {
				File      string    `json:"file"`
				Embedding []float64 `json:"embedding"`
			}
			require.NoError(t, json.Unmarshal([]byte(l), &row))
			require.Equal(t, files[i], row.File)
			for k, v := range row.Embedding {
				require.InDelta(t, arr.Data[i*tc.dims+k], v, 1e-6*math.Abs(v)+1e-9)
			}
		}
	}
}

// TestKIDAndIS runs kid on .npy features and on folders, and is on a
// folder: kid (on pytorch-fid's 64-d features, which need only the stem)
// agrees with metrics.KID on the features embed writes, and is with
// metrics.InceptionScore on torch's logits minus the fc bias
// (torch-fidelity's logits_unbiased) from the reference.
func TestKIDAndIS(t *testing.T) {
	fx := getFixture(t)
	fa, fb := filepath.Join(fx.dir, "fa.npy"), filepath.Join(fx.dir, "fb.npy")
	for _, p := range [][2]string{{fx.a, fa}, {fx.b, fb}} {
		out, err := run(t, "embed", "--model", "inception-v3-fid", "--weights", fx.weights, "--layer", "maxpool1", "--out", p[1], p[0])
		require.NoError(t, err, out)
	}
	kidArgs := []string{"--subsets", "20", "--subset-size", "40", "--json"}
	out, err := run(t, append([]string{"kid", fa, fb}, kidArgs...)...)
	require.NoError(t, err, out)
	var got struct {
		Mean float64 `json:"kid_mean"`
		Std  float64 `json:"kid_std"`
		Dims int     `json:"dims"`
		NA   int     `json:"n_a"`
	}
	require.NoError(t, json.Unmarshal([]byte(jsonPart(out)), &got))
	mats := func(p string) *mat.Dense {
		a, err := npy.ReadNPYFile(p)
		require.NoError(t, err)
		return mat.NewDense(a.Shape[0], a.Shape[1], a.Data)
	}
	o := metrics.DefaultKIDOptions()
	o.Subsets, o.SubsetSize = 20, 40
	want, err := metrics.KID(mats(fa), mats(fb), o)
	require.NoError(t, err)
	require.Equal(t, want.Mean, got.Mean)
	require.Equal(t, 64, got.Dims)
	require.Equal(t, 80, got.NA)
	require.Greater(t, math.Abs(got.Mean), 10*got.Std/math.Sqrt(20), "the sets must differ for KID to be tested")
	out, err = run(t, append([]string{"kid", fx.a, fx.b, "--weights", fx.weights, "--dims", "64"}, kidArgs...)...)
	require.NoError(t, err, out)
	var fromImages struct {
		Mean float64 `json:"kid_mean"`
	}
	require.NoError(t, json.Unmarshal([]byte(jsonPart(out)), &fromImages))
	require.Equal(t, got.Mean, fromImages.Mean, "kid from folders = kid from embed's .npy")

	// IS on 20 images in 4 splits, against torch's logits.
	few := filepath.Join(fx.dir, "few")
	writeImageSet(t, few, 20, 7, 90)
	files, err := filepath.Glob(filepath.Join(few, "*.png"))
	require.NoError(t, err)
	prefix, wIS := filepath.Join(fx.dir, "is"), filepath.Join(fx.dir, "is.pth")
	fidRef(t, "weights", "--seed", "11", "--fc-scale", "40", "--out", wIS) // logits large enough for IS to be well above 1
	fidRef(t, append([]string{"images", "--weights", wIS, "--out", prefix}, files...)...)
	logits := readF32(t, prefix+"-logits.f32")
	m, err := zoo.Load("inception-v3-fid", zoo.WithWeights(wIS))
	require.NoError(t, err)
	bias := m.Params["fc.bias"].Data
	l := make([]float64, len(logits))
	for i, v := range logits {
		l[i] = float64(v) - float64(bias[i%len(bias)])
	}
	isOpts := metrics.DefaultISOptions()
	isOpts.Splits = 4
	isWant, err := metrics.InceptionScore(mat.NewDense(len(files), len(bias), l), isOpts)
	require.NoError(t, err)
	out, err = run(t, "is", few, "--weights", wIS, "--splits", "4", "--json")
	require.NoError(t, err, out)
	var isGot struct {
		Mean float64 `json:"is_mean"`
		Std  float64 `json:"is_std"`
		N    int     `json:"n"`
	}
	require.NoError(t, json.Unmarshal([]byte(jsonPart(out)), &isGot))
	require.Equal(t, 20, isGot.N)
	require.Greater(t, isWant.Mean, 1.3, "IS must be well above 1 for the check to mean anything")
	if d := math.Abs(isGot.Mean-isWant.Mean) / (isWant.Mean - 1); d > 1e-4 {
		t.Errorf("IS = %v, from torch's logits %v (difference %.2g of IS-1)", isGot.Mean, isWant.Mean, d)
	}
	t.Logf("IS %.8g ± %.3g, from torch's logits %.8g ± %.3g; KID (64 dims) %.6g ± %.3g", isGot.Mean, isGot.Std, isWant.Mean, isWant.Std, got.Mean, got.Std)
}

// TestEmbedSeededRefusedAndLayers runs embed without the reference: a
// registry name alone and a file of seeded weights are refused (unless
// --allow-seeded), --pool none keeps the maps, and the rows equal zoo's
// Features and layers on the same tensors.
func TestEmbedSeededRefusedAndLayers(t *testing.T) {
	dir := t.TempDir()
	imgs := filepath.Join(dir, "imgs")
	writeImageSet(t, imgs, 3, 9, 0)
	_, err := run(t, "embed", "--model", "inception-v1-d2l", "--out", filepath.Join(dir, "x.npy"), "--cache", dir, imgs)
	require.Error(t, err)
	require.Contains(t, err.Error(), "--weights")

	// A weight file: the seeded model exported to ONNX.
	seeded, err := zoo.Load("inception-v1-tv")
	require.NoError(t, err)
	w := filepath.Join(dir, "tv.onnx")
	f, err := os.Create(w)
	require.NoError(t, err)
	require.NoError(t, seeded.ExportONNX(f, convert.ExportOptions{}))
	require.NoError(t, f.Close())
	m, err := zoo.Load("inception-v1-tv", zoo.WithWeights(w))
	require.NoError(t, err)
	paths, err := filepath.Glob(filepath.Join(imgs, "*.png"))
	require.NoError(t, err)
	x := tensor.New(append([]int{len(paths)}, m.Input()...)...)
	per := m.Input().Numel()
	for i, p := range paths {
		img, err := preprocess.Open(p)
		require.NoError(t, err)
		xi, err := preprocess.Tensor(img, m.Preprocess())
		require.NoError(t, err)
		copy(x.Data[i*per:], xi.Data)
	}
	a, err := m.Activations(x, "inception4e")
	require.NoError(t, err)
	for _, tc := range []struct {
		args  []string
		shape []int
		want  []float32
	}{
		{nil, []int{3, 1024}, a.Features.Data},
		{[]string{"--layer", "inception4e", "--pool", "none"}, []int{3, 832, 14, 14}, a.Layers["inception4e"].Data},
		{[]string{"--layer", "inception4e"}, []int{3, 832}, zoo.SpatialMean(a.Layers["inception4e"]).Data},
	} {
		out := filepath.Join(dir, "e.npy")
		res, err := run(t, append(append([]string{"embed", "--model", "inception-v1-tv", "--weights", w, "--allow-seeded", "--out", out}, tc.args...), imgs)...)
		require.NoError(t, err, res)
		arr, err := npy.ReadNPYFile(out)
		require.NoError(t, err)
		require.Equal(t, tc.shape, arr.Shape, "%v", tc.args)
		for i, v := range tc.want {
			require.Equal(t, float64(v), arr.Data[i], "%v: value %d", tc.args, i)
		}
	}
	_, err = run(t, "embed", "--model", "inception-v1-tv", "--weights", w, "--allow-seeded", "--out", filepath.Join(dir, "e.npy"), "--layer", "nope", imgs)
	require.ErrorIs(t, err, zoo.ErrLayer)
	_, err = run(t, "embed", "--model", "inception-v1-tv", "--weights", w, "--out", filepath.Join(dir, "e.npy"), imgs)
	require.ErrorContains(t, err, "--allow-seeded", "a file of seeded weights is refused without --allow-seeded")
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// jsonPart returns the JSON object in out (progress lines on stderr share
// the buffer in tests).
func jsonPart(out string) string {
	i := strings.Index(out, "{")
	j := strings.LastIndex(out, "}")
	if i < 0 || j < i {
		return out
	}
	return out[i : j+1]
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "FID") {
			return lines[i]
		}
	}
	return lines[len(lines)-1]
}
