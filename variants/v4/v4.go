package inceptionv4

import "github.com/inceptionzoo/inception/nn"

// InceptionA is the 35×35 Inception-A block of Inception-v4 (paper Fig 4):
// [1×1; 1×1 → 3×3; 1×1 → 3×3 → 3×3; avg pool → 1×1]. Columns in branch
// order.
type InceptionA struct {
	N1x1                              int
	N3x3Reduce, N3x3                  int
	NDbl3x3Reduce, NDbl3x3a, NDbl3x3b int
	PoolProj                          int
}

// Out returns the block's output depth.
func (a InceptionA) Out() int { return a.N1x1 + a.N3x3 + a.NDbl3x3b + a.PoolProj }

// InceptionB is the 17×17 Inception-B block (paper Fig 5): [1×1; 1×1 → 1×7
// → 7×1; 1×1 → 7×1 → 1×7 → 7×1 → 1×7; avg pool → 1×1]. timm and TF-slim
// start the double branch with 7×1, as here.
type InceptionB struct {
	N1x1                                                int
	N7Reduce, N1x7, N7x1                                int
	NDbl7Reduce, NDbl7x1a, NDbl1x7a, NDbl7x1b, NDbl1x7b int
	PoolProj                                            int
}

// Out returns the block's output depth.
func (b InceptionB) Out() int { return b.N1x1 + b.N7x1 + b.NDbl1x7b + b.PoolProj }

// InceptionC is the 8×8 Inception-C block (paper Fig 6): [1×1; 1×1 →
// {1×3, 3×1}; 1×1 → 3×1 → 1×3 → {1×3, 3×1}; avg pool → 1×1]. Each split
// ("{…}") is two convs on the same input, concatenated.
type InceptionC struct {
	N1x1                                    int
	N3Reduce, N3Split                       int
	NDblReduce, NDbl3x1, NDbl1x3, NDblSplit int
	PoolProj                                int
}

// Out returns the block's output depth.
func (c InceptionC) Out() int { return c.N1x1 + 2*c.N3Split + 2*c.NDblSplit + c.PoolProj }

// ReductionBV4 is Inception-v4's 17×17 → 8×8 Reduction-B (paper Fig 8):
// [1×1 → 3×3/2 V; 1×1 → 1×7 → 7×1 → 3×3/2 V; 3×3/2 max pool].
// N7x7x3x3 is the stride-2 3×3 that ends the 7×7 branch.
type ReductionBV4 struct {
	N3x3Reduce, N3x3               int
	N7Reduce, N1x7, N7x1, N7x7x3x3 int
}

// Out returns the block's output depth for an input depth in.
func (r ReductionBV4) Out(in int) int { return r.N3x3 + r.N7x7x3x3 + in }

// V4Layout is the whole Inception-v4 (paper Fig 9): the stem (Fig 3), then
// NumA×A, Reduction-A, NumB×B, Reduction-B, NumC×C.
type V4Layout struct {
	Stem       []StemLayer // the unbranched start of Fig 3
	A          InceptionA
	NumA       int
	RedA       ReductionA
	B          InceptionB
	NumB       int
	RedB       ReductionBV4
	C          InceptionC
	NumC       int
	Features   int     // depth of the last feature map
	DropoutP   float32 // head dropout; the paper's keep 0.8 is 0.2, timm's default is 0
	NumClasses int
}

// InceptionV4 is the Inception-v4 layout of the paper, as built by timm and
// Cadene.
var InceptionV4 = V4Layout{
	Stem: []StemLayer{
		{Out: 32, K: 3, Stride: 2, Valid: true}, // 32×149×149
		{Out: 32, K: 3, Stride: 1, Valid: true}, // 32×147×147
		{Out: 64, K: 3, Stride: 1},              // 64×147×147
	},
	//            1x1  3x3red 3x3  dblred dbl-a dbl-b  pool
	A:    InceptionA{96, 64, 96, 64, 96, 96, 96},
	NumA: 4,
	RedA: mustReductionA("inception-v4"),
	//            1x1  7red 1x7  7x1  dblred 7x1a 1x7a 7x1b 1x7b pool
	B:    InceptionB{384, 192, 224, 256, 192, 192, 224, 224, 256, 128},
	NumB: 7,
	//              3red 3x3  7red 1x7  7x1  3x3
	RedB: ReductionBV4{192, 192, 256, 256, 320, 320},
	//            1x1  3red split dblred 3x1 1x3 split pool
	C:          InceptionC{256, 384, 256, 384, 448, 512, 256, 256},
	NumC:       3,
	Features:   1536,
	NumClasses: 1000,
}

// The three branched stem blocks of Fig 3 (timm Mixed3a, Mixed4a, Mixed5a).

// mixed3a: [3×3/2 max pool; 3×3/2·96 V] (pool first) → 160×73×73.
func mixed3a() nn.Block {
	return nn.Branches{Paths: []nn.Block{maxPool("maxpool"), valid("conv", 96, 3, 2)}}
}

// mixed4a: [1×1·64 → 3×3·96 V; 1×1·64 → 1×7·64 → 7×1·64 → 3×3·96 V]
// → 192×71×71 (the 1×7 first, as in timm and TF-slim).
func mixed4a() nn.Block {
	return nn.Branches{Paths: []nn.Block{
		nn.Indexed("branch0", same("", 64, 1, 1), valid("", 96, 3, 1)),
		nn.Indexed("branch1", same("", 64, 1, 1), same("", 64, 1, 7), same("", 64, 7, 1), valid("", 96, 3, 1)),
	}}
}

// mixed5a: [3×3/2·192 V; 3×3/2 max pool] (conv first) → 384×35×35.
func mixed5a() nn.Block {
	return nn.Branches{Paths: []nn.Block{valid("conv", 192, 3, 2), maxPool("maxpool")}}
}

// Block returns the Inception-A block (timm InceptionA).
func (a InceptionA) Block() nn.Block {
	return nn.Branches{Paths: []nn.Block{
		same("branch0", a.N1x1, 1, 1),
		nn.Indexed("branch1", same("", a.N3x3Reduce, 1, 1), same("", a.N3x3, 3, 3)),
		nn.Indexed("branch2", same("", a.NDbl3x3Reduce, 1, 1), same("", a.NDbl3x3a, 3, 3), same("", a.NDbl3x3b, 3, 3)),
		nn.Indexed("branch3", avgPool(""), same("", a.PoolProj, 1, 1)),
	}}
}

// Block returns the Inception-B block (timm InceptionB).
func (b InceptionB) Block() nn.Block {
	return nn.Branches{Paths: []nn.Block{
		same("branch0", b.N1x1, 1, 1),
		nn.Indexed("branch1", same("", b.N7Reduce, 1, 1), same("", b.N1x7, 1, 7), same("", b.N7x1, 7, 1)),
		nn.Indexed("branch2", same("", b.NDbl7Reduce, 1, 1),
			same("", b.NDbl7x1a, 7, 1), same("", b.NDbl1x7a, 1, 7),
			same("", b.NDbl7x1b, 7, 1), same("", b.NDbl1x7b, 1, 7)),
		nn.Indexed("branch3", avgPool(""), same("", b.PoolProj, 1, 1)),
	}}
}

// Block returns the Inception-C block with timm's flat branch names
// (branch1_0, branch1_1a, branch1_1b, branch2_0 … branch2_3b).
func (c InceptionC) Block() nn.Block {
	return nn.Branches{Paths: []nn.Block{
		same("branch0", c.N1x1, 1, 1),
		nn.Seq(same("branch1_0", c.N3Reduce, 1, 1), nn.Branches{Paths: []nn.Block{
			same("branch1_1a", c.N3Split, 1, 3),
			same("branch1_1b", c.N3Split, 3, 1),
		}}),
		nn.Seq(same("branch2_0", c.NDblReduce, 1, 1), same("branch2_1", c.NDbl3x1, 3, 1), same("branch2_2", c.NDbl1x3, 1, 3),
			nn.Branches{Paths: []nn.Block{
				same("branch2_3a", c.NDblSplit, 1, 3),
				same("branch2_3b", c.NDblSplit, 3, 1),
			}}),
		nn.Indexed("branch3", avgPool(""), same("", c.PoolProj, 1, 1)),
	}}
}

// Block returns Inception-v4's Reduction-B (timm ReductionB).
func (r ReductionBV4) Block() nn.Block {
	return nn.Branches{Paths: []nn.Block{
		nn.Indexed("branch0", same("", r.N3x3Reduce, 1, 1), valid("", r.N3x3, 3, 2)),
		nn.Indexed("branch1", same("", r.N7Reduce, 1, 1), same("", r.N1x7, 1, 7), same("", r.N7x1, 7, 1), valid("", r.N7x7x3x3, 3, 2)),
		maxPool("branch2"),
	}}
}

// Features returns the layout's feature extractor as a flat list, in the
// order of timm's "features" Sequential (features.0 … features.21 for
// Inception-v4).
func (l V4Layout) FeatureBlocks() []nn.Block {
	fs := stem(l.Stem)
	fs = append(fs, mixed3a(), mixed4a(), mixed5a())
	for range l.NumA {
		fs = append(fs, l.A.Block())
	}
	fs = append(fs, l.RedA.Block(""))
	for range l.NumB {
		fs = append(fs, l.B.Block())
	}
	fs = append(fs, l.RedB.Block())
	for range l.NumC {
		fs = append(fs, l.C.Block())
	}
	return fs
}

// Build returns the network with timm / Cadene parameter paths:
// features.0 … features.21, then global_pool and last_linear.
func (l V4Layout) Build(o nn.Options) (nn.Block, error) {
	if err := plainOptions("inception-v4", o); err != nil {
		return nil, err
	}
	layers := []nn.Block{nn.Indexed("features", l.FeatureBlocks()...), nn.GlobalAvgPool{Name: "global_pool"}}
	if l.DropoutP > 0 {
		layers = append(layers, nn.Dropout{Name: "head_drop", P: l.DropoutP})
	}
	layers = append(layers, nn.Flatten{}, nn.Linear{Name: "last_linear", Out: o.ClassesOr(l.NumClasses), Bias: true})
	return nn.Sequential{Layers: layers}, nil
}

// V4 builds Inception-v4 at 3×299×299 (timm inception_v4 / Cadene
// inceptionv4).
func V4(o nn.Options) (nn.Block, error) { return InceptionV4.Build(o) }
