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
	genKernel("gemmKernAVX512", "AVX-512F 12x32", 12, 2, 16, 2,
		[]VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11,
			Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23},
		[]VecPhysical{Z24, Z25}, []VecPhysical{Z26, Z27})
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
	for _, r := range acc {
		zero(r)
	}
	step := func(u int) {
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: v * vbytes}, bv[v])
		}
		ADDQ(ldb, b)
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
		Comment("K1 = (1<<n) - 1")
		MOVQ(n, RCX)
		MOVL(U32(1), EAX)
		SHLL(CL, EAX)
		DECL(EAX)
		KMOVW(EAX, K1)
		block(true)
		Label(op.name + "_done")
		VZEROUPPER()
		RET()
	}
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
