package kernels

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
)

// allPaths names every GEMM path, available on this CPU or not.
var allPaths = []string{PathGeneric, PathAVX2, PathAVX512}

// setPath makes the named GEMM path active and returns a function restoring
// the previous one. It panics if the CPU lacks the path. Tests that switch
// paths must not run in parallel with other GEMM tests that compare paths.
func setPath(name string) (restore func()) {
	k := lookupKernel(name)
	if k == nil {
		panic("kernels: GEMM path " + name + " not available")
	}
	prev := active.Swap(k)
	return func() { active.Store(prev) }
}

// forEachPath runs fn as a subtest (named by path) on every GEMM path,
// skipping the ones this CPU lacks.
func forEachPath(t *testing.T, fn func(t *testing.T)) {
	for _, name := range allPaths {
		t.Run(name, func(t *testing.T) {
			if lookupKernel(name) == nil {
				t.Skipf("GEMM path %s not supported on this CPU/platform", name)
			}
			defer setPath(name)()
			fn(t)
		})
	}
}

// benchPaths runs fn as a sub-benchmark (named by path) on every available
// GEMM path.
func benchPaths(b *testing.B, fn func(b *testing.B)) {
	for _, name := range allPaths {
		b.Run(name, func(b *testing.B) {
			if lookupKernel(name) == nil {
				b.Skipf("GEMM path %s not supported on this CPU/platform", name)
			}
			defer setPath(name)()
			fn(b)
		})
	}
}

func TestSgemmShapes(t *testing.T)    { forEachPath(t, testSgemmShapes) }
func TestSgemmAlphaBeta(t *testing.T) { forEachPath(t, testSgemmAlphaBeta) }
func TestSgemmLarge(t *testing.T)     { forEachPath(t, testSgemmLarge) }
func TestSgemmKZeroAndBetaZeroIgnoresNaN(t *testing.T) {
	forEachPath(t, testSgemmKZeroAndBetaZeroIgnoresNaN)
}
func TestGemmEpi(t *testing.T)               { forEachPath(t, testGemmEpi) }
func TestConv2DTable(t *testing.T)           { forEachPath(t, testConv2DTable) }
func TestConv2DRandom(t *testing.T)          { forEachPath(t, testConv2DRandom) }
func TestConv2DInceptionShapes(t *testing.T) { forEachPath(t, testConv2DInceptionShapes) }

func TestKernelPath(t *testing.T) {
	names := KernelPaths()
	if len(names) == 0 || names[0] != PathGeneric {
		t.Fatalf("KernelPaths() = %v, want generic first", names)
	}
	if got, want := defaultKernel("").name, names[len(names)-1]; got != want {
		t.Errorf("default path %q, want fastest available %q", got, want)
	}
	for _, n := range names {
		if got := defaultKernel(n).name; got != n {
			t.Errorf("%s=%s selects %q", KernelEnv, n, got)
		}
		restore := setPath(n)
		if KernelPath() != n {
			t.Errorf("after setPath(%q): KernelPath() = %q", n, KernelPath())
		}
		restore()
	}
	if got := defaultKernel("bogus").name; got != names[len(names)-1] {
		t.Errorf("unknown %s value selects %q", KernelEnv, got)
	}
	t.Logf("active GEMM path %s (available %v)", KernelPath(), names)
}

// TestGemmDeterministic checks that every path gives bit-identical results
// across repeated, concurrent and differently parallelised calls.
func TestGemmDeterministic(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := newRNG(77)
		m, n, k := 97, 531, 700
		if raceEnabled {
			m, n, k = 37, 300, 520
		}
		a := randSlice(r, m*k, 1)
		b := randSlice(r, k*n, 0.05)
		bias := randSlice(r, m, 1)
		run := func() []float32 {
			c := make([]float32, m*n)
			GemmEpi(m, n, k, a, k, b, n, c, n, Epilogue{Bias: bias, ReLU: true})
			return c
		}
		want := run()
		prev := runtime.GOMAXPROCS(1)
		got1 := run()
		runtime.GOMAXPROCS(max(prev, 4))
		got4 := run()
		runtime.GOMAXPROCS(prev)
		results := make([][]float32, 4)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() { results[i] = run() })
		}
		wg.Wait()
		for name, got := range map[string][]float32{"GOMAXPROCS=1": got1, "GOMAXPROCS=4": got4,
			"concurrent0": results[0], "concurrent1": results[1], "concurrent2": results[2], "concurrent3": results[3]} {
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: c[%d] = %v, first run gave %v (not bit-identical)", name, i, got[i], want[i])
				}
			}
		}
	})
}

// TestKernelEdgeTiles calls every micro-kernel directly on random panels,
// packed and strided B, with every epilogue flag combination, and compares
// with a float64 reference. One accumulator is made NaN so that ReLU must
// keep it.
func TestKernelEdgeTiles(t *testing.T) {
	for _, mk := range kernelPaths {
		for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 255, 256} {
			for _, ldb := range []int{mk.nr, mk.nr + 5} {
				r := newRNG(uint64(kc))
				a := randSlice(r, kc*mk.mr, 1)
				b := randSlice(r, kc*ldb, 1)
				a[0] = float32(math.NaN()) // row 0 is NaN throughout
				bias := randSlice(r, mk.mr, 1)
				ldc := mk.nr + 3
				c := randSlice(r, mk.mr*ldc, 1)
				for flags := 0; flags < 8; flags++ {
					want := to64(c)
					for i := 0; i < mk.mr; i++ {
						for j := 0; j < mk.nr; j++ {
							var s float64
							for p := 0; p < kc; p++ {
								s += float64(a[p*mk.mr+i]) * float64(b[p*ldb+j])
							}
							if flags&flagAccum != 0 {
								s += want[i*ldc+j]
							}
							if flags&flagBias != 0 {
								s += float64(bias[i])
							}
							if flags&flagReLU != 0 && s < 0 {
								s = 0
							}
							want[i*ldc+j] = s
						}
					}
					got := append([]float32(nil), c...)
					var bb []float32
					if flags&flagBias != 0 {
						bb = bias
					}
					mk.kern(kc, a, b, ldb, got, ldc, flags, bb)
					name := fmt.Sprintf("%s kern kc=%d ldb=%d flags=%d", mk.name, kc, ldb, flags)
					for j := 0; j < mk.nr; j++ {
						if !math.IsNaN(float64(got[j])) {
							t.Fatalf("%s: c[0][%d] = %v, want NaN", name, j, got[j])
						}
						got[j], want[j] = 0, 0
					}
					checkClose(t, name, got, want)
				}
			}
		}
	}
}

// TestEdgeKernel checks the edge variants of the micro-kernels: every
// rows×cols corner is the corner of the full tile that kern computes (bit
// for bit, with the epilogue of each flag combination applied as
// macroKernel's scratch-tile path does), and nothing outside the corner is
// written.
func TestEdgeKernel(t *testing.T) {
	for _, mk := range kernelPaths {
		if mk.edge == nil {
			continue
		}
		for _, kc := range []int{1, 3, 256} {
			r := newRNG(uint64(kc) + 7)
			ldb := mk.nr + 3
			a := randSlice(r, kc*mk.mr, 1)
			b := randSlice(r, kc*ldb, 1)
			a[(kc-1)*mk.mr] = float32(math.NaN()) // row 0 is NaN
			bias := randSlice(r, mk.mr, 1)
			ldc := mk.nr + 5
			c0 := randSlice(r, mk.mr*ldc, 1)
			full := make([]float32, mk.mr*mk.nr)
			mk.kern(kc, a, b, ldb, full, mk.nr, 0, nil)
			for _, rows := range []int{1, 2, 4, 5, 8, 9, mk.mr - 1, mk.mr} {
				for _, cols := range []int{1, 5, 16, 17, mk.nr - 1, mk.nr} {
					for flags := 0; flags < 8; flags++ {
						got := append([]float32(nil), c0...)
						var bb []float32
						if flags&flagBias != 0 {
							bb = bias[:rows]
						}
						mk.edge(kc, a, b, ldb, got, ldc, flags, bb, rows, cols)
						for i := 0; i < mk.mr; i++ {
							for j := 0; j < ldc; j++ {
								want := c0[i*ldc+j]
								if i < rows && j < cols {
									v := full[i*mk.nr+j]
									if flags&flagAccum != 0 {
										v += c0[i*ldc+j]
									}
									if flags&flagBias != 0 {
										v += bias[i]
									}
									if flags&flagReLU != 0 && v < 0 {
										v = 0
									}
									want = v
								}
								g := got[i*ldc+j]
								if math.Float32bits(g) != math.Float32bits(want) && !(math.IsNaN(float64(g)) && math.IsNaN(float64(want))) {
									t.Fatalf("%s edge kc=%d rows=%d cols=%d flags=%d: c[%d][%d] = %v, want %v", mk.name, kc, rows, cols, flags, i, j, g, want)
								}
							}
						}
					}
				}
			}
		}
	}
}
