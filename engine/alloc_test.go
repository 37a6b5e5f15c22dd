package engine

import (
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/stretchr/testify/require"
)

// TestRunIntoDoesNotAllocate requires zero heap allocations per RunInto in
// the steady state: workspaces are pooled, weights pre-packed, and kernels
// are dispatched to the persistent workers without closures.
func TestRunIntoDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	names := []string{"inception-v1-tv"}
	if testing.Short() {
		names = nil
	}
	type model struct {
		name string
		m    *Model
		x    *tensor.Tensor
	}
	var ms []model
	for _, tt := range testNets {
		g, err := nn.Lower(tt.net, tt.in)
		require.NoError(t, err)
		m, err := Compile(g, nn.InitParams(g, 3))
		require.NoError(t, err)
		ms = append(ms, model{tt.name, m, randInput(tt.in, 2, 1)})
	}
	for _, name := range names {
		m, e, _ := compileRegistry(t, name)
		ms = append(ms, model{name, m, randInput(e.Input, 1, 1)})
	}
	for _, tc := range ms {
		out, err := tc.m.Run(tc.x)
		require.NoError(t, err)
		got := testing.AllocsPerRun(3, func() {
			if err := tc.m.RunInto(tc.x, out); err != nil {
				t.Fatal(err)
			}
		})
		if got != 0 {
			t.Errorf("%s: RunInto allocs = %v, want 0", tc.name, got)
		}
	}
}

func TestRunIntoErrors(t *testing.T) {
	g, err := nn.Lower(testNets[0].net, testNets[0].in)
	require.NoError(t, err)
	m, err := Compile(g, nn.InitParams(g, 1))
	require.NoError(t, err)
	x := randInput(testNets[0].in, 2, 1)
	want, err := m.Run(x)
	require.NoError(t, err)
	out := tensor.New(2, 7)
	require.NoError(t, m.RunInto(x, out))
	require.Equal(t, want.Data, out.Data)
	for _, bad := range []*tensor.Tensor{nil, tensor.New(1, 7), tensor.New(2, 8), tensor.New(2, 7, 1), {Shape: []int{2, 7}, Data: make([]float32, 3)}} {
		if err := m.RunInto(x, bad); err == nil {
			t.Errorf("RunInto(out shape %v): err = nil, want ErrInput", shapeOf(bad))
		}
	}
	if err := m.RunInto(tensor.New(2, 3, 9, 12), out); err == nil {
		t.Error("RunInto(bad input): err = nil, want ErrInput")
	}
}

// TestMemoryPlan checks that the liveness-based plan needs far less
// activation memory than one buffer per value, and logs both.
func TestMemoryPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles full-size models")
	}
	for _, tt := range []struct {
		name     string
		maxRatio float64
	}{
		{"inception-v1-tv", 0.25},
		{"inception-v3", 0.25},
	} {
		m, _, _ := compileRegistry(t, tt.name)
		planned, unshared := m.MemoryStats(1)
		t.Logf("%s: planned activations %.1f MiB, one buffer per value %.1f MiB (%.0f%%)",
			tt.name, float64(planned)/(1<<20), float64(unshared)/(1<<20), 100*float64(planned)/float64(unshared))
		if got := float64(planned) / float64(unshared); got > tt.maxRatio || planned <= 0 {
			t.Errorf("%s: planned/unshared = %.3f, want in (0, %v]", tt.name, got, tt.maxRatio)
		}
		// A batch runs image by image through a one-image workspace.
		if p8, u8 := m.MemoryStats(8); p8 != planned || u8 != 8*unshared {
			t.Errorf("%s: MemoryStats(8) = %d, %d, want %d, %d", tt.name, p8, u8, planned, 8*unshared)
		}
	}
}
