package engine

import (
	"fmt"
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/stretchr/testify/require"
)

// compileRegistry builds, lowers and compiles a registered model with
// seeded weights.
func compileRegistry(tb testing.TB, name string) (*Model, registry.Entry, int64) {
	tb.Helper()
	e, err := registry.Lookup(name)
	require.NoError(tb, err)
	b, err := e.Build(nn.Options{})
	require.NoError(tb, err)
	g, err := nn.Lower(b, e.Input)
	require.NoError(tb, err)
	m, err := Compile(g, nn.InitParams(g, 11))
	require.NoError(tb, err)
	_, _, macs := g.Totals()
	return m, e, macs
}

// BenchmarkModel runs whole models at batch 1 and 8 and reports the
// effective GFLOP/s (2·MACs per image) and the process CPU time per run.
func BenchmarkModel(b *testing.B) {
	for _, name := range []string{"inception-v1-tv", "inception-v3"} {
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
				benchModel(b, name, batch)
			})
		}
	}
}

func benchModel(b *testing.B, name string, batch int) {
	m, e, macs := compileRegistry(b, name)
	x := randInput(e.Input, batch, 5)
	out, err := m.Run(x)
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		if err := m.RunInto(x, out); err != nil {
			b.Fatal(err)
		}
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(2*float64(macs)*float64(batch)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	// CPU time per run (all threads) is far less noisy than the wall clock
	// on a shared machine.
	b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/op")
}
