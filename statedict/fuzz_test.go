package statedict

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep each execution cheap; they do not change which code
// paths are reachable.
var fuzzLimits = Limits{
	MaxFileBytes: 1 << 20, MaxTensors: 256, MaxTensorElements: 1 << 16, MaxRank: 8,
	MaxTotalBytes: 4 << 20, MaxPickleBytes: 1 << 16, MaxPickleOps: 1 << 14, MaxPickleMemo: 1 << 10,
	MaxPickleDepth: 32, MaxZipEntries: 256, MaxHeaderBytes: 1 << 16,
}

func addSeeds(f *testing.F, patterns ...string) {
	n := 0
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seeds in %v (run: go test ./statedict -run TestHostileCorpus -update)", patterns)
	}
}

// checkResult fails on an unclassified error or an inconsistent result.
func checkResult(t *testing.T, sd *StateDict, err error) {
	if err != nil {
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("unclassified error %q", err)
		}
		if errors.Is(err, ErrFormat) && errors.Is(err, ErrUnsupported) {
			t.Fatalf("error %q is both ErrFormat and ErrUnsupported", err)
		}
		return
	}
	seen := map[string]bool{}
	for _, tn := range sd.Tensors {
		n := 1
		for _, s := range tn.Shape {
			if s < 0 {
				t.Fatalf("%s: negative dimension in %v", tn.Name, tn.Shape)
			}
			n *= s
		}
		if len(tn.Data) != n {
			t.Fatalf("%s: %d elements for shape %v", tn.Name, len(tn.Data), tn.Shape)
		}
		if i := firstNonFinite(tn.Data); i >= 0 {
			t.Fatalf("%s: element %d is %v", tn.Name, i, tn.Data[i])
		}
		if seen[tn.Name] || sd.Tensor(tn.Name) != tn {
			t.Fatalf("%s: duplicate or not found by Tensor", tn.Name)
		}
		seen[tn.Name] = true
	}
}

// FuzzTorch checks that Read never panics on PyTorch checkpoints (zip
// and legacy), classifies every failure, and returns consistent tensors.
// Seeds: valid zip and legacy files, torch's tiny.pt, the hostile corpus.
func FuzzTorch(f *testing.F) {
	addSeeds(f, filepath.Join(seedDir, "*.pt"), "testdata/tiny.pt", filepath.Join(hostileDir, "*.pt"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := Read(bytes.NewReader(data), int64(len(data)), fuzzLimits)
		checkResult(t, sd, err)
	})
}

// FuzzSafetensors is FuzzTorch for safetensors files.
func FuzzSafetensors(f *testing.F) {
	addSeeds(f, filepath.Join(seedDir, "*.safetensors"), filepath.Join(hostileDir, "*.safetensors"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := Read(bytes.NewReader(data), int64(len(data)), fuzzLimits)
		checkResult(t, sd, err)
	})
}

// FuzzPickle runs the restricted unpickler and the state-dict extraction
// on raw pickles (mutations inside a zip rarely survive its CRC). Seeds:
// the data.pkl of every zip seed and hostile file.
func FuzzPickle(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(hostileDir, "*.pt"))
	more, _ := filepath.Glob(filepath.Join(seedDir, "*.pt"))
	n := 0
	for _, p := range append(append(files, more...), "testdata/tiny.pt") {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			continue
		}
		for _, e := range zr.File {
			if filepath.Base(e.Name) != "data.pkl" {
				continue
			}
			rc, err := e.Open()
			if err != nil {
				continue
			}
			pkl, err := io.ReadAll(io.LimitReader(rc, 1<<20))
			rc.Close()
			if err == nil {
				f.Add(pkl)
				n++
			}
		}
	}
	if n < 10 {
		f.Fatalf("only %d pickle seeds", n)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := fuzzLimits.withDefaults()
		tr := newTorchReader(&l, TorchZip)
		root, err := tr.unpickler(newPickleSource(bytes.NewReader(data), 0, int64(len(data)), l.MaxPickleBytes), "fuzz.pkl").load()
		if err == nil {
			var d *pyDict
			if d, _, err = selectStateDict(root); err == nil {
				_, _, _, err = buildStateDict(d, &l)
			}
		}
		if err != nil {
			checkResult(t, nil, err)
		}
	})
}
