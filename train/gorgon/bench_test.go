package gorgon

import (
	"fmt"
	"math/rand/v2"
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
