package inceptionv1

import (
	"fmt"

	"github.com/inceptionzoo/inception/nn"
)

// Module is one row of the paper's Table 1. Columns in paper order.
type Module struct {
	Name                                               string
	N1x1, N3x3Reduce, N3x3, N5x5Reduce, N5x5, PoolProj int
}

// Out returns the module's output depth (the sum of its branch widths).
func (m Module) Out() int { return m.N1x1 + m.N3x3 + m.N5x5 + m.PoolProj }

// Modules is Table 1 of the paper: every Inception module of GoogLeNet.
var Modules = []Module{
	//  name  #1x1 #3x3red #3x3 #5x5red #5x5 poolproj
	{"3a", 64, 96, 128, 16, 32, 32},
	{"3b", 128, 128, 192, 32, 96, 64},
	{"4a", 192, 96, 208, 16, 48, 64},
	{"4b", 160, 112, 224, 24, 64, 64},
	{"4c", 128, 128, 256, 24, 64, 64},
	{"4d", 112, 144, 288, 32, 64, 64},
	{"4e", 256, 160, 320, 32, 128, 128},
	{"5a", 256, 160, 320, 32, 128, 128},
	{"5b", 384, 192, 384, 48, 128, 128},
}

// flavour captures what differs between the layouts; the table does not.
type flavour struct {
	module    func(m Module) nn.Block           // one Inception module
	stagePool func(name string, k int) nn.Block // the pools between stages
	lastPoolK int                               // kernel of the 14→7 pool
}

// stagePoolAfter says where the stage pools fall: after the module named
// by each key, a pool named by its value.
var stagePoolAfter = map[string]string{"3b": "3", "4e": "4"}

func body(f flavour) []nn.Block {
	var out []nn.Block
	for _, m := range Modules {
		out = append(out, f.module(m))
		if s, ok := stagePoolAfter[m.Name]; ok {
			k := 3
			if s == "4" {
				k = f.lastPoolK
			}
			out = append(out, f.stagePool(s, k))
		}
	}
	return out
}

// ---- paper / BVLC Caffe ----

func caffeConv(name string, out, k, stride, pad int) nn.Block {
	return nn.ConvUnit{Name: name, Conv: nn.Conv{Out: out, Kernel: nn.K(k), Stride: nn.K(stride), Pad: nn.P(pad)}}.Block()
}

func caffeModule(m Module) nn.Block {
	return nn.Branches{Name: "inception_" + m.Name, Paths: []nn.Block{
		caffeConv("1x1", m.N1x1, 1, 1, 0),
		nn.Seq(caffeConv("3x3_reduce", m.N3x3Reduce, 1, 1, 0), caffeConv("3x3", m.N3x3, 3, 1, 1)),
		nn.Seq(caffeConv("5x5_reduce", m.N5x5Reduce, 1, 1, 0), caffeConv("5x5", m.N5x5, 5, 1, 2)),
		nn.Seq(nn.MaxPool{Name: "pool", Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1), CeilMode: true}, caffeConv("pool_proj", m.PoolProj, 1, 1, 0)),
	}}
}

// caffePool is a stage pool of the BVLC layout: Caffe rounds pooled sizes
// up (ceil mode), 112→56→28→14→7.
func caffePool(name string, k int) nn.Block {
	return nn.MaxPool{Name: "pool" + name + ".3x3_s2", Kernel: nn.K(k), Stride: nn.K(2), CeilMode: true}
}

// caffe2Pool is a stage pool of the Caffe2 reproduction (the ONNX Model
// Zoo inception_v1 file): floor rounding, 112→55→27→13→6.
func caffe2Pool(name string, k int) nn.Block {
	return nn.MaxPool{Name: "pool" + name + ".3x3_s2", Kernel: nn.K(k), Stride: nn.K(2)}
}

var caffeLRN = nn.LRN{Size: 5, Alpha: 1e-4, Beta: 0.75, Bias: 1}

// caffeAux is the paper's auxiliary classifier on 4a or 4d.
func caffeAux(name string, classes int) nn.Block {
	return nn.Tap{Name: name, Head: nn.Seq(
		nn.AvgPool{Name: "ave_pool", Kernel: nn.K(5), Stride: nn.K(3), CeilMode: true, CountIncludePad: true},
		caffeConv("conv", 128, 1, 1, 0),
		nn.Flatten{},
		nn.Linear{Name: "fc", Out: 1024, Bias: true}, nn.ReLU{},
		nn.Dropout{P: 0.7},
		nn.Linear{Name: "classifier", Out: classes, Bias: true},
	)}
}

// GoogLeNet builds the paper / BVLC Caffe layout at 3×224×224.
func GoogLeNet(o nn.Options) (nn.Block, error) {
	return caffeNet(o, "inception-v1", caffePool,
		nn.AvgPool{Name: "pool5.7x7_s1", Kernel: nn.K(7), Stride: nn.K(1)})
}

// Caffe2 builds the ONNX Model Zoo inception_v1 network (Caffe2's
// reproduction of GoogLeNet): the BVLC layout and parameters, but
// floor-rounded stage pools (7x7 maps become 6x6) and a final 7×7 average
// pool with one cell of end padding that is not counted, exactly as the
// file's graph says.
func Caffe2(o nn.Options) (nn.Block, error) {
	if o.Aux {
		return nil, fmt.Errorf("inception-v1-caffe2: the Caffe2 model has no auxiliary heads")
	}
	return caffeNet(o, "inception-v1-caffe2", caffe2Pool,
		nn.AvgPool{Name: "pool5.7x7_s1", Kernel: nn.K(7), Stride: nn.K(1), Pad: nn.Pad{B: 1, R: 1}})
}

// caffeNet is the Caffe-named GoogLeNet with the given stage pools and
// final average pool.
func caffeNet(o nn.Options, model string, pool func(name string, k int) nn.Block, avg nn.AvgPool) (nn.Block, error) {
	if o.TransformInput {
		return nil, fmt.Errorf("%s: transform_input is a torchvision option (use inception-v1-tv)", model)
	}
	n := o.ClassesOr(1000)
	lrn1, lrn2 := caffeLRN, caffeLRN
	lrn1.Name, lrn2.Name = "norm1", "norm2"
	pool1 := pool("1", 3).(nn.MaxPool)
	pool1.Name = "3x3_s2"
	layers := []nn.Block{
		nn.Sequential{Name: "conv1", Layers: []nn.Block{caffeConv("7x7_s2", 64, 7, 2, 3)}},
		nn.Sequential{Name: "pool1", Layers: []nn.Block{pool1, lrn1}},
		nn.Sequential{Name: "conv2", Layers: []nn.Block{
			caffeConv("3x3_reduce", 64, 1, 1, 0), caffeConv("3x3", 192, 3, 1, 1), lrn2}},
		pool("2", 3),
	}
	for _, b := range body(flavour{module: caffeModule, stagePool: pool, lastPoolK: 3}) {
		layers = append(layers, b)
		if o.Aux {
			switch b.BlockName() {
			case "inception_4a":
				layers = append(layers, caffeAux("loss1", n))
			case "inception_4d":
				layers = append(layers, caffeAux("loss2", n))
			}
		}
	}
	layers = append(layers,
		avg,
		nn.Dropout{Name: "pool5.drop_7x7_s1", P: 0.4},
		nn.Flatten{},
		nn.Sequential{Name: "loss3", Layers: []nn.Block{nn.Linear{Name: "classifier", Out: n, Bias: true}}},
	)
	return nn.Sequential{Layers: layers}, nil
}

// ---- torchvision ----

const tvEps = 1e-3

func basic(name string, out int, k, stride, pad int) nn.Block {
	return nn.ConvUnit{Name: name, BNEps: tvEps, Conv: nn.Conv{Out: out, Kernel: nn.K(k), Stride: nn.K(stride), Pad: nn.P(pad)}}.Block()
}

func tvModule(m Module) nn.Block {
	return nn.Branches{Name: "inception" + m.Name, Paths: []nn.Block{
		basic("branch1", m.N1x1, 1, 1, 0),
		nn.Indexed("branch2", basic("", m.N3x3Reduce, 1, 1, 0), basic("", m.N3x3, 3, 1, 1)),
		// torchvision's "5x5" branch uses a 3x3 kernel (pytorch/vision#906).
		nn.Indexed("branch3", basic("", m.N5x5Reduce, 1, 1, 0), basic("", m.N5x5, 3, 1, 1)),
		nn.Indexed("branch4", nn.MaxPool{Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1), CeilMode: true}, basic("", m.PoolProj, 1, 1, 0)),
	}}
}

func tvPool(name string, k int) nn.Block {
	return nn.MaxPool{Name: "maxpool" + name, Kernel: nn.K(k), Stride: nn.K(2), CeilMode: true}
}

func tvAux(name string, classes int) nn.Block {
	return nn.Tap{Name: name, Head: nn.Seq(
		nn.AdaptiveAvgPool{Out: nn.K(4)},
		basic("conv", 128, 1, 1, 0),
		nn.Flatten{},
		nn.Linear{Name: "fc1", Out: 1024, Bias: true}, nn.ReLU{},
		nn.Dropout{P: 0.7},
		nn.Linear{Name: "fc2", Out: classes, Bias: true},
	)}
}

// TransformInput is torchvision's transform_input: it maps an input
// normalised with the ImageNet mean and std to the (x − 0.5)/0.5 convention
// the TF-ported weights expect: x_c·(std_c/0.5) + (mean_c − 0.5)/0.5.
func TransformInput() nn.Affine {
	mean := []float32{0.485, 0.456, 0.406}
	std := []float32{0.229, 0.224, 0.225}
	a := nn.Affine{Name: "transform_input"}
	for c := range mean {
		a.Scale = append(a.Scale, std[c]/0.5)
		a.Shift = append(a.Shift, (mean[c]-0.5)/0.5)
	}
	return a
}

// TorchVision builds torchvision's googlenet at 3×224×224.
func TorchVision(o nn.Options) (nn.Block, error) {
	n := o.ClassesOr(1000)
	var layers []nn.Block
	if o.TransformInput {
		layers = append(layers, TransformInput())
	}
	layers = append(layers,
		basic("conv1", 64, 7, 2, 3),
		tvPool("1", 3),
		basic("conv2", 64, 1, 1, 0),
		basic("conv3", 192, 3, 1, 1),
		tvPool("2", 3),
	)
	for _, b := range body(flavour{module: tvModule, stagePool: tvPool, lastPoolK: 2}) {
		layers = append(layers, b)
		if o.Aux {
			switch b.BlockName() {
			case "inception4a":
				layers = append(layers, tvAux("aux1", n))
			case "inception4d":
				layers = append(layers, tvAux("aux2", n))
			}
		}
	}
	layers = append(layers,
		nn.GlobalAvgPool{Name: "avgpool"},
		nn.Dropout{Name: "dropout", P: 0.2},
		nn.Flatten{},
		nn.Linear{Name: "fc", Out: n, Bias: true},
	)
	return nn.Sequential{Layers: layers}, nil
}

// ---- Dive into Deep Learning ----

func d2lConv(name string, out, k, pad int) nn.Block {
	return nn.ConvUnit{Name: name, Conv: nn.Conv{Out: out, Kernel: nn.K(k), Pad: nn.P(pad)}}.Block()
}

func d2lModule(m Module) nn.Block {
	return nn.Branches{Name: m.Name, Paths: []nn.Block{
		d2lConv("b1_1", m.N1x1, 1, 0),
		nn.Seq(d2lConv("b2_1", m.N3x3Reduce, 1, 0), d2lConv("b2_2", m.N3x3, 3, 1)),
		nn.Seq(d2lConv("b3_1", m.N5x5Reduce, 1, 0), d2lConv("b3_2", m.N5x5, 5, 2)),
		nn.Seq(nn.MaxPool{Name: "b4_1", Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1)}, d2lConv("b4_2", m.PoolProj, 1, 0)),
	}}
}

func d2lPool() nn.Block {
	return nn.MaxPool{Kernel: nn.K(3), Stride: nn.K(2), Pad: nn.P(1)}
}

// D2L builds the Dive into Deep Learning GoogLeNet at 1×96×96. Its blocks
// b1…b5 are named "0"…"4" and the classifier "5", as in the book's
// nn.Sequential; each module keeps the row's name.
func D2L(o nn.Options) (nn.Block, error) {
	if o.Aux || o.TransformInput {
		return nil, fmt.Errorf("inception-v1-d2l: has no aux heads or transform_input")
	}
	n := o.ClassesOr(10)
	conv7 := nn.ConvUnit{Name: "conv", Conv: nn.Conv{Out: 64, Kernel: nn.K(7), Stride: nn.K(2), Pad: nn.P(3)}}.Block()
	mods := map[string]nn.Block{}
	for _, m := range Modules {
		mods[m.Name] = d2lModule(m)
	}
	return nn.Indexed("",
		nn.Seq(conv7, d2lPool()),
		nn.Seq(d2lConv("conv1", 64, 1, 0), d2lConv("conv2", 192, 3, 1), d2lPool()),
		nn.Seq(mods["3a"], mods["3b"], d2lPool()),
		nn.Seq(mods["4a"], mods["4b"], mods["4c"], mods["4d"], mods["4e"], d2lPool()),
		nn.Seq(mods["5a"], mods["5b"], nn.GlobalAvgPool{}, nn.Flatten{}),
		nn.Linear{Out: n, Bias: true},
	), nil
}
