package engine

import (
	"errors"
	"runtime"
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/stretchr/testify/require"
)

func TestProfile(t *testing.T) {
	g, err := nn.Lower(testNets[0].net, testNets[0].in)
	require.NoError(t, err)
	m, err := Compile(g, nn.InitParams(g, 3))
	require.NoError(t, err)
	steps, err := m.Profile(randInput(testNets[0].in, 2, 1), 3)
	require.NoError(t, err)
	require.Len(t, steps, len(m.steps))
	var convs int
	for i, s := range steps {
		if got, want := s.Name, m.steps[i].name; got != want {
			t.Errorf("step %d name = %q, want %q", i, got, want)
		}
		if s.Time <= 0 {
			t.Errorf("step %s time = %v, want > 0", s.Name, s.Time)
		}
		if s.CPU < 0 || (runtime.GOOS == "linux" && s.CPU == 0 && s.Op == "Conv") {
			t.Errorf("step %s CPU = %v, want > 0 on linux", s.Name, s.CPU)
		}
		if s.Op == "Conv" {
			convs++
			if s.MACs <= 0 {
				t.Errorf("conv step %s MACs = %d, want > 0", s.Name, s.MACs)
			}
		}
	}
	require.Positive(t, convs, "no Conv step profiled")
	for _, runs := range []int{0, MaxProfileRuns + 1} {
		_, err := m.Profile(randInput(testNets[0].in, 1, 1), runs)
		if !errors.Is(err, ErrInput) {
			t.Errorf("Profile(runs=%d) error = %v, want ErrInput", runs, err)
		}
	}
}
