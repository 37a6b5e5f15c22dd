package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/zoo"
)

// ErrSeeded reports a model whose weights are the seeded (untrained)
// initialisation while LoadOptions.AllowSeeded is false.
var ErrSeeded = errors.New("serve: seeded (untrained) weights")

// LoadOptions configure LoadModel.
type LoadOptions struct {
	// AllowSeeded lets a model with seeded (untrained) weights be served: a
	// bare NAME, or a file whose metadata says its weights are seeded.
	AllowSeeded bool
	// Cache is the weight cache for NAME=pretrained (default: the zoo's).
	Cache string
	// Progress receives download progress for NAME=pretrained.
	Progress io.Writer
	// Sources are read-only file systems searched for NAME=pretrained files
	// before downloading (the command passes the files it ships).
	Sources []fs.FS
	// Registry resolves names (default registry.Default).
	Registry *registry.Registry
}

// LoadModel loads one model argument of `inception serve`:
//
//	NAME             the model with seeded weights (only with AllowSeeded)
//	NAME=pretrained  the published weights of NAME's tag (its default tag for
//	                 a bare name), from the weight cache, downloaded once
//	NAME=FILE        weights from FILE (ONNX, PyTorch checkpoint or
//	                 safetensors; see zoo.WithWeights)
//
// NAME is a registry name or alias, optionally with a tag
// ("inception-v3.tv_in1k"); it is also the served model's name. The
// weights decide the input size, classes, labels and preprocessing (see
// package zoo).
func LoadModel(ctx context.Context, arg string, o LoadOptions) (Model, error) {
	name, src, hasSrc := strings.Cut(arg, "=")
	if name == "" || (hasSrc && src == "") {
		return Model{}, fmt.Errorf("serve: model %q: want NAME, NAME=FILE or NAME=pretrained", arg)
	}
	if !hasSrc && !o.AllowSeeded {
		return Model{}, fmt.Errorf("%w for %s: serve %s=FILE (a weights file), %s=pretrained (the published weights), or allow seeded weights explicitly (--allow-seeded)", ErrSeeded, name, name, name)
	}
	var opts []zoo.Option
	if o.Registry != nil {
		opts = append(opts, zoo.WithRegistry(o.Registry))
	}
	switch {
	case src == "pretrained":
		var popts []zoo.PretrainedOption
		if o.Cache != "" {
			popts = append(popts, zoo.PretrainedCache(o.Cache))
		}
		if o.Progress != nil {
			popts = append(popts, zoo.PretrainedProgress(o.Progress))
		}
		if len(o.Sources) > 0 {
			popts = append(popts, zoo.PretrainedSources(o.Sources...))
		}
		opts = append(opts, zoo.Pretrained(popts...))
	case hasSrc:
		opts = append(opts, zoo.WithWeights(src))
	}
	m, err := zoo.LoadContext(ctx, name, opts...)
	if err != nil {
		return Model{}, err
	}
	if m.Seeded() && !o.AllowSeeded {
		return Model{}, fmt.Errorf("%w: %s holds seeded weights (its metadata says so); serve trained weights, or allow seeded ones explicitly (--allow-seeded)", ErrSeeded, src)
	}
	return Model{Name: name, Model: m}, nil
}
