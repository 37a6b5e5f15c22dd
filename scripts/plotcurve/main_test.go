package main

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	log1 = `training inception-v1-d2l at 1x28x28: 60000 samples, batch 128, 2 epochs (936 steps), adam lr 0.001 (cosine)
epoch 1/2 [                    ] 10/468 loss 2.2657 acc 0.1273 53.2 img/s lr 0.0009998
epoch 1/2 [=                   ] 20/468 loss 2.2977 acc 0.1133 29.8 img/s lr 0.000999
epoch 1/2 [=                   ] 30/468 loss 2.2568 acc 0.1016 31.4 img/s lr 0.0009976
`
	log2 = `training inception-v1-d2l at 1x28x28: 60000 samples, batch 128, 2 epochs (936 steps), adam lr 0.001 (cosine)
resumed /tmp/ck at epoch 1, batch 20 (step 20)
epoch 1/2 [=                   ] 30/468 loss 2.1 acc 0.2 60 img/s lr 0.0009976
epoch 1/2 [====================] 468/468 loss 0.5 acc 0.8 70.5 img/s lr 0.0005
epoch 1/2 done: loss 0.9 train acc 0.7 test acc 0.85, 66.6 img/s, 800 s
epoch 2/2 [                    ] 10/468 loss 0.45 acc 0.84 71 img/s lr 0.00049
assets/m.onnx: top-1 accuracy 0.8812 on 10000 images (fashion-mnist, input [1 28 28])
`
)

func TestParseLogsCSVAndPlot(t *testing.T) {
	recs, err := parseLog(nil, strings.NewReader(log1), "a.log")
	require.NoError(t, err)
	require.Len(t, recs, 3)
	recs, err = parseLog(recs, strings.NewReader(log2), "b.log")
	require.NoError(t, err)

	type row struct {
		kind, source string
		step, epoch  int
		loss, test   float64
	}
	want := []row{
		{"step", "a.log", 10, 1, 2.2657, math.NaN()},
		{"step", "a.log", 20, 1, 2.2977, math.NaN()},
		{"resume", "b.log", 20, 1, math.NaN(), math.NaN()},
		{"step", "b.log", 30, 1, 2.1, math.NaN()}, // a.log's step 30 was recomputed
		{"step", "b.log", 468, 1, 0.5, math.NaN()},
		{"epoch", "b.log", 468, 1, 0.9, 0.85},
		{"step", "b.log", 478, 2, 0.45, math.NaN()},
		{"eval", "b.log", 478, 2, math.NaN(), 0.8812},
	}
	require.Len(t, recs, len(want))
	same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	for i, w := range want {
		r := recs[i]
		got := row{r.Kind, r.Source, r.Step, r.Epoch, r.Loss, r.TestAcc}
		if got.kind != w.kind || got.source != w.source || got.step != w.step || got.epoch != w.epoch || !same(got.loss, w.loss) || !same(got.test, w.test) {
			t.Errorf("record %d: got %+v, want %+v", i, got, w)
		}
	}
	require.Equal(t, 800.0, recs[5].Secs)
	require.Equal(t, 0.00049, recs[6].LR)

	var buf bytes.Buffer
	require.NoError(t, writeCSV(&buf, recs))
	require.True(t, strings.HasPrefix(buf.String(), "kind,step,epoch,loss,train_acc,test_acc,img_per_s,lr,seconds,source\nstep,10,1,2.2657,0.1273,,53.2,0.0009998,,a.log\n"), buf.String())
	back, err := readCSV(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Len(t, back, len(recs))
	for i := range recs {
		a, b := recs[i], back[i]
		if a.Kind != b.Kind || a.Step != b.Step || a.Epoch != b.Epoch || a.Source != b.Source ||
			!same(a.Loss, b.Loss) || !same(a.TrainAcc, b.TrainAcc) || !same(a.TestAcc, b.TestAcc) ||
			!same(a.ImgPerS, b.ImgPerS) || !same(a.LR, b.LR) || !same(a.Secs, b.Secs) {
			t.Errorf("CSV round trip, record %d: got %+v, want %+v", i, b, a)
		}
	}

	dir := t.TempDir()
	csvPath, pngPath := filepath.Join(dir, "m.csv"), filepath.Join(dir, "c.png")
	require.NoError(t, os.WriteFile(csvPath, buf.Bytes(), 0o644))
	require.NoError(t, run([]string{"-in", csvPath, "-out", pngPath}, &bytes.Buffer{}))
	f, err := os.Open(pngPath)
	require.NoError(t, err)
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	require.NoError(t, err)
	if cfg.Width < 600 || cfg.Height < 600 {
		t.Errorf("PNG %dx%d, want at least 600x600", cfg.Width, cfg.Height)
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad number", "epoch 1/2 [ ] 10/468 loss x acc 0.1 5 img/s lr 0.1\n", "bad input"},
		{"epoch before progress", "epoch 1/2 done: loss 0.9 train acc 0.7 test acc 0.85, 66.6 img/s, 800 s\n", "before any progress line"},
	}
	for _, tt := range tests {
		_, err := parseLog(nil, strings.NewReader(tt.in), "x.log")
		require.ErrorIs(t, err, errFormat, tt.name)
		require.ErrorContains(t, err, tt.want, tt.name)
	}
	_, err := readCSV(strings.NewReader("a,b\n1,2\n"))
	require.ErrorIs(t, err, errFormat)
	require.Error(t, run([]string{"-out", "x"}, &bytes.Buffer{}))
}
