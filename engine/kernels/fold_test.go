package kernels

import (
	"math"
	"testing"
)

// TestAffineFold checks the folding the engine and the ONNX interpreter
// share: a linear layer followed by a chain of batch norms and affine maps
// equals the layer with the chain folded in (a float64 reference applies
// each step in turn).
func TestAffineFold(t *testing.T) {
	r := newRNG(5)
	const outC, in = 6, 10
	w := randSlice(r, outC*in, 1)
	bias := randSlice(r, outC, 0.5)
	x := randSlice(r, in, 1)
	pos := func(n int) []float32 {
		v := randSlice(r, n, 0.4)
		for i := range v {
			v[i] += 1
		}
		return v
	}
	gamma, beta, mean, variance := pos(outC), randSlice(r, outC, 0.3), randSlice(r, outC, 0.3), pos(outC)
	const eps = 1e-3
	scale, shift := randSlice(r, outC, 2), randSlice(r, outC, 1)

	// Reference: y = w·x + b, then BN, then y·scale + shift, in float64.
	want := make([]float64, outC)
	for o := range want {
		y := float64(bias[o])
		for i := 0; i < in; i++ {
			y += float64(w[o*in+i]) * float64(x[i])
		}
		y = (y-float64(mean[o]))/math.Sqrt(float64(variance[o])+eps)*float64(gamma[o]) + float64(beta[o])
		want[o] = y*float64(scale[o]) + float64(shift[o])
	}
	a := IdentityAffine(outC)
	for i := range a.Scale {
		a.Scale[i], a.Shift[i] = float64(scale[i]), float64(shift[i])
	}
	chain := IdentityAffine(outC).Then(BatchNormAffine(gamma, beta, mean, variance, eps)).Then(a)
	fw, fb := chain.Fold(w, bias, outC)
	for o := range want {
		got := float64(fb[o])
		for i := 0; i < in; i++ {
			got += float64(fw[o*in+i]) * float64(x[i])
		}
		if math.Abs(got-want[o]) > 1e-5*(1+math.Abs(want[o])) {
			t.Errorf("channel %d: folded %v, reference %v", o, got, want[o])
		}
	}
	// FoldBatchNorm is the same folding of the batch norm alone.
	w1, b1 := FoldBatchNorm(w, bias, outC, gamma, beta, mean, variance, eps)
	w2, b2 := BatchNormAffine(gamma, beta, mean, variance, eps).Fold(w, bias, outC)
	for i := range w1 {
		if w1[i] != w2[i] {
			t.Fatalf("FoldBatchNorm weight %d: %v, Affine.Fold %v", i, w1[i], w2[i])
		}
	}
	for i := range b1 {
		if b1[i] != b2[i] {
			t.Fatalf("FoldBatchNorm bias %d: %v, Affine.Fold %v", i, b1[i], b2[i])
		}
	}
	// Float32 of a batch norm gives ChannelAffine's arguments.
	s32, t32 := BatchNormAffine(nil, nil, mean, variance, eps).Float32()
	for o := range s32 {
		wantS := 1 / math.Sqrt(float64(variance[o])+eps)
		if math.Abs(float64(s32[o])-wantS) > 1e-6*wantS || math.Abs(float64(t32[o])+float64(mean[o])*wantS) > 1e-6 {
			t.Errorf("channel %d: scale %v shift %v, want %v %v", o, s32[o], t32[o], wantS, -float64(mean[o])*wantS)
		}
	}
}

// TestAffineFoldInto checks that FoldInto writes Fold's values into a
// long enough buffer (and allocates for a short one).
func TestAffineFoldInto(t *testing.T) {
	r := newRNG(6)
	const outC, in = 5, 7
	w := randSlice(r, outC*in, 1)
	bias := randSlice(r, outC, 0.5)
	a := IdentityAffine(outC)
	for i := range a.Scale {
		a.Scale[i], a.Shift[i] = float64(r.Float64()+0.5), r.Float64()
	}
	wantW, wantB := a.Fold(w, bias, outC)
	buf := make([]float32, outC*in+3)
	gotW, gotB := a.FoldInto(buf, w, bias, outC)
	if &gotW[0] != &buf[0] || len(gotW) != outC*in {
		t.Fatalf("FoldInto did not write into the buffer (len %d)", len(gotW))
	}
	for i := range wantW {
		if gotW[i] != wantW[i] {
			t.Fatalf("w[%d] = %v, Fold gives %v", i, gotW[i], wantW[i])
		}
	}
	for i := range wantB {
		if gotB[i] != wantB[i] {
			t.Fatalf("b[%d] = %v, Fold gives %v", i, gotB[i], wantB[i])
		}
	}
	if short, _ := a.FoldInto(make([]float32, 3), w, bias, outC); len(short) != outC*in {
		t.Fatalf("FoldInto with a short buffer: len %d, want %d", len(short), outC*in)
	}
}
