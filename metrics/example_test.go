package metrics_test

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/inceptionzoo/inception/metrics"
)

// features makes n deterministic d-dimensional "feature vectors"; shift
// moves their distribution.
func features(n, d int, shift float64) []float64 {
	x := make([]float64, n*d)
	for i := range n {
		for j := range d {
			x[i*d+j] = math.Max(0, math.Sin(float64(i*(j+1)))+shift*float64(j%2))
		}
	}
	return x
}

// Computing FID from two pytorch-fid .npz statistics files.
func ExampleFID() {
	dir, err := os.MkdirTemp("", "fid-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Statistics of two feature sets, saved as pytorch-fid saves them.
	const d = 8
	for name, phase := range map[string]float64{"real.npz": 0, "fake.npz": 0.5} {
		m, err := metrics.NewMoments(d)
		if err != nil {
			log.Fatal(err)
		}
		if err := m.AddRows(features(500, d, phase), d); err != nil {
			log.Fatal(err)
		}
		s, err := m.Stats()
		if err != nil {
			log.Fatal(err)
		}
		if err := metrics.WriteStatsNPZ(filepath.Join(dir, name), s); err != nil {
			log.Fatal(err)
		}
	}

	real, err := metrics.ReadStatsNPZ(filepath.Join(dir, "real.npz"))
	if err != nil {
		log.Fatal(err)
	}
	fake, err := metrics.ReadStatsNPZ(filepath.Join(dir, "fake.npz"))
	if err != nil {
		log.Fatal(err)
	}
	r, err := metrics.FID(real, fake)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("FID %.4f (eps fallback: %v)\n", r.Distance, r.EpsAdded)
	// Output: FID 0.4869 (eps fallback: false)
}

// Accumulating statistics in parts and merging them, as a distributed
// combiner would, with the parts shipped in their binary encoding.
func ExampleMoments_Merge() {
	const d = 4
	x := features(100, d, 0)
	total, _ := metrics.NewMoments(d)
	for part := range 4 {
		m, _ := metrics.NewMoments(d)
		if err := m.AddRows(x[part*25*d:(part+1)*25*d], d); err != nil {
			log.Fatal(err)
		}
		wire, err := m.MarshalBinary()
		if err != nil {
			log.Fatal(err)
		}
		var received metrics.Moments
		if err := received.UnmarshalBinary(wire); err != nil {
			log.Fatal(err)
		}
		if err := total.Merge(&received); err != nil {
			log.Fatal(err)
		}
	}
	cov, _ := total.Cov()
	fmt.Printf("%d vectors, mean[0] %.4f, cov[0][0] %.4f\n", total.Count(), total.Mean()[0], cov.At(0, 0))
	// Output: 100 vectors, mean[0] 0.3193, cov[0][0] 0.1508
}

func ExampleKID() {
	const n, d = 200, 16
	f1 := mat.NewDense(n, d, features(n, d, 0))
	f2 := mat.NewDense(n, d, features(n, d, 1))
	opt := metrics.DefaultKIDOptions()
	opt.Subsets, opt.SubsetSize = 10, 100
	r, err := metrics.KID(f1, f2, opt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("KID %.4f ± %.4f over %d subsets\n", r.Mean, r.Std, len(r.MMD))
	// Output: KID 1.6428 ± 0.1187 over 10 subsets
}

func ExampleInceptionScore() {
	// Logits of 100 samples over 10 classes: each sample is confident
	// about one class, the classes are evenly used.
	const n, c = 100, 10
	logits := mat.NewDense(n, c, nil)
	for i := range n {
		logits.Set(i, i%c, 8)
	}
	// Unshuffled, every split of 10 consecutive samples uses all classes.
	opt := metrics.DefaultISOptions()
	opt.Shuffle = false
	r, err := metrics.InceptionScore(logits, opt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("IS %.3f ± %.3f\n", r.Mean, r.Std)
	// Output: IS 9.733 ± 0.000
}
