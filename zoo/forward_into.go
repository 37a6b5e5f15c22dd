package zoo

import (
	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/tensor"
)

// ForwardInto computes the main output for x into out, which must already
// have the output shape [N, output shape...] (for example from a previous
// Forward at the same batch size). After a first call at a batch size it
// does not allocate, which makes it the call for serving loops and
// benchmarks.
func (m *Model) ForwardInto(x, out *tensor.Tensor) error { return m.exec.RunInto(x, out) }

// Profile runs x (one image at a time) runs times after a warm-up pass and
// returns every compiled step of the engine in execution order with its
// median time per image: where a forward pass spends its time. See
// engine.Model.Profile.
func (m *Model) Profile(x *tensor.Tensor, runs int) ([]engine.StepTime, error) {
	return m.exec.Profile(x, runs)
}
