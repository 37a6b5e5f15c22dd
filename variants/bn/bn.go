package bninception

import (
	"fmt"
	"strings"

	"github.com/inceptionzoo/inception/nn"
)

// PoolKind is the pooling of a module's pool branch.
type PoolKind int

// Pool kinds.
const (
	Avg PoolKind = iota
	Max
)

// Module is one row of the BN-Inception module table (BN paper Figure 5;
// architectures reference §3.2). Columns in concat order: #1x1; #3x3
// reduce → #3x3; double-#3x3 reduce → #3x3 → #3x3; pool + projection.
// A reduction module (Stride 2) has no 1x1 branch, ends its two 3x3
// branches with stride 2 and passes its 3x3/2 max pool through without a
// projection (PoolProj 0).
type Module struct {
	Name                                               string
	N1x1, N3x3Reduce, N3x3, NDblReduce, NDbl, PoolProj int
	Pool                                               PoolKind
	Stride                                             int
}

// Out returns the module's output depth for an input of depth in.
func (m Module) Out(in int) int {
	pool := m.PoolProj
	if pool == 0 {
		pool = in
	}
	return m.N1x1 + m.N3x3 + m.NDbl + pool
}

// Modules608 is the module table as released in Caffe (Xiong's model, the
// Cadene bninception port, MXNet inception-bn): the paper's printed branch
// widths, whose 4c/4d pool projections of 128 make those modules 608 deep
// and 4e 1056 deep.
var Modules608 = []Module{
	//  name 1x1 3x3red 3x3 dblred dbl proj pool stride
	{"3a", 64, 64, 64, 64, 96, 32, Avg, 1},
	{"3b", 64, 64, 96, 64, 96, 64, Avg, 1},
	{"3c", 0, 128, 160, 64, 96, 0, Max, 2},
	{"4a", 224, 64, 96, 96, 128, 128, Avg, 1},
	{"4b", 192, 96, 128, 96, 128, 128, Avg, 1},
	{"4c", 160, 128, 160, 128, 160, 128, Avg, 1},
	{"4d", 96, 128, 192, 160, 192, 128, Avg, 1},
	{"4e", 0, 128, 192, 192, 256, 0, Max, 2},
	{"5a", 352, 192, 320, 160, 224, 128, Avg, 1},
	{"5b", 352, 192, 320, 192, 224, 128, Max, 1},
}

// Modules576 is the module table of the ONNX Model Zoo inception_v2, read
// off its graph: the 608 table with 4c/4d pool projections of 96 (as in
// TF-slim), so 4c/4d are 576 deep and 4e 1024 deep.
var Modules576 = []Module{
	//  name 1x1 3x3red 3x3 dblred dbl proj pool stride
	{"3a", 64, 64, 64, 64, 96, 32, Avg, 1},
	{"3b", 64, 64, 96, 64, 96, 64, Avg, 1},
	{"3c", 0, 128, 160, 64, 96, 0, Max, 2},
	{"4a", 224, 64, 96, 96, 128, 128, Avg, 1},
	{"4b", 192, 96, 128, 96, 128, 128, Avg, 1},
	{"4c", 160, 128, 160, 128, 160, 96, Avg, 1},
	{"4d", 96, 128, 192, 160, 192, 96, Avg, 1},
	{"4e", 0, 128, 192, 192, 256, 0, Max, 2},
	{"5a", 352, 192, 320, 160, 224, 128, Avg, 1},
	{"5b", 352, 192, 320, 192, 224, 128, Max, 1},
}

// StemConv is one conv of the stem; each is followed by BN and ReLU.
type StemConv struct {
	Name                     string // layer name in the Caffe prototxt
	Out, Kernel, Stride, Pad int
}

// Stem is the stem's convs; a 3×3/2 max pool follows conv1 and conv2.
// Both layouts share it: a plain 7×7 first conv (not TF-slim's separable one).
var Stem = []StemConv{
	{"conv1/7x7_s2", 64, 7, 2, 3},
	{"conv2/3x3_reduce", 64, 1, 1, 0},
	{"conv2/3x3", 192, 3, 1, 1},
}

// layers names the convs and the pool of a module, in a flavour's spelling.
type layers struct {
	n1x1, n3x3Reduce, n3x3, dblReduce, dbl1, dbl2, pool, poolProj string
}

// flavour captures what differs between the two layouts — names, the conv
// unit, pool rounding and padding semantics, the head; the tables and the
// wiring do not.
type flavour struct {
	names layers
	// prefix returns a module's Branches name and the prefix of its layer names.
	prefix func(m Module) (block, prefix string)
	// stemName maps a Stem layer name to the unit's name.
	stemName func(layer string) string
	// unit is conv → BN (→ scale) → ReLU under the given layer name.
	unit func(name string, c nn.Conv) nn.Block
	// maxPool is a 3×3 max pool of the given stride (2 in the stem and the
	// reductions, 1 in 5b); avgPool is the in-block 3×3/1 average pool.
	maxPool   func(name string, stride int) nn.Block
	avgPool   func(name string) nn.Block
	stemPools [2]string
	global    nn.Block // the 7×7 global pool
	fc        string
}

func (f flavour) module(m Module) nn.Block {
	block, p := f.prefix(m)
	unit := func(layer string, out, k, stride int) nn.Block {
		return f.unit(p+layer, nn.Conv{Out: out, Kernel: nn.K(k), Stride: nn.K(stride), Pad: nn.P(k / 2)})
	}
	s := m.Stride
	var paths []nn.Block
	if m.N1x1 > 0 {
		paths = append(paths, unit(f.names.n1x1, m.N1x1, 1, 1))
	}
	paths = append(paths,
		nn.Seq(unit(f.names.n3x3Reduce, m.N3x3Reduce, 1, 1), unit(f.names.n3x3, m.N3x3, 3, s)),
		nn.Seq(unit(f.names.dblReduce, m.NDblReduce, 1, 1), unit(f.names.dbl1, m.NDbl, 3, 1), unit(f.names.dbl2, m.NDbl, 3, s)),
	)
	var pool nn.Block
	if m.Pool == Max {
		pool = f.maxPool(p+f.names.pool, s)
	} else {
		pool = f.avgPool(p + f.names.pool)
	}
	if m.PoolProj > 0 {
		paths = append(paths, nn.Seq(pool, unit(f.names.poolProj, m.PoolProj, 1, 1)))
	} else {
		paths = append(paths, pool)
	}
	return nn.Branches{Name: block, Paths: paths}
}

// build assembles stem, modules and head.
func (f flavour) build(mods []Module, classes int) nn.Block {
	conv := func(c StemConv) nn.Block {
		return f.unit(f.stemName(c.Name), nn.Conv{Out: c.Out, Kernel: nn.K(c.Kernel), Stride: nn.K(c.Stride), Pad: nn.P(c.Pad)})
	}
	layers := []nn.Block{
		conv(Stem[0]), f.maxPool(f.stemPools[0], 2),
		conv(Stem[1]), conv(Stem[2]), f.maxPool(f.stemPools[1], 2),
	}
	for _, m := range mods {
		layers = append(layers, f.module(m))
	}
	return nn.Sequential{Layers: append(layers, f.global, nn.Flatten{}, nn.Linear{Name: f.fc, Out: classes, Bias: true})}
}

// ---- Caffe / Cadene bninception ----

// caffeUnit is a Caffe conv (with bias) named name, its BatchNorm sibling
// name_bn (PyTorch's default eps 1e-5) and a ReLU, flat as in Cadene's
// port: parameters name.weight, name.bias, name_bn.weight, ….
func caffeUnit(name string, c nn.Conv) nn.Block {
	c.Name = name
	c.Bias = true
	return nn.Seq(c, nn.BatchNorm{Name: name + "_bn", Eps: 1e-5}, nn.ReLU{})
}

var caffe = flavour{
	names: layers{"1x1", "3x3_reduce", "3x3", "double_3x3_reduce", "double_3x3_1", "double_3x3_2", "pool", "pool_proj"},
	// Cadene's modules are flat: the Branches are transparent and every
	// layer name carries the module prefix.
	prefix:   func(m Module) (string, string) { return "", "inception_" + m.Name + "_" },
	stemName: func(layer string) string { return strings.ReplaceAll(layer, "/", "_") },
	unit:     caffeUnit,
	// Caffe rounds pool outputs up.
	maxPool: func(name string, stride int) nn.Block {
		pad := 0
		if stride == 1 {
			pad = 1
		}
		return nn.MaxPool{Name: name, Kernel: nn.K(3), Stride: nn.K(stride), Pad: nn.P(pad), CeilMode: true}
	},
	avgPool: func(name string) nn.Block {
		return nn.AvgPool{Name: name, Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1), CeilMode: true, CountIncludePad: true}
	},
	stemPools: [2]string{"pool1_3x3_s2", "pool2_3x3_s2"},
	global:    nn.AvgPool{Name: "global_pool", Kernel: nn.K(7), Stride: nn.K(1), CeilMode: true, CountIncludePad: true},
	fc:        "last_linear",
}

// BNInception builds BN-Inception as released in Caffe and ported by
// Cadene (bninception) at 3×224×224: the 608 plan (Modules608), conv
// biases, BN eps 1e-5, Cadene's parameter names.
func BNInception(o nn.Options) (nn.Block, error) {
	if o.Aux || o.TransformInput {
		return nil, fmt.Errorf("inception-bn: has no aux heads or transform_input")
	}
	return caffe.build(Modules608, o.ClassesOr(1000)), nil
}
