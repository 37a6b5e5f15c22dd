package kernels

import (
	"fmt"
	"math"
)

// Affine is a per-channel affine map y[c] = Scale[c]·x[c] + Shift[c], kept
// in float64 so that a chain of them (batch norms, scales, constants)
// composes and folds into a conv or linear layer with a single rounding to
// float32. It is the one BatchNorm and affine folding of the module: the
// engine's compiler and the ONNX interpreter both use it.
type Affine struct {
	Scale, Shift []float64
}

// IdentityAffine is the identity on c channels.
func IdentityAffine(c int) Affine {
	a := Affine{Scale: make([]float64, c), Shift: make([]float64, c)}
	for i := range a.Scale {
		a.Scale[i] = 1
	}
	return a
}

// BatchNormAffine is inference-mode batch normalisation as an Affine:
// Scale = gamma/sqrt(var+eps), Shift = beta - mean·Scale, in float64.
// gamma nil means 1 and beta nil means 0. It panics on slices shorter
// than mean.
func BatchNormAffine(gamma, beta, mean, variance []float32, eps float32) Affine {
	c := len(mean)
	if len(variance) < c || (gamma != nil && len(gamma) < c) || (beta != nil && len(beta) < c) {
		panic(fmt.Sprintf("kernels.BatchNormAffine: len(gamma)=%d len(beta)=%d len(mean)=%d len(var)=%d",
			len(gamma), len(beta), c, len(variance)))
	}
	a := Affine{Scale: make([]float64, c), Shift: make([]float64, c)}
	for i := 0; i < c; i++ {
		g := 1.0
		if gamma != nil {
			g = float64(gamma[i])
		}
		s := g / math.Sqrt(float64(variance[i])+float64(eps))
		a.Scale[i] = s
		a.Shift[i] = -float64(mean[i]) * s
		if beta != nil {
			a.Shift[i] += float64(beta[i])
		}
	}
	return a
}

// Then returns the map that applies a, then b (both on the same channels).
func (a Affine) Then(b Affine) Affine {
	if len(b.Scale) != len(a.Scale) || len(b.Shift) != len(a.Shift) {
		panic(fmt.Sprintf("kernels.Affine.Then: %d and %d channels", len(a.Scale), len(b.Scale)))
	}
	c := Affine{Scale: make([]float64, len(a.Scale)), Shift: make([]float64, len(a.Shift))}
	for i := range c.Scale {
		c.Scale[i] = a.Scale[i] * b.Scale[i]
		c.Shift[i] = a.Shift[i]*b.Scale[i] + b.Shift[i]
	}
	return c
}

// Fold returns the weights and bias of a conv or linear layer (w is
// [outC, ...], bias nil means zero) followed by a, as new slices:
// w'[o,...] = w[o,...]·Scale[o] and b'[o] = b[o]·Scale[o] + Shift[o],
// computed in float64 and rounded once.
func (a Affine) Fold(w, bias []float32, outC int) (newW, newBias []float32) {
	return a.FoldInto(nil, w, bias, outC)
}

// FoldInto is Fold writing the weights into dst when it has the capacity
// (newW is then dst[:len(w)], a new slice otherwise); the bias is always a
// new slice. A compiler that hands the weights to something that does not
// retain them (NewConv) can fold every layer into one reused buffer.
func (a Affine) FoldInto(dst, w, bias []float32, outC int) (newW, newBias []float32) {
	if outC <= 0 || len(w)%outC != 0 || len(a.Scale) != outC || len(a.Shift) != outC || (bias != nil && len(bias) < outC) {
		panic(fmt.Sprintf("kernels.Affine.Fold: outC=%d len(w)=%d len(bias)=%d channels=%d", outC, len(w), len(bias), len(a.Scale)))
	}
	per := len(w) / outC
	if cap(dst) >= len(w) {
		newW = dst[:len(w)]
	} else {
		newW = make([]float32, len(w))
	}
	newBias = make([]float32, outC)
	for o := 0; o < outC; o++ {
		s := a.Scale[o]
		for i := o * per; i < (o+1)*per; i++ {
			newW[i] = float32(float64(w[i]) * s)
		}
		var b float64
		if bias != nil {
			b = float64(bias[o])
		}
		newBias[o] = float32(b*s + a.Shift[o])
	}
	return newW, newBias
}

// Float32 returns Scale and Shift rounded to float32, the arguments of
// ChannelAffine.
func (a Affine) Float32() (scale, shift []float32) {
	scale, shift = make([]float32, len(a.Scale)), make([]float32, len(a.Shift))
	for i := range scale {
		scale[i], shift[i] = float32(a.Scale[i]), float32(a.Shift[i])
	}
	return scale, shift
}

// FoldBatchNorm folds an inference-mode batch norm following a conv into the
// conv's weights and bias, returning new slices:
// w' = w*gamma/sqrt(var+eps), b' = (b-mean)*gamma/sqrt(var+eps)+beta.
// w is [outC, ...]; bias nil means zero; gamma nil means 1, beta nil means 0.
// It is BatchNormAffine followed by Affine.Fold.
func FoldBatchNorm(w []float32, bias []float32, outC int, gamma, beta, mean, variance []float32, eps float32) (newW, newBias []float32) {
	if len(mean) < outC {
		panic(fmt.Sprintf("kernels.FoldBatchNorm: outC=%d len(mean)=%d", outC, len(mean)))
	}
	return BatchNormAffine(gamma, beta, mean[:outC], variance, eps).Fold(w, bias, outC)
}
