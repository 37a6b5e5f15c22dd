package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Shared test helpers: seeded random data and float64-vs-float32 comparison.

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// randSlice returns n values uniform in [-scale, scale).
func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32((r.Float64()*2 - 1) * scale)
	}
	return s
}

func to64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

func tolOK(got float32, want float64) bool {
	if math.IsInf(want, 0) || math.IsNaN(want) {
		return float64(got) == want || (math.IsNaN(want) && math.IsNaN(float64(got)))
	}
	return math.Abs(float64(got)-want) <= 1e-4+1e-4*math.Abs(want)
}

// checkClose compares got against want element-wise and reports at most a few
// mismatches.
func checkClose(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len(got)=%d, len(want)=%d", name, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !tolOK(got[i], want[i]) {
			if bad < 5 {
				t.Errorf("%s: index %d: got %v, want %v", name, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d/%d elements out of tolerance", name, bad, len(got))
	}
}

func mustPanic(t *testing.T, name string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: expected panic", name)
		}
	}()
	fn()
}

func TestParallelForCoversRange(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 8, 100, 1001} {
		hits := make([]int32, n)
		parallelFor(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				hits[i]++
			}
		})
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, h)
			}
		}
	}
}
