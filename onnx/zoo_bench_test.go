package onnx_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// BenchmarkExportVsZoo runs a zoo model and onnx.Load on its export on
// the same input, alternating the two (and which goes first) pass by
// pass, and reports the median latency of each and the median per-pass
// ratio onnx/zoo (1 means the ONNX path is as fast as the zoo engine), at
// batch 1 and 8. It also times Load: zoo.Load with the export as its
// weights file, and onnx.Load, each from the file.
//
//	go test -run '^$' -bench ExportVsZoo -benchtime 9x ./onnx
func BenchmarkExportVsZoo(b *testing.B) {
	for _, name := range []string{"inception-v1-tv", "inception-v3"} {
		zm, err := zoo.Load(name, zoo.WithSeed(1))
		if err != nil {
			b.Fatal(err)
		}
		file := filepath.Join(b.TempDir(), name+".onnx")
		var buf bytes.Buffer
		if err := zm.ExportONNX(&buf, convert.ExportOptions{}); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/load", func(b *testing.B) {
			var zt, ot []time.Duration
			for range b.N {
				t := time.Now()
				if _, err := zoo.Load(name, zoo.WithWeights(file)); err != nil {
					b.Fatal(err)
				}
				zt = append(zt, time.Since(t))
				t = time.Now()
				if _, err := onnx.Load(file, onnx.LoadOptions{}); err != nil {
					b.Fatal(err)
				}
				ot = append(ot, time.Since(t))
			}
			b.ReportMetric(median(zt).Seconds()*1e3, "zoo-load-ms")
			b.ReportMetric(median(ot).Seconds()*1e3, "onnx-load-ms")
		})
		om, err := onnx.Load(file, onnx.LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, n), func(b *testing.B) {
				x := tensor.New(append([]int{n}, zm.Spec.Input...)...)
				for i := range x.Data {
					x.Data[i] = float32(i%97)/97 - 0.5
				}
				in := map[string]*tensor.Tensor{om.InputNames()[0]: x}
				runZoo := func() time.Duration {
					t := time.Now()
					if _, err := zm.Forward(x); err != nil {
						b.Fatal(err)
					}
					return time.Since(t)
				}
				runONNX := func() time.Duration {
					t := time.Now()
					if _, err := om.Run(in); err != nil {
						b.Fatal(err)
					}
					return time.Since(t)
				}
				runZoo()
				runONNX()
				var zt, ot []time.Duration
				var ratios []float64
				for i := range b.N {
					var z, o time.Duration
					if i%2 == 0 {
						z, o = runZoo(), runONNX()
					} else {
						o, z = runONNX(), runZoo()
					}
					zt, ot = append(zt, z), append(ot, o)
					ratios = append(ratios, float64(o)/float64(z))
				}
				sort.Float64s(ratios)
				b.ReportMetric(median(zt).Seconds()*1e3, "zoo-ms")
				b.ReportMetric(median(ot).Seconds()*1e3, "onnx-ms")
				b.ReportMetric(ratios[len(ratios)/2], "onnx/zoo")
			})
		}
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
