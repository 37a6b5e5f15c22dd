package inceptionv4

import (
	"fmt"

	"github.com/inceptionzoo/inception/nn"
)

// bnEps is the BatchNorm epsilon of every conv unit (TF-slim, timm, Cadene
// and facenet-pytorch all use 0.001).
const bnEps = 1e-3

// Conv units. All are timm/Cadene BasicConv2d units: conv without bias, BN,
// ReLU, children "conv" and "bn".

// same is a stride-1 kh×kw conv unit with "same" padding (kh/2, kw/2).
func same(name string, out, kh, kw int) nn.Block {
	return nn.ConvUnit{Name: name, BNEps: bnEps, Conv: nn.Conv{
		Out: out, Kernel: nn.KHW(kh, kw), Pad: nn.PHW(kh/2, kw/2),
	}}.Block()
}

// valid is a k×k conv unit with no padding: the paper's "V" convs.
func valid(name string, out, k, stride int) nn.Block {
	return nn.ConvUnit{Name: name, BNEps: bnEps, Conv: nn.Conv{
		Out: out, Kernel: nn.K(k), Stride: nn.K(stride),
	}}.Block()
}

// maxPool is the 3×3/2 valid, floor-mode max pool of the stems and
// reductions.
func maxPool(name string) nn.Block {
	return nn.MaxPool{Name: name, Kernel: nn.K(3), Stride: nn.K(2)}
}

// avgPool is the in-block 3×3/1 average pool, padded 1, counting only
// in-image cells (TF SAME semantics, count_include_pad=False).
func avgPool(name string) nn.Block {
	return nn.AvgPool{Name: name, Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1)}
}

// StemLayer is one layer of a plain (unbranched) stem: a conv unit, or a
// 3×3/2 max pool when Out is 0.
type StemLayer struct {
	Name   string
	Out    int // 0: 3×3/2 max pool
	K      int
	Stride int
	Valid  bool // no padding ("V"); otherwise same-padded (stride 1 only)
}

func (l StemLayer) block() nn.Block {
	switch {
	case l.Out == 0:
		return maxPool(l.Name)
	case l.Valid:
		return valid(l.Name, l.Out, l.K, l.Stride)
	}
	return same(l.Name, l.Out, l.K, l.K)
}

func stem(layers []StemLayer) []nn.Block {
	out := make([]nn.Block, len(layers))
	for i, l := range layers {
		out[i] = l.block()
	}
	return out
}

// ---- Reduction-A, shared by all three networks ----

// ReductionA is one row of the paper's Table 1: the filter counts k, l, m, n
// of the Reduction-A block (Fig 7) [3×3/2·n V; 1×1·k → 3×3·l → 3×3/2·m V;
// 3×3/2 max pool], concatenated in that order (timm's Mixed_6a /
// ReductionA and facenet-pytorch's Mixed_6a all put the pool last).
type ReductionA struct {
	Network    string
	K, L, M, N int
}

// Out returns the block's output depth for an input depth in.
func (r ReductionA) Out(in int) int { return r.N + r.M + in }

// ReductionAFilters is the paper's Table 1.
var ReductionAFilters = []ReductionA{
	//  network                 k    l    m    n
	{"inception-v4", 192, 224, 256, 384},
	{"inception-resnet-v1", 192, 192, 256, 384},
	{"inception-resnet-v2", 256, 256, 384, 384},
}

// ReductionAFor returns the Table 1 row of a network.
func ReductionAFor(network string) (ReductionA, error) {
	for _, r := range ReductionAFilters {
		if r.Network == network {
			return r, nil
		}
	}
	return ReductionA{}, fmt.Errorf("inception-v4: no Reduction-A row for %q", network)
}

func mustReductionA(network string) ReductionA {
	r, err := ReductionAFor(network)
	if err != nil {
		panic(err)
	}
	return r
}

// Block returns the Reduction-A block named name: branch0, branch1 (an
// indexed Sequential) and branch2 (the pool).
func (r ReductionA) Block(name string) nn.Block {
	return nn.Branches{Name: name, Paths: []nn.Block{
		valid("branch0", r.N, 3, 2),
		nn.Indexed("branch1", same("", r.K, 1, 1), same("", r.L, 3, 3), valid("", r.M, 3, 2)),
		maxPool("branch2"),
	}}
}

func plainOptions(model string, o nn.Options) error {
	if o.Aux || o.TransformInput {
		return fmt.Errorf("%s: has no aux heads or transform_input", model)
	}
	return nil
}
