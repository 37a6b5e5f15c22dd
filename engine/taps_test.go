package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/stretchr/testify/require"
)

// checkTaps compiles g with taps and checks, at batch 1 and 3, every tapped
// value and the model outputs against the float64 reference interpreter,
// all from one RunNodes call.
func checkTaps(t *testing.T, name string, g *nn.Graph, taps []int, seed uint64) {
	t.Helper()
	p := nn.InitParams(g, seed)
	m, err := CompileWith(g, p, Options{Taps: taps})
	if err != nil {
		t.Fatalf("%s: CompileWith: %v", name, err)
	}
	ids := append([]int{g.Output}, auxIDs(g)...)
	ids = append(ids, taps...)
	for _, n := range []int{1, 3} {
		x := randInput(g.InputShape(), n, seed)
		vals, err := m.RunNodes(x, ids...)
		if err != nil {
			t.Fatalf("%s: RunNodes: %v", name, err)
		}
		ref := refEval(g, p, x.Data, n)
		for k, id := range ids {
			if want := append([]int{n}, g.Nodes[id].Out...); !equalInts(vals[k].Shape, want) {
				t.Fatalf("%s: value %d (node %d) shape %v, want %v", name, k, id, vals[k].Shape, want)
			}
			if err := closeTo(vals[k].Data, ref[id], 1e-4, 1e-5); err != nil {
				t.Fatalf("%s: batch %d: value %d (node %d %s %T): %v\n%s", name, n, k, id, g.Nodes[id].Path, g.Nodes[id].Op, err, describe(g))
			}
		}
		// RunAll still returns the model outputs only.
		outs, err := m.RunAll(x)
		if err != nil {
			t.Fatalf("%s: RunAll: %v", name, err)
		}
		if len(outs) != 1+len(g.Aux) {
			t.Fatalf("%s: RunAll returned %d tensors, want %d", name, len(outs), 1+len(g.Aux))
		}
	}
}

func equalInts(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// TestTapsMatchReference taps random nodes of random graphs — any node:
// the middle of a folded conv-BN-ReLU chain, a concat branch written in
// place, the input of an in-place op, a view, the input itself — and
// checks every tapped value against the reference. Tapping every node at
// once is included.
func TestTapsMatchReference(t *testing.T) {
	trials := 300
	if testing.Short() || raceEnabled {
		trials = 40
	}
	r := rand.New(rand.NewPCG(3, 5))
	for trial := 0; trial < trials; trial++ {
		g, err := randomGraph(r)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		var taps []int
		switch trial % 3 {
		case 0: // every node
			for id := range g.Nodes {
				taps = append(taps, id)
			}
		default: // a few, possibly repeated
			for range 1 + r.IntN(4) {
				taps = append(taps, r.IntN(len(g.Nodes)))
			}
		}
		checkTaps(t, fmt.Sprintf("trial %d taps %v", trial, taps), g, taps, uint64(trial))
	}
}

// TestTapsOfTestNets taps every node of the hand-written nets (every op
// and plan optimisation), one node at a time.
func TestTapsOfTestNets(t *testing.T) {
	for _, tt := range testNets {
		g, err := nn.Lower(tt.net, tt.in)
		require.NoError(t, err)
		for id := range g.Nodes {
			checkTaps(t, fmt.Sprintf("%s: node %d %s", tt.name, id, g.Nodes[id].Path), g, []int{id}, 5)
		}
	}
}

// TestTapsAtBlockOutputsAddNoStep checks that tapping the outputs of
// blocks (a BasicConv2d's ReLU, a concat, a pool, a view) adds no step and
// no extra pass: the same kernels run, the tapped values are only kept. A
// tapped concat branch is the exception: it keeps a buffer of its own
// instead of being written into its window of the concat output, so the
// concat copies it in (one step).
func TestTapsAtBlockOutputsAddNoStep(t *testing.T) {
	g, err := nn.Lower(testNets[0].net, testNets[0].in)
	require.NoError(t, err)
	p := nn.InitParams(g, 1)
	plain, err := Compile(g, p)
	require.NoError(t, err)
	pool := len(g.Nodes) - 3 // GlobalAvgPool, Flatten, fc
	require.IsType(t, nn.GlobalAvgPool{}, g.Nodes[pool].Op)
	x := randInput(testNets[0].in, 2, 1)
	want, err := plain.Run(x)
	require.NoError(t, err)
	for _, tc := range []struct {
		taps  []int
		extra int
	}{
		{[]int{blockNode(t, g, "stem"), blockNode(t, g, "mix"), pool, pool + 1}, 0},
		{[]int{blockNode(t, g, "mix.a"), blockNode(t, g, "mix.d")}, 1},
	} {
		tapped, err := CompileWith(g, p, Options{Taps: tc.taps})
		require.NoError(t, err)
		if len(tapped.steps) != len(plain.steps)+tc.extra {
			t.Errorf("taps %v: %d steps, %d without taps; want %d more", tc.taps, len(tapped.steps), len(plain.steps), tc.extra)
		}
		got, err := tapped.Run(x)
		require.NoError(t, err)
		require.Equal(t, want.Data, got.Data, "main output with and without taps %v", tc.taps)
	}
}

// blockNode returns the node holding the output of the block at path: the
// last node lowered under it.
func blockNode(t *testing.T, g *nn.Graph, path string) int {
	t.Helper()
	id := -1
	for _, n := range g.Nodes {
		if n.Path == path || len(n.Path) > len(path) && n.Path[:len(path)+1] == path+"." {
			id = n.ID
		}
	}
	if id < 0 {
		t.Fatalf("no node under %q", path)
	}
	return id
}

func TestRunNodesErrors(t *testing.T) {
	g, err := nn.Lower(testNets[0].net, testNets[0].in)
	require.NoError(t, err)
	p := nn.InitParams(g, 1)
	if _, err := CompileWith(g, p, Options{Taps: []int{len(g.Nodes)}}); !errors.Is(err, ErrInput) {
		t.Errorf("CompileWith(tap %d): err = %v, want ErrInput", len(g.Nodes), err)
	}
	m, err := CompileWith(g, p, Options{Taps: []int{2}})
	require.NoError(t, err)
	require.Equal(t, []int{g.Output, 2}, m.Kept())
	x := randInput(testNets[0].in, 2, 1)
	for _, id := range []int{1, -1, len(g.Nodes)} {
		if _, err := m.RunNodes(x, id); !errors.Is(err, ErrNotKept) {
			t.Errorf("RunNodes(node %d): err = %v, want ErrNotKept", id, err)
		}
	}
	dst := []*tensor.Tensor{tensor.New(append([]int{2}, g.Nodes[2].Out...)...)}
	require.NoError(t, m.RunNodesInto(x, []int{2}, dst))
	want, err := m.RunNodes(x, 2)
	require.NoError(t, err)
	require.Equal(t, want[0].Data, dst[0].Data)
	for _, bad := range [][]*tensor.Tensor{nil, {tensor.New(2, 1)}, {nil}} {
		if err := m.RunNodesInto(x, []int{2}, bad); !errors.Is(err, ErrInput) {
			t.Errorf("RunNodesInto(%d bad destinations): err = %v, want ErrInput", len(bad), err)
		}
	}
}

// TestRunNodesIntoDoesNotAllocate requires zero allocations per
// RunNodesInto in the steady state, taps included.
func TestRunNodesIntoDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	g, err := nn.Lower(testNets[0].net, testNets[0].in)
	require.NoError(t, err)
	tap := blockNode(t, g, "mix")
	m, err := CompileWith(g, nn.InitParams(g, 1), Options{Taps: []int{tap}})
	require.NoError(t, err)
	x := randInput(testNets[0].in, 3, 1)
	ids := []int{g.Output, tap}
	dst, err := m.RunNodes(x, ids...)
	require.NoError(t, err)
	if got := testing.AllocsPerRun(3, func() {
		if err := m.RunNodesInto(x, ids, dst); err != nil {
			t.Fatal(err)
		}
	}); got != 0 {
		t.Errorf("RunNodesInto allocs = %v, want 0", got)
	}
}
