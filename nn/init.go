package nn

import (
	"math"

	"github.com/inceptionzoo/inception/tensor"
)

// Params maps full parameter paths to tensors.
type Params map[string]*tensor.Tensor

// Check verifies that p holds exactly the parameters of g with the right
// shapes. It names the first missing, extra or mismatching parameter.
func (p Params) Check(g *Graph) error {
	want := map[string]bool{}
	for _, s := range g.Params() {
		want[s.Path] = true
		t, ok := p[s.Path]
		if !ok {
			return &ParamError{Path: s.Path, Want: s.Shape, Msg: "missing"}
		}
		if !tensor.SameShape(t.Shape, s.Shape) || len(t.Data) != s.Numel() {
			return &ParamError{Path: s.Path, Want: s.Shape, Got: t.Shape, Msg: "shape mismatch"}
		}
	}
	for k, t := range p {
		if !want[k] {
			return &ParamError{Path: k, Got: t.Shape, Msg: "not a parameter of this model"}
		}
	}
	return nil
}

// ParamError names a parameter that does not fit a model.
type ParamError struct {
	Path      string
	Want, Got []int
	Msg       string
}

func (e *ParamError) Error() string {
	return "nn: parameter " + e.Path + ": " + e.Msg + " (want shape " + fmtShape(e.Want) + ", got " + fmtShape(e.Got) + ")"
}

func fmtShape(s []int) string {
	if s == nil {
		return "none"
	}
	return "[" + Shape(s).String() + "]"
}

// Rand is SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit state advanced
// by 0x9E3779B97F4A7C15 and mixed by two xor-shift-multiply rounds. Its
// output is fully specified, so seeded weights are the same on every
// machine and Go version.
type Rand struct{ state uint64 }

// NewRand returns a generator for stream key under seed: the state is
// seed XOR FNV-1a-64(key), so every parameter path has its own stream and
// initialising one parameter never shifts another's values.
func NewRand(seed uint64, key string) *Rand {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return &Rand{state: seed ^ h}
}

// Uint64 returns the next 64 random bits.
func (r *Rand) Uint64() uint64 {
	r.state += 0x9E3779B97F4A7C15
	z := r.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Float32 returns a uniform value in [0, 1) with 24 random bits.
func (r *Rand) Float32() float32 { return float32(r.Uint64()>>40) / (1 << 24) }

// Uniform returns a uniform value in [lo, hi).
func (r *Rand) Uniform(lo, hi float32) float32 { return lo + (hi-lo)*r.Float32() }

// InitParams returns deterministic weights for g. The rule, per parameter
// path, each from its own Rand stream (NewRand(seed, path)) drawn in
// row-major order:
//
//   - Conv and Linear weights: U(−b, b) with b = √(6/fan_in), fan_in =
//     in/groups·kh·kw (He-uniform, so activations keep their scale through
//     ReLU layers);
//   - Conv, Linear and ChannelScale biases, BatchNorm beta and running_mean:
//     U(−0.1, 0.1);
//   - BatchNorm gamma and ChannelScale weights: U(0.8, 1.2);
//   - BatchNorm running_var: U(0.8, 1.25).
//
// BatchNorm statistics are random rather than (0, 1) so that golden outputs
// exercise them, and close to 1 so that deep networks neither vanish nor
// explode.
func InitParams(g *Graph, seed uint64) Params {
	p := Params{}
	for _, n := range g.Nodes {
		for _, s := range n.Params {
			t := tensor.New(s.Shape...)
			r := NewRand(seed, s.Path)
			lo, hi := initRange(n, s)
			for i := range t.Data {
				t.Data[i] = r.Uniform(lo, hi)
			}
			p[s.Path] = t
		}
	}
	return p
}

func initRange(n *Node, s ParamSpec) (lo, hi float32) {
	switch n.Op.(type) {
	case Conv, Linear:
		if s.Kind == Weight {
			fanIn := 1
			for _, d := range s.Shape[1:] {
				fanIn *= d
			}
			b := float32(math.Sqrt(6 / float64(fanIn)))
			return -b, b
		}
		return -0.1, 0.1
	case BatchNorm:
		switch s.Kind {
		case Weight:
			return 0.8, 1.2
		case RunningVar:
			return 0.8, 1.25
		}
		return -0.1, 0.1
	case ChannelScale:
		if s.Kind == Weight {
			return 0.8, 1.2
		}
	}
	return -0.1, 0.1
}
