package inceptionv3

import (
	"fmt"

	"github.com/inceptionzoo/inception/nn"
	inceptionv1 "github.com/inceptionzoo/inception/variants/v1"
)

// Every conv of Inception v3 is a BasicConv2d: conv without bias, BN with
// the TF-ported epsilon, ReLU.
const bnEps = 1e-3

// StemLayer is one row of the stem (architectures reference §4.1; the
// paper's Table 1 rows up to the first Inception block, as implemented).
// A row with Out 0 is a max pool; the others are BasicConv2d units.
type StemLayer struct {
	Name                     string
	Out, Kernel, Stride, Pad int
}

// Stem is the stem, in order, with torchvision's names.
var Stem = []StemLayer{
	// name           out  k  s  pad
	{"Conv2d_1a_3x3", 32, 3, 2, 0},
	{"Conv2d_2a_3x3", 32, 3, 1, 0},
	{"Conv2d_2b_3x3", 64, 3, 1, 1},
	{"maxpool1", 0, 3, 2, 0},
	{"Conv2d_3b_1x1", 80, 1, 1, 0},
	{"Conv2d_4a_3x3", 192, 3, 1, 0},
	{"maxpool2", 0, 3, 2, 0},
}

// BlockA is a row of the 35×35 block (paper Figure 5; torchvision
// InceptionA). Columns in concat order: 1x1; 5x5 reduce → 5x5; double-3x3
// reduce → 3x3 → 3x3; avg pool → 1x1 projection (pool_features).
type BlockA struct {
	Name                                                 string
	N1x1, N5x5Reduce, N5x5, N3x3DblReduce, N3x3Dbl, Pool int
}

// Out returns the block's output depth.
func (m BlockA) Out() int { return m.N1x1 + m.N5x5 + m.N3x3Dbl + m.Pool }

// BlockB is a row of the 35→17 grid reduction (paper Figure 10; torchvision
// InceptionB): a stride-2 3x3; double-3x3 reduce → 3x3 → stride-2 3x3; a
// stride-2 max pool passing the input through.
type BlockB struct {
	Name                         string
	N3x3, N3x3DblReduce, N3x3Dbl int
}

// Out returns the block's output depth for an input of depth in.
func (m BlockB) Out(in int) int { return m.N3x3 + m.N3x3Dbl + in }

// BlockC is a row of the 17×17 block with factorised 7×7 convolutions
// (paper Figure 6; torchvision InceptionC). C7 is the width inside the
// factorised branches (channels_7x7); N7x7 is their output width.
type BlockC struct {
	Name                 string
	N1x1, C7, N7x7, Pool int
}

// Out returns the block's output depth.
func (m BlockC) Out() int { return m.N1x1 + 2*m.N7x7 + m.Pool }

// BlockD is a row of the 17→8 grid reduction (torchvision InceptionD):
// 1x1 → stride-2 3x3; 1x1 → 1x7 → 7x1 → stride-2 3x3; a stride-2 max pool
// passing the input through.
type BlockD struct {
	Name                     string
	N3x3Reduce, N3x3, N7x7x3 int
}

// Out returns the block's output depth for an input of depth in.
func (m BlockD) Out(in int) int { return m.N3x3 + m.N7x7x3 + in }

// BlockE is a row of the 8×8 block with expanded filter banks (paper
// Figure 7; torchvision InceptionE): 1x1; 1x1 → {1x3, 3x1}; 1x1 → 3x3 →
// {1x3, 3x1}; avg pool → 1x1. Each split pair is N3x3 wide per half.
type BlockE struct {
	Name                                     string
	N1x1, N3x3, N3x3DblReduce, N3x3Dbl, Pool int
}

// Out returns the block's output depth.
func (m BlockE) Out() int { return m.N1x1 + 2*m.N3x3 + 2*m.N3x3Dbl + m.Pool }

// BlocksA … BlocksE are the Inception blocks of the network, in order:
// 5b 5c 5d (A), 6a (B), 6b 6c 6d 6e (C), 7a (D), 7b 7c (E).
var (
	BlocksA = []BlockA{
		//  name      1x1 5x5red 5x5 dblred dbl pool
		{"Mixed_5b", 64, 48, 64, 64, 96, 32},
		{"Mixed_5c", 64, 48, 64, 64, 96, 64},
		{"Mixed_5d", 64, 48, 64, 64, 96, 64},
	}
	BlocksB = []BlockB{
		//  name      3x3 dblred dbl
		{"Mixed_6a", 384, 64, 96},
	}
	BlocksC = []BlockC{
		//  name      1x1  c7  7x7 pool
		{"Mixed_6b", 192, 128, 192, 192},
		{"Mixed_6c", 192, 160, 192, 192},
		{"Mixed_6d", 192, 160, 192, 192},
		{"Mixed_6e", 192, 192, 192, 192},
	}
	BlocksD = []BlockD{
		//  name      3x3red 3x3 7x7x3
		{"Mixed_7a", 192, 320, 192},
	}
	BlocksE = []BlockE{
		//  name      1x1 3x3 dblred dbl pool
		{"Mixed_7b", 320, 384, 448, 384, 192},
		{"Mixed_7c", 320, 384, 448, 384, 192},
	}
)

// auxAfter is the block whose output feeds the auxiliary classifier.
const auxAfter = "Mixed_6e"

// basic is a BasicConv2d with a kh×kw kernel and (ph, pw) padding.
func basic(name string, out, kh, kw, stride, ph, pw int) nn.Block {
	return nn.ConvUnit{Name: name, BNEps: bnEps, Conv: nn.Conv{
		Out: out, Kernel: nn.KHW(kh, kw), Stride: nn.K(stride), Pad: nn.PHW(ph, pw)}}.Block()
}

func conv1x1(name string, out int) nn.Block { return basic(name, out, 1, 1, 1, 0, 0) }
func conv1x7(name string, out int) nn.Block { return basic(name, out, 1, 7, 1, 0, 3) }
func conv7x1(name string, out int) nn.Block { return basic(name, out, 7, 1, 1, 3, 0) }
func conv1x3(name string, out int) nn.Block { return basic(name, out, 1, 3, 1, 0, 1) }
func conv3x1(name string, out int) nn.Block { return basic(name, out, 3, 1, 1, 1, 0) }

// avgPool is the in-block 3×3/1 average pool; torchvision counts the zero
// padding (PyTorch's default), unlike the TF original.
func avgPool() nn.Block {
	return nn.AvgPool{Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1), CountIncludePad: true}
}

// maxPool is the 3×3/2 floor-mode max pool of the stem and the reductions.
func maxPool(name string) nn.Block {
	return nn.MaxPool{Name: name, Kernel: nn.K(3), Stride: nn.K(2)}
}

func stemLayer(l StemLayer) nn.Block {
	if l.Out == 0 {
		return nn.MaxPool{Name: l.Name, Kernel: nn.K(l.Kernel), Stride: nn.K(l.Stride), Pad: nn.P(l.Pad)}
	}
	return basic(l.Name, l.Out, l.Kernel, l.Kernel, l.Stride, l.Pad, l.Pad)
}

func blockA(m BlockA) nn.Block {
	return nn.Branches{Name: m.Name, Paths: []nn.Block{
		conv1x1("branch1x1", m.N1x1),
		nn.Seq(conv1x1("branch5x5_1", m.N5x5Reduce), basic("branch5x5_2", m.N5x5, 5, 5, 1, 2, 2)),
		nn.Seq(conv1x1("branch3x3dbl_1", m.N3x3DblReduce),
			basic("branch3x3dbl_2", m.N3x3Dbl, 3, 3, 1, 1, 1),
			basic("branch3x3dbl_3", m.N3x3Dbl, 3, 3, 1, 1, 1)),
		nn.Seq(avgPool(), conv1x1("branch_pool", m.Pool)),
	}}
}

func blockB(m BlockB) nn.Block {
	return nn.Branches{Name: m.Name, Paths: []nn.Block{
		basic("branch3x3", m.N3x3, 3, 3, 2, 0, 0),
		nn.Seq(conv1x1("branch3x3dbl_1", m.N3x3DblReduce),
			basic("branch3x3dbl_2", m.N3x3Dbl, 3, 3, 1, 1, 1),
			basic("branch3x3dbl_3", m.N3x3Dbl, 3, 3, 2, 0, 0)),
		maxPool(""),
	}}
}

func blockC(m BlockC) nn.Block {
	return nn.Branches{Name: m.Name, Paths: []nn.Block{
		conv1x1("branch1x1", m.N1x1),
		nn.Seq(conv1x1("branch7x7_1", m.C7), conv1x7("branch7x7_2", m.C7), conv7x1("branch7x7_3", m.N7x7)),
		// The double branch starts with 7x1.
		nn.Seq(conv1x1("branch7x7dbl_1", m.C7),
			conv7x1("branch7x7dbl_2", m.C7), conv1x7("branch7x7dbl_3", m.C7),
			conv7x1("branch7x7dbl_4", m.C7), conv1x7("branch7x7dbl_5", m.N7x7)),
		nn.Seq(avgPool(), conv1x1("branch_pool", m.Pool)),
	}}
}

func blockD(m BlockD) nn.Block {
	return nn.Branches{Name: m.Name, Paths: []nn.Block{
		nn.Seq(conv1x1("branch3x3_1", m.N3x3Reduce), basic("branch3x3_2", m.N3x3, 3, 3, 2, 0, 0)),
		nn.Seq(conv1x1("branch7x7x3_1", m.N7x7x3),
			conv1x7("branch7x7x3_2", m.N7x7x3), conv7x1("branch7x7x3_3", m.N7x7x3),
			basic("branch7x7x3_4", m.N7x7x3, 3, 3, 2, 0, 0)),
		maxPool(""),
	}}
}

// blockE: each split pair reads the same input and concatenates 1x3 then
// 3x1, so it is a nested Branches.
func blockE(m BlockE) nn.Block {
	return nn.Branches{Name: m.Name, Paths: []nn.Block{
		conv1x1("branch1x1", m.N1x1),
		nn.Seq(conv1x1("branch3x3_1", m.N3x3),
			nn.Branches{Paths: []nn.Block{conv1x3("branch3x3_2a", m.N3x3), conv3x1("branch3x3_2b", m.N3x3)}}),
		nn.Seq(conv1x1("branch3x3dbl_1", m.N3x3DblReduce),
			basic("branch3x3dbl_2", m.N3x3Dbl, 3, 3, 1, 1, 1),
			nn.Branches{Paths: []nn.Block{conv1x3("branch3x3dbl_3a", m.N3x3Dbl), conv3x1("branch3x3dbl_3b", m.N3x3Dbl)}}),
		nn.Seq(avgPool(), conv1x1("branch_pool", m.Pool)),
	}}
}

// aux is torchvision's InceptionAux on the 768×17×17 Mixed_6e output.
func aux(classes int) nn.Block {
	return nn.Tap{Name: "AuxLogits", Head: nn.Seq(
		nn.AvgPool{Kernel: nn.K(5), Stride: nn.K(3), CountIncludePad: true},
		conv1x1("conv0", 128),
		basic("conv1", 768, 5, 5, 1, 0, 0),
		nn.AdaptiveAvgPool{Out: nn.K(1)},
		nn.Flatten{},
		nn.Linear{Name: "fc", Out: classes, Bias: true},
	)}
}

// body returns the Inception blocks in network order, with the aux head
// tapped after Mixed_6e when withAux is set.
func body(classes int, withAux bool) []nn.Block {
	var out []nn.Block
	for _, m := range BlocksA {
		out = append(out, blockA(m))
	}
	for _, m := range BlocksB {
		out = append(out, blockB(m))
	}
	for _, m := range BlocksC {
		out = append(out, blockC(m))
		if withAux && m.Name == auxAfter {
			out = append(out, aux(classes))
		}
	}
	for _, m := range BlocksD {
		out = append(out, blockD(m))
	}
	for _, m := range BlocksE {
		out = append(out, blockE(m))
	}
	return out
}

// InceptionV3 builds torchvision's / timm's inception_v3 at 3×299×299.
// Options.Aux adds the AuxLogits head; Options.TransformInput prepends
// torchvision's transform_input (the same Affine as inception-v1-tv).
func InceptionV3(o nn.Options) (nn.Block, error) {
	if o.Classes < 0 {
		return nil, fmt.Errorf("inception-v3: invalid class count %d", o.Classes)
	}
	n := o.ClassesOr(1000)
	var layers []nn.Block
	if o.TransformInput {
		layers = append(layers, inceptionv1.TransformInput())
	}
	for _, l := range Stem {
		layers = append(layers, stemLayer(l))
	}
	layers = append(layers, body(n, o.Aux)...)
	layers = append(layers,
		nn.GlobalAvgPool{Name: "avgpool"},
		nn.Dropout{Name: "dropout", P: 0.5},
		nn.Flatten{},
		nn.Linear{Name: "fc", Out: n, Bias: true},
	)
	return nn.Sequential{Layers: layers}, nil
}
