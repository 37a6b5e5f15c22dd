package onnxir

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// onnxTestData is where Debian's libonnx-testdata installs ONNX's backend
// test data (data/node/<test>/model.onnx, test_data_set_N/{input,output}_M.pb).
const onnxTestData = "/usr/share/libonnx-testdata/data"

// TestONNXNodeTestsDecode decodes every backend node-test model and tensor
// file. It asserts no panics and only classified errors; counts are logged.
func TestONNXNodeTestsDecode(t *testing.T) {
	dir := filepath.Join(onnxTestData, "node")
	models, _ := filepath.Glob(filepath.Join(dir, "*", "model.onnx"))
	if len(models) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no ONNX node tests under %s under CI (apt-get install libonnx-testdata)", dir)
		}
		t.Skipf("no ONNX node tests under %s; install with: apt-get install libonnx-testdata", dir)
	}
	opts := DecodeOptions{Limits: DefaultLimits}
	var ok, unsupported, format int
	reasons := map[string]int{}
	for _, p := range models {
		g, err := DecodeFile(p, opts)
		switch {
		case err == nil:
			if len(g.Nodes) == 0 {
				t.Errorf("%s: decoded with no nodes", p)
			}
			ok++
		case errors.Is(err, ErrUnsupported):
			unsupported++
			reasons[reason(err)]++
		case errors.Is(err, ErrFormat):
			format++
			reasons[reason(err)]++
		default:
			t.Errorf("%s: unclassified error %v", p, err)
		}
	}
	t.Logf("models: %d decoded, %d ErrUnsupported, %d ErrFormat of %d", ok, unsupported, format, len(models))
	logTop(t, reasons)

	pbs, _ := filepath.Glob(filepath.Join(dir, "*", "test_data_set_*", "*put_*.pb"))
	var tOK, tUnsupported, tFormat int
	treasons := map[string]int{}
	for _, p := range pbs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = DecodeTensor(f, DefaultLimits)
		f.Close()
		switch {
		case err == nil:
			tOK++
		case errors.Is(err, ErrUnsupported):
			tUnsupported++
			treasons[reason(err)]++
		case errors.Is(err, ErrFormat):
			tFormat++
			treasons[reason(err)]++
		default:
			t.Errorf("%s: unclassified error %v", p, err)
		}
	}
	t.Logf("tensor files: %d decoded, %d ErrUnsupported, %d ErrFormat of %d", tOK, tUnsupported, tFormat, len(pbs))
	logTop(t, treasons)
}

// reason reduces an error to its sentinel-level text for counting.
func reason(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e.(type) {
		case *NodeError, *TensorError:
			continue
		}
		s := e.Error()
		if len(s) > 70 {
			s = s[:70]
		}
		return s
	}
	return err.Error()
}

func logTop(t *testing.T, m map[string]int) {
	type kv struct {
		k string
		v int
	}
	var s []kv
	for k, v := range m {
		s = append(s, kv{k, v})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].v > s[j].v || (s[i].v == s[j].v && s[i].k < s[j].k) })
	for i, e := range s {
		if i == 12 {
			break
		}
		t.Logf("  %4d  %s", e.v, e.k)
	}
}
