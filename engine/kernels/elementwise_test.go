package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestLRN(t *testing.T) {
	r := newRNG(21)
	for _, size := range []int{1, 3, 4, 5} {
		for _, s := range [][3]int{{1, 7, 9}, {2, 16, 70}, {1, 64, 200}} {
			n, c, hw := s[0], s[1], s[2]
			alpha, beta, bias := float32(1e-4*float64(size)*50), float32(0.75), float32(1)
			if size == 4 {
				beta, bias = 0.5, 2
			}
			x := randSlice(r, n*c*hw, 3)
			want := make([]float64, len(x))
			lo, hi := int(math.Floor(float64(size-1)/2)), int(math.Ceil(float64(size-1)/2))
			for i := 0; i < n; i++ {
				for ch := 0; ch < c; ch++ {
					for p := 0; p < hw; p++ {
						sq := 0.0
						for cc := ch - lo; cc <= ch+hi; cc++ {
							if cc >= 0 && cc < c {
								v := float64(x[(i*c+cc)*hw+p])
								sq += v * v
							}
						}
						idx := (i*c+ch)*hw + p
						want[idx] = float64(x[idx]) / math.Pow(float64(bias)+float64(alpha)/float64(size)*sq, float64(beta))
					}
				}
			}
			y := make([]float32, len(x))
			LRN(n, c, hw, size, alpha, beta, bias, x, y)
			checkClose(t, fmt.Sprintf("LRN(size=%d,%v)", size, s), y, want)
		}
	}
	mustPanic(t, "LRN short y", func() { LRN(1, 2, 2, 3, 1, 1, 1, make([]float32, 4), make([]float32, 3)) })
}

func TestSoftmax(t *testing.T) {
	r := newRNG(22)
	for _, s := range [][2]int{{1, 1}, {1, 1000}, {3, 17}, {64, 1001}} {
		rows, cols := s[0], s[1]
		x := randSlice(r, rows*cols, 10)
		x[0] = 80 // large values must not overflow
		want := make([]float64, len(x))
		for i := 0; i < rows; i++ {
			m := math.Inf(-1)
			for j := 0; j < cols; j++ {
				m = math.Max(m, float64(x[i*cols+j]))
			}
			sum := 0.0
			for j := 0; j < cols; j++ {
				sum += math.Exp(float64(x[i*cols+j]) - m)
			}
			for j := 0; j < cols; j++ {
				want[i*cols+j] = math.Exp(float64(x[i*cols+j])-m) / sum
			}
		}
		y := make([]float32, len(x))
		Softmax(rows, cols, x, y)
		checkClose(t, fmt.Sprintf("Softmax%v", s), y, want)
		Softmax(rows, cols, x, x) // in place
		checkClose(t, fmt.Sprintf("Softmax%v in place", s), x, want)
	}
}

func TestChannelAffine(t *testing.T) {
	r := newRNG(23)
	n, c, hw := 2, 5, 300
	for _, withScale := range []bool{false, true} {
		for _, withShift := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				x := randSlice(r, n*c*hw, 2)
				var scale, shift []float32
				if withScale {
					scale = randSlice(r, c, 2)
				}
				if withShift {
					shift = randSlice(r, c, 1)
				}
				want := make([]float64, len(x))
				for i := range x {
					ch := (i / hw) % c
					v := float64(x[i])
					if scale != nil {
						v *= float64(scale[ch])
					}
					if shift != nil {
						v += float64(shift[ch])
					}
					if relu {
						v = math.Max(v, 0)
					}
					want[i] = v
				}
				name := fmt.Sprintf("ChannelAffine(scale=%v,shift=%v,relu=%v)", withScale, withShift, relu)
				y := make([]float32, len(x))
				ChannelAffine(n, c, hw, x, scale, shift, relu, y)
				checkClose(t, name, y, want)
				ChannelAffine(n, c, hw, x, scale, shift, relu, x)
				checkClose(t, name+" in place", x, want)
			}
		}
	}
}

func TestReLUAndAddScaled(t *testing.T) { forEachPath(t, testReLUAndAddScaled) }

func testReLUAndAddScaled(t *testing.T) {
	r := newRNG(24)
	for _, n := range []int{0, 1, 5, 4096, 100003} {
		x := randSlice(r, n, 1)
		want := make([]float64, n)
		for i, v := range x {
			want[i] = math.Max(float64(v), 0)
		}
		y := make([]float32, n)
		ReLU(x, y)
		checkClose(t, fmt.Sprintf("ReLU(%d)", n), y, want)
		ReLU(x, x)
		checkClose(t, fmt.Sprintf("ReLU(%d) in place", n), x, want)

		for _, relu := range []bool{false, true} {
			for _, alias := range []string{"none", "x", "r"} {
				a := randSlice(r, n, 1)
				b := randSlice(r, n, 1)
				const s = 0.17
				want := make([]float64, n)
				for i := range a {
					v := float64(a[i]) + float64(float32(s))*float64(b[i])
					if relu {
						v = math.Max(v, 0)
					}
					want[i] = v
				}
				var out []float32
				switch alias {
				case "none":
					out = make([]float32, n)
				case "x":
					out = a
				case "r":
					out = b
				}
				AddScaled(a, b, s, relu, out)
				checkClose(t, fmt.Sprintf("AddScaled(n=%d,relu=%v,alias=%s)", n, relu, alias), out, want)
			}
		}
	}
	mustPanic(t, "ReLU short y", func() { ReLU(make([]float32, 3), make([]float32, 2)) })
	mustPanic(t, "AddScaled short r", func() { AddScaled(make([]float32, 3), make([]float32, 2), 1, false, make([]float32, 3)) })
}

// TestAddScaledPathsAgree checks that the avx512 AddScaled gives the bits
// of the pure-Go loop (product rounded, then the sum), NaN kept by ReLU.
func TestAddScaledPathsAgree(t *testing.T) {
	if lookupKernel(PathAVX512) == nil {
		t.Skip("no avx512 path on this CPU")
	}
	r := newRNG(26)
	x := randSlice(r, 1037, 3)
	rr := randSlice(r, 1037, 3)
	x[5] = float32(math.NaN())
	for _, relu := range []bool{false, true} {
		run := func(path string) []float32 {
			defer setPath(path)()
			y := make([]float32, len(x))
			AddScaled(x, rr, 0.37, relu, y)
			return y
		}
		g, v := run(PathGeneric), run(PathAVX512)
		for i := range g {
			if math.Float32bits(g[i]) != math.Float32bits(v[i]) && !(math.IsNaN(float64(g[i])) && math.IsNaN(float64(v[i]))) {
				t.Fatalf("relu=%v: y[%d] = %v on avx512, %v on generic", relu, i, v[i], g[i])
			}
		}
		if !math.IsNaN(float64(v[5])) {
			t.Errorf("relu=%v: NaN input gave %v", relu, v[5])
		}
	}
}

func TestLinear(t *testing.T) { forEachPath(t, testLinear) }

func testLinear(t *testing.T) {
	r := newRNG(25)
	for _, s := range [][3]int{{1, 1, 1}, {1, 1024, 1000}, {1, 2048, 31}, {1, 79, 5}, {3, 17, 9}, {8, 65, 33}, {20, 129, 7}} {
		for _, withBias := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				n, in, out := s[0], s[1], s[2]
				x := randSlice(r, n*in, 1)
				w := randSlice(r, out*in, 1/math.Sqrt(float64(in)))
				var b []float32
				if withBias {
					b = randSlice(r, out, 1)
				}
				want := make([]float64, n*out)
				for i := 0; i < n; i++ {
					for o := 0; o < out; o++ {
						v := 0.0
						for k := 0; k < in; k++ {
							v += float64(x[i*in+k]) * float64(w[o*in+k])
						}
						if b != nil {
							v += float64(b[o])
						}
						if relu {
							v = math.Max(v, 0)
						}
						want[i*out+o] = v
					}
				}
				y := make([]float32, n*out)
				Linear(n, in, out, x, w, b, relu, y)
				checkClose(t, fmt.Sprintf("Linear(%v,bias=%v,relu=%v)", s, withBias, relu), y, want)
			}
		}
	}
	mustPanic(t, "Linear short w", func() { Linear(1, 2, 2, make([]float32, 2), make([]float32, 3), nil, false, make([]float32, 2)) })
}

func testReLUMask(t *testing.T) {
	nan := float32(math.NaN())
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32, float32(math.Inf(1)), float32(math.Inf(-1)), nan, -nan,
		math.Float32frombits(0x7fffffff), math.Float32frombits(0xffffffff), 3.5e-39}
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 15, 16, 17, 33, 100} {
		y, dy := make([]float32, n), make([]float32, n)
		for i := range y {
			y[i] = special[r.IntN(len(special))]
			dy[i] = float32(r.NormFloat64())
			if i%7 == 3 {
				dy[i] = nan
			}
		}
		got := make([]float32, n+3)
		for i := range got {
			got[i] = 42
		}
		ReLUMask(got[:n], y, dy)
		for i := range n {
			want := float32(0)
			if y[i] > 0 {
				want = dy[i]
			}
			if math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("n=%d: y = %v (%#x), dy = %v: got %v, want %v", n, y[i], math.Float32bits(y[i]), dy[i], got[i], want)
			}
		}
		for i := n; i < n+3; i++ {
			if got[i] != 42 {
				t.Fatalf("n=%d: wrote dx[%d]", n, i)
			}
		}
	}
}

func testSum64(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 100, 1000, 4099} {
		x := make([]float32, n)
		var want float64
		for i := range x {
			x[i] = float32(r.NormFloat64()) * 1e3
			want += float64(x[i])
		}
		if got := Sum64(x); math.Abs(got-want) > 1e-9*max(1, math.Abs(want)) {
			t.Errorf("n=%d: Sum64 = %v, want %v", n, got, want)
		}
	}
	// a sum whose float32 rounding per step would be far off
	x := make([]float32, 1<<20)
	for i := range x {
		x[i] = 1 + 1.0/(1<<20)
	}
	if got, want := Sum64(x), float64(len(x))*(1+1.0/(1<<20)); got != want {
		t.Errorf("Sum64 of %d equal values = %v, want %v", len(x), got, want)
	}
}

func TestReLUMask(t *testing.T) { forEachPath(t, testReLUMask) }
func TestSum64(t *testing.T)    { forEachPath(t, testSum64) }
