package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/inceptionzoo/inception/nn"
)

// randomGraph builds a random DAG on a [C, 6, 6] input with nn.Builder:
// convs, batch norms, scales, ReLUs, pools, dropouts (views), LRNs, and
// Adds and Concats whose inputs are picked among all earlier values, so a
// value may be read several times by one node (Add(x, x), Concat(x, y, x)),
// read by many nodes, be a model output and be read further. Every
// storage rule of the plan meets every other: folding chains, in-place
// element-wise ops, concat branches written in place, views and shared
// buffers.
func randomGraph(r *rand.Rand) (*nn.Graph, error) {
	b, err := nn.NewBuilder(nn.Shape{1 + r.IntN(4), 6, 6})
	if err != nil {
		return nil, err
	}
	ids := []int{0}
	pick := func() int { return ids[r.IntN(len(ids))] }
	sameShape := func(id int) int {
		var c []int
		for _, j := range ids {
			if fmt.Sprint(b.Shape(j)) == fmt.Sprint(b.Shape(id)) {
				c = append(c, j)
			}
		}
		return c[r.IntN(len(c))]
	}
	steps := 3 + r.IntN(14)
	for s := 0; s < steps; s++ {
		x := pick()
		path := fmt.Sprintf("n%d", s)
		var op nn.Block
		in := []int{x}
		switch r.IntN(12) {
		case 0, 1:
			k := 1 + 2*r.IntN(2)
			op = nn.Conv{Out: 1 + r.IntN(6), Kernel: nn.K(k), Pad: nn.P(k / 2), Bias: r.IntN(2) == 0}
		case 2:
			op = nn.BatchNorm{Eps: 1e-3}
		case 3:
			if r.IntN(2) == 0 {
				op = nn.ChannelScale{Bias: true}
				break
			}
			ch := b.Shape(x)[0]
			a := nn.Affine{Scale: make([]float32, ch), Shift: make([]float32, ch)}
			for i := range a.Scale {
				a.Scale[i], a.Shift[i] = 0.5+r.Float32(), r.Float32()-0.5
			}
			op = a
		case 4, 5:
			op = nn.ReLU{}
		case 6:
			op = nn.MaxPool{Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1)}
		case 7:
			op = nn.AvgPool{Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1), CountIncludePad: r.IntN(2) == 0}
		case 8:
			op = nn.Dropout{}
		case 9:
			op = nn.LRN{Size: 3, Alpha: 1e-2, Beta: 0.75, Bias: 1}
		case 10:
			op = nn.Add{Scale: []float32{1, 0.5, -1}[r.IntN(3)], ReLU: r.IntN(2) == 0}
			in = []int{x, sameShape(x)}
		case 11:
			op = nn.Concat{}
			in = []int{x}
			for range r.IntN(3) {
				in = append(in, pick())
			}
		}
		id, err := b.Add(path, op, in...)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", s, err)
		}
		ids = append(ids, id)
	}
	last := ids[len(ids)-1]
	var aux []nn.AuxOutput
	for k := range r.IntN(3) {
		if id := pick(); id != 0 {
			aux = append(aux, nn.AuxOutput{Name: fmt.Sprintf("aux%d", k), Node: id})
		}
	}
	return b.Graph(last, aux...)
}

// TestRandomGraphsMatchReference compiles random DAGs (see randomGraph)
// and checks every output, at batch 1 and 3, against the float64
// reference interpreter, which shares no buffers.
func TestRandomGraphsMatchReference(t *testing.T) {
	trials := 300
	if testing.Short() || raceEnabled {
		trials = 40
	}
	r := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < trials; trial++ {
		g, err := randomGraph(r)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		checkAgainstReference(t, fmt.Sprintf("trial %d", trial), g, uint64(trial))
	}
}

func checkAgainstReference(t *testing.T, name string, g *nn.Graph, seed uint64) {
	t.Helper()
	p := nn.InitParams(g, seed)
	m, err := Compile(g, p)
	if err != nil {
		t.Fatalf("%s: Compile: %v", name, err)
	}
	for _, n := range []int{1, 3} {
		x := randInput(g.InputShape(), n, seed)
		outs, err := m.RunAll(x)
		if err != nil {
			t.Fatalf("%s: RunAll: %v", name, err)
		}
		ref := refEval(g, p, x.Data, n)
		ids := []int{g.Output}
		for _, a := range g.Aux {
			ids = append(ids, a.Node)
		}
		for k, id := range ids {
			if err := closeTo(outs[k].Data, ref[id], 1e-4, 1e-5); err != nil {
				t.Fatalf("%s: batch %d: output %d (node %d %s %T): %v\n%s", name, n, k, id, g.Nodes[id].Path, g.Nodes[id].Op, err, describe(g))
			}
		}
	}
}

func describe(g *nn.Graph) string {
	s := ""
	for _, n := range g.Nodes {
		s += fmt.Sprintf("  %d %s %T%+v in %v out %v\n", n.ID, n.Path, n.Op, n.Op, n.Inputs, n.Out)
	}
	s += fmt.Sprintf("  output %d aux %v\n", g.Output, g.Aux)
	return s
}
