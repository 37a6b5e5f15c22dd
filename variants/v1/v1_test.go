package inceptionv1_test

import (
	"fmt"
	"testing"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	inceptionv1 "github.com/inceptionzoo/inception/variants/v1"
	"github.com/stretchr/testify/require"
)

func TestTableDepths(t *testing.T) {
	// The paper's output depths of 3a…5b (Table 1, "depth" of the next row's input).
	want := []int{256, 480, 512, 512, 512, 528, 832, 832, 1024}
	for i, m := range inceptionv1.Modules {
		if got := m.Out(); got != want[i] {
			t.Errorf("module %s: Out() = %d, want %d", m.Name, got, want[i])
		}
	}
}

func TestCounts(t *testing.T) {
	for _, s := range inceptionv1.Specs() {
		for _, aux := range []bool{false, true} {
			if aux && !s.HasAux {
				continue
			}
			t.Run(fmt.Sprintf("%s/aux=%v", s.Name, aux), func(t *testing.T) {
				b, err := s.Build(nn.Options{Aux: aux})
				require.NoError(t, err)
				g, err := nn.Lower(b, s.Input)
				require.NoError(t, err)
				params, _, macs := g.Totals()
				want := s.RefParams
				if aux {
					want = s.RefParamsAux
				} else if macs != s.RefMACs {
					t.Errorf("MACs = %d, want %d", macs, s.RefMACs)
				}
				if params != want {
					t.Errorf("params = %d, want %d", params, want)
				}
				if got := g.OutputShape(); len(got) != 1 || got[0] != s.Classes {
					t.Errorf("output shape = %v, want [%d]", got, s.Classes)
				}
			})
		}
	}
}

// TestStageShapes checks the per-stage shapes the references measured.
func TestStageShapes(t *testing.T) {
	tests := []struct {
		model string
		want  map[string]string
	}{
		{"inception-v1", map[string]string{
			"pool1": "64x56x56", "conv2": "192x56x56", "pool2.3x3_s2": "192x28x28", "inception_3a": "256x28x28",
			"inception_3b": "480x28x28", "pool3.3x3_s2": "480x14x14", "inception_4d": "528x14x14",
			"pool4.3x3_s2": "832x7x7", "inception_5b": "1024x7x7", "pool5.7x7_s1": "1024x1x1",
		}},
		{"inception-v1-tv", map[string]string{
			"conv1": "64x112x112", "maxpool1": "64x56x56", "conv3": "192x56x56", "maxpool2": "192x28x28",
			"inception3a": "256x28x28", "maxpool3": "480x14x14", "inception4e": "832x14x14",
			"maxpool4": "832x7x7", "inception5b": "1024x7x7",
		}},
		{"inception-v1-d2l", map[string]string{"0": "64x24x24", "1": "192x12x12", "2": "480x6x6", "3": "832x3x3", "4": "1024"}},
	}
	specs := map[string]spec.Model{}
	for _, s := range inceptionv1.Specs() {
		specs[s.Name] = s
	}
	for _, tt := range tests {
		s := specs[tt.model]
		b, err := s.Build(nn.Options{})
		require.NoError(t, err)
		g, err := nn.Lower(b, s.Input)
		require.NoError(t, err)
		got := map[string]string{}
		for _, bi := range g.Blocks {
			if _, ok := got[bi.Path]; !ok { // transparent children share their parent's path
				got[bi.Path] = bi.Out.String()
			}
		}
		for path, want := range tt.want {
			if got[path] != want {
				t.Errorf("%s: block %q out = %q, want %q", tt.model, path, got[path], want)
			}
		}
	}
}

func TestParamPaths(t *testing.T) {
	tests := []struct {
		model string
		want  []string
	}{
		{"inception-v1", []string{"conv1.7x7_s2.weight", "inception_3a.3x3_reduce.bias", "inception_5b.pool_proj.weight", "loss3.classifier.weight"}},
		{"inception-v1-tv", []string{"conv1.conv.weight", "conv1.bn.running_var", "inception3a.branch2.1.conv.weight", "inception4a.branch4.1.bn.bias", "fc.bias"}},
		{"inception-v1-d2l", []string{"0.conv.weight", "2.3a.b3_2.weight", "5.weight"}},
	}
	for _, s := range inceptionv1.Specs() {
		for _, tt := range tests {
			if tt.model != s.Name {
				continue
			}
			b, _ := s.Build(nn.Options{})
			g, err := nn.Lower(b, s.Input)
			require.NoError(t, err)
			have := map[string]bool{}
			for _, p := range g.Params() {
				have[p.Path] = true
			}
			for _, w := range tt.want {
				if !have[w] {
					t.Errorf("%s: no parameter %q", s.Name, w)
				}
			}
		}
	}
}

func TestCaffe2Name(t *testing.T) {
	tests := []struct{ path, want string }{
		{"conv1.7x7_s2.weight", "conv1/7x7_s2_w_0"},
		{"inception_3a.1x1.bias", "inception_3a/1x1_b_0"},
		{"loss3.classifier.weight", "loss3/classifier_w_0"},
		{"conv1.bn.running_mean", ""},
		{"weight", ""},
	}
	for _, tt := range tests {
		if got := inceptionv1.Caffe2Name(tt.path); got != tt.want {
			t.Errorf("Caffe2Name(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
