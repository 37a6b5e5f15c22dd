// Command asm generates the amd64 assembly of package kernels with avo
// (kernels_amd64.s and kernels_amd64_stubs.go): the GEMM micro-kernels,
// the AVX-512 pooling, dot-product and im2col gather kernels and the
// Winograd transforms. Run it through `go generate ./engine/kernels` (see
// the go:generate line in kernels_amd64.go); TestGeneratedAssembly checks
// that the committed files are its output.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	genKernel("gemmKernAVX2", "AVX2+FMA 6x16", 6, 2, 8, 4,
		[]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11},
		[]VecPhysical{Y12, Y13}, []VecPhysical{Y14, Y15})
	// The AVX-512 kernel prefetches its C tile at entry and the B row 8
	// steps ahead (B may be an activation read in place, one page per
	// row): 2-3% faster whole models (paired in-process runs).
	genKernelPF("gemmKernAVX512", "AVX-512F 12x32", 12, 2, 16, 2,
		[]VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11,
			Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23},
		[]VecPhysical{Z24, Z25}, []VecPhysical{Z26, Z27}, 8)
	zs := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11,
		Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23}
	ys := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11}
	for _, rows := range []int{4, 8, 12} {
		// 8 columns in YMM registers: half the work of the 16-column
		// variant for the last 1-8 columns of a row (Zen 4 runs two YMM
		// FMAs per cycle and one ZMM).
		genEdgeKernel(fmt.Sprintf("gemmKernAVX512Edge%dx8", rows), 8, rows, 1, ys[:rows],
			[]VecPhysical{Y24}, []VecPhysical{Y26, Y27}, [3]VecPhysical{Y24, Y25, Y26})
		for _, nv := range []int{1, 2} {
			genEdgeKernel(fmt.Sprintf("gemmKernAVX512Edge%dx%d", rows, nv*16), 16, rows, nv, zs[:rows*nv],
				[]VecPhysical{Z24, Z25}, []VecPhysical{Z26, Z27}, [3]VecPhysical{Z24, Z25, Z26})
		}
	}
	genRowOps()
	genCopyPanels()
	genCopyPanels12()
	genGather()
	genGatherMasked()
	genAddScaled()
	genTaps()
	genPackTrans()
	genPackTransT()
	genReluMask()
	genSum64()
	genTransposeOut()
	genPoolOps()
	genDot()
	genDeinterleave()
	genWinograd()
	Generate()
}

// Flags of the generated kernels' flags argument.
const (
	flagAccum = 1 // C += acc instead of C = acc
	flagBias  = 2 // then add bias[r] to row r
	flagReLU  = 4 // then clamp at 0 (NaN stays NaN)
)

// genKernel emits a micro-kernel computing the mr×(nv*lanes) tile
// acc = A·B over kc steps, where A is a packed panel a[p*mr+r] and B a panel
// b[p*ldb+j] (ldb = nr for a packed panel, or the row stride of a row-major
// matrix read in place), then stores acc into the row-major C tile c[r*ldc+j]
// with the epilogue selected by flags: acc += C (flagAccum), acc += bias[r]
// (flagBias), acc = max(acc, 0) (flagReLU), in that order. unroll is the
// k-loop unroll factor; the summation order per element is always
// p = 0, 1, ..., kc-1.
func genKernel(name, desc string, mr, nv, lanes, unroll int, acc, bv, av []VecPhysical) {
	genKernelPF(name, desc, mr, nv, lanes, unroll, acc, bv, av, 0)
}

// genKernelPF is genKernel that, when pfDist > 0, also prefetches the C
// tile at entry and, at every k step, the B row pfDist steps ahead
// (prefetches never fault, so reading past B's end is harmless).
func genKernelPF(name, desc string, mr, nv, lanes, unroll int, acc, bv, av []VecPhysical, pfDist int) {
	TEXT(name, NOSPLIT, "func(kc int, a, b *float32, ldb int, c *float32, ldc int, flags int, bias *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes the %s micro-tile (see genKernel in internal/asm).", name, desc))
	vbytes := lanes * 4
	zero := func(r VecPhysical) {
		if lanes == 16 {
			VPXORD(r, r, r) // VXORPS on ZMM would need AVX512DQ
		} else {
			VXORPS(r, r, r)
		}
	}
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	var pf GPVirtual
	if pfDist > 0 {
		pf = GP64()
		IMUL3Q(U32(pfDist), ldb, pf)
		ADDQ(b, pf)
		cp := Load(Param("c"), GP64())
		cl := Load(Param("ldc"), GP64())
		SHLQ(U8(2), cl)
		for r := 0; r < mr; r++ {
			for v := 0; v < nv; v++ {
				PREFETCHT0(Mem{Base: cp, Disp: v * vbytes})
			}
			ADDQ(cl, cp)
		}
	}
	for _, r := range acc {
		zero(r)
	}
	step := func(u int) {
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: v * vbytes}, bv[v])
		}
		ADDQ(ldb, b)
		if pfDist > 0 {
			for v := 0; v < nv; v++ {
				PREFETCHT0(Mem{Base: pf, Disp: v * vbytes})
			}
			ADDQ(ldb, pf)
		}
		for r := 0; r < mr; r++ {
			t := av[r%len(av)]
			VBROADCASTSS(Mem{Base: a, Disp: (u*mr + r) * 4}, t)
			for v := 0; v < nv; v++ {
				VFMADD231PS(bv[v], t, acc[r*nv+v])
			}
		}
	}
	Comment("Unrolled k loop.")
	Label(name + "_loopU")
	CMPQ(kc, U32(unroll))
	JL(LabelRef(name + "_tail"))
	for u := 0; u < unroll; u++ {
		step(u)
	}
	ADDQ(U32(unroll*mr*4), a)
	SUBQ(U32(unroll), kc)
	JMP(LabelRef(name + "_loopU"))

	Comment("Remaining k steps.")
	Label(name + "_tail")
	TESTQ(kc, kc)
	JE(LabelRef(name + "_epilogue"))
	step(0)
	ADDQ(U32(mr*4), a)
	DECQ(kc)
	JMP(LabelRef(name + "_tail"))

	Label(name + "_epilogue")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	flags := Load(Param("flags"), GP64())
	row := GP64()

	Comment("acc += C")
	TESTQ(U32(flagAccum), flags)
	JE(LabelRef(name + "_bias"))
	MOVQ(c, row)
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			VADDPS(Mem{Base: row, Disp: v * vbytes}, acc[r*nv+v], acc[r*nv+v])
		}
		if r < mr-1 {
			ADDQ(ldc, row)
		}
	}

	Label(name + "_bias")
	Comment("acc += bias[r]")
	TESTQ(U32(flagBias), flags)
	JE(LabelRef(name + "_relu"))
	bias := Load(Param("bias"), GP64())
	for r := 0; r < mr; r++ {
		t := av[r%len(av)]
		VBROADCASTSS(Mem{Base: bias, Disp: r * 4}, t)
		for v := 0; v < nv; v++ {
			VADDPS(t, acc[r*nv+v], acc[r*nv+v])
		}
	}

	Label(name + "_relu")
	Comment("acc = max(0, acc); VMAXPS returns its last Go operand (acc) when either is NaN")
	TESTQ(U32(flagReLU), flags)
	JE(LabelRef(name + "_store"))
	z := bv[0]
	zero(z)
	for _, r := range acc {
		VMAXPS(r, z, r)
	}

	Label(name + "_store")
	Comment("C = acc")
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			VMOVUPS(acc[r*nv+v], Mem{Base: c, Disp: v * vbytes})
		}
		if r < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// genRowOps emits the AVX-512F row kernels of the pooling layers. Each
// walks n float32s in blocks of 16 lanes, the last block masked (K1), so
// no element beyond n is read or written. nanMax(acc, v) is Go's max:
// NaN if either operand is NaN.
func genRowOps() {
	nanMax := func(acc, v VecPhysical) {
		// acc = v > acc ? v : acc (acc when either is NaN), then v where v
		// is NaN.
		VMAXPS(acc, v, acc)
		VCMPPS(U8(3), v, v, K2) // unordered: v is NaN
		VMOVUPS(v, K2, acc)
	}
	type rowOp struct {
		name, doc string
		sig       string
		srcs      int // source loads at offsets 0, 1, ... elements
		body      func(dst VecPhysical, src []VecPhysical)
		readDst   bool
		div       bool
	}
	ops := []rowOp{
		{name: "maxRowAVX512", doc: "sets dst[i] = max(dst[i], src[i]) (NaN if either is NaN) for i < n",
			sig: "func(dst, src *float32, n int)", srcs: 1, readDst: true,
			body: func(d VecPhysical, s []VecPhysical) { nanMax(d, s[0]) }},
		{name: "max3RowAVX512", doc: "sets dst[i] = max(src[i], src[i+1], src[i+2]) (NaN if any is NaN) for i < n; src has n+2 elements",
			sig: "func(dst, src *float32, n int)", srcs: 3,
			body: func(d VecPhysical, s []VecPhysical) {
				VMOVUPS(s[0], d)
				nanMax(d, s[1])
				nanMax(d, s[2])
			}},
		{name: "addRowAVX512", doc: "sets dst[i] += src[i] for i < n",
			sig: "func(dst, src *float32, n int)", srcs: 1, readDst: true,
			body: func(d VecPhysical, s []VecPhysical) { VADDPS(s[0], d, d) }},
		{name: "avg3RowAVX512", doc: "sets dst[i] = (((0 + src[i]) + src[i+1]) + src[i+2]) / div for i < n; src has n+2 elements",
			sig: "func(dst, src *float32, n int, div float32)", srcs: 3, div: true,
			body: func(d VecPhysical, s []VecPhysical) {
				VPXORD(d, d, d)
				VADDPS(s[0], d, d)
				VADDPS(s[1], d, d)
				VADDPS(s[2], d, d)
				VDIVPS(Z31, d, d)
			}},
	}
	for _, op := range ops {
		TEXT(op.name, NOSPLIT, op.sig)
		Pragma("noescape")
		Doc(op.name + " " + op.doc + ".")
		dst := Load(Param("dst"), GP64())
		src := Load(Param("src"), GP64())
		n := Load(Param("n"), GP64())
		if op.div {
			d := Load(Param("div"), XMM())
			VBROADCASTSS(d, Z31)
		}
		srcRegs := []VecPhysical{Z1, Z2, Z3}
		block := func(masked bool) {
			for i := 0; i < op.srcs; i++ {
				m := Mem{Base: src, Disp: 4 * i}
				if masked {
					VMOVUPS_Z(m, K1, srcRegs[i])
				} else {
					VMOVUPS(m, srcRegs[i])
				}
			}
			if op.readDst {
				if masked {
					VMOVUPS_Z(Mem{Base: dst}, K1, Z0)
				} else {
					VMOVUPS(Mem{Base: dst}, Z0)
				}
			}
			op.body(Z0, srcRegs[:op.srcs])
			if masked {
				VMOVUPS(Z0, K1, Mem{Base: dst})
			} else {
				VMOVUPS(Z0, Mem{Base: dst})
			}
		}
		Label(op.name + "_loop")
		CMPQ(n, U32(16))
		JL(LabelRef(op.name + "_tail"))
		block(false)
		ADDQ(U32(64), dst)
		ADDQ(U32(64), src)
		SUBQ(U32(16), n)
		JMP(LabelRef(op.name + "_loop"))
		Label(op.name + "_tail")
		TESTQ(n, n)
		JE(LabelRef(op.name + "_done"))
		tailMask(n)
		block(true)
		Label(op.name + "_done")
		VZEROUPPER()
		RET()
	}
}

// tailMask sets K1 to the lanes below n (1 <= n < 16): K1 = (1<<n) - 1.
func tailMask(n Register) {
	Comment("K1 = (1<<n) - 1")
	MOVQ(n, RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K1)
}

// genEdgeKernel emits an AVX-512F edge variant of the 12x32 micro-kernel
// that computes only the first mr rows (of the 12-row A panel) and the
// first nv*lanes columns (lanes 16 in ZMM or 8 in YMM registers): the same
// k loop per element (and so the same bits) as genKernel, but only the
// first rows rows (1..mr) and cols columns (1..nv*lanes) of C are read
// (flagAccum), biased (bias has rows entries) and stored, the columns
// through the K1 (lanes 0-15) and K2 (lanes 16-31) masks. tz holds three
// scratch registers of the epilogue.
func genEdgeKernel(name string, lanes, mr, nv int, acc, bv, av []VecPhysical, tz [3]VecPhysical) {
	const unroll, stride = 2, 12 // stride: rows of the A panel
	TEXT(name, NOSPLIT, "func(kc int, a, b *float32, ldb int, c *float32, ldc int, flags int, bias *float32, rows, cols int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes rows 0-%d and columns 0-%d of the AVX-512F 12x32 micro-tile and stores its first rows x cols corner (see genEdgeKernel in internal/asm).", name, mr-1, nv*lanes-1))
	vbytes := lanes * 4
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	ldb := Load(Param("ldb"), GP64())
	SHLQ(U8(2), ldb)
	for _, r := range acc {
		VPXORD(r, r, r)
	}
	step := func(u int) {
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: v * vbytes}, bv[v])
		}
		ADDQ(ldb, b)
		for r := 0; r < mr; r++ {
			t := av[r%len(av)]
			VBROADCASTSS(Mem{Base: a, Disp: (u*stride + r) * 4}, t)
			for v := 0; v < nv; v++ {
				VFMADD231PS(bv[v], t, acc[r*nv+v])
			}
		}
	}
	Label(name + "_loopU")
	CMPQ(kc, U32(unroll))
	JL(LabelRef(name + "_tail"))
	for u := 0; u < unroll; u++ {
		step(u)
	}
	ADDQ(U32(unroll*stride*4), a)
	SUBQ(U32(unroll), kc)
	JMP(LabelRef(name + "_loopU"))
	Label(name + "_tail")
	TESTQ(kc, kc)
	JE(LabelRef(name + "_epilogue"))
	step(0)
	ADDQ(U32(stride*4), a)
	DECQ(kc)
	JMP(LabelRef(name + "_tail"))

	Label(name + "_epilogue")
	Comment("K1, K2 = the low and high 16 bits of (1<<cols) - 1")
	Load(Param("cols"), RCX)
	MOVQ(U32(1), RAX)
	SHLQ(CL, RAX)
	DECQ(RAX)
	KMOVW(EAX, K1)
	SHRQ(U8(16), RAX)
	KMOVW(EAX, K2)
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	flags := Load(Param("flags"), GP64())
	rows := Load(Param("rows"), GP64())
	bias := Load(Param("bias"), GP64())
	masks := []Op{K1, K2}
	tmp, zero, bb := tz[0], tz[1], tz[2]
	VPXORD(zero, zero, zero)
	for r := 0; r < mr; r++ {
		if r > 0 {
			CMPQ(rows, U32(r))
			JLE(LabelRef(name + "_done"))
			ADDQ(ldc, c)
		}
		lbl := fmt.Sprintf("%s_r%d", name, r)
		TESTQ(U32(flagAccum), flags)
		JE(LabelRef(lbl + "_bias"))
		for v := 0; v < nv; v++ {
			VMOVUPS_Z(Mem{Base: c, Disp: v * vbytes}, masks[v], tmp)
			VADDPS(tmp, acc[r*nv+v], acc[r*nv+v])
		}
		Label(lbl + "_bias")
		TESTQ(U32(flagBias), flags)
		JE(LabelRef(lbl + "_relu"))
		VBROADCASTSS(Mem{Base: bias, Disp: r * 4}, bb)
		for v := 0; v < nv; v++ {
			VADDPS(bb, acc[r*nv+v], acc[r*nv+v])
		}
		Label(lbl + "_relu")
		TESTQ(U32(flagReLU), flags)
		JE(LabelRef(lbl + "_store"))
		for v := 0; v < nv; v++ {
			VMAXPS(acc[r*nv+v], zero, acc[r*nv+v])
		}
		Label(lbl + "_store")
		for v := 0; v < nv; v++ {
			VMOVUPS(acc[r*nv+v], masks[v], Mem{Base: c, Disp: v * vbytes})
		}
	}
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genCopyPanels emits copyPanelsAVX512(dst, src *float32, n, dstStride int):
// for i < n, the 32 float32s at src+32i go to dst+i*dstStride (a stride in
// float32s): the row of n consecutive full B panels that a flat conv's
// packing copies from one input plane.
func genCopyPanels() {
	TEXT("copyPanelsAVX512", NOSPLIT, "func(dst, src *float32, n, dstStride int)")
	Pragma("noescape")
	Doc("copyPanelsAVX512 copies src[32i : 32i+32] to dst[i*dstStride:] for i < n (see genCopyPanels in internal/asm).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	st := Load(Param("dstStride"), GP64())
	SHLQ(U8(2), st)
	Label("copyPanels_loop")
	TESTQ(n, n)
	JE(LabelRef("copyPanels_done"))
	VMOVUPS(Mem{Base: src}, Z0)
	VMOVUPS(Mem{Base: src, Disp: 64}, Z1)
	VMOVUPS(Z0, Mem{Base: dst})
	VMOVUPS(Z1, Mem{Base: dst, Disp: 64})
	ADDQ(U32(128), src)
	ADDQ(st, dst)
	DECQ(n)
	JMP(LabelRef("copyPanels_loop"))
	Label("copyPanels_done")
	VZEROUPPER()
	RET()
}

// nanMaxZ sets acc = max(acc, v) with Go's NaN rule (NaN if either is
// NaN), using K2 as scratch.
func nanMaxZ(acc, v VecPhysical) {
	VMAXPS(acc, v, acc)
	VCMPPS(U8(3), v, v, K2) // unordered: v is NaN
	VMOVUPS(v, K2, acc)
}

// maskLow sets k to the low clamp(x-sub, 0, hi) bits (hi <= 16), computed
// in RCX/RAX; t is a scratch register.
func maskLow(k Op, x Register, t GPVirtual, sub, hi int) {
	MOVQ(x, RCX)
	if sub != 0 {
		SUBQ(U32(sub), RCX)
	}
	XORL(t.As32(), t.As32())
	CMPQ(RCX, U32(0))
	CMOVQLT(t, RCX)
	MOVQ(U32(hi), t)
	CMPQ(RCX, U32(hi))
	CMOVQGT(t, RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, k)
}

// genPoolOps emits the AVX-512F whole-plane pooling kernels (see the
// matching pure-Go versions in pool.go, which define the same results):
//
//   - max{2,3}VAVX512(dst, src *float32, n, rows, off, sstep, dstep int):
//     a vertical pass over rows: for r < rows and j < n,
//     dst[r*dstep+j] = max(src[r*sstep+j], src[r*sstep+off+j][, src[r*sstep+2*off+j]]),
//     with Go's max (NaN propagating).
//   - {max,add,avg}3TAVX512: a 3-tap pass over whole planes, block by
//     block of 16 lanes, the lanes of each tap (and of the store) selected
//     by a mask table: the vertical (off = row pitch) and horizontal
//     (off = 1) passes of a stride-1 3×3 pool with padding 1.
//   - max{2,3}S2HAVX512(dst, src *float32, ow, rows, w int): the horizontal
//     stride-2 pass: dst[r*ow+j] = max(src[r*w+2j], src[r*w+2j+1][, src[r*w+2j+2]]),
//     columns >= w being -Inf.
//
// No element outside the described ranges is read or written (tails are
// masked).
func genPoolOps() {
	for _, k := range []int{2, 3} {
		genPoolV("max", k)
	}
	genPool3T("max3TAVX512", "max")
	genPool3T("add3TAVX512", "add")
	genPool3T("avg3TAVX512", "avg")
	idx := GLOBL("poolDeinterleaveIdx", RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		// Lanes 0-15: the even elements of a 32-element pair; 16-31: the odd.
		DATA(4*i, U32(2*(i%16)+i/16))
	}
	genPoolS2H("max2S2HAVX512", 2, idx)
	genPoolS2H("max3S2HAVX512", 3, idx)
}

func genPoolV(op string, k int) {
	name := fmt.Sprintf("%s%dVAVX512", op, k)
	TEXT(name, NOSPLIT, "func(dst, src *float32, n, rows, off, sstep, dstep int)")
	Pragma("noescape")
	desc := "max (NaN if any is NaN)"
	if op == "add" {
		desc = "left-to-right sum"
	}
	terms := "src[r*sstep+j], src[r*sstep+off+j]"
	if k == 3 {
		terms += ", src[r*sstep+2*off+j]"
	}
	Doc(fmt.Sprintf("%s sets dst[r*dstep+j] to the %s of %s for r < rows, j < n (see genPoolOps in internal/asm).", name, desc, terms))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	rows := Load(Param("rows"), GP64())
	off := Load(Param("off"), GP64())
	sstep := Load(Param("sstep"), GP64())
	dstep := Load(Param("dstep"), GP64())
	SHLQ(U8(2), off)
	SHLQ(U8(2), sstep)
	SHLQ(U8(2), dstep)
	off2 := GP64()
	MOVQ(off, off2)
	SHLQ(U8(1), off2)
	d, s, m := GP64(), GP64(), GP64()
	block := func(masked bool) {
		mems := []Mem{{Base: s}, {Base: s, Index: off, Scale: 1}, {Base: s, Index: off2, Scale: 1}}
		regs := []VecPhysical{Z1, Z2, Z3}
		for i := 0; i < k; i++ {
			if masked {
				VMOVUPS_Z(mems[i], K1, regs[i])
			} else {
				VMOVUPS(mems[i], regs[i])
			}
		}
		for i := 1; i < k; i++ {
			if op == "max" {
				nanMaxZ(Z1, regs[i])
			} else {
				VADDPS(regs[i], Z1, Z1)
			}
		}
		if masked {
			VMOVUPS(Z1, K1, Mem{Base: d})
		} else {
			VMOVUPS(Z1, Mem{Base: d})
		}
	}
	Label(name + "_row")
	TESTQ(rows, rows)
	JE(LabelRef(name + "_done"))
	MOVQ(dst, d)
	MOVQ(src, s)
	MOVQ(n, m)
	Label(name + "_loop")
	CMPQ(m, U32(16))
	JL(LabelRef(name + "_tail"))
	block(false)
	ADDQ(U32(64), d)
	ADDQ(U32(64), s)
	SUBQ(U32(16), m)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_tail")
	TESTQ(m, m)
	JE(LabelRef(name + "_next"))
	Comment("K1 = (1<<m) - 1")
	MOVQ(m, RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K1)
	block(true)
	Label(name + "_next")
	ADDQ(dstep, dst)
	ADDQ(sstep, src)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

func genPool3T(name, op string) {
	sig := "func(dst, src *float32, nblk, planes, pitch, off int, masks *uint16)"
	var doc string
	switch op {
	case "max":
		doc = "max(a, c, b) (NaN if any is NaN; a missing neighbour is -Inf)"
	case "add":
		doc = "(a + c) + b (a missing neighbour is 0)"
	case "avg":
		sig = "func(dst, src *float32, nblk, planes, pitch, off int, masks *uint16, divs *float32)"
		doc = "(((0 + a) + c) + b) / divs[i] (a missing neighbour is not added)"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name + " sets, for each of planes planes (pitch floats apart in dst and src) and each block k < nblk of 16 lanes, dst[i] = " + doc +
		" for i = 16k+l, where a = src[i-off] if bit l of masks[3k] is set, c = src[i] if bit l of masks[3k+1] is set (else nothing is stored), and b = src[i+off] if bit l of masks[3k+2] is set (see genPoolOps in internal/asm).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	nblk := Load(Param("nblk"), GP64())
	planes := Load(Param("planes"), GP64())
	pitch := Load(Param("pitch"), GP64())
	off := Load(Param("off"), GP64())
	masks := Load(Param("masks"), GP64())
	SHLQ(U8(2), pitch)
	SHLQ(U8(2), off)
	neg := GP64()
	MOVQ(off, neg)
	NEGQ(neg)
	var divs Register
	if op == "avg" {
		divs = Load(Param("divs"), GP64())
	}
	if op == "max" {
		Comment("Z30 = -Inf")
		MOVL(U32(0xff800000), EAX)
		VPBROADCASTD(EAX, Z30)
	}
	d, s, m, k, dv := GP64(), GP64(), GP64(), GP64(), GP64()
	Label(name + "_plane")
	TESTQ(planes, planes)
	JE(LabelRef(name + "_done"))
	MOVQ(dst, d)
	MOVQ(src, s)
	MOVQ(masks, m)
	MOVQ(nblk, k)
	if op == "avg" {
		MOVQ(divs, dv)
	}
	Label(name + "_block")
	KMOVW(Mem{Base: m}, K3)
	KMOVW(Mem{Base: m, Disp: 2}, K4)
	KMOVW(Mem{Base: m, Disp: 4}, K5)
	a, c, b := Mem{Base: s, Index: neg, Scale: 1}, Mem{Base: s}, Mem{Base: s, Index: off, Scale: 1}
	switch op {
	case "max":
		VMOVAPS(Z30, Z0)
		VMOVUPS(a, K3, Z0)
		VMOVUPS_Z(c, K4, Z2)
		VMOVAPS(Z30, Z3)
		VMOVUPS(b, K5, Z3)
		nanMaxZ(Z0, Z2)
		nanMaxZ(Z0, Z3)
	case "add":
		VMOVUPS_Z(a, K3, Z0)
		VMOVUPS_Z(c, K4, Z2)
		VMOVUPS_Z(b, K5, Z3)
		VADDPS(Z2, Z0, Z0)
		VADDPS(Z3, Z0, Z0)
	case "avg":
		VMOVUPS_Z(a, K3, Z1)
		VMOVUPS_Z(c, K4, Z2)
		VMOVUPS_Z(b, K5, Z3)
		VMOVUPS_Z(Mem{Base: dv}, K4, Z4)
		VPXORD(Z0, Z0, Z0)
		VADDPS(Z1, Z0, Z0)
		VADDPS(Z2, Z0, Z0)
		VADDPS(Z3, Z0, Z0)
		VDIVPS(Z4, Z0, Z0)
		ADDQ(U32(64), dv)
	}
	VMOVUPS(Z0, K4, Mem{Base: d})
	ADDQ(U32(64), d)
	ADDQ(U32(64), s)
	ADDQ(U32(6), m)
	DECQ(k)
	JNE(LabelRef(name + "_block"))
	ADDQ(pitch, dst)
	ADDQ(pitch, src)
	DECQ(planes)
	JMP(LabelRef(name + "_plane"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

func genPoolS2H(name string, k int, idx Mem) {
	TEXT(name, NOSPLIT, "func(dst, src *float32, ow, rows, w int)")
	Pragma("noescape")
	terms := "src[r*w+2j], src[r*w+2j+1]"
	if k == 3 {
		terms += ", src[r*w+2j+2]"
	}
	Doc(fmt.Sprintf("%s sets dst[r*ow+j] = max(%s) (NaN if any is NaN; columns >= w are -Inf) for r < rows, j < ow (see genPoolOps in internal/asm).", name, terms))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	ow := Load(Param("ow"), GP64())
	rows := Load(Param("rows"), GP64())
	w := Load(Param("w"), GP64())
	Comment("Z30 = -Inf; Z28, Z29 = the even and odd deinterleave indices")
	MOVL(U32(0xff800000), EAX)
	VPBROADCASTD(EAX, Z30)
	VMOVUPS(idx, Z28)
	VMOVUPS(idx.Offset(64), Z29)
	s, d, remOut, remIn, t := GP64(), GP64(), GP64(), GP64(), GP64()
	wb := GP64()
	MOVQ(w, wb)
	SHLQ(U8(2), wb)
	owb := GP64()
	MOVQ(ow, owb)
	SHLQ(U8(2), owb)
	Label(name + "_row")
	TESTQ(rows, rows)
	JE(LabelRef(name + "_done"))
	MOVQ(src, s)
	MOVQ(dst, d)
	MOVQ(ow, remOut)
	MOVQ(w, remIn)
	block := func(masked bool) {
		if masked {
			Comment("K4 = output lanes, K3/K5/K6 = valid input lanes of the three loads")
			maskLow(K4, remOut, t, 0, 16)
			maskLow(K3, remIn, t, 0, 16)
			maskLow(K5, remIn, t, 16, 16)
			VMOVAPS(Z30, Z1)
			VMOVUPS(Mem{Base: s}, K3, Z1)
			VMOVAPS(Z30, Z2)
			VMOVUPS(Mem{Base: s, Disp: 64}, K5, Z2)
		} else {
			VMOVUPS(Mem{Base: s}, Z1)
			VMOVUPS(Mem{Base: s, Disp: 64}, Z2)
		}
		VMOVAPS(Z28, Z4)
		VPERMI2PS(Z2, Z1, Z4) // even elements
		VMOVAPS(Z29, Z5)
		VPERMI2PS(Z2, Z1, Z5) // odd elements
		if k == 3 {
			if masked {
				maskLow(K6, remIn, t, 32, 1)
				VMOVAPS(Z30, Z3)
				VMOVUPS(Mem{Base: s, Disp: 128}, K6, Z3)
			} else {
				VMOVSS(Mem{Base: s, Disp: 128}, X3)
			}
			VALIGND(U8(1), Z4, Z3, Z6) // the even elements shifted by one
		}
		nanMaxZ(Z4, Z5)
		if k == 3 {
			nanMaxZ(Z4, Z6)
		}
		if masked {
			VMOVUPS(Z4, K4, Mem{Base: d})
		} else {
			VMOVUPS(Z4, Mem{Base: d})
		}
	}
	Label(name + "_loop")
	Comment("whole blocks: 16 outputs and all 32 (k == 3: 33) inputs in the row")
	CMPQ(remOut, U32(16))
	JL(LabelRef(name + "_masked"))
	CMPQ(remIn, U32(32+k-2))
	JL(LabelRef(name + "_masked"))
	block(false)
	JMP(LabelRef(name + "_next"))
	Label(name + "_masked")
	block(true)
	Label(name + "_next")
	ADDQ(U32(128), s)
	ADDQ(U32(64), d)
	SUBQ(U32(32), remIn)
	SUBQ(U32(16), remOut)
	CMPQ(remOut, U32(0))
	JG(LabelRef(name + "_loop"))
	ADDQ(wb, src)
	ADDQ(owb, dst)
	DECQ(rows)
	JMP(LabelRef(name + "_row"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genDot emits dotAVX512, the dot product of the Linear kernel: four
// accumulators over blocks of 64 elements, then single blocks of 16, then a
// masked tail, summed (Z0+Z1)+(Z2+Z3) and reduced across lanes in a fixed
// order, so the result depends only on n.
func genDot() {
	TEXT("dotAVX512", NOSPLIT, "func(a, b *float32, n int) float32")
	Pragma("noescape")
	Doc("dotAVX512 returns the sum of a[i]*b[i] for i < n.")
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	n := Load(Param("n"), GP64())
	acc := []VecPhysical{Z0, Z1, Z2, Z3}
	for _, z := range acc {
		VPXORD(z, z, z)
	}
	Label("dot_loop64")
	CMPQ(n, U32(64))
	JL(LabelRef("dot_loop16"))
	for i, z := range acc {
		VMOVUPS(Mem{Base: a, Disp: 64 * i}, Z4)
		VFMADD231PS(Mem{Base: b, Disp: 64 * i}, Z4, z)
	}
	ADDQ(U32(256), a)
	ADDQ(U32(256), b)
	SUBQ(U32(64), n)
	JMP(LabelRef("dot_loop64"))
	Label("dot_loop16")
	CMPQ(n, U32(16))
	JL(LabelRef("dot_tail"))
	VMOVUPS(Mem{Base: a}, Z4)
	VFMADD231PS(Mem{Base: b}, Z4, Z0)
	ADDQ(U32(64), a)
	ADDQ(U32(64), b)
	SUBQ(U32(16), n)
	JMP(LabelRef("dot_loop16"))
	Label("dot_tail")
	TESTQ(n, n)
	JE(LabelRef("dot_reduce"))
	tailMask(n)
	VMOVUPS_Z(Mem{Base: a}, K1, Z4)
	VMOVUPS_Z(Mem{Base: b}, K1, Z5)
	VFMADD231PS(Z5, Z4, Z0)
	Label("dot_reduce")
	VADDPS(Z1, Z0, Z0)
	VADDPS(Z3, Z2, Z2)
	VADDPS(Z2, Z0, Z0)
	VEXTRACTF32X8(U8(1), Z0, Y1)
	VADDPS(Y1, Y0, Y0)
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPS(X1, X0, X0)
	VMOVHLPS(X0, X0, X1)
	VADDPS(X1, X0, X0)
	VMOVSHDUP(X0, X1)
	VADDSS(X1, X0, X0)
	VZEROUPPER()
	Store(X0, ReturnIndex(0))
	RET()
}

// genDeinterleave emits the AVX-512 stride-2 gathers of the im2col packer:
// gather2AVX512 sets dst[k] = src[2k] and deint2AVX512 sets even[k] =
// src[2k], odd[k] = src[2k+1], for k < 16*blocks; both read src[0:32*blocks]
// (two vectors per block, split with VPERMT2PS).
func genDeinterleave() {
	evenIdx := GLOBL("deintEvenIdx", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(2*i))
	}
	oddIdx := GLOBL("deintOddIdx", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(2*i+1))
	}

	TEXT("gather2AVX512", NOSPLIT, "func(dst, src *float32, blocks int)")
	Pragma("noescape")
	Doc("gather2AVX512 sets dst[k] = src[2k] for k < 16*blocks, reading src[0:32*blocks].")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("blocks"), GP64())
	VMOVDQU32(evenIdx, Z4)
	Label("gather2_loop")
	TESTQ(n, n)
	JE(LabelRef("gather2_done"))
	VMOVUPS(Mem{Base: src}, Z0)
	VMOVUPS(Mem{Base: src, Disp: 64}, Z1)
	VPERMT2PS(Z1, Z4, Z0)
	VMOVUPS(Z0, Mem{Base: dst})
	ADDQ(U32(128), src)
	ADDQ(U32(64), dst)
	DECQ(n)
	JMP(LabelRef("gather2_loop"))
	Label("gather2_done")
	VZEROUPPER()
	RET()

	TEXT("deint2AVX512", NOSPLIT, "func(even, odd, src *float32, blocks int)")
	Pragma("noescape")
	Doc("deint2AVX512 sets even[k] = src[2k] and odd[k] = src[2k+1] for k < 16*blocks, reading src[0:32*blocks].")
	ev := Load(Param("even"), GP64())
	od := Load(Param("odd"), GP64())
	src = Load(Param("src"), GP64())
	n = Load(Param("blocks"), GP64())
	VMOVDQU32(evenIdx, Z4)
	VMOVDQU32(oddIdx, Z5)
	Label("deint2_loop")
	TESTQ(n, n)
	JE(LabelRef("deint2_done"))
	VMOVUPS(Mem{Base: src}, Z0)
	VMOVUPS(Mem{Base: src, Disp: 64}, Z1)
	VMOVAPS(Z0, Z2)
	VPERMT2PS(Z1, Z4, Z0)
	VPERMT2PS(Z1, Z5, Z2)
	VMOVUPS(Z0, Mem{Base: ev})
	VMOVUPS(Z2, Mem{Base: od})
	ADDQ(U32(128), src)
	ADDQ(U32(64), ev)
	ADDQ(U32(64), od)
	DECQ(n)
	JMP(LabelRef("deint2_loop"))
	Label("deint2_done")
	VZEROUPPER()
	RET()
}

// winoConsts is the RODATA table of the Winograd transforms' constants,
// broadcast from memory by the FMAs: offsets (bytes) of 4, -5, 2, 8.
type winoConsts struct{ four, minusFive, two, eight Mem }

// genWinograd emits the AVX-512 transforms of the Winograd F(4×4, 3×3)
// convolution (see winograd.go in package kernels):
//
//   - winoInAVX512(rows *[6]*float32, n int, r *float32, rs, padL int, v *float32, cs, tw int):
//     the input transform of one tile row of one channel. Vertical pass:
//     R[i][padL+x] = Σ_m Bᵀ[i][m]·rows[m][x] for x < n (R row i at
//     r[i*rs:]; its other columns are left alone and must be zero).
//     Horizontal pass: for every tile tx < tw and i, j < 6,
//     v[(6i+j)*cs + tx] = Σ_n Bᵀ[j][n]·R[i][4tx+n], 16 tiles at a time
//     (R's row is read up to 4·roundup(tw, 16)+16 columns).
//   - winoOutAVX512(y, m *float32, ms, nk int, bias *float32, relu, ohw, ow, rows, cols int):
//     the output transform of one tile for nk channels (16 at a time; m's
//     rows are read in whole blocks of 16 and bias too): for channel k and
//     a < rows, b < cols, y[k*ohw + a*ow + b] = (Aᵀ·M_k·A)[a][b] + bias[k],
//     then max(·, 0) if relu != 0, where M_k[i][j] = m[(6i+j)*ms + k].
//
// Bᵀ·d and Aᵀ·m are computed in the operation order of bt6 and at6 in
// winograd.go, the constant multiplications fused into FMAs.
func genWinograd() {
	tbl := GLOBL("winoConst", RODATA|NOPTR)
	for i, v := range []float32{4, -5, 2, 8} {
		DATA(4*i, U32(math.Float32bits(v)))
	}
	k := winoConsts{four: tbl, minusFive: tbl.Offset(4), two: tbl.Offset(8), eight: tbl.Offset(12)}
	idx := GLOBL("winoDeintIdx", RODATA|NOPTR)
	for n := 0; n < 4; n++ {
		for l := 0; l < 16; l++ {
			DATA(64*n+4*l, U32(4*(l%8)+n))
		}
	}
	genWinoIn(k, idx)
	genWinoOut(k)
	genPackATrans12()
	bits := GLOBL("wino1Bits", RODATA|NOPTR)
	for n := 0; n < 16; n++ {
		DATA(4*n, U32(1<<n))
	}
	iota := GLOBL("wino1Iota", RODATA|NOPTR)
	for n := 0; n < 16; n++ {
		DATA(4*n, U32(n))
	}
	for _, a := range []int{4, 9} {
		genWino1In(a, bits)
	}
	for _, ma := range [][2]int{{2, 4}, {3, 9}} {
		genWino1Out(ma[0], ma[1], iota)
	}
	w2even := GLOBL("wino2Even", RODATA|NOPTR)
	for l := 0; l < 16; l++ {
		DATA(4*l, U32(2*l))
	}
	w2odd := GLOBL("wino2Odd", RODATA|NOPTR)
	for l := 0; l < 16; l++ {
		DATA(4*l, U32(2*l+1))
	}
	for _, a := range []int{4, 6} {
		genWino2In(a, w2even, w2odd)
		genWino2Out(a, iota)
	}
}

// genWino2In emits wino2In{a}AVX512(rows *[6]*float32, n int, r *float32, rs, padL int, v *float32, cs, tw int, bt *float32):
// the input transform of one tile row of one channel of the F(2×2, r×r)
// Winograd conv with α = a (see winograd2.go). Vertical pass:
// R[i][padL+x] = Σ_q bt[i*a+q]·rows[q][x] for x < n (R row i at r[i*rs:];
// its other columns are left alone and must be zero). Horizontal pass,
// 16 tiles at a time (VGATHERDPS of R's columns 2tx+q):
// v[(a·i+j)*cs + tx] = Σ_q bt[j*a+q]·R[i][2tx+q] for tx < tw (R's rows are
// read up to 2·16·ceil(tw/16) + a - 1).
func genWino2In(a int, evenIdx, oddIdx Mem) {
	name := fmt.Sprintf("wino2In%dAVX512", a)
	TEXT(name, NOSPLIT, "func(rows *[6]*float32, n int, r *float32, rs, padL int, v *float32, cs, tw int, bt *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the input transform of one tile row of one channel of the F(2x2, r x r) Winograd conv with α = %d (see genWino2In in internal/asm).", name, a))
	rowsP := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	r := Load(Param("r"), GP64())
	rs := Load(Param("rs"), GP64())
	padL := Load(Param("padL"), GP64())
	bt := Load(Param("bt"), GP64())
	SHLQ(U8(2), rs)
	dst := GP64()
	LEAQ(Mem{Base: r, Index: padL, Scale: 4}, dst)
	col := GP64()
	XORQ(col, col)
	vblock := func(masked bool) {
		d := make([]VecVirtual, a)
		src := GP64()
		for q := range d {
			d[q] = ZMM()
			MOVQ(Mem{Base: rowsP, Disp: 8 * q}, src)
			mem := Mem{Base: src, Index: col, Scale: 4}
			if masked {
				VMOVUPS_Z(mem, K1, d[q])
			} else {
				VMOVUPS(mem, d[q])
			}
		}
		row := GP64()
		MOVQ(dst, row)
		for i := 0; i < a; i++ {
			if i > 0 {
				ADDQ(rs, row)
			}
			acc := ZMM()
			VMULPS_BCST(Mem{Base: bt, Disp: 4 * (i * a)}, d[0], acc)
			for q := 1; q < a; q++ {
				VFMADD231PS_BCST(Mem{Base: bt, Disp: 4 * (i*a + q)}, d[q], acc)
			}
			mem := Mem{Base: row, Index: col, Scale: 4}
			if masked {
				VMOVUPS(acc, K1, mem)
			} else {
				VMOVUPS(acc, mem)
			}
		}
	}
	Label(name + "_vloop")
	rem := GP64()
	MOVQ(n, rem)
	SUBQ(col, rem)
	CMPQ(rem, U32(16))
	JL(LabelRef(name + "_vtail"))
	vblock(false)
	ADDQ(U32(16), col)
	JMP(LabelRef(name + "_vloop"))
	Label(name + "_vtail")
	TESTQ(rem, rem)
	JLE(LabelRef(name + "_h"))
	tailMask(rem)
	vblock(true)

	Label(name + "_h")
	r = Load(Param("r"), GP64())
	v := Load(Param("v"), GP64())
	cs := Load(Param("cs"), GP64())
	tw := Load(Param("tw"), GP64())
	SHLQ(U8(2), cs)
	Comment("even/odd: the deinterleaving permutations of a 32-float pair")
	even, odd := ZMM(), ZMM()
	VMOVDQU32(evenIdx, even)
	VMOVDQU32(oddIdx, odd)
	tx := GP64()
	XORQ(tx, tx)
	Label(name + "_hloop")
	CMPQ(tx, tw)
	JGE(LabelRef(name + "_done"))
	Comment("K1 = the lanes of the tiles left in the row")
	rem2 := GP64()
	MOVQ(tw, rem2)
	SUBQ(tx, rem2)
	MOVQ(U32(16), RCX)
	CMPQ(rem2, RCX)
	CMOVQLT(rem2, RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K1)
	ri, vo := GP64(), GP64()
	LEAQ(Mem{Base: r, Index: tx, Scale: 8}, ri) // R[0][2tx]
	LEAQ(Mem{Base: v, Index: tx, Scale: 4}, vo)
	for i := 0; i < a; i++ {
		if i > 0 {
			ADDQ(rs, ri)
		}
		Comment("d[q][l] = R[i][2(tx+l)+q]: even/odd phases of 64 columns, shifted")
		w := make([]VecVirtual, 4)
		for k := range w {
			w[k] = ZMM()
			VMOVUPS(Mem{Base: ri, Disp: 64 * k}, w[k])
		}
		ph := make([]VecVirtual, 4) // even, odd of columns 0-31, then of 32-63
		for k := range ph {
			ph[k] = ZMM()
			if k%2 == 0 {
				VMOVAPS(even, ph[k])
			} else {
				VMOVAPS(odd, ph[k])
			}
			VPERMI2PS(w[2*(k/2)+1], w[2*(k/2)], ph[k])
		}
		d := make([]VecVirtual, a)
		for q := 0; q < a; q++ {
			lo, hi := ph[q%2], ph[2+q%2]
			if q/2 == 0 {
				d[q] = lo
				continue
			}
			d[q] = ZMM()
			VALIGND(U8(q/2), lo, hi, d[q])
		}
		for j := 0; j < a; j++ {
			if i > 0 || j > 0 {
				ADDQ(cs, vo)
			}
			acc := ZMM()
			VMULPS_BCST(Mem{Base: bt, Disp: 4 * (j * a)}, d[0], acc)
			for q := 1; q < a; q++ {
				VFMADD231PS_BCST(Mem{Base: bt, Disp: 4 * (j*a + q)}, d[q], acc)
			}
			VMOVUPS(acc, K1, Mem{Base: vo})
		}
	}
	ADDQ(U32(16), tx)
	JMP(LabelRef(name + "_hloop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genWino2Out emits wino2Out{a}AVX512(y, mm *float32, ms, nk int, bias *float32, relu, ohw, ow, rows, cols int, at *float32):
// the output transform of one tile of the F(2×2, r×r) Winograd conv with
// α = a for nk channels, 16 at a time (see winograd2.go): with
// M_k[i][j] = mm[(a·i+j)*ms + k] and Q = Aᵀ·M_k,
// y[k*ohw + ra*ow + cb] = Σ_j at[cb*a+j]·Q[ra][j] + bias[k], then max(·, 0)
// if relu != 0, for ra < rows and cb < cols (mm and bias read in whole
// blocks of 16), stored with VSCATTERDPS.
func genWino2Out(a int, iota Mem) {
	name := fmt.Sprintf("wino2Out%dAVX512", a)
	TEXT(name, NOSPLIT, "func(y, mm *float32, ms, nk int, bias *float32, relu, ohw, ow, rows, cols int, at *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the output transform of one tile of the F(2x2, r x r) Winograd conv with α = %d (see genWino2Out in internal/asm).", name, a))
	y := Load(Param("y"), GP64())
	mm := Load(Param("mm"), GP64())
	ms := Load(Param("ms"), GP64())
	nk := Load(Param("nk"), GP64())
	bias := Load(Param("bias"), GP64())
	ohw := GP64()
	Load(Param("ohw"), ohw)
	ow := Load(Param("ow"), GP64())
	at := Load(Param("at"), GP64())
	// relu, rows and cols are compared in memory (too few registers).
	addr := func(name string) Mem {
		b, err := Param(name).Resolve()
		if err != nil {
			panic(err)
		}
		return b.Addr
	}
	relu, rows, cols := addr("relu"), addr("rows"), addr("cols")
	SHLQ(U8(2), ms)
	SHLQ(U8(2), ow)
	qa := GP64() // a·ms bytes: from M[i][j] to M[i+1][j]
	IMUL3Q(U32(a), ms, qa)
	zidx := ZMM()
	VPBROADCASTD(ohw.As32(), zidx)
	VPMULLD(iota, zidx, zidx)
	SHLQ(U8(6), ohw) // 16 planes in bytes
	zero := ZMM()
	VPXORD(zero, zero, zero)
	k0 := GP64()
	XORQ(k0, k0)
	pj, pi, yb := GP64(), GP64(), GP64()
	Label(name + "_group")
	CMPQ(k0, nk)
	JGE(LabelRef(name + "_done"))
	Comment("K3 = the channels of this group")
	rem := GP64()
	MOVQ(nk, rem)
	SUBQ(k0, rem)
	MOVQ(U32(16), RCX)
	CMPQ(rem, RCX)
	CMOVQLT(rem, RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K3)
	q := [2][]VecVirtual{make([]VecVirtual, a), make([]VecVirtual, a)}
	LEAQ(Mem{Base: mm, Index: k0, Scale: 4}, pj)
	for j := 0; j < a; j++ {
		if j > 0 {
			ADDQ(ms, pj)
		}
		MOVQ(pj, pi)
		mv := make([]VecVirtual, a)
		for i := 0; i < a; i++ {
			if i > 0 {
				ADDQ(qa, pi)
			}
			mv[i] = ZMM()
			VMOVUPS(Mem{Base: pi}, mv[i])
		}
		for ra := 0; ra < 2; ra++ {
			q[ra][j] = ZMM()
			VMULPS_BCST(Mem{Base: at, Disp: 4 * (ra * a)}, mv[0], q[ra][j])
			for i := 1; i < a; i++ {
				VFMADD231PS_BCST(Mem{Base: at, Disp: 4 * (ra*a + i)}, mv[i], q[ra][j])
			}
		}
	}
	bv := ZMM()
	VMOVUPS(Mem{Base: bias, Index: k0, Scale: 4}, bv)
	for ra := 0; ra < 2; ra++ {
		if ra > 0 {
			CMPQ(rows, U32(ra))
			JLE(LabelRef(name + "_next"))
		}
		for cb := 0; cb < 2; cb++ {
			lbl := fmt.Sprintf("%s_%d%d", name, ra, cb)
			if cb > 0 {
				CMPQ(cols, U32(cb))
				JLE(LabelRef(lbl + "_skip"))
			}
			acc := ZMM()
			VMULPS_BCST(Mem{Base: at, Disp: 4 * (cb * a)}, q[ra][0], acc)
			for j := 1; j < a; j++ {
				VFMADD231PS_BCST(Mem{Base: at, Disp: 4 * (cb*a + j)}, q[ra][j], acc)
			}
			VADDPS(bv, acc, acc)
			CMPQ(relu, U32(0))
			JE(LabelRef(lbl))
			VMAXPS(acc, zero, acc)
			Label(lbl)
			MOVQ(y, yb)
			if ra > 0 {
				ADDQ(ow, yb)
			}
			KMOVW(K3, K2)
			VSCATTERDPS(acc, K2, Mem{Base: yb, Disp: 4 * cb, Index: zidx, Scale: 4})
			if cb > 0 {
				Label(lbl + "_skip")
			}
		}
	}
	Label(name + "_next")
	ADDQ(U32(16), k0)
	ADDQ(ohw, y)
	JMP(LabelRef(name + "_group"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genWino1In emits wino1In{a}AVX512(v *float32, cs int, x *float32, gidx *int32, taps *uint16, nvec, step int, bt *float32):
// the input transform of the 1-D Winograd conv with α = a for one channel
// (see winograd1d.go): for each block i < nvec of 16 tiles and lane l,
// tile t = 16i+l, d[n] = x[gidx[t] + n*step] if bit n of taps[t] is set,
// else 0 (VGATHERDPS), and v[ξ*cs + t] = Σ_n bt[ξ*a+n]·d[n] for ξ < a,
// summed in order n = 0, 1, ... (the first term a product, then FMAs).
func genWino1In(a int, bits Mem) {
	name := fmt.Sprintf("wino1In%dAVX512", a)
	TEXT(name, NOSPLIT, "func(v *float32, cs int, x *float32, gidx *int32, taps *uint16, nvec, step int, bt *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the input transform of the 1-D Winograd conv with α = %d (see genWino1In in internal/asm).", name, a))
	v := Load(Param("v"), GP64())
	cs := Load(Param("cs"), GP64())
	x := Load(Param("x"), GP64())
	gidx := Load(Param("gidx"), GP64())
	taps := Load(Param("taps"), GP64())
	nvec := Load(Param("nvec"), GP64())
	step := Load(Param("step"), GP64())
	bt := Load(Param("bt"), GP64())
	SHLQ(U8(2), cs)
	SHLQ(U8(2), step)
	xn, vx := GP64(), GP64()
	Label(name + "_loop")
	TESTQ(nvec, nvec)
	JE(LabelRef(name + "_done"))
	zidx, ztm := ZMM(), ZMM()
	VMOVDQU32(Mem{Base: gidx}, zidx)
	VPMOVZXWD(Mem{Base: taps}, ztm)
	d := make([]VecVirtual, a)
	MOVQ(x, xn)
	for n := 0; n < a; n++ {
		if n > 0 {
			ADDQ(step, xn)
		}
		d[n] = ZMM()
		VPTESTMD_BCST(bits.Offset(4*n), ztm, K1)
		VPXORD(d[n], d[n], d[n])
		VGATHERDPS(Mem{Base: xn, Index: zidx, Scale: 4}, K1, d[n])
	}
	MOVQ(v, vx)
	for xi := 0; xi < a; xi++ {
		if xi > 0 {
			ADDQ(cs, vx)
		}
		acc := ZMM()
		VMULPS_BCST(Mem{Base: bt, Disp: 4 * (xi * a)}, d[0], acc)
		for n := 1; n < a; n++ {
			VFMADD231PS_BCST(Mem{Base: bt, Disp: 4 * (xi*a + n)}, d[n], acc)
		}
		VMOVUPS(acc, Mem{Base: vx})
	}
	ADDQ(U32(64), v)
	ADDQ(U32(64), gidx)
	ADDQ(U32(32), taps)
	DECQ(nvec)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genWino1Out emits wino1Out{m}x{a}AVX512(y, mm *float32, ms, nk int, bias *float32, relu, ohw, outStep, nout int, at *float32):
// the output transform of one tile of the 1-D Winograd conv F(m, ·) with
// α = a for nk channels, 16 at a time (see winograd1d.go): for channel
// k < nk and output b < nout, y[k*ohw + b*outStep] = Σ_ξ at[b*a+ξ]·M[ξ][k]
// + bias[k], then max(·, 0) if relu != 0, where M[ξ][k] = mm[ξ*ms + k]
// (mm and bias are read in whole blocks of 16), stored with VSCATTERDPS.
func genWino1Out(m, a int, iota Mem) {
	name := fmt.Sprintf("wino1Out%dx%dAVX512", m, a)
	TEXT(name, NOSPLIT, "func(y, mm *float32, ms, nk int, bias *float32, relu, ohw, outStep, nout int, at *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is the output transform of one tile of the 1-D Winograd conv F(%d, ·) (see genWino1Out in internal/asm).", name, m))
	y := Load(Param("y"), GP64())
	mm := Load(Param("mm"), GP64())
	ms := Load(Param("ms"), GP64())
	nk := Load(Param("nk"), GP64())
	bias := Load(Param("bias"), GP64())
	relu := Load(Param("relu"), GP64())
	ohw := GP64()
	Load(Param("ohw"), ohw)
	outStep := Load(Param("outStep"), GP64())
	nout := Load(Param("nout"), GP64())
	at := Load(Param("at"), GP64())
	SHLQ(U8(2), ms)
	SHLQ(U8(2), outStep)
	Comment("zidx = lane·ohw")
	zidx := ZMM()
	VPBROADCASTD(ohw.As32(), zidx)
	VPMULLD(iota, zidx, zidx)
	SHLQ(U8(6), ohw) // 16 planes in bytes
	zero := ZMM()
	VPXORD(zero, zero, zero)
	k0 := GP64()
	XORQ(k0, k0)
	mp, yb := GP64(), GP64()
	Label(name + "_group")
	CMPQ(k0, nk)
	JGE(LabelRef(name + "_done"))
	Comment("K3 = the channels of this group")
	rem := GP64()
	MOVQ(nk, rem)
	SUBQ(k0, rem)
	MOVQ(U32(16), RCX)
	CMPQ(rem, RCX)
	CMOVQLT(rem, RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K3)
	mv := make([]VecVirtual, a)
	LEAQ(Mem{Base: mm, Index: k0, Scale: 4}, mp)
	for xi := 0; xi < a; xi++ {
		if xi > 0 {
			ADDQ(ms, mp)
		}
		mv[xi] = ZMM()
		VMOVUPS(Mem{Base: mp}, mv[xi])
	}
	bv := ZMM()
	VMOVUPS(Mem{Base: bias, Index: k0, Scale: 4}, bv)
	MOVQ(y, yb)
	for b := 0; b < m; b++ {
		if b > 0 {
			CMPQ(nout, U32(b))
			JLE(LabelRef(name + "_next"))
			ADDQ(outStep, yb)
		}
		acc := ZMM()
		VMULPS_BCST(Mem{Base: at, Disp: 4 * (b * a)}, mv[0], acc)
		for xi := 1; xi < a; xi++ {
			VFMADD231PS_BCST(Mem{Base: at, Disp: 4 * (b*a + xi)}, mv[xi], acc)
		}
		VADDPS(bv, acc, acc)
		lbl := fmt.Sprintf("%s_b%d", name, b)
		TESTQ(relu, relu)
		JE(LabelRef(lbl))
		VMAXPS(acc, zero, acc)
		Label(lbl)
		KMOVW(K3, K2)
		VSCATTERDPS(acc, K2, Mem{Base: yb, Index: zidx, Scale: 4})
	}
	Label(name + "_next")
	ADDQ(U32(16), k0)
	ADDQ(ohw, y)
	JMP(LabelRef(name + "_group"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// genPackATrans12 emits packATrans12AVX512(dst, src *float32, kb, lda, rows int):
// one A panel of the 12x32 micro-kernel packed from a transposed A, for
// p < kb: dst[12p+r] = src[p*lda+r] for r < rows (1..12), 0 for rows <= r < 12.
func genPackATrans12() {
	TEXT("packATrans12AVX512", NOSPLIT, "func(dst, src *float32, kb, lda, rows int)")
	Pragma("noescape")
	Doc("packATrans12AVX512 packs one 12-row A panel from a transposed A (see genPackATrans12 in internal/asm).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	kb := Load(Param("kb"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	Load(Param("rows"), RCX)
	Comment("K1 = the low rows bits (loads), K2 = the low 12 bits (stores)")
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K1)
	MOVL(U32(0xfff), EAX)
	KMOVW(EAX, K2)
	Label("packAT12_loop4")
	CMPQ(kb, U32(4))
	JL(LabelRef("packAT12_tail"))
	for u := 0; u < 4; u++ {
		z := []VecPhysical{Z0, Z1, Z2, Z3}[u]
		VMOVUPS_Z(Mem{Base: src}, K1, z)
		ADDQ(lda, src)
		VMOVUPS(z, K2, Mem{Base: dst, Disp: 48 * u})
	}
	ADDQ(U32(4*48), dst)
	SUBQ(U32(4), kb)
	JMP(LabelRef("packAT12_loop4"))
	Label("packAT12_tail")
	TESTQ(kb, kb)
	JE(LabelRef("packAT12_done"))
	VMOVUPS_Z(Mem{Base: src}, K1, Z0)
	ADDQ(lda, src)
	VMOVUPS(Z0, K2, Mem{Base: dst})
	ADDQ(U32(48), dst)
	DECQ(kb)
	JMP(LabelRef("packAT12_tail"))
	Label("packAT12_done")
	VZEROUPPER()
	RET()
}

// bt6Z sets o[j] = (Bᵀ·d)[j] for vectors d[0..5] (d is left intact).
func bt6Z(k winoConsts, d []VecVirtual) []VecVirtual {
	o := make([]VecVirtual, 6)
	for i := range o {
		o[i] = ZMM()
	}
	// o0 = 4·d0 + (-5·d2 + d4); o5 = 4·d1 + (-5·d3 + d5)
	VMOVAPS(d[4], o[0])
	VFMADD231PS_BCST(k.minusFive, d[2], o[0])
	VFMADD231PS_BCST(k.four, d[0], o[0])
	VMOVAPS(d[5], o[5])
	VFMADD231PS_BCST(k.minusFive, d[3], o[5])
	VFMADD231PS_BCST(k.four, d[1], o[5])
	// o1 = (d3 + d4) - 4·(d1 + d2); o2 = (d4 - d3) + 4·(d1 - d2)
	s, e := ZMM(), ZMM()
	VADDPS(d[2], d[1], s)
	VSUBPS(d[2], d[1], e)
	VADDPS(d[4], d[3], o[1])
	VFNMADD231PS_BCST(k.four, s, o[1])
	VSUBPS(d[3], d[4], o[2])
	VFMADD231PS_BCST(k.four, e, o[2])
	// o3 = (d4 - d2) + 2·(d3 - d1); o4 = (d4 - d2) - 2·(d3 - d1)
	g, h := ZMM(), ZMM()
	VSUBPS(d[2], d[4], g)
	VSUBPS(d[1], d[3], h)
	VMOVAPS(g, o[3])
	VFMADD231PS_BCST(k.two, h, o[3])
	VMOVAPS(g, o[4])
	VFNMADD231PS_BCST(k.two, h, o[4])
	return o
}

// at6Z returns (Aᵀ·m)[0..3] for vectors m[0..5] (m is left intact).
func at6Z(k winoConsts, m []VecVirtual) []VecVirtual {
	s12, d12, s34, d34 := ZMM(), ZMM(), ZMM(), ZMM()
	VADDPS(m[2], m[1], s12)
	VSUBPS(m[2], m[1], d12)
	VADDPS(m[4], m[3], s34)
	VSUBPS(m[4], m[3], d34)
	y := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
	// y0 = (m0 + s12) + s34
	VADDPS(s12, m[0], y[0])
	VADDPS(s34, y[0], y[0])
	// y1 = d12 + 2·d34; y2 = s12 + 4·s34; y3 = (d12 + 8·d34) + m5
	VMOVAPS(d12, y[1])
	VFMADD231PS_BCST(k.two, d34, y[1])
	VMOVAPS(s12, y[2])
	VFMADD231PS_BCST(k.four, s34, y[2])
	VMOVAPS(d12, y[3])
	VFMADD231PS_BCST(k.eight, d34, y[3])
	VADDPS(m[5], y[3], y[3])
	return y
}

func genWinoIn(k winoConsts, idx Mem) {
	TEXT("winoInAVX512", NOSPLIT, "func(rows *[6]*float32, n int, r *float32, rs, padL int, v *float32, cs, tw int)")
	Pragma("noescape")
	Doc("winoInAVX512 is the Winograd input transform of one tile row of one channel (see genWinograd in internal/asm).")
	rowsP := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	r := Load(Param("r"), GP64())
	rs := Load(Param("rs"), GP64())
	padL := Load(Param("padL"), GP64())
	SHLQ(U8(2), rs)
	src := make([]GPVirtual, 6)
	for m := range src {
		src[m] = GP64()
		MOVQ(Mem{Base: rowsP, Disp: 8 * m}, src[m])
	}
	Comment("Vertical pass: R[i][padL+x] = (Bᵀ·rows[·][x])[i], 16 columns at a time, the last block masked.")
	dst := GP64()
	LEAQ(Mem{Base: r, Index: padL, Scale: 4}, dst)
	col := GP64()
	XORQ(col, col)
	vblock := func(masked bool) {
		d := make([]VecVirtual, 6)
		for m := range d {
			d[m] = ZMM()
			mem := Mem{Base: src[m], Index: col, Scale: 4}
			if masked {
				VMOVUPS_Z(mem, K1, d[m])
			} else {
				VMOVUPS(mem, d[m])
			}
		}
		o := bt6Z(k, d)
		row := GP64()
		MOVQ(dst, row)
		for i := range o {
			if i > 0 {
				ADDQ(rs, row)
			}
			mem := Mem{Base: row, Index: col, Scale: 4}
			if masked {
				VMOVUPS(o[i], K1, mem)
			} else {
				VMOVUPS(o[i], mem)
			}
		}
	}
	Label("winoIn_vloop")
	rem := GP64()
	MOVQ(n, rem)
	SUBQ(col, rem)
	CMPQ(rem, U32(16))
	JL(LabelRef("winoIn_vtail"))
	vblock(false)
	ADDQ(U32(16), col)
	JMP(LabelRef("winoIn_vloop"))
	Label("winoIn_vtail")
	TESTQ(rem, rem)
	JLE(LabelRef("winoIn_h"))
	tailMask(rem)
	vblock(true)

	Label("winoIn_h")
	Comment("Horizontal pass over 16 tiles at a time: d_n[l] = R[i][4(tx+l)+n].")
	v := Load(Param("v"), GP64())
	cs := Load(Param("cs"), GP64())
	tw := Load(Param("tw"), GP64())
	SHLQ(U8(2), cs)
	cs6 := GP64() // 6·cs: from V's ξ block 6i to 6(i+1)
	LEAQ(Mem{Base: cs, Index: cs, Scale: 2}, cs6)
	SHLQ(U8(1), cs6)
	Comment("K2 = lanes 8-15")
	MOVL(U32(0xff00), EAX)
	KMOVW(EAX, K2)
	ix := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
	for q := range ix {
		VMOVUPS(idx.Offset(64*q), ix[q])
	}
	tx := GP64()
	XORQ(tx, tx)
	Label("winoIn_hloop")
	CMPQ(tx, tw)
	JGE(LabelRef("winoIn_done"))
	Comment("K1 = the lanes of the tiles left in the row")
	rem2 := GP64()
	MOVQ(tw, rem2)
	SUBQ(tx, rem2)
	MOVQ(U32(16), RCX)
	CMPQ(rem2, RCX)
	CMOVQLT(rem2, RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K1)
	ri := GP64()
	LEAQ(Mem{Base: r, Index: tx, Scale: 8}, ri)
	LEAQ(Mem{Base: ri, Index: tx, Scale: 8}, ri) // r + 16·tx bytes = R[0][4tx]
	vi := GP64()
	LEAQ(Mem{Base: v, Index: tx, Scale: 4}, vi)
	for i := 0; i < 6; i++ {
		w := make([]VecVirtual, 5)
		for q := range w {
			w[q] = ZMM()
			VMOVUPS(Mem{Base: ri, Disp: 64 * q}, w[q])
		}
		d := make([]VecVirtual, 6)
		for nn := 0; nn < 4; nn++ {
			lo, hi := ZMM(), ZMM()
			VMOVAPS(ix[nn], lo)
			VPERMI2PS(w[1], w[0], lo)
			VMOVAPS(ix[nn], hi)
			VPERMI2PS(w[3], w[2], hi)
			VMOVAPS(hi, K2, lo)
			d[nn] = lo
		}
		d[4], d[5] = ZMM(), ZMM()
		VALIGND(U8(1), d[0], w[4], d[4])
		w4s := ZMM()
		VALIGND(U8(1), w[4], w[4], w4s)
		VALIGND(U8(1), d[1], w4s, d[5])
		o := bt6Z(k, d)
		// V[(6i+j)*cs + tx]: j = 0, 1, 2 at vi + cs·j; 3, 4, 5 at vi + 18cs... per i.
		b0, b3 := GP64(), GP64()
		MOVQ(vi, b0)
		LEAQ(Mem{Base: vi, Index: cs, Scale: 1}, b3)
		ADDQ(cs, b3)
		ADDQ(cs, b3) // vi + 3cs
		for j := 0; j < 6; j++ {
			base := b0
			if j >= 3 {
				base = b3
			}
			var mem Mem
			switch j % 3 {
			case 0:
				mem = Mem{Base: base}
			case 1:
				mem = Mem{Base: base, Index: cs, Scale: 1}
			case 2:
				mem = Mem{Base: base, Index: cs, Scale: 2}
			}
			VMOVUPS(o[j], K1, mem)
		}
		if i < 5 {
			ADDQ(rs, ri)
			ADDQ(cs6, vi)
		}
	}
	ADDQ(U32(16), tx)
	JMP(LabelRef("winoIn_hloop"))
	Label("winoIn_done")
	VZEROUPPER()
	RET()
}

func genWinoOut(k winoConsts) {
	TEXT("winoOutAVX512", NOSPLIT, "func(y, m *float32, ms, nk int, bias *float32, relu, ohw, ow, rows, cols int)")
	Pragma("noescape")
	Doc("winoOutAVX512 is the Winograd output transform of one tile (see genWinograd in internal/asm).")
	y := Load(Param("y"), GP64())
	m := Load(Param("m"), GP64())
	ms := Load(Param("ms"), GP64())
	nk := Load(Param("nk"), GP64())
	bias := Load(Param("bias"), GP64())
	ohw := Load(Param("ohw"), GP64())
	ow := Load(Param("ow"), GP64())
	SHLQ(U8(2), ms)
	SHLQ(U8(2), ohw)
	SHLQ(U8(2), ow)
	q := GP64() // 6·ms: from M[i][j] to M[i+1][j]
	LEAQ(Mem{Base: ms, Index: ms, Scale: 2}, q)
	SHLQ(U8(1), q)
	q3 := GP64()
	LEAQ(Mem{Base: q, Index: q, Scale: 2}, q3)
	Comment("K2 = the low cols bits")
	Load(Param("cols"), RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K2)
	k0 := GP64()
	XORQ(k0, k0)
	Label("winoOut_group")
	CMPQ(k0, nk)
	JGE(LabelRef("winoOut_done"))
	// Column transform: t[a][j] = (Aᵀ·M[·][j])[a].
	t := make([][]VecVirtual, 4)
	for a := range t {
		t[a] = make([]VecVirtual, 6)
	}
	pj, pk := GP64(), GP64()
	LEAQ(Mem{Base: m, Index: k0, Scale: 4}, pj)
	for j := 0; j < 6; j++ {
		LEAQ(Mem{Base: pj, Index: q3, Scale: 1}, pk)
		mm := make([]VecVirtual, 6)
		mems := []Mem{{Base: pj}, {Base: pj, Index: q, Scale: 1}, {Base: pj, Index: q, Scale: 2},
			{Base: pk}, {Base: pk, Index: q, Scale: 1}, {Base: pk, Index: q, Scale: 2}}
		for i := range mm {
			mm[i] = ZMM()
			VMOVUPS(mems[i], mm[i])
		}
		col := at6Z(k, mm)
		for a := 0; a < 4; a++ {
			t[a][j] = col[a]
		}
		if j < 5 {
			ADDQ(ms, pj)
		}
	}
	bv := ZMM()
	VMOVUPS(Mem{Base: bias, Index: k0, Scale: 4}, bv)
	zero := ZMM()
	VPXORD(zero, zero, zero)
	relu := GP64()
	Load(Param("relu"), relu)
	rows := GP64()
	Load(Param("rows"), rows)
	nv := GP64() // channels in this group
	MOVQ(nk, nv)
	SUBQ(k0, nv)
	ya := GP64()
	MOVQ(k0, ya)
	IMULQ(ohw, ya)
	ADDQ(y, ya) // channel k0, row 0
	for a := 0; a < 4; a++ {
		if a > 0 {
			CMPQ(rows, U32(a))
			JLE(LabelRef("winoOut_next"))
			ADDQ(ow, ya)
		}
		yv := at6Z(k, t[a])
		lbl := fmt.Sprintf("winoOut_a%d", a)
		for b := range yv {
			VADDPS(bv, yv[b], yv[b])
		}
		TESTQ(relu, relu)
		JE(LabelRef(lbl + "_t"))
		for b := range yv {
			VMAXPS(yv[b], zero, yv[b])
		}
		Label(lbl + "_t")
		Comment("Transpose 4×4 within each 128-bit lane: z[s] lane q = channel 4q+s, columns 0-3.")
		t0, t1, t2, t3 := ZMM(), ZMM(), ZMM(), ZMM()
		VUNPCKLPS(yv[1], yv[0], t0)
		VUNPCKHPS(yv[1], yv[0], t1)
		VUNPCKLPS(yv[3], yv[2], t2)
		VUNPCKHPS(yv[3], yv[2], t3)
		z := []VecVirtual{ZMM(), ZMM(), ZMM(), ZMM()}
		VUNPCKLPD(t2, t0, z[0])
		VUNPCKHPD(t2, t0, z[1])
		VUNPCKLPD(t3, t1, z[2])
		VUNPCKHPD(t3, t1, z[3])
		pc := GP64()
		MOVQ(ya, pc)
		for ch := 0; ch < 16; ch++ {
			if ch > 0 {
				CMPQ(nv, U32(ch))
				JLE(LabelRef(lbl + "_end"))
				ADDQ(ohw, pc)
			}
			VEXTRACTF32X4(U8(ch/4), z[ch%4], K2, Mem{Base: pc})
		}
		Label(lbl + "_end")
	}
	Label("winoOut_next")
	ADDQ(U32(16), k0)
	JMP(LabelRef("winoOut_group"))
	Label("winoOut_done")
	VZEROUPPER()
	RET()
}

// genCopyPanels12 emits copyPanels12AVX512(dst, src *float32, n, dstStride int):
// for i < n, the 12 float32s at src+12i go to dst+i*dstStride (the
// 12-pixel A panels of the transposed conv GEMM, see convtr.go).
func genCopyPanels12() {
	TEXT("copyPanels12AVX512", NOSPLIT, "func(dst, src *float32, n, dstStride int)")
	Pragma("noescape")
	Doc("copyPanels12AVX512 copies src[12i : 12i+12] to dst[i*dstStride:] for i < n (see genCopyPanels12 in internal/asm).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	st := Load(Param("dstStride"), GP64())
	SHLQ(U8(2), st)
	MOVL(U32(0xfff), EAX)
	KMOVW(EAX, K1)
	Label("copyPanels12_loop")
	TESTQ(n, n)
	JE(LabelRef("copyPanels12_done"))
	VMOVUPS_Z(Mem{Base: src}, K1, Z0)
	VMOVUPS(Z0, K1, Mem{Base: dst})
	ADDQ(U32(48), src)
	ADDQ(st, dst)
	DECQ(n)
	JMP(LabelRef("copyPanels12_loop"))
	Label("copyPanels12_done")
	VZEROUPPER()
	RET()
}

// genTransposeOut emits transposeOutAVX512(y, c *float32, npix, nk, ldc, ohw int, bias *float32, relu int):
// for channels k < nk (1..16) and pixels i < npix,
// y[k*ohw + i] = c[i*ldc + k] + bias[k], then max(·, 0) if relu != 0,
// in blocks of 16 pixels × 16 channels transposed in registers (c's rows
// are read in whole blocks of 16 rows and 16 columns; bias has 16 entries).
func genTransposeOut() {
	TEXT("transposeOutAVX512", NOSPLIT, "func(y, c *float32, npix, nk, ldc, ohw int, bias *float32, relu int)")
	Pragma("noescape")
	Doc("transposeOutAVX512 stores 16 channels of a pixel-major GEMM result as NCHW planes (see genTransposeOut in internal/asm).")
	y := Load(Param("y"), GP64())
	c := Load(Param("c"), GP64())
	npix := Load(Param("npix"), GP64())
	nk := Load(Param("nk"), GP64())
	ldc := Load(Param("ldc"), GP64())
	ohw := Load(Param("ohw"), GP64())
	bias := Load(Param("bias"), GP64())
	relu := Load(Param("relu"), GP64())
	SHLQ(U8(2), ldc)
	SHLQ(U8(2), ohw)
	i := GP64()
	XORQ(i, i)
	Label("trOut_block")
	CMPQ(i, npix)
	JGE(LabelRef("trOut_done"))
	Comment("K1 = the pixels left in this block")
	rem := GP64()
	MOVQ(npix, rem)
	SUBQ(i, rem)
	MOVQ(U32(16), RCX)
	CMPQ(rem, RCX)
	CMOVQLT(rem, RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K1)
	r := make([]VecVirtual, 16)
	row := GP64()
	MOVQ(c, row)
	for k := range r {
		r[k] = ZMM()
		VMOVUPS(Mem{Base: row}, r[k])
		if k < 15 {
			ADDQ(ldc, row)
		}
	}
	// 32-bit then 64-bit interleaves within 128-bit lanes.
	t := make([]VecVirtual, 16)
	for k := 0; k < 16; k += 2 {
		t[k], t[k+1] = ZMM(), ZMM()
		VUNPCKLPS(r[k+1], r[k], t[k])
		VUNPCKHPS(r[k+1], r[k], t[k+1])
	}
	u := make([]VecVirtual, 16)
	for g := 0; g < 16; g += 4 {
		u[g], u[g+1], u[g+2], u[g+3] = ZMM(), ZMM(), ZMM(), ZMM()
		VUNPCKLPD(t[g+2], t[g], u[g])
		VUNPCKHPD(t[g+2], t[g], u[g+1])
		VUNPCKLPD(t[g+3], t[g+1], u[g+2])
		VUNPCKHPD(t[g+3], t[g+1], u[g+3])
	}
	// u[4q+s] lane L holds rows 4q..4q+3 of column 4L+s; gather the lanes.
	v := make([]VecVirtual, 16)
	for sI := 0; sI < 4; sI++ {
		w0, w1, w2, w3 := ZMM(), ZMM(), ZMM(), ZMM()
		VSHUFF32X4(U8(0x44), u[4+sI], u[sI], w0)
		VSHUFF32X4(U8(0xEE), u[4+sI], u[sI], w1)
		VSHUFF32X4(U8(0x44), u[12+sI], u[8+sI], w2)
		VSHUFF32X4(U8(0xEE), u[12+sI], u[8+sI], w3)
		v[sI], v[4+sI], v[8+sI], v[12+sI] = ZMM(), ZMM(), ZMM(), ZMM()
		VSHUFF32X4(U8(0x88), w2, w0, v[sI])
		VSHUFF32X4(U8(0xDD), w2, w0, v[4+sI])
		VSHUFF32X4(U8(0x88), w3, w1, v[8+sI])
		VSHUFF32X4(U8(0xDD), w3, w1, v[12+sI])
	}
	zero := ZMM()
	VPXORD(zero, zero, zero)
	dst := GP64()
	LEAQ(Mem{Base: y, Index: i, Scale: 4}, dst)
	for k := 0; k < 16; k++ {
		if k > 0 {
			CMPQ(nk, U32(k))
			JLE(LabelRef("trOut_next"))
			ADDQ(ohw, dst)
		}
		VADDPS_BCST(Mem{Base: bias, Disp: 4 * k}, v[k], v[k])
		lbl := fmt.Sprintf("trOut_s%d", k)
		TESTQ(relu, relu)
		JE(LabelRef(lbl))
		VMAXPS(v[k], zero, v[k])
		Label(lbl)
		VMOVUPS(v[k], K1, Mem{Base: dst})
	}
	Label("trOut_next")
	ADDQ(U32(16), i)
	MOVQ(ldc, row)
	SHLQ(U8(4), row)
	ADDQ(row, c)
	JMP(LabelRef("trOut_block"))
	Label("trOut_done")
	VZEROUPPER()
	RET()
}

// genGather emits gatherAVX512(dst, src *float32, offs *int32, blocks int):
// dst[k] = src[offs[k]] for k < 16*blocks (VGATHERDPS), the table mode of
// the im2col packer.
func genGather() {
	TEXT("gatherAVX512", NOSPLIT, "func(dst, src *float32, offs *int32, blocks int)")
	Pragma("noescape")
	Doc("gatherAVX512 sets dst[k] = src[offs[k]] for k < 16*blocks (see genGather in internal/asm).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	offs := Load(Param("offs"), GP64())
	n := Load(Param("blocks"), GP64())
	Label("gather_loop")
	TESTQ(n, n)
	JE(LabelRef("gather_done"))
	VMOVDQU32(Mem{Base: offs}, Z1)
	VPXORD(Z0, Z0, Z0)
	KXNORW(K1, K1, K1)
	VGATHERDPS(Mem{Base: src, Index: Z1, Scale: 4}, K1, Z0)
	VMOVUPS(Z0, Mem{Base: dst})
	ADDQ(U32(64), offs)
	ADDQ(U32(64), dst)
	DECQ(n)
	JMP(LabelRef("gather_loop"))
	Label("gather_done")
	VZEROUPPER()
	RET()
}

// genAddScaled emits addScaledAVX512(y, x, r *float32, n int, s float32, relu int):
// y[i] = x[i] + s*r[i] (the product rounded, then the sum: the same bits as
// the pure-Go loop), then max(·, 0) if relu != 0 (NaN kept), for i < n,
// the last block masked.
func genAddScaled() {
	TEXT("addScaledAVX512", NOSPLIT, "func(y, x, r *float32, n int, s float32, relu int)")
	Pragma("noescape")
	Doc("addScaledAVX512 sets y[i] = x[i] + s*r[i], then ReLU if relu != 0, for i < n (see genAddScaled in internal/asm).")
	y := Load(Param("y"), GP64())
	x := Load(Param("x"), GP64())
	r := Load(Param("r"), GP64())
	n := Load(Param("n"), GP64())
	sv := Load(Param("s"), XMM())
	relu := Load(Param("relu"), GP64())
	VBROADCASTSS(sv, Z31)
	VPXORD(Z30, Z30, Z30)
	block := func(masked bool) {
		if masked {
			VMOVUPS_Z(Mem{Base: r}, K1, Z1)
			VMOVUPS_Z(Mem{Base: x}, K1, Z0)
		} else {
			VMOVUPS(Mem{Base: r}, Z1)
			VMOVUPS(Mem{Base: x}, Z0)
		}
		VMULPS(Z31, Z1, Z1)
		VADDPS(Z1, Z0, Z0)
		lbl := "addScaled_norelu"
		if masked {
			lbl += "_m"
		}
		TESTQ(relu, relu)
		JE(LabelRef(lbl))
		Comment("VMAXPS returns its last Go operand (the sum) when either is NaN")
		VMAXPS(Z0, Z30, Z0)
		Label(lbl)
		if masked {
			VMOVUPS(Z0, K1, Mem{Base: y})
		} else {
			VMOVUPS(Z0, Mem{Base: y})
		}
	}
	Label("addScaled_loop")
	CMPQ(n, U32(16))
	JL(LabelRef("addScaled_tail"))
	block(false)
	ADDQ(U32(64), x)
	ADDQ(U32(64), r)
	ADDQ(U32(64), y)
	SUBQ(U32(16), n)
	JMP(LabelRef("addScaled_loop"))
	Label("addScaled_tail")
	TESTQ(n, n)
	JE(LabelRef("addScaled_done"))
	tailMask(n)
	block(true)
	Label("addScaled_done")
	VZEROUPPER()
	RET()
}

// genGatherMasked emits gatherMaskedAVX512(dst, src *float32, iys, ixs *int32, blocks, dy, dx, h, w int):
// for k < 16*blocks, with iy = iys[k]+dy and ix = ixs[k]+dx,
// dst[k] = src[iy*w + ix] when 0 <= iy < h and 0 <= ix < w, else 0
// (VGATHERDPS under the lane mask of the inside elements): the padded
// table mode of the im2col packer.
func genGatherMasked() {
	TEXT("gatherMaskedAVX512", NOSPLIT, "func(dst, src *float32, iys, ixs *int32, blocks, dy, dx, h, w int)")
	Pragma("noescape")
	Doc("gatherMaskedAVX512 gathers the elements of a padded im2col row (see genGatherMasked in internal/asm).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	iys := Load(Param("iys"), GP64())
	ixs := Load(Param("ixs"), GP64())
	n := Load(Param("blocks"), GP64())
	t := GP64()
	Load(Param("dy"), t)
	VPBROADCASTD(t.As32(), Z10)
	Load(Param("dx"), t)
	VPBROADCASTD(t.As32(), Z11)
	Load(Param("h"), t)
	VPBROADCASTD(t.As32(), Z12)
	Load(Param("w"), t)
	VPBROADCASTD(t.As32(), Z13)
	VPXORD(Z14, Z14, Z14)
	Label("gatherMasked_loop")
	TESTQ(n, n)
	JE(LabelRef("gatherMasked_done"))
	VMOVDQU32(Mem{Base: iys}, Z1)
	VMOVDQU32(Mem{Base: ixs}, Z2)
	VPADDD(Z10, Z1, Z1)
	VPADDD(Z11, Z2, Z2)
	Comment("K1 = 0 <= iy < h and 0 <= ix < w (unsigned compares)")
	VPCMPUD(U8(1), Z12, Z1, K1) // iy < h, as unsigned: also iy >= 0
	VPCMPUD(U8(1), Z13, Z2, K1, K1)
	VPMULLD(Z13, Z1, Z3)
	VPADDD(Z2, Z3, Z3)
	VPXORD(Z0, Z0, Z0)
	VGATHERDPS(Mem{Base: src, Index: Z3, Scale: 4}, K1, Z0)
	VMOVUPS(Z0, Mem{Base: dst})
	ADDQ(U32(64), iys)
	ADDQ(U32(64), ixs)
	ADDQ(U32(64), dst)
	DECQ(n)
	JMP(LabelRef("gatherMasked_loop"))
	Label("gatherMasked_done")
	VZEROUPPER()
	RET()
}

// tapRegs are the loop registers shared by the flat stencil kernels of
// Taps (taps.go): the mask table pointer mcur (moving mstep bytes per
// block, wrapping back by mspan at mend), the tap count nt, the block
// counts, and the tap index t with a scratch register o.
type tapRegs struct {
	mcur, mend, mstep, mspan, nt, blocks, tail, t, o GPVirtual
}

// loadTapRegs loads the parameters masks, mstep, mspan, blocks, tail and
// (withNT) nt.
func loadTapRegs(withNT bool) tapRegs {
	r := tapRegs{mcur: GP64(), mend: GP64(), mstep: GP64(), mspan: GP64(), blocks: GP64(), tail: GP64(), t: GP64(), o: GP64()}
	Load(Param("masks"), r.mcur)
	if withNT {
		r.nt = GP64()
		Load(Param("nt"), r.nt)
	}
	Load(Param("mstep"), r.mstep)
	Load(Param("mspan"), r.mspan)
	Load(Param("blocks"), r.blocks)
	Load(Param("tail"), r.tail)
	LEAQ(Mem{Base: r.mcur, Index: r.mspan, Scale: 1}, r.mend)
	return r
}

// tapLoop emits the block loop: blocks full blocks of 16 lanes (K1 all
// set), then one block with K1 = tail if tail != 0. body emits one block
// (K1 the lanes to write); advance moves the data pointers by one block.
func tapLoop(name string, r tapRegs, body, advance func()) {
	KXNORW(K1, K1, K1)
	Label(name + "_loop")
	TESTQ(r.blocks, r.blocks)
	JNE(LabelRef(name + "_body"))
	TESTQ(r.tail, r.tail)
	JE(LabelRef(name + "_done"))
	KMOVW(r.tail.As32(), K1)
	XORQ(r.tail, r.tail)
	INCQ(r.blocks)
	Label(name + "_body")
	body()
	advance()
	ADDQ(r.mstep, r.mcur)
	CMPQ(r.mcur, r.mend)
	JNE(LabelRef(name + "_nowrap"))
	SUBQ(r.mspan, r.mcur)
	Label(name + "_nowrap")
	DECQ(r.blocks)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// eachTap emits, inside a block, the loop over the taps t < nt: K2 = the
// lanes of K1 that tap t reads (a tap with none is skipped), then body,
// which may use o.
func eachTap(name string, r tapRegs, body func()) {
	XORQ(r.t, r.t)
	Label(name + "_tap")
	MOVWLZX(Mem{Base: r.mcur, Index: r.t, Scale: 2}, r.o.As32())
	KMOVW(r.o.As32(), K2)
	KANDW(K1, K2, K2)
	KORTESTW(K2, K2) // no lane reads this tap: skip it
	JE(LabelRef(name + "_skip"))
	body()
	Label(name + "_skip")
	INCQ(r.t)
	CMPQ(r.t, r.nt)
	JL(LabelRef(name + "_tap"))
}

// genTaps emits the AVX-512 kernels of Taps (taps.go): stencils of kernel
// taps over whole H×W planes stored one after another, vectorised over
// the flat element index f (16 lanes, across plane boundaries), each tap
// t an element offset valid on the lanes of a periodic mask table
// (masks[v*nt+t] for block v of a period of blocks; the table pointer
// steps mstep bytes per block and wraps by mspan). Lanes outside a mask
// are never loaded (masked loads: no fault).
func genTaps() {
	// tapGather: dst[f] = src[f+off] on the mask's lanes, else 0.
	TEXT("tapGatherAVX512", NOSPLIT, "func(dst, src *float32, off int, masks *uint16, mstep, mspan, blocks, tail int)")
	Pragma("noescape")
	Doc("tapGatherAVX512 copies one tap of a stencil with zeros outside the planes (see genTaps in internal/asm).")
	{
		dst := Load(Param("dst"), GP64())
		src := Load(Param("src"), GP64())
		off := Load(Param("off"), GP64())
		r := loadTapRegs(false)
		LEAQ(Mem{Base: src, Index: off, Scale: 4}, src)
		tapLoop("tapGather", r, func() {
			KMOVW(Mem{Base: r.mcur}, K2)
			KANDW(K1, K2, K2)
			VMOVUPS_Z(Mem{Base: src}, K2, Z0)
			VMOVUPS(Z0, K1, Mem{Base: dst})
		}, func() {
			ADDQ(U32(64), src)
			ADDQ(U32(64), dst)
		})
	}

	// tapSum: dst[f] = Σ_t src[rel[t]+f] over the taps t < nt whose mask
	// has lane f, added in order t = 0, 1, ... starting from +0.
	TEXT("tapSumAVX512", NOSPLIT, "func(dst, src *float32, rel *int32, masks *uint16, nt, mstep, mspan, blocks, tail int)")
	Pragma("noescape")
	Doc("tapSumAVX512 sums the taps of a stencil that land on each element (see genTaps in internal/asm).")
	{
		dst := Load(Param("dst"), GP64())
		src := Load(Param("src"), GP64())
		rel := Load(Param("rel"), GP64())
		r := loadTapRegs(true)
		tapLoop("tapSum", r, func() {
			VPXORD(Z0, Z0, Z0)
			eachTap("tapSum", r, func() {
				MOVLQSX(Mem{Base: rel, Index: r.t, Scale: 4}, r.o)
				VADDPS(Mem{Base: src, Index: r.o, Scale: 4}, Z0, K2, Z0)
			})
			VMOVUPS(Z0, K1, Mem{Base: dst})
		}, func() {
			ADDQ(U32(64), src)
			ADDQ(U32(64), dst)
		})
	}

	// tapMaxArg: arg[f] = the first tap t (in table order) whose mask has
	// lane f and with key(x[f+offs[t]]) == key(y[f]), key(v) the bits of
	// v+0 (−0 and +0 alike, a NaN equal to itself), else −1.
	TEXT("tapMaxArgAVX512", NOSPLIT, "func(arg *int32, x, y *float32, offs *int32, masks *uint16, nt, mstep, mspan, blocks, tail int)")
	Pragma("noescape")
	Doc("tapMaxArgAVX512 finds the tap of each max-pool output's window that holds its maximum (see genTaps in internal/asm).")
	{
		arg := Load(Param("arg"), GP64())
		x := Load(Param("x"), GP64())
		y := Load(Param("y"), GP64())
		offs := Load(Param("offs"), GP64())
		r := loadTapRegs(true)
		VPXORD(Z31, Z31, Z31)
		tapLoop("tapMaxArg", r, func() {
			VMOVUPS_Z(Mem{Base: y}, K1, Z1)
			VADDPS(Z31, Z1, Z1)
			VPTERNLOGD(U8(0xff), Z2, Z2, Z2) // arg = −1
			KXORW(K3, K3, K3)                // found
			eachTap("tapMaxArg", r, func() {
				MOVLQSX(Mem{Base: offs, Index: r.t, Scale: 4}, r.o)
				VMOVUPS_Z(Mem{Base: x, Index: r.o, Scale: 4}, K2, Z0)
				VADDPS(Z31, Z0, Z0)
				VPCMPEQD(Z1, Z0, K2, K4)
				Comment("K4 = K4 &^ K3 (not found before), K3 |= K4")
				KANDNW(K4, K3, K4)
				KORW(K4, K3, K3)
				VPBROADCASTD(r.t.As32(), K4, Z2)
			})
			VMOVDQU32(Z2, K1, Mem{Base: arg})
		}, func() {
			ADDQ(U32(64), x)
			ADDQ(U32(64), y)
			ADDQ(U32(64), arg)
		})
	}

	// tapMaxGrad: dx[f] = Σ_i dy[f+rel[i]] over the entries i < nt whose
	// mask has lane f and with arg[f+rel[i]] == ids[i], in order i = 0,
	// 1, ... starting from +0.
	TEXT("tapMaxGradAVX512", NOSPLIT, "func(dx, dy *float32, arg, rel, ids *int32, masks *uint16, nt, mstep, mspan, blocks, tail int)")
	Pragma("noescape")
	Doc("tapMaxGradAVX512 gathers the max-pool gradient of each input element (see genTaps in internal/asm).")
	{
		dx := Load(Param("dx"), GP64())
		dy := Load(Param("dy"), GP64())
		arg := Load(Param("arg"), GP64())
		rel := Load(Param("rel"), GP64())
		ids := Load(Param("ids"), GP64())
		r := loadTapRegs(true)
		tapLoop("tapMaxGrad", r, func() {
			VPXORD(Z0, Z0, Z0)
			eachTap("tapMaxGrad", r, func() {
				VPBROADCASTD(Mem{Base: ids, Index: r.t, Scale: 4}, Z1)
				MOVLQSX(Mem{Base: rel, Index: r.t, Scale: 4}, r.o)
				VMOVDQU32_Z(Mem{Base: arg, Index: r.o, Scale: 4}, K2, Z2)
				VPCMPEQD(Z2, Z1, K2, K3)
				VADDPS(Mem{Base: dy, Index: r.o, Scale: 4}, Z0, K3, Z0)
			})
			VMOVUPS(Z0, K1, Mem{Base: dx})
		}, func() {
			ADDQ(U32(64), dx)
			ADDQ(U32(64), dy)
			ADDQ(U32(64), arg)
		})
	}
}

// genPackTrans emits packTrans32AVX512 and packTrans12AVX512(dst, src
// *float32, kb, ld, m1, m2 int): the transposing pack of a GEMM operand
// whose reduction index is contiguous in memory (B stored n×k, or A
// stored m×k, packed into panels of nr = 32 or 12 rows):
// dst[p*nr + r] = src[r*ld + p] for p < kb, gathered 16 rows at a time
// (VGATHERDPS, rows r*ld apart) under the lane masks m1 (rows 0-15) and
// m2 (rows 16-31) of the rows that exist; the others are 0.
func genPackTrans() {
	iota := GLOBL("packTransIota", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(i))
	}
	for _, nr := range []int{32, 12} {
		name := fmt.Sprintf("packTrans%dAVX512", nr)
		TEXT(name, NOSPLIT, "func(dst, src *float32, kb, ld, m1, m2 int)")
		Pragma("noescape")
		Doc(name + " packs a transposed panel (see genPackTrans in internal/asm).")
		dst := Load(Param("dst"), GP64())
		src := Load(Param("src"), GP64())
		kb := Load(Param("kb"), GP64())
		ld := GP64()
		Load(Param("ld"), ld)
		m1 := GP64()
		Load(Param("m1"), m1)
		m2 := GP64()
		Load(Param("m2"), m2)
		VPBROADCASTD(ld.As32(), Z2)
		VPMULLD(iota, Z2, Z0) // lane r: r*ld
		SHLQ(U8(4), ld)
		VPBROADCASTD(ld.As32(), Z3)
		VPADDD(Z3, Z0, Z1) // lane r: (16+r)*ld
		KMOVW(m1.As32(), K1)
		KMOVW(m2.As32(), K2)
		if nr == 12 {
			MOVL(U32(0xfff), m2.As32())
			KMOVW(m2.As32(), K5)
		}
		Label(name + "_loop")
		TESTQ(kb, kb)
		JE(LabelRef(name + "_done"))
		VPXORD(Z4, Z4, Z4)
		KMOVW(K1, K3)
		VGATHERDPS(Mem{Base: src, Index: Z0, Scale: 4}, K3, Z4)
		if nr == 32 {
			VPXORD(Z5, Z5, Z5)
			KMOVW(K2, K4)
			VGATHERDPS(Mem{Base: src, Index: Z1, Scale: 4}, K4, Z5)
			VMOVUPS(Z4, Mem{Base: dst})
			VMOVUPS(Z5, Mem{Base: dst, Disp: 64})
		} else {
			VMOVUPS(Z4, K5, Mem{Base: dst})
		}
		ADDQ(U32(4), src)
		ADDQ(U32(4*nr), dst)
		DECQ(kb)
		JMP(LabelRef(name + "_loop"))
		Label(name + "_done")
		VZEROUPPER()
		RET()
	}
}

// transpose16 transposes the 16×16 block held in r (r[i] = row i) in
// place, using t as scratch: unpacks of 32- and 64-bit elements, then two
// rounds of 128-bit lane shuffles; afterwards r[i] holds column i.
func transpose16(r, t []VecPhysical) {
	for i := 0; i < 16; i += 2 {
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	for i := 0; i < 16; i += 4 {
		VUNPCKLPD(t[i+2], t[i], r[i])
		VUNPCKHPD(t[i+2], t[i], r[i+1])
		VUNPCKLPD(t[i+3], t[i+1], r[i+2])
		VUNPCKHPD(t[i+3], t[i+1], r[i+3])
	}
	for _, b := range []int{0, 8} {
		for i := 0; i < 4; i++ {
			VSHUFF32X4(U8(0x88), r[b+4+i], r[b+i], t[b+i])
			VSHUFF32X4(U8(0xdd), r[b+4+i], r[b+i], t[b+4+i])
		}
	}
	for i := 0; i < 8; i++ {
		VSHUFF32X4(U8(0x88), t[8+i], t[i], r[i])
		VSHUFF32X4(U8(0xdd), t[8+i], t[i], r[8+i])
	}
}

// genPackTransT emits packTrans32TAVX512 and packTrans12TAVX512(dst,
// src *float32, blocks, ld int): the full panels of genPackTrans (32 or
// 12 rows), 16 columns p at a time: dst[p*nr + r] = src[r*ld + p] for
// p < 16*blocks and r < nr, by loading 16 rows of 16 contiguous elements
// (12 rows and 4 zero registers for nr 12) and transposing them in
// registers.
func genPackTransT() {
	for _, nr := range []int{32, 12} {
		name := fmt.Sprintf("packTrans%dTAVX512", nr)
		TEXT(name, NOSPLIT, "func(dst, src *float32, blocks, ld int)")
		Pragma("noescape")
		Doc(name + " packs full transposed panels 16 columns at a time (see genPackTransT in internal/asm).")
		dst := Load(Param("dst"), GP64())
		src := Load(Param("src"), GP64())
		n := Load(Param("blocks"), GP64())
		ld := Load(Param("ld"), GP64())
		SHLQ(U8(2), ld)
		rp := GP64()
		r := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15}
		t := []VecPhysical{Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
		if nr == 12 {
			m := GP32()
			MOVL(U32(0xfff), m)
			KMOVW(m, K1)
		}
		Label(name + "_loop")
		TESTQ(n, n)
		JE(LabelRef(name + "_done"))
		MOVQ(src, rp)
		for h := 0; h < (nr+15)/16; h++ {
			for i := 0; i < 16; i++ {
				if h*16+i >= nr {
					VPXORD(r[i], r[i], r[i])
					continue
				}
				VMOVUPS(Mem{Base: rp}, r[i])
				ADDQ(ld, rp)
			}
			transpose16(r, t)
			for i := 0; i < 16; i++ {
				if nr == 12 {
					VMOVUPS(r[i], K1, Mem{Base: dst, Disp: 4 * nr * i})
				} else {
					VMOVUPS(r[i], Mem{Base: dst, Disp: 4*nr*i + 64*h})
				}
			}
		}
		ADDQ(U32(64), src)
		ADDQ(U32(16*4*nr), dst)
		DECQ(n)
		JMP(LabelRef(name + "_loop"))
		Label(name + "_done")
		VZEROUPPER()
		RET()
	}
}

// genReluMask emits reluMaskAVX512(dx, y, dy *float32, n int):
// dx[i] = dy[i] where y[i] > 0 (ordered: not for NaN), else +0, the last
// block masked: the gradient of a ReLU from its output.
func genReluMask() {
	TEXT("reluMaskAVX512", NOSPLIT, "func(dx, y, dy *float32, n int)")
	Pragma("noescape")
	Doc("reluMaskAVX512 passes dy where y > 0 and 0 elsewhere (see genReluMask in internal/asm).")
	dx := Load(Param("dx"), GP64())
	y := Load(Param("y"), GP64())
	dy := Load(Param("dy"), GP64())
	n := Load(Param("n"), GP64())
	VPXORD(Z31, Z31, Z31)
	Label("reluMask_loop")
	CMPQ(n, U32(16))
	JL(LabelRef("reluMask_tail"))
	VCMPPS(U8(0x11), Mem{Base: y}, Z31, K2) // 0 < y, ordered quiet (LT_OQ)
	VMOVUPS_Z(Mem{Base: dy}, K2, Z0)
	VMOVUPS(Z0, Mem{Base: dx})
	ADDQ(U32(64), dx)
	ADDQ(U32(64), y)
	ADDQ(U32(64), dy)
	SUBQ(U32(16), n)
	JMP(LabelRef("reluMask_loop"))
	Label("reluMask_tail")
	TESTQ(n, n)
	JE(LabelRef("reluMask_done"))
	tailMask(n)
	VMOVUPS_Z(Mem{Base: y}, K1, Z1)
	VCMPPS(U8(0x11), Z1, Z31, K1, K2)
	VMOVUPS_Z(Mem{Base: dy}, K2, Z0)
	VMOVUPS(Z0, K1, Mem{Base: dx})
	Label("reluMask_done")
	VZEROUPPER()
	RET()
}

// genSum64 emits sum64AVX512(x *float32, n int) float64: the sum of the
// n float32 values, each converted to float64, in eight float64 lanes per
// accumulator (four accumulators), reduced at the end.
func genSum64() {
	TEXT("sum64AVX512", NOSPLIT, "func(x *float32, n int) float64")
	Pragma("noescape")
	Doc("sum64AVX512 sums float32 values in float64 (see genSum64 in internal/asm).")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	acc := []VecPhysical{Z0, Z1, Z2, Z3}
	for _, a := range acc {
		VPXORD(a, a, a)
	}
	Label("sum64_loop")
	CMPQ(n, U32(32))
	JL(LabelRef("sum64_tail"))
	for i := 0; i < 4; i++ {
		VCVTPS2PD(Mem{Base: x, Disp: 32 * i}, Z4)
		VADDPD(Z4, acc[i], acc[i])
	}
	ADDQ(U32(128), x)
	SUBQ(U32(32), n)
	JMP(LabelRef("sum64_loop"))
	Label("sum64_tail")
	Comment("the last n < 32 values, 8 at a time, the last block masked")
	Label("sum64_tail8")
	TESTQ(n, n)
	JE(LabelRef("sum64_reduce"))
	CMPQ(n, U32(8))
	JL(LabelRef("sum64_last"))
	VCVTPS2PD(Mem{Base: x}, Z4)
	VADDPD(Z4, Z0, Z0)
	ADDQ(U32(32), x)
	SUBQ(U32(8), n)
	JMP(LabelRef("sum64_tail8"))
	Label("sum64_last")
	tailMask(n)
	VMOVUPS_Z(Mem{Base: x}, K1, Y5)
	VCVTPS2PD(Y5, Z4)
	VADDPD(Z4, Z1, Z1)
	Label("sum64_reduce")
	VADDPD(Z1, Z0, Z0)
	VADDPD(Z3, Z2, Z2)
	VADDPD(Z2, Z0, Z0)
	VEXTRACTF64X4(U8(1), Z0, Y1)
	VADDPD(Y1, Y0, Y0)
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPD(X1, X0, X0)
	VPERMILPD(U8(1), X0, X1)
	VADDSD(X1, X0, X0)
	Store(X0, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
