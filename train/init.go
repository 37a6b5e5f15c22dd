package train

import (
	"math"

	"github.com/inceptionzoo/inception/nn"
)

// XavierInit re-initialises the conv and linear layers of p with
// nn.init.xavier_uniform_ weights and zero biases (D2LInit keeps the
// book's PyTorch-default biases instead):
// weights U(±√(6/(fan_in+fan_out))) with fan = channels·kernel area, drawn
// from nn.NewRand(seed, path). Other parameters are left alone.
func XavierInit(g *nn.Graph, p nn.Params, seed uint64) {
	for _, n := range g.Nodes {
		switch n.Op.(type) {
		case nn.Conv, nn.Linear:
		default:
			continue
		}
		for _, s := range n.Params {
			t := p[s.Path]
			switch s.Kind {
			case nn.Weight:
				rf := 1
				for _, d := range s.Shape[2:] {
					rf *= d
				}
				fanIn, fanOut := s.Shape[1]*rf, s.Shape[0]*rf
				a := float32(math.Sqrt(6 / float64(fanIn+fanOut)))
				r := nn.NewRand(seed, s.Path)
				for i := range t.Data {
					t.Data[i] = r.Uniform(-a, a)
				}
			case nn.Bias:
				clear(t.Data)
			}
		}
	}
}

// D2LInit initialises p exactly as the D2L book's training loop does
// (d2l.train_ch6 applies nn.init.xavier_uniform_ to the weight of every
// Conv2d and Linear and leaves the rest to PyTorch): Xavier-uniform
// weights as XavierInit, and biases PyTorch's default
// U(±1/√fan_in), fan_in = input channels per group × kernel area (or the
// input features), drawn from nn.NewRand(seed, path).
func D2LInit(g *nn.Graph, p nn.Params, seed uint64) {
	XavierInit(g, p, seed)
	for _, n := range g.Nodes {
		switch n.Op.(type) {
		case nn.Conv, nn.Linear:
		default:
			continue
		}
		w, ok := n.Param(nn.Weight)
		b, okb := n.Param(nn.Bias)
		if !ok || !okb {
			continue
		}
		fanIn := 1
		for _, d := range w.Shape[1:] {
			fanIn *= d
		}
		bound := float32(1 / math.Sqrt(float64(fanIn)))
		r := nn.NewRand(seed, b.Path)
		for i := range p[b.Path].Data {
			p[b.Path].Data[i] = r.Uniform(-bound, bound)
		}
	}
}
