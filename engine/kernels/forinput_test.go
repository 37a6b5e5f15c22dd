package kernels

import (
	"fmt"
	"testing"
)

// TestConvForInput checks that a convolution re-targeted to another input
// size with ForInput computes what a freshly prepared one computes.
func TestConvForInput(t *testing.T) {
	for _, p := range []ConvParams{
		{C: 5, OutC: 7, H: 9, W: 11, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
		{C: 6, OutC: 4, H: 8, W: 8, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 2},
		{C: 3, OutC: 8, H: 12, W: 10, KH: 5, KW: 3, StrideH: 2, StrideW: 2, PadT: 2, PadL: 1, PadB: 2, PadR: 1, DilH: 1, DilW: 1, Groups: 1},
		{C: 4, OutC: 4, H: 7, W: 7, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, DilH: 1, DilW: 1, Groups: 4},
	} {
		t.Run(fmt.Sprintf("%dx%d_g%d", p.KH, p.KW, p.Groups), func(t *testing.T) {
			r := newRNG(3)
			w := randSlice(r, p.OutC*p.C/p.Groups*p.KH*p.KW, 0.2)
			bias := randSlice(r, p.OutC, 0.1)
			ep := Epilogue{Bias: bias, ReLU: true}
			base := NewConv(p, w, ep)
			if base.ForInput(p.H, p.W) != base {
				t.Error("ForInput at the same size: want the same Conv")
			}
			q := p
			q.H, q.W = p.H+5, p.W+3
			got := base.ForInput(q.H, q.W)
			want := NewConv(q, w, ep)
			oh, ow := want.OutHW()
			if goh, gow := got.OutHW(); goh != oh || gow != ow {
				t.Fatalf("OutHW: got %dx%d, want %dx%d", goh, gow, oh, ow)
			}
			const n = 2
			x := randSlice(r, n*q.C*q.H*q.W, 1)
			y1 := make([]float32, n*q.OutC*oh*ow)
			y2 := make([]float32, len(y1))
			got.Run(n, x, y1, q.OutC, 0)
			want.Run(n, x, y2, q.OutC, 0)
			for i := range y1 {
				if y1[i] != y2[i] {
					t.Fatalf("element %d: ForInput %v, NewConv %v", i, y1[i], y2[i])
				}
			}
			// The original still computes its own size.
			y0 := make([]float32, p.OutC*base.oh*base.ow)
			base.Run(1, x[:p.C*p.H*p.W], y0, p.OutC, 0)
		})
	}
}
