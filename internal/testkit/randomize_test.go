package testkit

import (
	"bytes"
	"math"
	"testing"

	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// TestRandomizeConstantWeights checks that every ConstantOfShape weight of
// the light models becomes an initializer drawn from its role's range, and
// that a seed always gives the same bytes.
func TestRandomizeConstantWeights(t *testing.T) {
	names := []string{"light_inception_v1.onnx", "light_inception_v2.onnx"}
	for _, name := range names {
		b := ReadShared(t, "onnx-light", name)
		orig, err := onnxir.Decode(bytes.NewReader(b), onnxir.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rb, err := RandomizeConstantWeights(b, 7)
		if err != nil {
			t.Fatal(err)
		}
		g, err := onnxir.Decode(bytes.NewReader(rb), onnxir.DecodeOptions{})
		if err != nil {
			t.Fatalf("%s: randomized model does not decode: %v", name, err)
		}
		if n := g.OpCounts()["ConstantOfShape"]; n != 0 {
			t.Errorf("%s: %d ConstantOfShape nodes left, want 0", name, n)
		}
		if got, want := len(g.Nodes), len(orig.Nodes)-orig.OpCounts()["ConstantOfShape"]; got != want {
			t.Errorf("%s: %d nodes, want %d", name, got, want)
		}
		w := g.Initializers["conv1/7x7_s2_w_0"]
		if w == nil || len(w.Float) != 64*3*7*7 {
			t.Fatalf("%s: conv1 weight missing or wrong size", name)
		}
		bound := float32(math.Sqrt(6.0 / (3 * 7 * 7)))
		var maxAbs float32
		for _, v := range w.Float {
			maxAbs = max(maxAbs, float32(math.Abs(float64(v))))
		}
		if maxAbs > bound || maxAbs < bound/2 {
			t.Errorf("%s: conv1 weight max |w| = %v, want close to and below %v", name, maxAbs, bound)
		}
		rb2, _ := RandomizeConstantWeights(b, 7)
		if !bytes.Equal(rb, rb2) {
			t.Errorf("%s: same seed gave different bytes", name)
		}
	}
}
