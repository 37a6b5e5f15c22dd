package zoo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/weights"
)

// ErrNoWeights reports a model whose spec lists no downloadable weight
// files (Spec.Weights is empty); the message says how to produce a file
// for zoo.WithWeights instead.
var ErrNoWeights = errors.New("zoo: no known pretrained weights")

// pretrainedConfig holds the PretrainedOptions of one Pretrained option.
type pretrainedConfig struct {
	dir      string
	file     string
	client   *http.Client
	progress io.Writer
	ctx      context.Context
}

// PretrainedOption configures Pretrained and FetchWeights.
type PretrainedOption func(*pretrainedConfig)

// PretrainedCache keeps the weight files in dir instead of
// weights.DefaultDir() ($INCEPTION_CACHE, else
// $XDG_CACHE_HOME/inceptionzoo/weights, else the user cache directory).
func PretrainedCache(dir string) PretrainedOption {
	return func(c *pretrainedConfig) { c.dir = dir }
}

// PretrainedFile picks the weight file called name among the model's
// Spec.Weights (default: the first, the preferred one).
func PretrainedFile(name string) PretrainedOption {
	return func(c *pretrainedConfig) { c.file = name }
}

// PretrainedClient downloads with client instead of http.DefaultClient.
func PretrainedClient(client *http.Client) PretrainedOption {
	return func(c *pretrainedConfig) { c.client = client }
}

// PretrainedProgress writes a download progress bar to w (default: none).
func PretrainedProgress(w io.Writer) PretrainedOption {
	return func(c *pretrainedConfig) { c.progress = w }
}

// PretrainedContext bounds the download by ctx (default:
// context.Background()).
func PretrainedContext(ctx context.Context) PretrainedOption {
	return func(c *pretrainedConfig) { c.ctx = ctx }
}

// Pretrained loads the model's published pretrained weights instead of the
// seeded initialisation: the file is chosen from Spec.Weights (see
// PretrainedFile), fetched into the weight cache by weights.Cache.Fetch
// unless a verified copy is already there (size and SHA-256 are checked;
// a mismatching download is never used), and then read as WithWeights
// reads a file. Offline, the error wraps weights.ErrUnavailable and says
// which file to place where. A model without known weight files (the
// torchvision and timm ports, the D2L model) gives an error wrapping
// ErrNoWeights that says how to produce an ONNX file for WithWeights.
// Pretrained and WithWeights exclude each other.
func Pretrained(opts ...PretrainedOption) Option {
	pc := &pretrainedConfig{}
	for _, o := range opts {
		o(pc)
	}
	return func(c *config) { c.pretrained = pc }
}

// FetchWeights returns the path of a verified copy of one of spec's
// pretrained weight files (see Pretrained), downloading it into the cache
// first if needed. It is what Pretrained runs before loading the file.
func FetchWeights(spec registry.Entry, opts ...PretrainedOption) (string, error) {
	pc := &pretrainedConfig{}
	for _, o := range opts {
		o(pc)
	}
	return pc.fetch(spec)
}

// resolve returns the weight file path Load should read: the fetched file,
// or an error when WithWeights already named one.
func (pc *pretrainedConfig) resolve(spec registry.Entry, withWeights string) (string, error) {
	if withWeights != "" {
		return "", fmt.Errorf("zoo: %s: Pretrained and WithWeights(%q) exclude each other", spec.Name, withWeights)
	}
	return pc.fetch(spec)
}

func (pc *pretrainedConfig) fetch(spec registry.Entry) (string, error) {
	if len(spec.Weights) == 0 {
		return "", noWeights(spec.Name)
	}
	f, err := weights.Select(spec.Weights, pc.file)
	if err != nil {
		return "", fmt.Errorf("zoo: %s: %w", spec.Name, err)
	}
	dir := pc.dir
	if dir == "" {
		if dir, err = weights.DefaultDir(); err != nil {
			return "", err
		}
	}
	ctx := pc.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	cache := &weights.Cache{Dir: dir, Client: pc.client, Progress: pc.progress}
	p, err := cache.Fetch(ctx, f)
	if err != nil {
		return "", fmt.Errorf("zoo: %s: %w", spec.Name, err)
	}
	return p, nil
}

// upstream names where the weights of the models without a published
// ONNX file live.
var upstream = map[string]string{
	"inception-v1-tv":     "torchvision googlenet",
	"inception-v3":        "torchvision inception_v3",
	"inception-v4":        "timm inception_v4",
	"inception-resnet-v2": "timm inception_resnet_v2",
	"inception-resnet-v1": "facenet-pytorch InceptionResnetV1",
	"inception-bn":        "Cadene pretrainedmodels bninception",
}

func noWeights(name string) error {
	how := "export a checkpoint to ONNX with parameter paths as initializer names and load it with zoo.WithWeights(path)"
	if u, ok := upstream[name]; ok {
		how = fmt.Sprintf("export the %s weights to ONNX with scripts/torch_export.py (or torch.onnx.export) and load the file with zoo.WithWeights(path) (CLI: --weights FILE)", u)
	}
	return fmt.Errorf("%w for %s (its spec lists no weight files): %s", ErrNoWeights, name, how)
}
