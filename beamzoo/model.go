package beamzoo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/inceptionzoo/inception/zoo"
)

// DefaultMaxWeightsBytes bounds a weight file copied from a Beam file
// system (gs://, s3://, memfs://) to a worker's disk: 2 GiB, above the
// largest published Inception file (Inception-ResNet v2, 214 MiB) by far.
const DefaultMaxWeightsBytes = 2 << 30

// Sources are read-only file systems where a worker looks for a tag's
// weight file before downloading it (zoo.PretrainedSources). A program that
// embeds weight files sets it in an init function, so that its workers,
// which run the same binary, find them too (the inception command adds its
// embedded assets).
var Sources []fs.FS

// Model names the model a DoFn loads on each worker. It is part of the
// DoFn's serialized form, so every field is plain data.
//
// The weights come from exactly one of:
//   - Weights: a file in any format zoo.WithWeights reads (ONNX, PyTorch
//     checkpoint, safetensors). A path without a scheme is read from the
//     worker's local disk; a path with a scheme (gs://bucket/v3.onnx) is
//     read through the Beam file system registered for it and copied to a
//     temporary file on the worker first (at most MaxWeightsBytes, checked
//     against WeightsSHA256 when set).
//   - Pretrained: the published file of the name's weight tag
//     ("inception-v3.tv_in1k", or the model's default tag), fetched into the
//     worker's weight cache (Cache, else the weights package's default) and
//     verified by its SHA-256 as zoo.Pretrained does. Workers need network
//     access to the publisher, or a cache directory that already holds it.
//
// Without either the model has seeded weights, which Load refuses unless
// AllowSeeded is set (tests and benchmarks only: seeded weights classify
// nothing).
type Model struct {
	Name            string `json:"name"`
	Weights         string `json:"weights,omitempty"`
	WeightsSHA256   string `json:"weights_sha256,omitempty"`
	MaxWeightsBytes int64  `json:"max_weights_bytes,omitempty"`
	Pretrained      bool   `json:"pretrained,omitempty"`
	Cache           string `json:"cache,omitempty"`
	AllowSeeded     bool   `json:"allow_seeded,omitempty"`
}

// Validate reports a Model that cannot be loaded whatever the worker has.
func (m Model) Validate() error {
	switch {
	case strings.TrimSpace(m.Name) == "":
		return fmt.Errorf("%w: empty model name", ErrConfig)
	case m.Weights != "" && m.Pretrained:
		return fmt.Errorf("%w: %s: Weights (%s) and Pretrained exclude each other", ErrConfig, m.Name, m.Weights)
	case m.WeightsSHA256 != "" && m.Weights == "":
		return fmt.Errorf("%w: %s: WeightsSHA256 without Weights", ErrConfig, m.Name)
	case m.MaxWeightsBytes < 0:
		return fmt.Errorf("%w: %s: MaxWeightsBytes %d", ErrConfig, m.Name, m.MaxWeightsBytes)
	}
	if d := m.WeightsSHA256; d != "" {
		if b, err := hex.DecodeString(d); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w: %s: WeightsSHA256 %q is not 64 hex digits", ErrConfig, m.Name, d)
		}
	}
	return nil
}

// key identifies the model in the per-process cache.
func (m Model) key() string {
	b, _ := json.Marshal(m) // plain strings and bools: cannot fail
	return string(b)
}

// loaded is one entry of the per-process model cache.
type loaded struct {
	once sync.Once
	m    *zoo.Model
	err  error
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*loaded{}
)

// Load returns the model, loading it once per process: the DoFns of all
// bundles a worker runs (a runner may run several at once, each with its own
// DoFn instance) share one *zoo.Model, which is safe for concurrent use.
// Concurrent callers wait for one load; a failed load is forgotten once
// reported, so that a bundle retried in the same process (after a download
// that timed out, say) loads again.
func (m Model) Load(ctx context.Context) (*zoo.Model, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	key := m.key()
	cacheMu.Lock()
	e, ok := cache[key]
	if !ok {
		e = &loaded{}
		cache[key] = e
	}
	cacheMu.Unlock()
	e.once.Do(func() { e.m, e.err = m.load(ctx) })
	if e.err != nil {
		cacheMu.Lock()
		if cache[key] == e {
			delete(cache, key)
		}
		cacheMu.Unlock()
	}
	return e.m, e.err
}

func (m Model) load(ctx context.Context) (*zoo.Model, error) {
	var opts []zoo.Option
	switch {
	case m.Weights != "":
		path := m.Weights
		if hasScheme(path) {
			tmp, err := m.copyWeights(ctx)
			if err != nil {
				return nil, err
			}
			defer os.Remove(tmp)
			path = tmp
		} else if m.WeightsSHA256 != "" {
			if err := checkFileDigest(path, m.WeightsSHA256); err != nil {
				return nil, err
			}
		}
		opts = append(opts, zoo.WithWeights(path))
	case m.Pretrained:
		popts := []zoo.PretrainedOption{zoo.PretrainedSources(Sources...)}
		if m.Cache != "" {
			popts = append(popts, zoo.PretrainedCache(m.Cache))
		}
		opts = append(opts, zoo.Pretrained(popts...))
	}
	zm, err := zoo.LoadContext(ctx, m.Name, opts...)
	if err != nil {
		return nil, fmt.Errorf("beamzoo: load %s: %w", m.Name, err)
	}
	if zm.Seeded() && !m.AllowSeeded {
		return nil, fmt.Errorf("%w: %s: give Weights or Pretrained (seeded weights classify nothing; AllowSeeded is for tests)", ErrSeeded, zm.Name())
	}
	return zm, nil
}

// hasScheme reports whether path names a Beam file system other than the
// local one ("gs://b/x", "memfs://x").
func hasScheme(path string) bool {
	i := strings.Index(path, "://")
	return i > 0
}

// copyWeights copies a weight file from a Beam file system to a temporary
// local file, bounded by MaxWeightsBytes and checked against WeightsSHA256.
// The caller removes the file.
func (m Model) copyWeights(ctx context.Context) (path string, err error) {
	limit := m.MaxWeightsBytes
	if limit == 0 {
		limit = DefaultMaxWeightsBytes
	}
	fsys, err := filesystem.New(ctx, m.Weights)
	if err != nil {
		return "", fmt.Errorf("beamzoo: weights %s: %w", m.Weights, err)
	}
	defer fsys.Close()
	r, err := fsys.OpenRead(ctx, m.Weights)
	if err != nil {
		return "", fmt.Errorf("beamzoo: weights %s: %w", m.Weights, err)
	}
	defer r.Close()
	f, err := os.CreateTemp("", "beamzoo-weights-*")
	if err != nil {
		return "", fmt.Errorf("beamzoo: weights %s: %w", m.Weights, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("beamzoo: weights %s: %w", m.Weights, cerr)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, limit+1))
	if err != nil {
		return "", fmt.Errorf("beamzoo: weights %s: %w", m.Weights, err)
	}
	if n > limit {
		return "", fmt.Errorf("%w: weights %s: more than %d bytes (MaxWeightsBytes)", ErrTooLarge, m.Weights, limit)
	}
	if want := m.WeightsSHA256; want != "" {
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
			return "", fmt.Errorf("%w: weights %s: sha256 %s, want %s", ErrDigest, m.Weights, got, want)
		}
	}
	return f.Name(), nil
}

// checkFileDigest compares a local file's SHA-256 with want.
func checkFileDigest(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("beamzoo: weights: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("beamzoo: weights %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("%w: weights %s: sha256 %s, want %s", ErrDigest, path, got, want)
	}
	return nil
}
