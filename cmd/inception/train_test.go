package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/train/data"
)

// needFashionMNIST skips (or fails with CI=true) without the data set.
func needFashionMNIST(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-labels-idx1-ubyte.gz")); err != nil {
		msg := "Fashion-MNIST missing: apt-get install dataset-fashion-mnist (scripts/setup.sh installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// TestTrainEvalCLI: a short train run with a checkpoint, its resumption,
// the float16 export, and eval of the export by file and by zoo name.
func TestTrainEvalCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	needFashionMNIST(t)
	dir := t.TempDir()
	ck, out := filepath.Join(dir, "ck"), filepath.Join(dir, "m.onnx")
	args := []string{"train", "--model", "inception-v1-d2l", "--data", "fashion-mnist", "--size", "28",
		"--limit", "96", "--batch", "32", "--epochs", "1", "--optimizer", "adam", "--lr", "0.001",
		"--checkpoint", ck, "--log-every", "1", "--out", out}
	got, err := run(t, append(args, "--max-steps", "2")...)
	require.NoError(t, err, got)
	require.Contains(t, got, "stopped after --max-steps 2")
	require.Regexp(t, `epoch 1/1 \[.*\] 2/3 loss [0-9.]+ acc [0-9.]+ [0-9.]+ img/s`, got)
	got, err = run(t, args...)
	require.NoError(t, err, got)
	require.Contains(t, got, "resumed")
	require.Regexp(t, `epoch 1/1 done: loss [0-9.]+ train acc [0-9.]+ test acc [0-9.]+`, got)
	st, err := os.Stat(out)
	require.NoError(t, err)
	if st.Size() > 13<<20 { // 5.98M float16 weights ≈ 12 MB
		t.Fatalf("export is %d bytes, want float16 storage (< 13 MiB)", st.Size())
	}
	// eval of the file and the test accuracy train reported agree.
	want := regexp.MustCompile(`test acc ([0-9.]+)`).FindStringSubmatch(got)[1]
	ev, err := run(t, "eval", "--model", out, "--data", "fashion-mnist", "--limit", "96")
	require.NoError(t, err, ev)
	gotAcc := regexp.MustCompile(`top-1 accuracy ([0-9.]+) on 96 images`).FindStringSubmatch(ev)
	require.NotNil(t, gotAcc, ev)
	a, _ := strconv.ParseFloat(gotAcc[1], 64)
	w, _ := strconv.ParseFloat(want, 64)
	// float16 weights may flip a borderline sample or two.
	require.InDelta(t, w, a, 2.5/96, "eval %s vs train's test accuracy %s", gotAcc[1], want)
	// A zoo name with the file's weights (the engine, at the model's 96×96).
	ev, err = run(t, "eval", "--model", "inception-v1-d2l", "--weights", out, "--data", "fashion-mnist", "--limit", "20")
	require.NoError(t, err, ev)
	require.Contains(t, ev, "on 20 images")
}

func TestTrainCLIErrors(t *testing.T) {
	for _, args := range [][]string{
		{"train", "--model", "nope", "--data", "fashion-mnist"},
		{"train", "--model", "inception-v1-d2l"},
		{"train", "--model", "inception-v1-d2l", "--data", "fashion-mnist", "--optimizer", "rmsprop"},
		{"eval", "--model", "inception-v1-d2l"},
		{"finetune", "--model", "inception-v1-d2l", "--data", "x"},
	} {
		_, err := run(t, args...)
		require.Error(t, err, "%v", args)
	}
}

// writeStripeFolder writes n PNGs per class: "h" horizontal and "v"
// vertical stripes.
func writeStripeFolder(t *testing.T, dir string, n int) {
	for _, cls := range []string{"h", "v"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, cls), 0o755))
		for i := 0; i < n; i++ {
			img := image.NewGray(image.Rect(0, 0, 20, 20))
			for y := 0; y < 20; y++ {
				for x := 0; x < 20; x++ {
					c := x
					if cls == "h" {
						c = y
					}
					if (c+i)%4 < 2 {
						img.SetGray(x, y, color.Gray{Y: 220})
					}
				}
			}
			f, err := os.Create(filepath.Join(dir, cls, strconv.Itoa(i)+".png"))
			require.NoError(t, err)
			require.NoError(t, png.Encode(f, img))
			require.NoError(t, f.Close())
		}
	}
}

// TestFinetuneCLI: export seeded weights, then fine-tune a new two-class
// head on an image folder and export the result.
func TestFinetuneCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir) // the run's final checkpoint (no --checkpoint) goes there
	w, out, imgs := filepath.Join(dir, "w.onnx"), filepath.Join(dir, "ft.onnx"), filepath.Join(dir, "imgs")
	got, err := run(t, "export", "inception-v1-d2l", "-o", w)
	require.NoError(t, err, got)
	writeStripeFolder(t, imgs, 8)
	got, err = run(t, "finetune", "--model", "inception-v1-d2l", "--weights", w, "--data", imgs, "--val", imgs,
		"--size", "28", "--epochs", "2", "--batch", "8", "--optimizer", "adam", "--lr", "0.01", "--log-every", "1", "--out", out)
	require.NoError(t, err, got)
	require.Contains(t, got, "new head 5: 2 classes [h v]")
	require.Regexp(t, `epoch 2/2 done: loss [0-9.]+ train acc [0-9.]+ test acc [0-9.]+`, got)
	st, err := os.Stat(out)
	require.NoError(t, err)
	require.Less(t, st.Size(), int64(13<<20), "float16 export")
}
