package train

import (
	"fmt"
	"math"
)

// Optimizer updates parameters in place from their gradients. Its State
// and SetState capture everything a resumed run needs.
type Optimizer interface {
	// Step applies one update with learning rate lr: params[i] -= f(grads[i]).
	Step(params, grads [][]float32, lr float64)
	// State returns the optimizer's buffers and counters.
	State() OptState
	// SetState restores a State (buffers must match the parameter sizes).
	SetState(OptState) error
}

// OptState is an optimizer's resumable state.
type OptState struct {
	Kind    string
	Steps   int64
	Buffers [][][]float32 // per buffer kind (velocity; or m and v), per parameter
}

// SGD is stochastic gradient descent with optional (heavy-ball, PyTorch
// convention) momentum and L2 weight decay:
// v = μ·v + (g + λ·w); w -= lr·v.
type SGD struct {
	Momentum, WeightDecay float64
	vel                   [][]float32
	steps                 int64
}

// Step implements Optimizer.
func (o *SGD) Step(params, grads [][]float32, lr float64) {
	if o.Momentum != 0 && o.vel == nil {
		o.vel = zerosLike(params)
	}
	mu, wd := float32(o.Momentum), float32(o.WeightDecay)
	for i, w := range params {
		g := grads[i]
		for k := range w {
			d := g[k] + wd*w[k]
			if o.vel != nil {
				o.vel[i][k] = mu*o.vel[i][k] + d
				d = o.vel[i][k]
			}
			w[k] -= float32(lr) * d
		}
	}
	o.steps++
}

// State implements Optimizer.
func (o *SGD) State() OptState {
	s := OptState{Kind: "sgd", Steps: o.steps}
	if o.vel != nil {
		s.Buffers = [][][]float32{o.vel}
	}
	return s
}

// SetState implements Optimizer.
func (o *SGD) SetState(s OptState) error {
	if s.Kind != "sgd" || len(s.Buffers) > 1 {
		return fmt.Errorf("%w: optimizer state %q with %d buffers, want sgd", ErrCheckpoint, s.Kind, len(s.Buffers))
	}
	o.steps, o.vel = s.Steps, nil
	if len(s.Buffers) == 1 {
		o.vel = s.Buffers[0]
	}
	return nil
}

// Adam is Kingma & Ba's Adam with bias correction (and optional L2 weight
// decay added to the gradient, as torch.optim.Adam does).
type Adam struct {
	Beta1, Beta2, Eps, WeightDecay float64
	m, v                           [][]float32
	steps                          int64
}

// NewAdam returns Adam with the usual constants (0.9, 0.999, 1e-8).
func NewAdam() *Adam { return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// Step implements Optimizer.
func (o *Adam) Step(params, grads [][]float32, lr float64) {
	if o.m == nil {
		o.m, o.v = zerosLike(params), zerosLike(params)
	}
	o.steps++
	c1 := 1 - math.Pow(o.Beta1, float64(o.steps))
	c2 := 1 - math.Pow(o.Beta2, float64(o.steps))
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	a := float32(lr * math.Sqrt(c2) / c1)
	eps := float32(o.Eps * math.Sqrt(c2))
	wd := float32(o.WeightDecay)
	for i, w := range params {
		g, m, v := grads[i], o.m[i], o.v[i]
		for k := range w {
			d := g[k] + wd*w[k]
			m[k] = b1*m[k] + (1-b1)*d
			v[k] = b2*v[k] + (1-b2)*d*d
			w[k] -= a * m[k] / (float32(math.Sqrt(float64(v[k]))) + eps)
		}
	}
}

// State implements Optimizer.
func (o *Adam) State() OptState {
	s := OptState{Kind: "adam", Steps: o.steps}
	if o.m != nil {
		s.Buffers = [][][]float32{o.m, o.v}
	}
	return s
}

// SetState implements Optimizer.
func (o *Adam) SetState(s OptState) error {
	if s.Kind != "adam" || (len(s.Buffers) != 0 && len(s.Buffers) != 2) {
		return fmt.Errorf("%w: optimizer state %q with %d buffers, want adam", ErrCheckpoint, s.Kind, len(s.Buffers))
	}
	o.steps, o.m, o.v = s.Steps, nil, nil
	if len(s.Buffers) == 2 {
		o.m, o.v = s.Buffers[0], s.Buffers[1]
	}
	return nil
}

func zerosLike(ps [][]float32) [][]float32 {
	z := make([][]float32, len(ps))
	for i, p := range ps {
		z[i] = make([]float32, len(p))
	}
	return z
}

// checkBuffers verifies that restored buffers fit the parameters.
func checkBuffers(s OptState, params [][]float32) error {
	for _, b := range s.Buffers {
		if len(b) != len(params) {
			return fmt.Errorf("%w: optimizer state has %d tensors, model learns %d", ErrCheckpoint, len(b), len(params))
		}
		for i := range b {
			if len(b[i]) != len(params[i]) {
				return fmt.Errorf("%w: optimizer tensor %d has %d values, parameter has %d", ErrCheckpoint, i, len(b[i]), len(params[i]))
			}
		}
	}
	return nil
}

// Schedule gives the learning rate of a step.
type Schedule struct {
	Base   float64
	Kind   string // "const" (default) or "cosine" (to 0 at Total)
	Warmup int64  // linear warm-up steps
	Total  int64  // total steps (cosine)
}

// LR returns the learning rate at step (0-based).
func (s Schedule) LR(step int64) float64 {
	lr := s.Base
	if s.Kind == "cosine" && s.Total > 0 {
		lr = s.Base * 0.5 * (1 + math.Cos(math.Pi*float64(min(step, s.Total))/float64(s.Total)))
	}
	if s.Warmup > 0 && step < s.Warmup {
		lr *= float64(step+1) / float64(s.Warmup)
	}
	return lr
}
