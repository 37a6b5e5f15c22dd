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
	"time"

	"github.com/stretchr/testify/require"
)

// writeClassFolder writes n small PNGs into dir/CLASS for each class.
func writeClassFolder(t *testing.T, dir string, classes []string, n int) {
	t.Helper()
	for ci, cls := range classes {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, cls), 0o755))
		for i := 0; i < n; i++ {
			img := image.NewGray(image.Rect(0, 0, 12, 12))
			for p := range img.Pix {
				img.Pix[p] = uint8((p*(ci+3) + i*17) % 251)
			}
			img.SetGray(0, 0, color.Gray{Y: uint8(ci * 40)})
			f, err := os.Create(filepath.Join(dir, cls, strconv.Itoa(i)+".png"))
			require.NoError(t, err)
			require.NoError(t, png.Encode(f, img))
			require.NoError(t, f.Close())
		}
	}
}

// TestFinetuneValClassesDiffer: --val folders {ant, cat} against training
// folders {cat, dog} are an error naming the difference (it used to
// report a test accuracy).
func TestFinetuneValClassesDiffer(t *testing.T) {
	dir := t.TempDir()
	w, tr, val := filepath.Join(dir, "w.onnx"), filepath.Join(dir, "train"), filepath.Join(dir, "val")
	got, err := run(t, "export", "inception-v1-d2l", "-o", w)
	require.NoError(t, err, got)
	writeClassFolder(t, tr, []string{"cat", "dog"}, 2)
	writeClassFolder(t, val, []string{"ant", "cat"}, 2)
	got, err = run(t, "finetune", "--model", "inception-v1-d2l", "--weights", w, "--data", tr, "--val", val,
		"--size", "28", "--epochs", "1", "--batch", "2")
	require.ErrorIs(t, err, errClasses, got)
	require.ErrorContains(t, err, "only in --val: [ant]")
	require.ErrorContains(t, err, "only in --data: [dog]")
	require.NotContains(t, got, "epoch", "no training")
}

// TestUnfreezeMatchesNothing: an --unfreeze path that selects no
// parameter is an error listing the model's blocks.
func TestUnfreezeMatchesNothing(t *testing.T) {
	dir := t.TempDir()
	w, tr := filepath.Join(dir, "w.onnx"), filepath.Join(dir, "train")
	got, err := run(t, "export", "inception-v1-d2l", "-o", w)
	require.NoError(t, err, got)
	writeClassFolder(t, tr, []string{"cat", "dog"}, 2)
	_, err = run(t, "finetune", "--model", "inception-v1-d2l", "--weights", w, "--data", tr,
		"--size", "28", "--epochs", "1", "--batch", "2", "--unfreeze", "inception5b")
	require.ErrorContains(t, err, `--unfreeze "inception5b" matches no parameter`)
	require.ErrorContains(t, err, "[0 1 2 3 4 5]")
}

// TestEvalClassesDiffer: a 10-class model on a 3-class folder is an error
// naming both counts (it used to report accuracy 0.0000).
func TestEvalClassesDiffer(t *testing.T) {
	dir := t.TempDir()
	writeClassFolder(t, dir, []string{"a", "b", "c"}, 1)
	_, err := run(t, "eval", "--model", "inception-v1-d2l", "--allow-seeded", "--data", dir)
	require.ErrorIs(t, err, errClasses)
	require.ErrorContains(t, err, "inception-v1-d2l has 10 classes")
	require.ErrorContains(t, err, "has 3 [a b c]")
}

// TestTrainOutputsCheckedFirst: an --out in a missing directory, or a
// --checkpoint that cannot be a directory, fails before any data is
// loaded or step trained (it used to fail after the whole run).
func TestTrainOutputsCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", filepath.Join(dir, "missing", "m.onnx")}, "--out"},
		{[]string{"--out", dir}, "--out"},
		{[]string{"--checkpoint", filepath.Join(file, "ck")}, "--checkpoint"},
	} {
		args := append([]string{"train", "--model", "inception-v1-d2l", "--data", "/nonexistent-data", "--size", "28"}, tc.args...)
		got, err := run(t, args...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
		require.NotContains(t, got, "training", "%v", tc.args)
	}
}

// TestExportFailureKeepsWeights: when the export fails after training
// (here its directory vanished during the run), the error says where the
// checkpoint with the trained weights is, and rerunning with it exports
// without training again.
func TestExportFailureKeepsWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := t.TempDir()
	imgs, outDir, ck := filepath.Join(dir, "imgs"), filepath.Join(dir, "out"), filepath.Join(dir, "ck")
	require.NoError(t, os.MkdirAll(outDir, 0o755))
	writeClassFolder(t, imgs, []string{"a", "b"}, 8)
	out := filepath.Join(outDir, "m.onnx")
	args := []string{"train", "--model", "inception-v1-d2l", "--data", imgs, "--size", "28", "--epochs", "3", "--batch", "4",
		"--checkpoint", ck, "--checkpoint-every", "1", "--out", out}
	done := make(chan error, 1)
	var got string
	go func() {
		var err error
		got, err = run(t, args...)
		done <- err
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(ck, "checkpoint.gob")); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "no checkpoint written")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, os.RemoveAll(outDir))
	err := <-done
	require.Error(t, err, got)
	require.ErrorContains(t, err, "the trained weights are in "+filepath.Join(ck, "checkpoint.gob"))
	require.Contains(t, got, "epoch 3/3 done")
	// rerun: nothing left to train, the export succeeds
	require.NoError(t, os.MkdirAll(outDir, 0o755))
	got, err = run(t, args...)
	require.NoError(t, err, got)
	require.Contains(t, got, "all 3 epochs done")
	require.Contains(t, got, "wrote "+out)
}

// TestFinalCheckpointWithoutFlag: without --checkpoint the run still ends
// with a checkpoint, in a directory the log names.
func TestFinalCheckpointWithoutFlag(t *testing.T) {
	dir := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	writeClassFolder(t, dir, []string{"a", "b"}, 2)
	got, err := run(t, "train", "--model", "inception-v1-d2l", "--data", dir, "--size", "28", "--epochs", "1", "--batch", "2")
	require.NoError(t, err, got)
	m := regexpFind(`checkpoint \(after every epoch and at the end\): (\S+)`, got)
	require.NotEmpty(t, m, got)
	require.Equal(t, tmp, filepath.Dir(m), "a new directory in the temporary directory")
	_, err = os.Stat(filepath.Join(m, "checkpoint.gob"))
	require.NoError(t, err)
}

func regexpFind(re, s string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}
