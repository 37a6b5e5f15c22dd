// Command asm generates the amd64 GEMM micro-kernels and the AVX-512
// pooling row kernels of package kernels (gemm_amd64.s and
// gemm_amd64_stubs.go) with avo. Run it through
// `go generate ./engine/kernels` (see the go:generate line in gemm_amd64.go).
package main

import (
	"fmt"

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
	for _, rows := range []int{4, 8, 12} {
		for _, nv := range []int{1, 2} {
			genEdgeKernel(fmt.Sprintf("gemmKernAVX512Edge%dx%d", rows, nv*16), rows, nv, zs[:rows*nv],
				[]VecPhysical{Z24, Z25}, []VecPhysical{Z26, Z27})
		}
	}
	genRowOps()
	genCopyPanels()
	genPoolOps()
	genDot()
	genDeinterleave()
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
// first nv*16 columns: the same k loop per element (and so the same bits)
// as genKernel, but only the first rows rows (1..mr) and cols columns
// (1..nv*16) of C are read (flagAccum), biased (bias has rows entries) and
// stored, the columns through the K1 (lanes 0-15) and K2 (lanes 16-31)
// masks.
func genEdgeKernel(name string, mr, nv int, acc, bv, av []VecPhysical) {
	const lanes, unroll, stride = 16, 2, 12 // stride: rows of the A panel
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
	tmp, zero, bb := Z24, Z25, Z26
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
