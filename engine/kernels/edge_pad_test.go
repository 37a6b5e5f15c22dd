package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestConvPaddingWiderThanInput covers kernel columns with no valid output
// position (padding wider than the input), e.g. ONNX's
// pytorch-converted/test_Conv1d_pad2size1: W=1, KW=5, pads 2/2.
func TestConvPaddingWiderThanInput(t *testing.T) {
	for _, p := range []ConvParams{
		{N: 1, C: 2, H: 1, W: 1, OutC: 3, KH: 1, KW: 5, StrideH: 1, StrideW: 1, PadL: 2, PadR: 2, DilH: 1, DilW: 1, Groups: 1},
		{N: 2, C: 1, H: 3, W: 2, OutC: 2, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadT: 3, PadL: 4, PadB: 1, PadR: 3, DilH: 1, DilW: 1, Groups: 1},
		{N: 1, C: 2, H: 2, W: 2, OutC: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2, DilH: 2, DilW: 2, Groups: 2},
	} {
		forEachPath(t, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			runConvCase(t, r, p, true, false, 1, 1)
		})
	}
}
