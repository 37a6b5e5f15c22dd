package kernels

import "fmt"

// PackedA is the A operand of several GEMMs packed once for the active
// micro-kernel (the layout NewConv uses for its weights), so that the
// products skip packing A per output tile. The trainer (train/gorgon)
// packs its weights and output gradients with it once per GEMM.
type PackedA struct {
	pk packedA
}

// Rows and Cols return op(A)'s size.
func (p *PackedA) Rows() int { return p.pk.m }
func (p *PackedA) Cols() int { return p.pk.k }

// PackA packs op(A) (m×k; A is stored k×m when trans) into p, reusing
// p's memory when it is large enough. Large matrices are packed in
// parallel.
func PackA(p *PackedA, trans bool, m, k int, a []float32, lda int) {
	if m < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.PackA: negative dimension m=%d k=%d", m, k))
	}
	if trans {
		checkMat("PackA", "a", k, m, a, lda)
	} else {
		checkMat("PackA", "a", m, k, a, lda)
	}
	mk := activeKernel()
	mpad := (m + mk.mr - 1) / mk.mr * mk.mr
	if cap(p.pk.data) < mpad*k {
		p.pk.data = make([]float32, mpad*k)
	}
	p.pk = packedA{mk: mk, m: m, k: k, mpad: mpad, data: p.pk.data[:mpad*k]}
	kbs := (k + gemmKC - 1) / gemmKC
	// one task per (k block, row block of at most packMaxMC rows)
	mbs := (m + packMaxMC - 1) / packMaxMC
	pack := func(lo, hi int) {
		for t := lo; t < hi; t++ {
			p0, i0 := (t/mbs)*gemmKC, (t%mbs)*packMaxMC
			kb, mb := min(gemmKC, k-p0), min(packMaxMC, m-i0)
			// row block i0 of k block p0 starts at p0*mpad + i0*kb
			packA(trans, a, lda, i0, p0, mb, kb, mk.mr, p.pk.data[p0*mpad+i0*kb:p0*mpad+i0*kb+(mb+mk.mr-1)/mk.mr*mk.mr*kb])
		}
	}
	parallelForWork(kbs*mbs, packMaxMC*gemmKC, pack)
}

// GemmPacked computes C = A·op(B) + beta·C with A packed by PackA
// (m×k), op(B) k×n (B stored n×k when transB), then applies the epilogue
// per row (bias, ReLU; only with beta == 0). When beta == 0, C is not
// read. The summation order, and so the result, is Sgemm's.
func GemmPacked(p *PackedA, n int, transB bool, b []float32, ldb int, beta float32, c []float32, ldc int, ep Epilogue) {
	m, k := p.pk.m, p.pk.k
	if n < 0 {
		panic(fmt.Sprintf("kernels.GemmPacked: negative n=%d", n))
	}
	if p.pk.mk != activeKernel() {
		panic("kernels.GemmPacked: A was packed for another kernel path")
	}
	if transB {
		checkMat("GemmPacked", "b", n, k, b, ldb)
	} else {
		checkMat("GemmPacked", "b", k, n, b, ldb)
	}
	checkMat("GemmPacked", "c", m, n, c, ldc)
	if ep.Bias != nil && len(ep.Bias) < m {
		panic(fmt.Sprintf("kernels.GemmPacked: len(Bias)=%d < m=%d", len(ep.Bias), m))
	}
	if beta != 0 && (ep.Bias != nil || ep.ReLU) {
		panic("kernels.GemmPacked: an epilogue needs beta == 0")
	}
	gemm(p.pk.mk, m, n, k, 1, aSrc{pk: &p.pk}, bSrc{b: b, ldb: ldb, trans: transB}, beta, c, ldc, ep.Bias, ep.ReLU)
}
