//go:build ort && cgo

package onnx_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/internal/testkit/orttest"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/tensor"
)

// This file cross-checks the pure-Go runner (onnx.Load) against ONNX
// Runtime, the project's oracle, on the ONNX suite's light Inception graphs
// with seeded random weights (testkit.RandomizeConstantWeights). Run with
//
//	CGO_ENABLED=1 go test -tags ort ./onnx/   (or: make ort)

// spread is max - min.
func spread(t *tensor.Tensor) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range t.Data {
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	return hi - lo
}

// TestORTRandomizedLight runs the light Inception graphs with seeded random
// weights, and the classifier's logits exposed as a second output, in our
// runner and in ONNX Runtime on the same file and inputs (the suite's
// standard input and a random one): probabilities and logits agree within
// rtol 1e-3, atol 1e-4.
//
// The comparison is only meaningful if the outputs carry information, so the
// oracle's outputs must be far from uniform, and the logits must change
// between the two inputs by more than 1000·atol and by more than 100 times
// the largest disagreement. For v1 the probabilities must change by more
// than 100·atol too. Randomized v2 is the opposite of flat: its logits have
// a spread of 35-100 that hardly depends on the input (they change by about
// 0.2-0.4 between the inputs), so its softmax saturates and the
// probabilities move by 1e-7 to 1e-2 only; for v2 the logits are the
// sensitive comparison.
func TestORTRandomizedLight(t *testing.T) {
	orttest.Require(t)
	const rtol, atol = 1e-3, 1e-4
	models := []struct {
		name          string
		probSensitive bool // the probabilities change with the input by >= 100·atol
	}{
		{"light_inception_v1", true},
		{"light_inception_v2", false},
	}
	for _, mdl := range models {
		src := testkit.ReadShared(t, "onnx-light", mdl.name+".onnx")
		for _, seed := range []uint64{1, 7, 2024} {
			t.Run(fmt.Sprintf("%s/seed=%d", mdl.name, seed), func(t *testing.T) {
				rb, err := testkit.RandomizeConstantWeights(src, seed)
				require.NoError(t, err)
				rb, logits := testkit.ExposeGemm(t, rb)
				path := filepath.Join(t.TempDir(), mdl.name+".onnx")
				require.NoError(t, os.WriteFile(path, rb, 0o644))

				ours, err := onnx.LoadReader(bytes.NewReader(rb), onnx.LoadOptions{})
				require.NoError(t, err)
				oracle, err := ort.NewSession(path, 2)
				require.NoError(t, err)
				defer oracle.Close()

				inputs := []*tensor.Tensor{testkit.StandardInput(1, 3, 224, 224), testkit.RandomInput(seed, 1, 3, 224, 224)}
				var probs, logs []*tensor.Tensor
				var maxErr float64
				for k, x := range inputs {
					got, err := ours.Run(map[string]*tensor.Tensor{"data_0": x})
					require.NoError(t, err)
					want, err := oracle.Run(map[string]*tensor.Tensor{"data_0": x})
					require.NoError(t, err)
					dp := testkit.Close(t, fmt.Sprintf("input %d prob_1", k), got["prob_1"], want["prob_1"], rtol, atol)
					dl := testkit.Close(t, fmt.Sprintf("input %d %s", k, logits), got[logits], want[logits], rtol, atol)
					maxErr = math.Max(maxErr, dl)
					t.Logf("input %d: max |ours-ORT| probabilities %.3g, logits %.3g (ORT: logit spread %.3g, max probability %.4f)",
						k, dp, dl, spread(want[logits]), maxOf(want["prob_1"]))
					probs = append(probs, want["prob_1"])
					logs = append(logs, want[logits])
				}

				dp, dl := testkit.MaxDiff(probs[0], probs[1]), testkit.MaxDiff(logs[0], logs[1])
				t.Logf("ORT outputs change between the inputs by: probabilities %.3g, logits %.3g", dp, dl)
				for k, p := range probs {
					if got := maxOf(p); got < 10.0/1000 {
						t.Errorf("input %d: max probability %.4g, want >= 0.01 (10x uniform)", k, got)
					}
				}
				if dl < 1000*atol || dl < 100*maxErr {
					t.Errorf("logits change by %.3g between the inputs, want >= %g and >= 100x the max error %.3g", dl, 1000*atol, maxErr)
				}
				if mdl.probSensitive && dp < 100*atol {
					t.Errorf("probabilities change by %.3g between the inputs, want >= %g", dp, 100*atol)
				}
			})
		}
	}
}

func maxOf(t *tensor.Tensor) float64 {
	m := math.Inf(-1)
	for _, v := range t.Data {
		m = math.Max(m, float64(v))
	}
	return m
}
