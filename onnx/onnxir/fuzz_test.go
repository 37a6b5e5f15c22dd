package onnxir

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode and DecodeTensor never panic and classify
// every failure as ErrFormat or ErrUnsupported. Seeds: the hostile corpus
// and the two shared light Inception graphs.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.onnx"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"light_inception_v1.onnx", "light_inception_v2.onnx", "light_inception_v1_output_0.pb"} {
		files = append(files, sharedFile(f, name))
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	base := f.TempDir()
	if err := os.WriteFile(filepath.Join(base, "weights.bin"), rawFloat(1, 2, 3, 4), 0o600); err != nil {
		f.Fatal(err)
	}
	// Small limits keep each execution cheap; they do not change which
	// code paths are reachable. The largest seed, light_inception_v2
	// (159 KB, 916 nodes), sets MaxModelBytes and MaxNodes: a 1 MiB input
	// of 4096 nodes decoded for 10 ms or more, and every new input the
	// fuzzer keeps is minimized by re-running it (CI's make fuzz caps
	// that at -fuzzminimizetime 5s; Go's default is 60 s, during which
	// the fuzzer reports 0 execs/s).
	limits := Limits{MaxTensorElements: 1 << 16, MaxInitializerBytes: 8 << 20, MaxNodes: 1024,
		MaxModelBytes: 256 << 10, MaxExternalDataBytes: 1 << 10, MaxParseBytes: 16 << 20}
	classified := func(t *testing.T, what string, err error) {
		if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("%s: unclassified error %q", what, err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Decode(bytes.NewReader(data), DecodeOptions{Limits: limits, BaseDir: base})
		classified(t, "Decode", err)
		if err == nil && (len(g.Nodes) == 0 || len(g.Outputs) == 0) {
			t.Fatalf("Decode accepted a graph with %d nodes, %d outputs", len(g.Nodes), len(g.Outputs))
		}
		_, err = DecodeTensor(bytes.NewReader(data), limits)
		classified(t, "DecodeTensor", err)
	})
}
