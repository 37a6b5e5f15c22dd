package kernels

import (
	"fmt"
	"math"
	"testing"
)

// refGemm: C = alpha*op(A)*op(B) + beta*C in float64, straight from the
// definition.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

func runSgemmCase(t *testing.T, seed uint64, transA, transB bool, m, n, k int, alpha, beta float32, pad int) {
	t.Helper()
	r := newRNG(seed)
	// Scale so that the dot products are O(1).
	sc := 1 / math.Sqrt(float64(max(k, 1)))
	lda, ldb, ldc := k+pad, n+pad, n+pad
	aRows, bRows := m, k
	if transA {
		lda, aRows = m+pad, k
	}
	if transB {
		ldb, bRows = k+pad, n
	}
	a := randSlice(r, aRows*lda, 1)
	b := randSlice(r, bRows*ldb, sc)
	c := randSlice(r, m*ldc, 1)
	want := to64(c)
	refGemm(transA, transB, m, n, k, float64(alpha), to64(a), lda, to64(b), ldb, float64(beta), want, ldc)
	Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	checkClose(t, fmt.Sprintf("Sgemm(tA=%v,tB=%v,m=%d,n=%d,k=%d,alpha=%v,beta=%v,pad=%d)", transA, transB, m, n, k, alpha, beta, pad), c, want)
}

func testSgemmShapes(t *testing.T) {
	// Sizes straddle every path's micro-tile (4×2, 6×16, 12×32) and cache
	// block (mc 64/96, nc 256, kc 256) boundaries.
	sizes := []int{1, 2, 5, 7, 15, 16, 17, 31, 33, 65, 129}
	ks := []int{1, 2, 5, 16, 17, 300}
	if raceEnabled || testing.Short() {
		sizes = []int{1, 5, 16, 17, 33, 129}
		ks = []int{1, 7, 300}
	}
	seed := uint64(1)
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for _, m := range sizes {
				for _, n := range sizes {
					for _, k := range ks {
						seed++
						runSgemmCase(t, seed, tA, tB, m, n, k, 1, 0, 0)
					}
				}
			}
		}
	}
	// Larger and odd dimensions, including n > nc and k > 2*kc.
	big := [][3]int{{300, 31, 33}, {31, 300, 129}, {33, 65, 1000}, {129, 300, 15}, {300, 300, 300}, {2, 1000, 5}, {1000, 2, 7}}
	if raceEnabled {
		big = [][3]int{{300, 31, 33}, {33, 65, 1000}, {2, 1000, 5}}
	}
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for _, sz := range big {
				seed++
				runSgemmCase(t, seed, tA, tB, sz[0], sz[1], sz[2], 1, 0, 1)
			}
		}
	}
}

func testSgemmAlphaBeta(t *testing.T) {
	seed := uint64(1000)
	for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -2}, {-1.5, 0.25}, {0, 0.5}, {0, 0}, {2, 0}} {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				seed++
				runSgemmCase(t, seed, tA, tB, 33, 45, 520, ab[0], ab[1], 3)
			}
		}
	}
}

func testSgemmLarge(t *testing.T) {
	runSgemmCase(t, 7, false, false, 1000, 129, 65, 1, 0, 0)
	runSgemmCase(t, 8, false, true, 65, 1000, 129, 1, 0.5, 0)
	if raceEnabled {
		runSgemmCase(t, 9, true, false, 33, 300, 1000, 0.5, 0, 1)
		return
	}
	runSgemmCase(t, 9, true, false, 129, 300, 1000, 0.5, 0, 1)
	runSgemmCase(t, 10, false, false, 1, 1000, 1000, 1, 0, 0)
}

func testSgemmKZeroAndBetaZeroIgnoresNaN(t *testing.T) {
	c := []float32{float32(math.NaN()), 1, 2, 3}
	Sgemm(false, false, 2, 2, 0, 1, nil, 0, nil, 2, 0, c, 2)
	for i, v := range c {
		if v != 0 {
			t.Fatalf("k=0,beta=0: c[%d]: got %v, want 0", i, v)
		}
	}
	c = []float32{float32(math.NaN()), 1, 2, 3}
	a := []float32{1, 2, 3, 4}
	b := []float32{1, 0, 0, 1}
	Sgemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	checkClose(t, "beta=0 with NaN C", c, []float64{1, 2, 3, 4})
	c = []float32{1, 2, 3, 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 0, nil, 2, 2, c, 2)
	checkClose(t, "k=0,beta=2", c, []float64{2, 4, 6, 8})
}

func TestSgemmPanics(t *testing.T) {
	mustPanic(t, "short a", func() {
		Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
	})
	mustPanic(t, "short c", func() {
		Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
	})
	mustPanic(t, "bad ldb", func() {
		Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 1, 0, make([]float32, 4), 2)
	})
	mustPanic(t, "short bias", func() {
		GemmEpi(2, 2, 2, make([]float32, 4), 2, make([]float32, 4), 2, make([]float32, 4), 2, Epilogue{Bias: []float32{1}})
	})
}

func testGemmEpi(t *testing.T) {
	seed := uint64(5000)
	sizes := [][3]int{{1, 1, 1}, {7, 17, 9}, {65, 129, 300}, {128, 784, 576}, {3, 1000, 17}}
	if raceEnabled {
		sizes = [][3]int{{1, 1, 1}, {7, 17, 9}, {65, 129, 300}, {3, 1000, 17}}
	}
	for _, sz := range sizes {
		for _, withBias := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				seed++
				r := newRNG(seed)
				m, n, k := sz[0], sz[1], sz[2]
				ldc := n + 5
				a := randSlice(r, m*k, 1)
				b := randSlice(r, k*n, 1/math.Sqrt(float64(k)))
				c := randSlice(r, m*ldc, 1)
				want := to64(c)
				var bias []float32
				if withBias {
					bias = randSlice(r, m, 1)
				}
				refGemm(false, false, m, n, k, 1, to64(a), k, to64(b), n, 0, want, ldc)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						v := want[i*ldc+j]
						if bias != nil {
							v += float64(bias[i])
						}
						if relu {
							v = math.Max(v, 0)
						}
						want[i*ldc+j] = v
					}
				}
				GemmEpi(m, n, k, a, k, b, n, c, ldc, Epilogue{Bias: bias, ReLU: relu})
				checkClose(t, fmt.Sprintf("GemmEpi(%v,bias=%v,relu=%v)", sz, withBias, relu), c, want)
			}
		}
	}
}

// TestTileGrid checks tileGrid's grids on random shapes: at least the
// minimal grid, at most one block per panel, every block within the
// packing buffers (mc rows, nc columns), and the same grid twice (cache).
func TestTileGrid(t *testing.T) {
	r := newRNG(51)
	for _, mk := range kernelPaths {
		for iter := 0; iter < 300; iter++ {
			m, n, k := 1+r.IntN(900), 1+r.IntN(3000), 1+r.IntN(2000)
			procs := 2 + r.IntN(7)
			pm, pn := (m+mk.mr-1)/mk.mr, (n+mk.nr-1)/mk.nr
			gm0, gn0 := (pm*mk.mr+mk.mc-1)/mk.mc, (pn*mk.nr+mk.nc-1)/mk.nc
			s := tileShape{pm: pm, pn: pn, gm0: gm0, gn0: gn0, k: k, mr: mk.mr, nr: mk.nr, rm: m % mk.mr, rn: n % mk.nr, procs: procs}
			gm, gn := tileGrid(s)
			if gm < gm0 || gn < gn0 || gm > pm || gn > pn {
				t.Fatalf("%s m=%d n=%d procs=%d: grid %dx%d outside [%d,%d]x[%d,%d]", mk.name, m, n, procs, gm, gn, gm0, pm, gn0, pn)
			}
			if rows := (pm + gm - 1) / gm * mk.mr; rows > mk.mc {
				t.Fatalf("%s m=%d n=%d: blocks of %d rows > mc %d", mk.name, m, n, rows, mk.mc)
			}
			if cols := (pn + gn - 1) / gn * mk.nr; cols > mk.nc {
				t.Fatalf("%s m=%d n=%d: blocks of %d columns > nc %d", mk.name, m, n, cols, mk.nc)
			}
			if gm2, gn2 := tileGrid(s); gm2 != gm || gn2 != gn {
				t.Fatalf("%s m=%d n=%d: grid %dx%d, then %dx%d", mk.name, m, n, gm, gn, gm2, gn2)
			}
		}
	}
}
