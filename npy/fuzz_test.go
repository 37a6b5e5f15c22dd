package npy

import (
	"archive/zip"
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep a fuzzing run's memory small.
var fuzzLimits = Limits{MaxHeaderBytes: 4096, MaxElements: 1 << 16, MaxTotalElements: 1 << 17, MaxEntries: 64}

func seedFiles(f *testing.F, pattern string) {
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds %s: %v", pattern, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2]) // truncated
		f.Add(b[:len(b)-1])
	}
}

func sameArrays(a, b *Array) bool {
	if a.DType != b.DType && !(a.DType == 0 || b.DType == 0) || len(a.Shape) != len(b.Shape) || len(a.Data) != len(b.Data) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	for i := range a.Data {
		if math.Float64bits(a.Data[i]) != math.Float64bits(b.Data[i]) && !(math.IsNaN(a.Data[i]) && math.IsNaN(b.Data[i])) {
			return false
		}
	}
	return true
}

func FuzzNPY(f *testing.F) {
	seedFiles(f, "*.npy")
	f.Add([]byte{})
	f.Add([]byte(magic))
	f.Add(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (268435456,)}", f64bytes(1)))
	f.Add(npyBytes("{'descr': '>i8', 'fortran_order': True, 'shape': (2, 2, 1)}", f64bytes(1, 2, 3, 4)))
	f.Add(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 99999999999)}", nil))
	f.Add(npyBytes("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,)}", f64bytes(1)))
	f.Add(append(append([]byte(magic), 2, 0, 0xff, 0xff, 0xff, 0x7f), "{}"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := fuzzLimits.ReadNPY(bytes.NewReader(b))
		if err != nil {
			return
		}
		if a.Len() != len(a.Data) {
			t.Fatalf("shape %v, %d elements", a.Shape, len(a.Data))
		}
		// What decodes re-encodes to the same values.
		var buf bytes.Buffer
		if err := WriteArray(&buf, a); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := fuzzLimits.ReadNPY(&buf)
		if err != nil || !sameArrays(a, back) {
			t.Fatalf("round trip: %v", err)
		}
		// The row reader agrees on C-order arrays.
		if len(a.Shape) > 0 {
			if rr, err := fuzzLimits.NewRowReader(bytes.NewReader(b)); err == nil && rr.Cols() > 0 {
				dst := make([]float64, rr.Cols())
				got := make([]float64, 0, len(a.Data))
				for {
					n, err := rr.Read(dst)
					if err != nil {
						break
					}
					got = append(got, dst[:n*rr.Cols()]...)
				}
				if !sameArrays(a, &Array{Shape: a.Shape, DType: a.DType, Data: got}) {
					t.Fatalf("row reader disagrees")
				}
			}
		}
	})
}

func FuzzNPZ(f *testing.F) {
	seedFiles(f, "*.npz")
	f.Add([]byte{})
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	one := npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", f64bytes(1, 2))
	f.Add(makeZip(f, rawEntry{name: "a.npy", data: one}, rawEntry{name: "a.npy", data: one}))
	f.Add(makeZip(f, rawEntry{name: "a.npy", method: zip.Deflate, data: one, uncompressed: 100 << 20}))
	f.Add(makeZip(f, rawEntry{name: "a.npy", method: zip.Deflate, data: make([]byte, 1<<16)}))
	f.Add(makeZip(f, rawEntry{name: "a.npy", data: one, crc: 1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := fuzzLimits.ReadNPZ(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		total := 0
		for k, a := range m {
			if a.Len() != len(a.Data) {
				t.Fatalf("%s: shape %v, %d elements", k, a.Shape, len(a.Data))
			}
			total += len(a.Data)
		}
		if int64(total) > fuzzLimits.MaxTotalElements {
			t.Fatalf("%d elements passed the limit %d", total, fuzzLimits.MaxTotalElements)
		}
		for k := range m {
			if k == "" {
				return // numpy can write ".npy"; WriteNPZ refuses an empty key
			}
		}
		var buf bytes.Buffer
		if err := WriteNPZ(&buf, m); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := fuzzLimits.ReadNPZ(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil || len(back) != len(m) {
			t.Fatalf("round trip: %v", err)
		}
		for k, a := range m {
			if !sameArrays(a, back[k]) {
				t.Fatalf("round trip of %q differs", k)
			}
		}
	})
}
