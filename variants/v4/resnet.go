package inceptionv4

import "github.com/inceptionzoo/inception/nn"

// Mixed5b is Inception-ResNet-v2's 35×35 block after the TF-slim stem (the
// shape of Inception-v3's Mixed_5b): [1×1; 1×1 → 5×5; 1×1 → 3×3 → 3×3;
// avg pool → 1×1].
type Mixed5b struct {
	N1x1                              int
	N5x5Reduce, N5x5                  int
	NDbl3x3Reduce, NDbl3x3a, NDbl3x3b int
	PoolProj                          int
}

// Out returns the block's output depth.
func (m Mixed5b) Out() int { return m.N1x1 + m.N5x5 + m.NDbl3x3b + m.PoolProj }

// ResA is the 35×35 Inception-ResNet-A block (paper Figs 10 and 16; timm and
// facenet-pytorch Block35): [1×1; 1×1 → 3×3; 1×1 → 3×3 → 3×3], concatenated,
// then the linear 1×1 up-projection to Up (the block's input depth).
type ResA struct {
	N1x1                           int
	N3x3Reduce, N3x3               int
	NDblReduce, NDbl3x3a, NDbl3x3b int
	Up                             int
}

// ResB is the 17×17 Inception-ResNet-B block (paper Figs 11 and 17; Block17):
// [1×1; 1×1 → 1×7 → 7×1] → 1×1 up-projection.
type ResB struct {
	N1x1                 int
	N7Reduce, N1x7, N7x1 int
	Up                   int
}

// ResC is the 8×8 Inception-ResNet-C block (paper Figs 13 and 19; Block8):
// [1×1; 1×1 → 1×3 → 3×1] → 1×1 up-projection.
type ResC struct {
	N1x1                 int
	N3Reduce, N1x3, N3x1 int
	Up                   int
}

// ResReductionB is the residual networks' 17×17 → 8×8 Reduction-B (paper
// Figs 12 and 18; Mixed_7a): [1×1 → 3×3/2 V; 1×1 → 3×3/2 V; 1×1 → 3×3 →
// 3×3/2 V; 3×3/2 max pool], the pool last as in timm and facenet-pytorch.
type ResReductionB struct {
	NaReduce, Na                   int
	NbReduce, Nb                   int
	NDblReduce, NDbl3x3, NDbl3x3s2 int
}

// Out returns the block's output depth for an input depth in.
func (r ResReductionB) Out(in int) int { return r.Na + r.Nb + r.NDbl3x3s2 + in }

// ResNetLayout is a whole Inception-ResNet: stem, optional Mixed5b, NumA×A,
// Reduction-A, NumB×B, Reduction-B, NumC×C, an optional final C block with
// scale 1 and no ReLU, an optional 1×1 conv unit, then the head. Names are
// the parameter-path segments of the reference implementation.
type ResNetLayout struct {
	Network string
	Stem    []StemLayer
	Mixed5b *Mixed5b // nil: none

	AName  string
	A      ResA
	NumA   int
	ScaleA float32

	RedA ReductionA

	BName  string
	B      ResB
	NumB   int
	ScaleB float32

	RedB ResReductionB

	CName  string
	C      ResC
	NumC   int
	ScaleC float32

	FinalBlock8 bool // one more C block named "block8": scale 1.0, no ReLU
	Conv7b      int  // width of the 1×1 conv unit "conv2d_7b"; 0: none
	Features    int  // depth of the last feature map

	PoolName string
	DropoutP float32 // 0: no dropout layer
	// Embedding is the width of facenet-pytorch's embedding head between
	// the pool and the classifier: Linear "last_linear" without bias, then
	// BatchNorm1d "last_bn" (eps 1e-3). 0: none.
	Embedding  int
	Classifier string
	NumClasses int
}

// InceptionResNetV2 is Inception-ResNet-v2 as TF-slim, timm and Cadene build
// it (not the paper's figures: v3-like stem plus mixed_5b, 10/20/9+1 blocks,
// up-projections 1088 and 2080).
var InceptionResNetV2 = ResNetLayout{
	Network: "inception-resnet-v2",
	Stem: []StemLayer{
		{"conv2d_1a", 32, 3, 2, true},  // 32×149×149
		{"conv2d_2a", 32, 3, 1, true},  // 32×147×147
		{"conv2d_2b", 64, 3, 1, false}, // 64×147×147
		{Name: "maxpool_3a"},           // 64×73×73
		{"conv2d_3b", 80, 1, 1, false}, // 80×73×73
		{"conv2d_4a", 192, 3, 1, true}, // 192×71×71
		{Name: "maxpool_5a"},           // 192×35×35
	},
	//                1x1 5red 5x5 dblred dbl-a dbl-b pool
	Mixed5b: &Mixed5b{96, 48, 64, 64, 96, 96, 64},
	AName:   "repeat",
	//       1x1 3red 3x3 dblred dbl-a dbl-b up
	A:      ResA{32, 32, 32, 32, 48, 64, 320},
	NumA:   10,
	ScaleA: 0.17,
	RedA:   mustReductionA("inception-resnet-v2"),
	BName:  "repeat_1",
	//       1x1 7red 1x7 7x1 up
	B:      ResB{192, 128, 160, 192, 1088},
	NumB:   20,
	ScaleB: 0.10,
	//                  ared  a   bred  b   dblred dbl dbl/2
	RedB:  ResReductionB{256, 384, 256, 288, 256, 288, 320},
	CName: "repeat_2",
	//       1x1 3red 1x3 3x1 up
	C:           ResC{192, 192, 224, 256, 2080},
	NumC:        9,
	ScaleC:      0.20,
	FinalBlock8: true,
	Conv7b:      1536,
	Features:    1536,
	PoolName:    "global_pool",
	Classifier:  "classif",
	NumClasses:  1000,
}

// InceptionResNetV1 is Inception-ResNet-v1 as facenet-pytorch builds it,
// the network its only published weights (VGGFace2, CASIA-WebFace) were
// trained with: the paper's blocks (Figs 14, 10, 7, 11, 12, 13, 15: 5×A,
// Reduction-A, 10×B, Reduction-B, 5×C), then one more C block with scale 1.0
// and no ReLU ("block8", as in Inception-ResNet-v2), global average pool,
// dropout 0.6, and a 512-d embedding head (last_linear without bias,
// last_bn) in front of the classifier "logits".
var InceptionResNetV1 = ResNetLayout{
	Network: "inception-resnet-v1",
	Stem: []StemLayer{
		{"conv2d_1a", 32, 3, 2, true},  // 32×149×149
		{"conv2d_2a", 32, 3, 1, true},  // 32×147×147
		{"conv2d_2b", 64, 3, 1, false}, // 64×147×147
		{Name: "maxpool_3a"},           // 64×73×73
		{"conv2d_3b", 80, 1, 1, false}, // 80×73×73
		{"conv2d_4a", 192, 3, 1, true}, // 192×71×71
		{"conv2d_4b", 256, 3, 2, true}, // 256×35×35
	},
	AName: "repeat_1",
	//       1x1 3red 3x3 dblred dbl-a dbl-b up
	A:      ResA{32, 32, 32, 32, 32, 32, 256},
	NumA:   5,
	ScaleA: 0.17,
	RedA:   mustReductionA("inception-resnet-v1"),
	BName:  "repeat_2",
	//       1x1 7red 1x7 7x1 up
	B:      ResB{128, 128, 128, 128, 896},
	NumB:   10,
	ScaleB: 0.10,
	//                  ared  a   bred  b   dblred dbl dbl/2
	RedB:  ResReductionB{256, 384, 256, 256, 256, 256, 256},
	CName: "repeat_3",
	//       1x1 3red 1x3 3x1 up
	C:           ResC{192, 192, 192, 192, 1792},
	NumC:        5,
	ScaleC:      0.20,
	FinalBlock8: true,
	Features:    1792,
	PoolName:    "avgpool_1a",
	DropoutP:    0.6,
	Embedding:   512,
	Classifier:  "logits",
	NumClasses:  1000,
}

// Block returns IRv2's mixed_5b.
func (m Mixed5b) Block(name string) nn.Block {
	return nn.Branches{Name: name, Paths: []nn.Block{
		same("branch0", m.N1x1, 1, 1),
		nn.Indexed("branch1", same("", m.N5x5Reduce, 1, 1), same("", m.N5x5, 5, 5)),
		nn.Indexed("branch2", same("", m.NDbl3x3Reduce, 1, 1), same("", m.NDbl3x3a, 3, 3), same("", m.NDbl3x3b, 3, 3)),
		nn.Indexed("branch3", avgPool(""), same("", m.PoolProj, 1, 1)),
	}}
}

// Block returns a Block35 named name with the given scale.
func (a ResA) Block(name string, scale float32) nn.Block {
	return nn.ScaledResidual(name, []nn.Block{
		same("branch0", a.N1x1, 1, 1),
		nn.Indexed("branch1", same("", a.N3x3Reduce, 1, 1), same("", a.N3x3, 3, 3)),
		nn.Indexed("branch2", same("", a.NDblReduce, 1, 1), same("", a.NDbl3x3a, 3, 3), same("", a.NDbl3x3b, 3, 3)),
	}, "conv2d", a.Up, scale, true)
}

// factorised is the B/C residual block: [1×1; 1×1 → 1×k → k×1] → up.
func factorised(name string, n1x1, reduce, n1xk, nkx1, k, up int, scale float32, relu bool) nn.Block {
	return nn.ScaledResidual(name, []nn.Block{
		same("branch0", n1x1, 1, 1),
		nn.Indexed("branch1", same("", reduce, 1, 1), same("", n1xk, 1, k), same("", nkx1, k, 1)),
	}, "conv2d", up, scale, relu)
}

// Block returns a Block17 named name with the given scale.
func (b ResB) Block(name string, scale float32) nn.Block {
	return factorised(name, b.N1x1, b.N7Reduce, b.N1x7, b.N7x1, 7, b.Up, scale, true)
}

// Block returns a Block8 named name with the given scale; relu false is
// the final scale-1.0 block of IRv2.
func (c ResC) Block(name string, scale float32, relu bool) nn.Block {
	return factorised(name, c.N1x1, c.N3Reduce, c.N1x3, c.N3x1, 3, c.Up, scale, relu)
}

// Block returns the residual networks' Reduction-B named name.
func (r ResReductionB) Block(name string) nn.Block {
	return nn.Branches{Name: name, Paths: []nn.Block{
		nn.Indexed("branch0", same("", r.NaReduce, 1, 1), valid("", r.Na, 3, 2)),
		nn.Indexed("branch1", same("", r.NbReduce, 1, 1), valid("", r.Nb, 3, 2)),
		nn.Indexed("branch2", same("", r.NDblReduce, 1, 1), same("", r.NDbl3x3, 3, 3), valid("", r.NDbl3x3s2, 3, 2)),
		maxPool("branch3"),
	}}
}

func repeat(name string, n int, block func() nn.Block) nn.Block {
	bs := make([]nn.Block, n)
	for i := range bs {
		bs[i] = block()
	}
	return nn.Indexed(name, bs...)
}

// Build returns the network; see the layout's names for the paths.
func (l ResNetLayout) Build(o nn.Options) (nn.Block, error) {
	if err := plainOptions(l.Network, o); err != nil {
		return nil, err
	}
	layers := stem(l.Stem)
	if l.Mixed5b != nil {
		layers = append(layers, l.Mixed5b.Block("mixed_5b"))
	}
	layers = append(layers,
		repeat(l.AName, l.NumA, func() nn.Block { return l.A.Block("", l.ScaleA) }),
		l.RedA.Block("mixed_6a"),
		repeat(l.BName, l.NumB, func() nn.Block { return l.B.Block("", l.ScaleB) }),
		l.RedB.Block("mixed_7a"),
		repeat(l.CName, l.NumC, func() nn.Block { return l.C.Block("", l.ScaleC, true) }),
	)
	if l.FinalBlock8 {
		layers = append(layers, l.C.Block("block8", 1, false))
	}
	if l.Conv7b > 0 {
		layers = append(layers, same("conv2d_7b", l.Conv7b, 1, 1))
	}
	layers = append(layers, nn.GlobalAvgPool{Name: l.PoolName})
	if l.DropoutP > 0 {
		layers = append(layers, nn.Dropout{Name: "dropout", P: l.DropoutP})
	}
	layers = append(layers, nn.Flatten{})
	if l.Embedding > 0 {
		layers = append(layers, nn.Linear{Name: "last_linear", Out: l.Embedding}, nn.BatchNorm{Name: "last_bn", Eps: 1e-3})
	}
	layers = append(layers, nn.Linear{Name: l.Classifier, Out: o.ClassesOr(l.NumClasses), Bias: true})
	return nn.Sequential{Layers: layers}, nil
}

// ResNetV2 builds Inception-ResNet-v2 at 3×299×299 (timm
// inception_resnet_v2 / Cadene inceptionresnetv2).
func ResNetV2(o nn.Options) (nn.Block, error) { return InceptionResNetV2.Build(o) }

// ResNetV1 builds facenet-pytorch's Inception-ResNet-v1 (see
// InceptionResNetV1), 1000 classes unless o says otherwise.
func ResNetV1(o nn.Options) (nn.Block, error) { return InceptionResNetV1.Build(o) }
