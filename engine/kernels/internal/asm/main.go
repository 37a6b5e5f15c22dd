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

// genKernel emits a micro-kernel computing the mr×(nv*lanes) tile
// acc = A·B over kc steps, where A is a packed panel a[p*mr+r] and B a packed
// panel b[p*nr+j] (nr = nv*lanes), then stores acc into the row-major C tile
// c[r*ldc+j] (C = acc, or C += acc when accum). unroll is the k-loop unroll
// factor; the summation order per element is always p = 0, 1, ..., kc-1.
func genKernel(name, desc string, mr, nv, lanes, unroll int, acc, bv, av []VecPhysical) {
	TEXT(name, NOSPLIT, "func(kc int, a, b, c *float32, ldc int, accum bool)")
	Doc(fmt.Sprintf("%s computes the %s micro-tile (see genKernel in internal/asm).", name, desc))
	nr := nv * lanes
	vbytes := lanes * 4
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	for _, r := range acc {
		if lanes == 16 {
			VPXORD(r, r, r) // VXORPS on ZMM would need AVX512DQ
		} else {
			VXORPS(r, r, r)
		}
	}
	step := func(u int) {
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: (u*nr + v*lanes) * 4}, bv[v])
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
	ADDQ(U32(unroll*nr*4), b)
	SUBQ(U32(unroll), kc)
	JMP(LabelRef(name + "_loopU"))

	Comment("Remaining k steps.")
	Label(name + "_tail")
	TESTQ(kc, kc)
	JE(LabelRef(name + "_store"))
	step(0)
	ADDQ(U32(mr*4), a)
	ADDQ(U32(nr*4), b)
	DECQ(kc)
	JMP(LabelRef(name + "_tail"))

	Label(name + "_store")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	accum := Load(Param("accum"), GP8())
	TESTB(accum, accum)
	JE(LabelRef(name + "_overwrite"))
	Comment("C += acc")
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			m := Mem{Base: c, Disp: v * vbytes}
			VADDPS(m, acc[r*nv+v], acc[r*nv+v])
			VMOVUPS(acc[r*nv+v], m)
		}
		if r < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
	Label(name + "_overwrite")
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
