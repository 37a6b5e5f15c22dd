//go:build !amd64 || purego

package kernels

// The avx512 Winograd transforms (see genWinograd in internal/asm) are
// never called here (the avx512 path does not exist).

func winoInAVX512(rows *[6]*float32, n int, r *float32, rs, padL int, v *float32, cs, tw int) {
	panic(noAVX512)
}

func winoOutAVX512(y, m *float32, ms, nk int, bias *float32, relu, ohw, ow, rows, cols int) {
	panic(noAVX512)
}

func packATrans12AVX512(dst, src *float32, kb, lda, rows int) { panic(noAVX512) }

func transposeOutAVX512(y, c *float32, npix, nk, ldc, ohw int, bias *float32, relu int) {
	panic(noAVX512)
}

func wino1InAVX512(a int, v *float32, cs int, x *float32, gidx *int32, taps *uint16, nvec, step int, bt *float32) {
	panic(noAVX512)
}

func wino1OutAVX512(m, a int, y, mm *float32, ms, nk int, bias *float32, relu, ohw, outStep, nout int, at *float32) {
	panic(noAVX512)
}

func wino2InAVX512(a int, rows *[6]*float32, n int, r *float32, rs, padL int, v *float32, cs, tw int, bt *float32) {
	panic(noAVX512)
}

func wino2OutAVX512(a int, y, mm *float32, ms, nk int, bias *float32, relu, ohw, ow, rows, cols int, at *float32) {
	panic(noAVX512)
}
