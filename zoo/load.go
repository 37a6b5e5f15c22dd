package zoo

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
)

// ErrMismatch reports weights that do not fit the configuration asked for:
// another model's file, another input size or class count. The message
// names both values.
var ErrMismatch = errors.New("zoo: weights do not fit")

// load resolves ref, settles the configuration (tag, file, options), builds,
// lowers, loads the weights and compiles.
func (c *config) load(ref string) (*Model, error) {
	e, tag, err := c.reg.Resolve(ref)
	if err != nil {
		return nil, err
	}
	if err := c.check(e); err != nil {
		return nil, err
	}
	path := c.weights
	if c.pretrained != nil {
		if path != "" {
			return nil, fmt.Errorf("zoo: %s: Pretrained and WithWeights(%q) exclude each other", e.Name, path)
		}
		if tag, err = c.pretrained.pick(e, tag); err != nil {
			return nil, err
		}
		if path, err = c.pretrained.fetch(c.ctx, e, tag); err != nil {
			return nil, err
		}
	}

	// What the tag says; then what the file records; then the options.
	input := slices.Clone(e.InputOf(tag))
	classes, labelSet := e.ClassesOf(tag)
	pre := e.Preprocess
	if tag != nil {
		pre = tag.Preprocess
		if tag.TransformInput {
			c.opts.TransformInput = true
		}
	}
	var file *weightsFile
	if path != "" {
		if file, err = openWeights(path); err != nil {
			return nil, fmt.Errorf("zoo: %s: %w", e.Name, err)
		}
		if err := file.fits(e, tag, c.size); err != nil {
			return nil, err
		}
		if file.input != nil {
			input = file.input
		}
		if file.classes > 0 {
			classes, labelSet = file.classes, file.labels
			if labelSet == "" && file.classes == e.Classes {
				labelSet = e.Labels
			}
		}
		if file.pre != nil && tag == nil {
			pre = *file.pre
		}
	}
	if c.size != [2]int{} {
		input[1], input[2] = c.size[0], c.size[1]
	}
	if n := c.opts.Classes; n > 0 && n != classes {
		if file != nil && file.classes > 0 {
			return nil, fmt.Errorf("%w: %s: WithClasses(%d), the weights %s have %d classes", ErrMismatch, e.Name, n, path, file.classes)
		}
		classes, labelSet = n, ""
	}
	c.opts.Classes = classes
	if n, err := labels.Size(labelSet); labelSet != "" && (err != nil || n != classes) {
		labelSet = "" // the label set names another number of classes
	}
	if c.preprocess != nil {
		pre = *c.preprocess
	} else if pre.Crop != input[1] && input[1] == input[2] {
		pre = fitPreprocess(pre, input[1])
	}

	b, err := e.Build(c.opts)
	if err != nil {
		return nil, fmt.Errorf("zoo: building %s: %w", e.Name, err)
	}
	g, err := nn.Lower(b, input)
	if err != nil {
		return nil, fmt.Errorf("zoo: %s at input %v: %w", e.Name, input, err)
	}
	if out := g.OutputShape(); len(out) != 1 || out[0] != classes {
		return nil, fmt.Errorf("zoo: %s: builder output shape %v, want %d classes", e.Name, out, classes)
	}
	var p nn.Params
	if file != nil {
		if p, err = file.params(e, tag, c.opts, input, g); err != nil {
			return nil, err
		}
	} else {
		p = nn.InitParams(g, c.seed)
	}
	eff := e
	eff.Input, eff.Classes, eff.Labels, eff.Preprocess = input, classes, labelSet, pre
	m, err := c.assemble(eff, b, g, p)
	if err != nil {
		return nil, err
	}
	m.tag, m.source = tag, path
	m.seeded = file == nil || file.seeded
	switch {
	case c.names != nil:
		m.names = c.names
	case file != nil && file.names != nil && len(file.names) == classes:
		m.names = file.names
	}
	if m.names != nil && len(m.names) != classes {
		return nil, fmt.Errorf("%w: %s: %d class names for %d classes", ErrMismatch, e.Name, len(m.names), classes)
	}
	return m, nil
}

// check validates the options against the entry.
func (c *config) check(e registry.Entry) error {
	switch {
	case c.opts.Aux && !e.HasAux:
		return fmt.Errorf("zoo: %s has no auxiliary heads", e.Name)
	case c.opts.TransformInput && !e.HasTransform:
		return fmt.Errorf("zoo: %s has no transform_input option", e.Name)
	case c.opts.Classes < 0:
		return fmt.Errorf("zoo: class count %d must be positive", c.opts.Classes)
	case c.size != [2]int{} && (c.size[0] < 1 || c.size[1] < 1 || c.size[0] > spec.MaxSide || c.size[1] > spec.MaxSide):
		return fmt.Errorf("zoo: input size %dx%d outside 1 to %d", c.size[0], c.size[1], spec.MaxSide)
	}
	return nil
}

// fitPreprocess returns p for a square input of side crop: the crop becomes
// crop and the resize keeps its ratio to the crop (timm's crop_pct).
func fitPreprocess(p spec.Preprocess, crop int) spec.Preprocess {
	p.Resize = int(math.Floor(float64(p.Resize) * float64(crop) / float64(p.Crop)))
	p.Crop = crop
	return p
}

// fits checks the facts the file records against the model, the tag and
// WithInputSize: a file of another model, or trained at another input
// size, would give wrong answers without an error.
func (f *weightsFile) fits(e registry.Entry, tag *spec.Tag, size [2]int) error {
	if f.model != "" && f.model != e.Name {
		return fmt.Errorf("%w: %s was exported from model %q, not %q (load it with that name)", ErrMismatch, f.path, f.model, e.Name)
	}
	if f.input == nil {
		return nil
	}
	if len(f.input) != len(e.Input) || f.input[0] != e.Input[0] {
		return fmt.Errorf("%w: %s takes input %v, %s takes %v", ErrMismatch, f.path, f.input, e.Name, e.Input)
	}
	if size != [2]int{} && (size[0] != f.input[1] || size[1] != f.input[2]) {
		return fmt.Errorf("%w: WithInputSize(%d, %d), the weights %s were made for %dx%d", ErrMismatch, size[0], size[1], f.path, f.input[1], f.input[2])
	}
	if tag != nil && !slices.Equal(e.InputOf(tag), f.input) {
		return fmt.Errorf("%w: tag %s is for input %v, the file %s records %v", ErrMismatch, e.Ref(tag), e.InputOf(tag), f.path, f.input)
	}
	return nil
}
