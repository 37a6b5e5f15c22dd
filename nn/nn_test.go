package nn

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitMix64Reference(t *testing.T) {
	// Published SplitMix64 outputs for state 0 (Vigna's reference code).
	r := &Rand{}
	want := []uint64{0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F}
	for i, w := range want {
		if got := r.Uint64(); got != w {
			t.Errorf("output %d = %#x, want %#x", i, got, w)
		}
	}
}

func TestPoolOut(t *testing.T) {
	tests := []struct {
		in, k, s, pb, pe int
		ceil             bool
		want             int
	}{
		{112, 3, 2, 0, 0, false, 55},
		{112, 3, 2, 0, 0, true, 56},  // Caffe/torchvision GoogLeNet
		{112, 3, 2, 0, 2, false, 56}, // Caffe2→ONNX explicit end pad
		{14, 2, 2, 0, 0, true, 7},
		{14, 3, 2, 0, 0, true, 7},
		{7, 3, 1, 1, 1, true, 7},
		{5, 2, 2, 1, 1, true, 3}, // last window would start in the padding: dropped
		{6, 3, 3, 1, 1, true, 3},
		{96, 3, 2, 1, 1, false, 48},
		{14, 5, 3, 0, 0, true, 4}, // aux head pool
		{2, 3, 1, 0, 0, false, 0},
	}
	for _, tt := range tests {
		if got := PoolOut(tt.in, tt.k, tt.s, tt.pb, tt.pe, 1, tt.ceil); got != tt.want {
			t.Errorf("PoolOut(in=%d k=%d s=%d pads=%d,%d ceil=%v) = %d, want %d", tt.in, tt.k, tt.s, tt.pb, tt.pe, tt.ceil, got, tt.want)
		}
	}
}

func TestLowerShapesParamsMACs(t *testing.T) {
	net := Sequential{Layers: []Block{
		ConvUnit{Name: "stem", BNEps: 1e-3, Conv: Conv{Out: 8, Kernel: K(3), Stride: K(2), Pad: P(1)}}.Block(),
		Branches{Name: "mix", Paths: []Block{
			ConvUnit{Name: "a", Conv: Conv{Out: 4, Kernel: KHW(1, 7), Pad: PHW(0, 3)}}.Block(),
			Seq(AvgPool{Kernel: K(3), Stride: K(1), Pad: P(1)}, ConvUnit{Name: "b", Conv: Conv{Out: 2, Kernel: K(1)}}.Block()),
		}},
		ScaledResidual("res", []Block{Conv{Name: "branch0", Out: 3, Kernel: K(1)}}, "up", 6, 0.2, true),
		Tap{Name: "aux", Head: Seq(GlobalAvgPool{}, Flatten{}, Linear{Name: "fc", Out: 5, Bias: true})},
		GlobalAvgPool{}, Flatten{},
		Linear{Name: "fc", Out: 10, Bias: true},
	}}
	g, err := Lower(net, Shape{3, 15, 17})
	require.NoError(t, err)
	if got, want := g.OutputShape().String(), "10"; got != want {
		t.Errorf("output = %s, want %s", got, want)
	}
	params, buffers, macs := g.Totals()
	// stem conv 8·3·9=216, bn 16 (+16 buffers); a 4·8·7+4=228; b 2·8+2=18;
	// res branch0 3·6=18, up 6·3+6=24; aux fc 6·5+5=35; fc 6·10+10=70.
	if want := int64(216 + 16 + 228 + 18 + 18 + 24 + 35 + 70); params != want {
		t.Errorf("params = %d, want %d", params, want)
	}
	if buffers != 16 {
		t.Errorf("buffers = %d, want 16", buffers)
	}
	// stem 8x8x9 out, each 27 MACs; a: 8·9·4·56; b: 8·9·2·8; branch0 8·9·3·6; up 8·9·6·3; fcs 30 + 60.
	if want := int64(8*9*8*27 + 8*9*4*56 + 8*9*2*8 + 8*9*3*6 + 8*9*6*3 + 30 + 60); macs != want {
		t.Errorf("MACs = %d, want %d", macs, want)
	}
	if len(g.Aux) != 1 || g.Aux[0].Name != "aux" || g.Nodes[g.Aux[0].Node].Out.String() != "5" {
		t.Errorf("aux outputs = %+v", g.Aux)
	}
	paths := map[string]bool{}
	for _, p := range g.Params() {
		paths[p.Path] = true
	}
	for _, want := range []string{"stem.conv.weight", "stem.bn.running_var", "mix.a.weight", "mix.b.bias", "res.branch0.weight", "res.up.bias", "aux.fc.weight", "fc.bias"} {
		if !paths[want] {
			t.Errorf("missing parameter %q", want)
		}
	}
	// The residual lowers to an Add that reads the block input and the body.
	var adds int
	for _, n := range g.Nodes {
		if a, ok := n.Op.(Add); ok {
			adds++
			if a.Scale != 0.2 || !a.ReLU || len(n.Inputs) != 2 {
				t.Errorf("Add node = %+v", n)
			}
		}
	}
	if adds != 1 {
		t.Errorf("Add nodes = %d, want 1", adds)
	}
	// Every block names the node holding its output.
	nodeOf := map[string]string{}
	for _, b := range g.Blocks {
		if got := g.Nodes[b.Node].Out.String(); got != b.Out.String() {
			t.Errorf("block %q: node %d has shape %s, block output %s", b.Path, b.Node, got, b.Out)
		}
		if _, ok := nodeOf[b.Path]; !ok {
			nodeOf[b.Path] = kindOfNode(g.Nodes[b.Node])
		}
	}
	for path, want := range map[string]string{"stem": "ReLU", "mix": "Concat", "res": "Add", "aux": "Add", "fc": "Linear", "": "Linear"} {
		if got := nodeOf[path]; got != want {
			t.Errorf("block %q output node is a %s, want %s", path, got, want)
		}
	}
}

func kindOfNode(n *Node) string { return blockKind(n.Op) }

func TestLowerErrors(t *testing.T) {
	tests := []struct {
		name string
		b    Block
		in   Shape
	}{
		{"duplicate path", Seq(Conv{Name: "c", Out: 2, Kernel: K(1)}, Conv{Name: "c", Out: 2, Kernel: K(1)}), Shape{3, 4, 4}},
		{"kernel too big", Conv{Name: "c", Out: 2, Kernel: K(7)}, Shape{3, 4, 4}},
		{"groups", Conv{Name: "c", Out: 2, Kernel: K(1), Groups: 2}, Shape{3, 4, 4}},
		{"linear on map", Linear{Name: "fc", Out: 2}, Shape{3, 4, 4}},
		{"branch mismatch", Branches{Paths: []Block{Conv{Name: "a", Out: 2, Kernel: K(1)}, Conv{Name: "b", Out: 2, Kernel: K(3)}}}, Shape{3, 4, 4}},
		{"residual mismatch", Residual{Body: Conv{Name: "a", Out: 2, Kernel: K(1)}}, Shape{3, 4, 4}},
		{"bad input", ReLU{}, Shape{0, 4}},
		{"pool pad", MaxPool{Kernel: K(2), Pad: P(2)}, Shape{3, 4, 4}},
		{"bn eps", BatchNorm{Name: "bn"}, Shape{3, 4, 4}},
		{"nil", Seq(nil), Shape{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Lower(tt.b, tt.in)
			if !errors.Is(err, ErrShape) {
				t.Errorf("Lower err = %v, want ErrShape", err)
			}
		})
	}
}

func TestInitParamsDeterministic(t *testing.T) {
	net := Seq(Conv{Name: "a", Out: 4, Kernel: K(3), Bias: true}, BatchNorm{Name: "bn", Eps: 1e-5}, Flatten{}, Linear{Name: "fc", Out: 3})
	g, err := Lower(net, Shape{2, 5, 5})
	require.NoError(t, err)
	p1, p2 := InitParams(g, 7), InitParams(g, 7)
	p3 := InitParams(g, 8)
	require.NoError(t, p1.Check(g))
	for k := range p1 {
		require.Equal(t, p1[k].Data, p2[k].Data, k)
		require.NotEqual(t, p1[k].Data, p3[k].Data, k)
	}
	b := float32(1.0 / (2 * 9) * 6) // sqrt(6/18)^2
	for _, v := range p1["a.weight"].Data {
		if v*v > b {
			t.Fatalf("conv weight %v outside ±sqrt(6/fan_in)", v)
		}
	}
	for _, v := range p1["bn.running_var"].Data {
		if v < 0.8 || v >= 1.25 {
			t.Fatalf("running_var %v outside [0.8, 1.25)", v)
		}
	}
	delete(p1, "fc.weight")
	var pe *ParamError
	require.ErrorAs(t, p1.Check(g), &pe)
	require.Equal(t, "fc.weight", pe.Path)
}

func TestIndexedAndRename(t *testing.T) {
	s := Indexed("branch2", Conv{Name: "x", Out: 1, Kernel: K(1)}, ReLU{}, Conv{Out: 1, Kernel: K(1)})
	for i, l := range s.Layers {
		if got, want := l.BlockName(), itoa(i); got != want {
			t.Errorf("layer %d name = %q, want %q", i, got, want)
		}
	}
	if itoa(1234) != "1234" {
		t.Errorf("itoa(1234) = %q", itoa(1234))
	}
}
