package train

import (
	"math"

	"github.com/inceptionzoo/inception/nn"
)

// XavierInit re-initialises the conv and linear layers of p the way the
// D2L book does (nn.init.xavier_uniform_ on weights, zero biases):
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
