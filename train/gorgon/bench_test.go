package gorgon

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/inceptionzoo/inception/nn"
	v1 "github.com/inceptionzoo/inception/variants/v1"
)

// BenchmarkStepD2L times one training step (forward, backward) of the D2L
// GoogLeNet at batch 128 and reports images/s.
func BenchmarkStepD2L(b *testing.B) {
	for _, size := range []int{28, 96} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			blk, err := v1.D2L(nn.Options{})
			if err != nil {
				b.Fatal(err)
			}
			g, err := nn.Lower(blk, nn.Shape{1, size, size})
			if err != nil {
				b.Fatal(err)
			}
			p := nn.InitParams(g, 1)
			const batch = 128
			n, err := Build(g, p, Config{Batch: batch})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			r := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, batch*size*size)
			for i := range x {
				x[i] = r.Float32()
			}
			labels := make([]int, batch)
			for i := range labels {
				labels[i] = r.IntN(10)
			}
			if _, _, err := n.Step(x, labels); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			c0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, _, err := n.Step(x, labels); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
			// CPU time is steadier than wall time on a shared machine
			b.ReportMetric(float64(cpuTime()-c0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/step")
		})
	}
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMaxPoolGrad times the max-pool gradient of an Inception
// module's 3x3 stride-1 pool at 96x96 input (480 channels at 12x12).
func BenchmarkMaxPoolGrad(b *testing.B) {
	g := poolGeom{N: 128, C: 480, H: 12, W: 12, KH: 3, KW: 3, SH: 1, SW: 1, T: 1, L: 1, B: 1, R: 1, DH: 1, DW: 1, OH: 12, OW: 12}
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, g.N*g.C*g.H*g.W)
	for i := range x {
		x[i] = max(0, r.Float32()-0.5) // post-ReLU: many zeros
	}
	y := make([]float32, len(x))
	maxPoolFwd[float32](g)(y, [][]float32{x})
	dy := make([]float32, len(x))
	for i := range dy {
		dy[i] = r.Float32()
	}
	dx := make([]float32, len(x))
	bwd := maxPoolBwd[float32](g)
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		bwd(dx, [][]float32{x, y, dy})
	}
	b.ReportMetric(float64(len(y)*b.N)/b.Elapsed().Seconds()/1e6, "Mout/s")
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N*len(y)), "cpu-ns/out")
}
