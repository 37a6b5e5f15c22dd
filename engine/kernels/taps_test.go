package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tapsCase is a stencil on h×w planes, run over planes planes.
type tapsCase struct {
	h, w, planes int
	taps         [][2]int
	// sy, sx: the stride of a strided stencil (0: 1), whose outputs are
	// the anchors (sy·i, sx·j) with i < oh, j < ow
	sy, sx, oh, ow int
}

// stride returns c's stride and output size, filling in the defaults.
func (c tapsCase) stride() (sy, sx, oh, ow int) {
	if c.sy == 0 {
		return 1, 1, c.h, c.w
	}
	return c.sy, c.sx, c.oh, c.ow
}

// output reports whether cell (y, x) is an output of c.
func (c tapsCase) output(y, x int) bool {
	sy, sx, oh, ow := c.stride()
	return y%sy == 0 && x%sx == 0 && y/sy < oh && x/sx < ow
}

// newTaps builds c's stencil.
func (c tapsCase) newTaps() *Taps {
	if c.sy == 0 {
		return NewTaps(c.h, c.w, c.taps)
	}
	return NewStridedTaps(c.h, c.w, c.oh, c.ow, c.sy, c.sx, c.taps)
}

// square returns the taps of a k×k window centred on the cell, row-major.
func square(k int) [][2]int {
	var t [][2]int
	for dy := -(k / 2); dy <= k/2; dy++ {
		for dx := -(k / 2); dx <= k/2; dx++ {
			t = append(t, [2]int{dy, dx})
		}
	}
	return t
}

func tapsCases() []tapsCase {
	var cs []tapsCase
	for _, hw := range [][2]int{{1, 1}, {2, 2}, {3, 3}, {4, 5}, {6, 6}, {7, 3}, {12, 12}, {5, 17}, {24, 24}} {
		for _, k := range []int{3, 5} {
			taps := square(k)
			var ok [][2]int // taps that read the plane for some cell
			for _, t := range taps {
				if t[0] > -hw[0] && t[0] < hw[0] && t[1] > -hw[1] && t[1] < hw[1] {
					ok = append(ok, t)
				}
			}
			for _, planes := range []int{1, 3, 7} {
				cs = append(cs, tapsCase{h: hw[0], w: hw[1], planes: planes, taps: ok})
			}
		}
		// an uncentred, pruned stencil
		cs = append(cs, tapsCase{h: hw[0], w: hw[1], planes: 5, taps: [][2]int{{0, 0}, {0, min(1, hw[1]-1)}, {min(1, hw[0]-1), 0}}})
		// stride-2 3x3 windows with padding 1 (floor), and stride 2x3
		// windows anchored at their corner
		sq := tapsCase{h: hw[0], w: hw[1], sy: 2, sx: 2, oh: (hw[0]-1)/2 + 1, ow: (hw[1]-1)/2 + 1}
		for _, t := range square(3) {
			if t[0] > -hw[0] && t[0] < hw[0] && t[1] > -hw[1] && t[1] < hw[1] {
				sq.taps = append(sq.taps, t)
			}
		}
		for _, planes := range []int{1, 4} {
			sq.planes = planes
			cs = append(cs, sq)
		}
		if hw[0] >= 2 && hw[1] >= 2 {
			cs = append(cs, tapsCase{h: hw[0], w: hw[1], planes: 3, sy: 2, sx: 3, oh: (hw[0]-2)/2 + 1, ow: (hw[1]-2)/3 + 1,
				taps: [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}}})
		}
	}
	return cs
}

// tapsData returns n values with many ties (a few levels, ±0 among them).
func tapsData(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch v := r.IntN(8); v {
		case 0:
			x[i] = float32(math.Copysign(0, -1))
		default:
			x[i] = float32(v-4) * 0.5
		}
	}
	return x
}

// refTap returns the cell read by tap (dy, dx) of cell (y, x) of plane p,
// or -1 outside the plane or when (y, x) is not an output.
func (c tapsCase) refTap(p, y, x, dy, dx int) int {
	if !c.output(y, x) || y+dy < 0 || y+dy >= c.h || x+dx < 0 || x+dx >= c.w {
		return -1
	}
	return p*c.h*c.w + (y+dy)*c.w + x + dx
}

// filled returns n elements that no method may leave as they are.
func filled(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 42
	}
	return x
}

// sameBits fails unless got and want hold the same bits.
func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for f := range want {
		if math.Float32bits(got[f]) != math.Float32bits(want[f]) {
			t.Fatalf("%s: element %d = %v, want %v", name, f, got[f], want[f])
		}
	}
}

func testTaps(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range tapsCases() {
		sy, sx, _, _ := c.stride()
		t.Run(fmt.Sprintf("%dx%d/%dtaps/stride%dx%d/%dplanes", c.h, c.w, len(c.taps), sy, sx, c.planes), func(t *testing.T) {
			s := c.newTaps()
			hw := c.h * c.w
			n := c.planes * hw
			nt := len(c.taps)
			x := tapsData(r, n)

			// Gather: the im2col rows, by definition.
			rows := make([]float32, nt*n)
			for ti, tp := range c.taps {
				got := filled(n) // every element is written
				s.Gather(got, x, ti)
				for p := range c.planes {
					for y := range c.h {
						for xx := range c.w {
							f := p*hw + y*c.w + xx
							want := float32(0)
							if o := c.refTap(p, y, xx, tp[0], tp[1]); o >= 0 {
								want = x[o]
							}
							if math.Float32bits(got[f]) != math.Float32bits(want) {
								t.Fatalf("Gather tap %d: element %d = %v, want %v", ti, f, got[f], want)
							}
						}
					}
				}
				copy(rows[ti*n:], got)
			}

			// Sum: col2im as a scatter of the rows, tap by tap.
			cols := make([]float32, nt*n)
			for i := range cols {
				cols[i] = float32(r.NormFloat64())
			}
			want := make([]float32, n)
			for ti, tp := range c.taps {
				for p := range c.planes {
					for y := range c.h {
						for xx := range c.w {
							if o := c.refTap(p, y, xx, tp[0], tp[1]); o >= 0 {
								want[o] += cols[ti*n+p*hw+y*c.w+xx]
							}
						}
					}
				}
			}
			got := filled(n)
			s.Sum(got, cols, n)
			sameBits(t, "Sum", got, want)

			// MaxArg and MaxGrad: a max pool over the taps keeping the
			// first maximum, its gradient scattered output by output.
			y := tapsData(r, n) // values at cells that are not outputs are never read
			wantArg := make([]int32, n)
			for p := range c.planes {
				for yy := range c.h {
					for xx := range c.w {
						f := p*hw + yy*c.w + xx
						wantArg[f] = -1
						if !c.output(yy, xx) {
							continue
						}
						for ti, tp := range c.taps {
							o := c.refTap(p, yy, xx, tp[0], tp[1])
							if o >= 0 && (wantArg[f] < 0 || x[o] > y[f]) {
								y[f], wantArg[f] = x[o], int32(ti)
							}
						}
					}
				}
			}
			arg := make([]int32, n)
			s.MaxArg(arg, x, y)
			for f := range arg {
				if arg[f] != wantArg[f] {
					t.Fatalf("MaxArg: output %d = tap %d, want %d (y %v)", f, arg[f], wantArg[f], y[f])
				}
			}
			dy := make([]float32, n)
			for i := range dy {
				dy[i] = float32(r.NormFloat64())
			}
			clear(want)
			for p := range c.planes {
				for yy := range c.h {
					for xx := range c.w {
						f := p*hw + yy*c.w + xx
						if a := wantArg[f]; a >= 0 {
							want[c.refTap(p, yy, xx, c.taps[a][0], c.taps[a][1])] += dy[f]
						}
					}
				}
			}
			dx := filled(n)
			s.MaxGrad(dx, arg, dy)
			sameBits(t, "MaxGrad", dx, want)
		})
	}
}

func TestTaps(t *testing.T) { forEachPath(t, testTaps) }

func TestNewTapsPanics(t *testing.T) {
	for _, c := range []struct {
		name string
		h, w int
		taps [][2]int
	}{
		{"no taps", 3, 3, nil},
		{"empty plane", 0, 3, square(3)},
		{"tap never inside", 2, 2, [][2]int{{0, 2}}},
		{"too many taps", 9, 9, square(9)},
		{"negative", -1, 3, square(3)},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewTaps(%d, %d, %v) did not panic", c.h, c.w, c.taps)
				}
			}()
			NewTaps(c.h, c.w, c.taps)
		})
	}
}

func BenchmarkTaps(b *testing.B) {
	// the 3x3 max pool of inception (3a) at 96x96 inputs: 192 channels x
	// 128 images of 12x12
	const h, w, planes = 12, 12, 192 * 128
	s := NewTaps(h, w, square(3))
	r := rand.New(rand.NewPCG(1, 2))
	n := h * w * planes
	x, y, dy, dx := tapsData(r, n), make([]float32, n), tapsData(r, n), make([]float32, n)
	copy(y, x)
	arg := make([]int32, n)
	benchPaths(b, func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s.MaxArg(arg, x, y)
			s.MaxGrad(dx, arg, dy)
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e6, "Mcells/s")
	})
}
