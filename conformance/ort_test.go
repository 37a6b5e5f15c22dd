package conformance_test

import (
	"os"
	"testing"

	"github.com/inceptionzoo/inception/conformance"
	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/zoo"
)

// goldenModels lists every golden: the registered models and the
// third-party variant, each with the registry that holds it.
func goldenModels(t testing.TB) map[string]*registry.Registry {
	m := map[string]*registry.Registry{tinyName: tinyRegistry(t)}
	for _, n := range registry.Names() {
		m[n] = registry.Default
	}
	return m
}

// TestUpdateGoldens regenerates testdata with ONNX Runtime when run with
// -update (see conformance.UpdateCommand). Our engine never writes a
// golden.
func TestUpdateGoldens(t *testing.T) {
	if !*update {
		t.Skip("run with -update (and -tags ort, CGO_ENABLED=1) to regenerate the goldens")
	}
	if !ort.Built {
		t.Fatalf("the goldens come from ONNX Runtime: %s", conformance.UpdateCommand)
	}
	for name, reg := range goldenModels(t) {
		s, err := conformance.UpdateGolden(reg, name, "testdata")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s, logit spread %.3g, network spread %.3g", name, s.Reference, s.LogitSpread, s.NetworkSpread)
	}
}

// TestGoldensORT re-verifies every committed golden against live ONNX
// Runtime (make ort): export again, run, compare with output_0.pb.
func TestGoldensORT(t *testing.T) {
	if !ort.Built {
		t.Skipf("ONNX Runtime binding not built: %s", ort.InstallHint)
	}
	need(t, conformanceOracle(ort.Init()))
	if *update {
		t.Skip("just regenerated")
	}
	for name, reg := range goldenModels(t) {
		t.Run(name, func(t *testing.T) {
			g, err := conformance.LoadGolden(conformance.Goldens(), name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := zoo.Load(name, zoo.WithRegistry(reg), zoo.WithSeed(g.Spec.WeightSeed))
			if err != nil {
				t.Fatal(err)
			}
			d, err := conformance.CheckORT(m, g, g.Spec.Tolerance(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("live onnxruntime %s vs committed golden: max abs %.3g, max rel %.3g", ort.LibraryVersion(), d.MaxAbs, d.MaxRel)
		})
	}
}

func conformanceOracle(err error) error {
	if err != nil {
		return err
	}
	if _, err := os.Stat(ort.LibraryPath()); err != nil {
		return err
	}
	return nil
}
