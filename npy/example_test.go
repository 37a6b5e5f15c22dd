package npy_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/inceptionzoo/inception/npy"
)

func ExampleWriteNPY() {
	var buf bytes.Buffer
	if err := npy.WriteNPY(&buf, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}); err != nil {
		log.Fatal(err)
	}
	a, err := npy.ReadNPY(&buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Shape, a.DType, a.Data)
	// Output: [2 3] <f4 [1 2 3 4 5 6]
}

func ExampleWriteNPZFile() {
	dir, err := os.MkdirTemp("", "npz-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "stats.npz")
	// pytorch-fid's layout: a mean vector and a covariance matrix.
	err = npy.WriteNPZFile(path, map[string]*npy.Array{
		"mu":    {Shape: []int{2}, DType: npy.Float64, Data: []float64{0.5, 1.5}},
		"sigma": {Shape: []int{2, 2}, DType: npy.Float64, Data: []float64{1, 0.25, 0.25, 2}},
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := npy.ReadNPZFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m["mu"].Data, m["sigma"].Shape)
	// Output: [0.5 1.5] [2 2]
}

func ExampleCreateRowFile() {
	dir, err := os.MkdirTemp("", "rows-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "features.npy")
	// Rows are appended as they are computed; the count goes into the
	// header when the file is closed.
	f, err := npy.CreateRowFile[float32](path, 3)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Abort()
	for i := range 4 {
		if err := f.Write([]float32{float32(i), 0, 1}); err != nil {
			log.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	a, err := npy.ReadNPYFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Shape)
	// Output: [4 3]
}
