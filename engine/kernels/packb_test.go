package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refIm2colElem returns element (r, j) of the im2col matrix of the single
// image/group x under p: row r = (c*KH+kh)*KW+kw, column j = oy*ow+ox,
// x[c, oy*StrideH-PadT+kh*DilH, ox*StrideW-PadL+kw*DilW] or 0 in the
// padding. It is deliberately element by element.
func refIm2colElem(p ConvParams, ow int, x []float32, r, j int) float32 {
	kw := r % p.KW
	kh := (r / p.KW) % p.KH
	c := r / (p.KW * p.KH)
	oy, ox := j/ow, j%ow
	iy := oy*p.StrideH - p.PadT + kh*p.DilH
	ix := ox*p.StrideW - p.PadL + kw*p.DilW
	if iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
		return 0
	}
	return x[(c*p.H+iy)*p.W+ix]
}

// refPackB is the naive im2col + pack of the kb×nb block at (p0, j0) into
// panels of nr columns: dst[panel*kb*nr + q*nr + col], 0 beyond nb.
func refPackB(p ConvParams, ow int, x []float32, p0, j0, kb, nb, nr int) []float32 {
	np := (nb + nr - 1) / nr
	dst := make([]float32, np*kb*nr)
	for panel := 0; panel < np; panel++ {
		for q := 0; q < kb; q++ {
			for col := 0; col < nr; col++ {
				if j := panel*nr + col; j < nb {
					dst[panel*kb*nr+q*nr+col] = refIm2colElem(p, ow, x, p0+q, j0+j)
				}
			}
		}
	}
	return dst
}

// checkPackB packs the block (p0, j0, kb, nb) with convGeom.packB into a
// NaN-filled buffer longer than needed and compares it bit for bit with
// refPackB; it also checks that nothing past the panels is written.
func checkPackB(t *testing.T, name string, p ConvParams, x []float32, p0, j0, kb, nb, nr int) {
	t.Helper()
	oh, ow := p.OutHW()
	g := newConvGeom(p, oh, ow)
	want := refPackB(p, ow, x, p0, j0, kb, nb, nr)
	const guard = 37
	got := make([]float32, len(want)+guard)
	nan := float32(math.NaN())
	for i := range got {
		got[i] = nan
	}
	g.packB(x, p0, j0, kb, nb, nr, got)
	for i, w := range want {
		if math.Float32bits(got[i]) != math.Float32bits(w) {
			panel, rest := i/(kb*nr), i%(kb*nr)
			t.Fatalf("%s: p0=%d j0=%d kb=%d nb=%d nr=%d: element %d (panel %d, row %d, col %d): got %v, want %v",
				name, p0, j0, kb, nb, nr, i, panel, rest/nr, rest%nr, got[i], w)
		}
	}
	for i := len(want); i < len(got); i++ {
		if !math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: p0=%d j0=%d kb=%d nb=%d nr=%d: wrote %v at %d, past the %d packed elements",
				name, p0, j0, kb, nb, nr, got[i], i, len(want))
		}
	}
}

// packBNRs are the panel widths of the generic, avx2 and avx512 paths.
var packBNRs = []int{2, 16, 32}

// TestPackBShapes packs the whole im2col matrix of the Inception shapes
// (and a few flat ones) in the blocks the GEMM driver uses, for every nr,
// on every path (packBFlat's avx512 copy depends on the active path).
func TestPackBShapes(t *testing.T) { forEachPath(t, testPackBShapes) }

func testPackBShapes(t *testing.T) {
	cases := append([]struct {
		name string
		p    ConvParams
	}{
		{"flat_3x3p1_5to4_13", ConvParams{C: 5, H: 13, W: 13, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1}},
		{"flat_1x7_4to4_17", ConvParams{C: 4, H: 17, W: 17, OutC: 4, KH: 1, KW: 7, StrideH: 1, StrideW: 1, PadL: 3, PadR: 3, DilH: 1, DilW: 1, Groups: 1}},
		{"s2_1x1_8to4_15", ConvParams{C: 8, H: 15, W: 15, OutC: 4, KH: 1, KW: 1, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1}},
	}, packBShapes...)
	r := newRNG(7)
	for _, c := range cases {
		p := c.p
		if p.C > 32 {
			p.C = 3 // keep the reference cheap: the channel count only repeats rows
		}
		oh, ow := p.OutHW()
		x := randSlice(r, p.C*p.H*p.W, 1)
		k, n := p.C*p.KH*p.KW, oh*ow
		for _, nr := range packBNRs {
			for _, nc := range []int{packMaxNC, 3 * nr} {
				for j0 := 0; j0 < n; j0 += nc {
					for p0 := 0; p0 < k; p0 += gemmKC {
						checkPackB(t, c.name, p, x, p0, j0, min(gemmKC, k-p0), min(nc, n-j0), nr)
					}
				}
			}
		}
	}
}

// TestPackBRandom compares convGeom.packB with the naive im2col + pack on
// random geometries (strides 1-3, asymmetric pads 0-3, dilations 1-2, square
// and 1xK / Kx1 kernels up to 7) and random blocks, partial panels and
// blocks wider than packMaxNC included, for every nr on every path.
func TestPackBRandom(t *testing.T) { forEachPath(t, testPackBRandom) }

func testPackBRandom(t *testing.T) {
	r := newRNG(11)
	kernels := [][2]int{{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {6, 6}, {7, 7}, {1, 7}, {7, 1}, {1, 3}, {3, 1}, {2, 5}}
	iters := 400
	if testing.Short() {
		iters = 100
	}
	for it := 0; it < iters; it++ {
		p := randPackBParams(r, kernels)
		oh, ow := p.OutHW()
		x := randSlice(r, p.C*p.H*p.W, 1)
		k, n := p.C*p.KH*p.KW, oh*ow
		name := fmt.Sprintf("it%d %+v (oh=%d ow=%d)", it, p, oh, ow)
		for _, nr := range packBNRs {
			for b := 0; b < 3; b++ {
				p0 := r.IntN(k)
				kb := 1 + r.IntN(k-p0)
				j0 := r.IntN(n)
				if r.IntN(3) == 0 {
					j0 = j0 / nr * nr // panel-aligned like the driver
				}
				nb := 1 + r.IntN(min(n-j0, packMaxNC+40))
				checkPackB(t, name, p, x, p0, j0, kb, nb, nr)
			}
			// The whole matrix in one block.
			checkPackB(t, name, p, x, 0, 0, k, n, nr)
		}
	}
}

// randPackBParams returns a random valid conv geometry for TestPackBRandom:
// half of them stride 1 with ow == W (flat) when the padding allows it.
func randPackBParams(r *rand.Rand, kernels [][2]int) ConvParams {
	for {
		kk := kernels[r.IntN(len(kernels))]
		p := ConvParams{
			C: 1 + r.IntN(3), H: 1 + r.IntN(24), W: 1 + r.IntN(40), OutC: 1,
			KH: kk[0], KW: kk[1],
			StrideH: 1 + r.IntN(3), StrideW: 1 + r.IntN(3),
			PadT: r.IntN(4), PadL: r.IntN(4), PadB: r.IntN(4), PadR: r.IntN(4),
			DilH: 1 + r.IntN(2), DilW: 1 + r.IntN(2), Groups: 1,
		}
		if r.IntN(2) == 0 {
			// "same" padding along the width: a flat geometry.
			p.StrideH, p.StrideW = 1, 1
			tot := p.DilW * (p.KW - 1)
			p.PadL = r.IntN(tot + 1)
			p.PadR = tot - p.PadL
		}
		if p.H+p.PadT+p.PadB < p.DilH*(p.KH-1)+1 || p.W+p.PadL+p.PadR < p.DilW*(p.KW-1)+1 {
			continue
		}
		return p
	}
}
