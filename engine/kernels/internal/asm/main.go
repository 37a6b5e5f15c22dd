// Command asm generates the amd64 GEMM micro-kernels of package kernels
// (gemm_amd64.s and gemm_amd64_stubs.go) with avo. Run it through
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
