package kernels

import (
	"fmt"
	"testing"
)

// TestGemmPacked: a product with A packed once by PackA gives Sgemm's
// bits, for both layouts of A and B, with and without an epilogue or
// accumulation, on every path; a PackedA is reused across sizes.
func TestGemmPacked(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		r := newRNG(3)
		var p PackedA
		for _, s := range [][3]int{{1, 1, 1}, {13, 37, 5}, {64, 512, 300}, {250, 70, 600}, {7, 1000, 2}} {
			m, n, k := s[0], s[1], s[2]
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, mode := range []string{"plain", "epilogue", "accumulate"} {
						a := randSlice(r, m*k, 1)
						b := randSlice(r, k*n, 1)
						c0 := randSlice(r, m*n, 1)
						bias := randSlice(r, m, 1)
						lda, ldb := k, n
						if ta {
							lda = m
						}
						if tb {
							ldb = k
						}
						want := append([]float32(nil), c0...)
						got := append([]float32(nil), c0...)
						PackA(&p, ta, m, k, a, lda)
						if p.Rows() != m || p.Cols() != k {
							t.Fatalf("packed %dx%d, want %dx%d", p.Rows(), p.Cols(), m, k)
						}
						switch mode {
						case "plain":
							Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, want, n)
							GemmPacked(&p, n, tb, b, ldb, 0, got, n, Epilogue{})
						case "accumulate":
							Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 1, want, n)
							GemmPacked(&p, n, tb, b, ldb, 1, got, n, Epilogue{})
						case "epilogue":
							if ta || tb {
								continue
							}
							GemmEpi(m, n, k, a, lda, b, ldb, want, n, Epilogue{Bias: bias, ReLU: true})
							GemmPacked(&p, n, false, b, ldb, 0, got, n, Epilogue{Bias: bias, ReLU: true})
						}
						for i := range want {
							if got[i] != want[i] {
								t.Fatalf("%s m=%d n=%d k=%d ta=%v tb=%v: c[%d] = %v, want %v (Sgemm)", mode, m, n, k, ta, tb, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	})
}

func TestGemmPackedPanics(t *testing.T) {
	var p PackedA
	PackA(&p, false, 2, 3, make([]float32, 6), 3)
	for name, f := range map[string]func(){
		"short a": func() { PackA(&p, false, 2, 3, make([]float32, 5), 3) },
		"short b": func() { GemmPacked(&p, 4, false, make([]float32, 11), 4, 0, make([]float32, 8), 4, Epilogue{}) },
		"epilogue and beta": func() {
			GemmPacked(&p, 4, false, make([]float32, 12), 4, 1, make([]float32, 8), 4, Epilogue{ReLU: true})
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal(fmt.Sprint(name, ": no panic"))
				}
			}()
			f()
		})
	}
}
