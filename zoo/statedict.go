package zoo

import (
	"fmt"
	"slices"
	"strings"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/statedict"
	"github.com/inceptionzoo/inception/tensor"
)

// openStateDict reads a PyTorch checkpoint or a safetensors file.
func openStateDict(path string, format spec.Format) (*weightsFile, error) {
	sd, err := statedict.ReadFile(path, statedict.Limits{})
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	return &weightsFile{path: path, format: format, sd: sd}, nil
}

// keysShown is how many keys a load error names per list, like torch's
// load_state_dict names them all but briefer.
const keysShown = 5

// StateDictError reports a state dict that does not fit the model, as
// torch's strict load_state_dict does: parameters the file lacks, tensors
// of the file the model has no place for, and shape mismatches. It wraps
// ErrMismatch.
type StateDictError struct {
	Model, File string
	Missing     []string // model parameters (file keys) absent from the file
	Unexpected  []string // file keys no parameter takes
	Mismatched  []string // "key: file [..], model [..]"
}

func (e *StateDictError) Error() string {
	var parts []string
	list := func(what string, keys []string) {
		if len(keys) == 0 {
			return
		}
		shown := keys[:min(len(keys), keysShown)]
		s := fmt.Sprintf("%d %s (%s", len(keys), what, strings.Join(shown, ", "))
		if len(keys) > len(shown) {
			s += fmt.Sprintf(", and %d more", len(keys)-len(shown))
		}
		parts = append(parts, s+")")
	}
	list("missing keys", e.Missing)
	list("unexpected keys", e.Unexpected)
	list("shape mismatches", e.Mismatched)
	return fmt.Sprintf("zoo: weights do not fit: %s: state dict %s: %s", e.Model, e.File, strings.Join(parts, "; "))
}

func (e *StateDictError) Unwrap() error { return ErrMismatch }

// stateDictParams maps a state dict onto g's parameters: each parameter
// path, through the tag's Keys (or as it is), names a tensor of the file
// whose shape must be the parameter's. Tensors of heads the model was
// built without (auxiliary heads) are dropped; any other key left over is
// an error, as are missing keys and shape mismatches.
func (f *weightsFile) stateDictParams(e registry.Entry, tag *spec.Tag, o nn.Options, input nn.Shape, g *nn.Graph) (nn.Params, error) {
	keyOf := keysFor(e, tag, f.format)
	if keyOf == nil {
		keyOf = func(p string) string { return p }
	}
	used := map[string]bool{}
	err := &StateDictError{Model: e.Name, File: f.path}
	p := nn.Params{}
	for _, s := range g.Params() {
		key := keyOf(s.Path)
		t := f.sd.Tensor(key)
		if key == "" || t == nil {
			err.Missing = append(err.Missing, key+orPath(key, s.Path))
			continue
		}
		used[key] = true
		if !slices.Equal(t.Shape, s.Shape) {
			err.Mismatched = append(err.Mismatched, fmt.Sprintf("%s: file %v, model %v", key, t.Shape, s.Shape))
			continue
		}
		p[s.Path] = &tensor.Tensor{Shape: slices.Clone(s.Shape), Data: t.Data}
	}
	dropped := map[string]bool{}
	if e.HasAux && !o.Aux {
		for _, k := range auxKeys(e, o, input, g, keyOf) {
			dropped[k] = true
		}
	}
	for _, t := range f.sd.Tensors {
		if !used[t.Name] && !dropped[t.Name] {
			err.Unexpected = append(err.Unexpected, t.Name)
		}
	}
	if len(err.Missing)+len(err.Unexpected)+len(err.Mismatched) > 0 {
		return nil, err
	}
	return p, nil
}

func orPath(key, path string) string {
	if key == path {
		return ""
	}
	return " (" + path + ")"
}

// auxKeys returns the file keys of the auxiliary heads: the parameters a
// build with aux heads has and g, built without, lacks.
func auxKeys(e registry.Entry, o nn.Options, input nn.Shape, g *nn.Graph, keyOf func(string) string) []string {
	o.Aux = true
	b, err := e.Build(o)
	if err != nil {
		return nil
	}
	ga, err := nn.Lower(b, input)
	if err != nil {
		return nil
	}
	have := map[string]bool{}
	for _, s := range g.Params() {
		have[s.Path] = true
	}
	var out []string
	for _, s := range ga.Params() {
		if !have[s.Path] {
			out = append(out, keyOf(s.Path))
		}
	}
	return out
}
