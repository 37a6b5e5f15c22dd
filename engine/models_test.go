package engine

import (
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/stretchr/testify/require"
)

// TestRegistryModelsMatchReference runs real architectures through the
// compiled plan and through the float64 reference evaluator.
func TestRegistryModelsMatchReference(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("full-size float64 reference: skipped with -short and -race")
	}
	for _, name := range []string{"inception-v1-d2l", "inception-v1", "inception-v1-tv"} {
		t.Run(name, func(t *testing.T) {
			e, err := registry.Lookup(name)
			require.NoError(t, err)
			b, err := e.Build(nn.Options{})
			require.NoError(t, err)
			g, err := nn.Lower(b, e.Input)
			require.NoError(t, err)
			p := nn.InitParams(g, 11)
			m, err := Compile(g, p)
			require.NoError(t, err)
			x := randInput(e.Input, 1, 5)
			got, err := m.Run(x)
			require.NoError(t, err)
			want := refEval(g, p, x.Data, 1)[g.Output]
			if err := closeTo(got.Data, want, 1e-3, 1e-4); err != nil {
				t.Error(err)
			}
			// The check is only meaningful if the logits depend on the input:
			// their spread must be large against the tolerance.
			lo, hi := want[0], want[0]
			for _, v := range want {
				lo, hi = min(lo, v), max(hi, v)
			}
			if hi-lo < 0.1 {
				t.Errorf("logit spread %g is too small for a sensitive check", hi-lo)
			}
		})
	}
}
