package conformance_test

import (
	"flag"
	"testing"

	"github.com/inceptionzoo/inception/conformance"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
)

var update = flag.Bool("update", false, "regenerate the goldens in testdata with ONNX Runtime (needs -tags ort and CGO_ENABLED=1)")

// tinyName is the third-party variant the tests register in a private
// registry, as a package outside this module would.
const tinyName = "acme-tiny-inception"

func tinyEntry() registry.Entry {
	relu := func() nn.Block { return nn.ReLU{} }
	conv := func(name string, out, k int) nn.Block {
		return nn.Conv{Name: name, Out: out, Kernel: [2]int{k, k}, Pad: nn.P(k / 2), Bias: true}
	}
	return registry.Entry{
		Name: tinyName, Family: "third-party", Paper: "none (a test variant)",
		Input: nn.Shape{3, 32, 32}, Classes: 10, Output: spec.Logits,
		// Counted by hand: stem 432 + BN 32, branches 136 + (136 + 876)
		// + 68, fc 24·10 + 10.
		RefParams: 1930,
		// stem 16·16·16·27, branches on 16×16: 256·(8·16 + 8·16 + 12·72
		// + 4·16), fc 240.
		RefMACs: 413936,
		Build: func(o nn.Options) (nn.Block, error) {
			classes := o.Classes
			if classes == 0 {
				classes = 10
			}
			return nn.Seq(
				nn.Conv{Name: "stem", Out: 16, Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Pad: nn.P(1)},
				nn.BatchNorm{Name: "stem_bn", Eps: 1e-3}, relu(),
				nn.Branches{Name: "mixed", Paths: []nn.Block{
					nn.Seq(conv("b1", 8, 1), relu()),
					nn.Seq(conv("b2a", 8, 1), relu(), conv("b2b", 12, 3), relu()),
					nn.Seq(nn.MaxPool{Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: nn.P(1)}, conv("b3", 4, 1), relu()),
				}},
				nn.GlobalAvgPool{}, nn.Flatten{}, nn.Dropout{P: 0.2},
				nn.Linear{Name: "fc", Out: classes, Bias: true},
			), nil
		},
	}
}

func tinyRegistry(t testing.TB) *registry.Registry {
	r, err := registry.New(tinyEntry())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// need skips (or, under CI=true, fails) when an oracle is missing.
func need(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if conformance.CI() {
		t.Fatalf("oracle missing under CI=true: %v", err)
	}
	t.Skip(err)
}
