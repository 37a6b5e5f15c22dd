package zoo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"

	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/weights"
)

// ErrNoWeights reports a model whose spec lists no pretrained weight tags.
var ErrNoWeights = errors.New("zoo: no known pretrained weights")

// pretrainedConfig holds the PretrainedOptions of one Pretrained option.
type pretrainedConfig struct {
	dir      string
	tag      string
	client   *http.Client
	progress io.Writer
	notices  io.Writer
	sources  []fs.FS
}

// PretrainedOption configures Pretrained and FetchWeights.
type PretrainedOption func(*pretrainedConfig)

// PretrainedCache keeps the weight files in dir instead of
// weights.DefaultDir() ($INCEPTION_CACHE, else
// $XDG_CACHE_HOME/inceptionzoo/weights, else the user cache directory).
func PretrainedCache(dir string) PretrainedOption {
	return func(c *pretrainedConfig) { c.dir = dir }
}

// PretrainedFile picks the model's weight tag called tag (default: the tag
// in the model reference, else the model's default tag).
func PretrainedFile(tag string) PretrainedOption {
	return func(c *pretrainedConfig) { c.tag = tag }
}

// PretrainedClient downloads with client instead of the weights package's
// default client (which has connect, header and idle timeouts).
func PretrainedClient(client *http.Client) PretrainedOption {
	return func(c *pretrainedConfig) { c.client = client }
}

// PretrainedProgress writes a download progress bar to w (default: none).
func PretrainedProgress(w io.Writer) PretrainedOption {
	return func(c *pretrainedConfig) { c.progress = w }
}

// PretrainedNotices writes the download's one-line notices (an unpinned
// file trusted on first use, a discarded partial file) to w instead of the
// progress writer.
func PretrainedNotices(w io.Writer) PretrainedOption {
	return func(c *pretrainedConfig) { c.notices = w }
}

// PretrainedSources looks for the files in these read-only file systems
// (by the file's name) before downloading; see weights.Cache.Sources.
func PretrainedSources(src ...fs.FS) PretrainedOption {
	return func(c *pretrainedConfig) { c.sources = append(c.sources, src...) }
}

// Pretrained loads the published weights of a tag instead of the seeded
// initialisation: the tag named in the model reference
// ("inception-v3.tf_in1k"), or by PretrainedFile, or else the model's
// default tag. The file is fetched into the weight cache by
// weights.Cache.Fetch unless a verified copy is already there (a
// mismatching download is never used), then read as WithWeights reads a
// file, with the tag's input size, classes, labels, preprocessing,
// transform_input and tensor naming. Offline, the error wraps
// weights.ErrUnavailable and says which file to place where. A model
// without tags gives an error wrapping ErrNoWeights. Pretrained and
// WithWeights exclude each other.
func Pretrained(opts ...PretrainedOption) Option {
	pc := &pretrainedConfig{}
	for _, o := range opts {
		o(pc)
	}
	return func(c *config) { c.pretrained = pc }
}

// FetchWeights returns the path of a verified copy of the weight file of a
// model reference's tag (see Pretrained), downloading it into the cache
// first if needed, and the tag. It is what Pretrained runs before loading
// the file.
func FetchWeights(ctx context.Context, r *registry.Registry, ref string, opts ...PretrainedOption) (string, *spec.Tag, error) {
	pc := &pretrainedConfig{}
	for _, o := range opts {
		o(pc)
	}
	if r == nil {
		r = registry.Default
	}
	e, tag, err := r.Resolve(ref)
	if err != nil {
		return "", nil, err
	}
	if tag, err = pc.pick(e, tag); err != nil {
		return "", nil, err
	}
	p, err := pc.fetch(ctx, e, tag)
	return p, tag, err
}

// CachedWeights returns the path of a verified copy of the tag's file if
// the cache (or a source) already has one, without touching the network.
func CachedWeights(e registry.Entry, tag *spec.Tag, opts ...PretrainedOption) (string, bool) {
	pc := &pretrainedConfig{}
	for _, o := range opts {
		o(pc)
	}
	c, err := pc.cache()
	if err != nil {
		return "", false
	}
	if p, ok := c.Cached(tag.File); ok {
		return p, true
	}
	if len(c.Sources) == 0 {
		return c.Path(tag.File), false
	}
	c.Client = offline{}.client()
	p, err := c.Fetch(context.Background(), tag.File)
	return p, err == nil
}

// pick returns the tag to load: PretrainedFile's, the reference's, or the
// default.
func (pc *pretrainedConfig) pick(e registry.Entry, ref *spec.Tag) (*spec.Tag, error) {
	if len(e.Tags) == 0 {
		return nil, fmt.Errorf("%w for %s: its spec lists no weight tags; load a file with zoo.WithWeights(path) (ONNX, PyTorch checkpoint or safetensors)", ErrNoWeights, e.Name)
	}
	switch {
	case pc.tag != "" && ref != nil && pc.tag != ref.Name:
		return nil, fmt.Errorf("zoo: %s: the reference names tag %q, PretrainedFile %q", e.Name, ref.Name, pc.tag)
	case ref != nil:
		return ref, nil
	}
	return e.Tag(pc.tag)
}

func (pc *pretrainedConfig) cache() (*weights.Cache, error) {
	dir := pc.dir
	if dir == "" {
		var err error
		if dir, err = weights.DefaultDir(); err != nil {
			return nil, err
		}
	}
	return &weights.Cache{Dir: dir, Client: pc.client, Progress: pc.progress, Notices: pc.notices, Sources: pc.sources}, nil
}

func (pc *pretrainedConfig) fetch(ctx context.Context, e registry.Entry, tag *spec.Tag) (string, error) {
	c, err := pc.cache()
	if err != nil {
		return "", err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := c.Fetch(ctx, tag.File)
	if err != nil {
		return "", fmt.Errorf("zoo: %s: %w", e.Ref(tag), err)
	}
	return p, nil
}

// offline is an HTTP transport that never connects, for lookups that must
// not touch the network.
type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("offline lookup")
}

func (o offline) client() *http.Client { return &http.Client{Transport: o} }
