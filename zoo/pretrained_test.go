package zoo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/weights"
	"github.com/inceptionzoo/inception/zoo"
)

// weightServer serves files by path and counts the requests.
type weightServer struct {
	*httptest.Server
	files    map[string][]byte
	requests atomic.Int64
}

func newWeightServer(t *testing.T, files map[string][]byte) *weightServer {
	t.Helper()
	s := &weightServer{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(b))
	}))
	t.Cleanup(s.Close)
	return s
}

// tinyPreset is the tiny model's preprocessing.
var tinyPreset = spec.Preprocess{Resize: 8, Crop: 8, Interpolation: "bilinear", Norm: spec.Norm{Name: "tiny", Range: 1, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}}

// weightFile describes b served at url as a weight tag called name.
func weightFile(name, url string, b []byte) spec.Tag {
	sum := sha256.Sum256(b)
	return spec.Tag{Name: name, Format: spec.ONNX, Preprocess: tinyPreset, License: "test", Source: "test",
		File: weights.File{Name: name + ".onnx", URL: url, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}}
}

// tinySpec is a small model (conv, pool, linear) with the given weight
// tags.
func tinySpec(ws ...spec.Tag) registry.Entry {
	return registry.Entry{
		Name: "tiny", Input: nn.Shape{3, 8, 8}, Classes: 4, Output: spec.Logits,
		Preprocess: tinyPreset,
		Tags:       ws,
		Build: func(nn.Options) (nn.Block, error) {
			return nn.Seq(nn.Conv{Name: "conv", Out: 5, Kernel: [2]int{3, 3}, Stride: [2]int{1, 1}, Pad: nn.P(1), Bias: true},
				nn.ReLU{}, nn.GlobalAvgPool{}, nn.Flatten{}, nn.Linear{Name: "fc", Out: 4, Bias: true}), nil
		},
	}
}

// tinyExport returns the ONNX export of the tiny model with seed seed.
func tinyExport(t *testing.T, seed uint64) (*zoo.Model, []byte) {
	t.Helper()
	reg, err := registry.New(tinySpec())
	require.NoError(t, err)
	m, err := zoo.Load("tiny", zoo.WithRegistry(reg), zoo.WithSeed(seed))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, m.ExportONNX(&buf, convert.ExportOptions{}))
	return m, buf.Bytes()
}

func TestPretrained(t *testing.T) {
	want, file := tinyExport(t, 5)
	other, _ := tinyExport(t, 6)
	_, otherFile := tinyExport(t, 6)
	srv := newWeightServer(t, map[string][]byte{"/tiny.onnx": file, "/other.onnx": otherFile, "/tampered.onnx": otherFile})
	good := weightFile("tiny-5", srv.URL+"/tiny.onnx", file)
	second := weightFile("tiny-6", srv.URL+"/other.onnx", otherFile)
	tampered := weightFile("tiny-tampered", srv.URL+"/tampered.onnx", file) // declares file's digest, serves otherFile
	tampered.File.Size = int64(len(otherFile))
	reg, err := registry.New(tinySpec(good, second, tampered))
	require.NoError(t, err)

	dir := t.TempDir()
	var progress bytes.Buffer
	opts := []zoo.PretrainedOption{zoo.PretrainedCache(dir), zoo.PretrainedClient(srv.Client()), zoo.PretrainedProgress(&progress)}
	m, err := zoo.Load("tiny", zoo.WithRegistry(reg), zoo.Pretrained(opts...))
	require.NoError(t, err)
	sameBits(t, m.Params, want.Params)
	require.Contains(t, progress.String(), "tiny-5")
	require.FileExists(t, filepath.Join(dir, "tiny-5.onnx"))
	if got := srv.requests.Load(); got != 1 {
		t.Fatalf("requests after the first load = %d, want 1", got)
	}

	// The verified copy is used again without a request.
	m, err = zoo.Load("tiny", zoo.WithRegistry(reg), zoo.Pretrained(opts...))
	require.NoError(t, err)
	sameBits(t, m.Params, want.Params)
	if got := srv.requests.Load(); got != 1 {
		t.Fatalf("requests after the second load = %d, want 1 (cached)", got)
	}

	// PretrainedFile picks another entry.
	m, err = zoo.Load("tiny", zoo.WithRegistry(reg), zoo.Pretrained(append(opts, zoo.PretrainedFile("tiny-6"))...))
	require.NoError(t, err)
	sameBits(t, m.Params, other.Params)

	// So does the reference tiny.tiny-6, and Model.Name says which tag.
	m, err = zoo.Load("tiny.tiny-6", zoo.WithRegistry(reg), zoo.Pretrained(opts...))
	require.NoError(t, err)
	sameBits(t, m.Params, other.Params)
	require.Equal(t, "tiny.tiny-6", m.Name())
	require.True(t, m.Seeded(), "the served files are exports of seeded weights, and say so")

	// FetchWeights is the same fetch without the load.
	p, tag, err := zoo.FetchWeights(context.Background(), reg, "tiny", opts...)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "tiny-5.onnx"), p)
	require.Equal(t, "tiny-5", tag.Name)

	// A download whose digest differs is refused and not kept.
	_, err = zoo.Load("tiny", zoo.WithRegistry(reg), zoo.Pretrained(append(opts, zoo.PretrainedFile("tiny-tampered"))...))
	require.ErrorIs(t, err, weights.ErrChecksum)
	require.ErrorContains(t, err, "checksum")
	require.NoFileExists(t, filepath.Join(dir, "tiny-tampered.onnx"))
	require.NoFileExists(t, filepath.Join(dir, "tiny-tampered.onnx.part"))

	tests := []struct {
		name string
		opts []zoo.Option
		want string
	}{
		{"unknown tag", []zoo.Option{zoo.Pretrained(append(opts, zoo.PretrainedFile("nonesuch"))...)}, `no tag "nonesuch" (have tiny-5, tiny-6, tiny-tampered)`},
		{"with weights", []zoo.Option{zoo.WithWeights("x.onnx"), zoo.Pretrained(opts...)}, "exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := zoo.Load("tiny", append([]zoo.Option{zoo.WithRegistry(reg)}, tt.opts...)...)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestPretrainedCacheDir(t *testing.T) {
	_, file := tinyExport(t, 5)
	srv := newWeightServer(t, map[string][]byte{"/tiny.onnx": file})
	reg, err := registry.New(tinySpec(weightFile("tiny-5", srv.URL+"/tiny.onnx", file)))
	require.NoError(t, err)
	root := t.TempDir()
	tests := []struct {
		name            string
		inception, xdg  string
		option, wantDir string
	}{
		{"INCEPTION_CACHE", filepath.Join(root, "a"), filepath.Join(root, "xdg"), "", filepath.Join(root, "a")},
		{"XDG_CACHE_HOME", "", filepath.Join(root, "xdg"), "", filepath.Join(root, "xdg", "inceptionzoo", "weights")},
		{"option", filepath.Join(root, "b"), "", filepath.Join(root, "c"), filepath.Join(root, "c")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("INCEPTION_CACHE", tt.inception)
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			opts := []zoo.PretrainedOption{zoo.PretrainedClient(srv.Client())}
			if tt.option != "" {
				opts = append(opts, zoo.PretrainedCache(tt.option))
			}
			got, _, err := zoo.FetchWeights(context.Background(), reg, "tiny", opts...)
			require.NoError(t, err)
			if want := filepath.Join(tt.wantDir, "tiny-5.onnx"); got != want {
				t.Errorf("path %s, want %s", got, want)
			}
		})
	}
}

func TestPretrainedUnavailable(t *testing.T) {
	_, file := tinyExport(t, 5)
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL + "/tiny.onnx"
	gone.Close() // connections are now refused
	reg, err := registry.New(tinySpec(weightFile("tiny-5", url, file)))
	require.NoError(t, err)
	dir := t.TempDir()
	_, err = zoo.Load("tiny", zoo.WithRegistry(reg), zoo.Pretrained(zoo.PretrainedCache(dir)))
	require.ErrorIs(t, err, weights.ErrUnavailable)
	require.ErrorContains(t, err, filepath.Join(dir, "tiny-5.onnx"), "the message says where to place the file")

	// Placing the file there by hand makes Pretrained work offline.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tiny-5.onnx"), file, 0o644))
	_, err = zoo.Load("tiny", zoo.WithRegistry(reg), zoo.Pretrained(zoo.PretrainedCache(dir)))
	require.NoError(t, err)

	// A cancelled context stops a download before it starts.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = zoo.LoadContext(ctx, "tiny", zoo.WithRegistry(reg), zoo.Pretrained(zoo.PretrainedCache(t.TempDir())))
	require.ErrorIs(t, err, weights.ErrUnavailable)
	require.ErrorIs(t, err, context.Canceled)
}

func TestPretrainedNoWeights(t *testing.T) {
	reg, err := registry.New(tinySpec())
	require.NoError(t, err)
	_, err = zoo.Load("tiny", zoo.WithRegistry(reg), zoo.Pretrained(zoo.PretrainedCache(t.TempDir())))
	require.ErrorIs(t, err, zoo.ErrNoWeights)
	require.ErrorContains(t, err, "no weight tags")
	require.ErrorContains(t, err, "zoo.WithWeights")
}

// TestPretrainedModelZoo serves the ONNX test suite's light inception_v1
// and inception_v2 graphs with seeded random weights (stand-ins for the
// Model Zoo files, with their Caffe2 names) from a local server, and loads
// them through the builtin specs with only the URL, digest and size
// changed: the weights equal those of loading the file directly.
func TestPretrainedModelZoo(t *testing.T) {
	if raceEnabled {
		t.Skip("full-size models under -race take minutes; TestPretrained covers the code path")
	}
	for _, name := range []string{"inception-v1", "inception-v2"} {
		t.Run(name, func(t *testing.T) {
			light := lightFile(t, lightGraphs[name])
			raw, err := os.ReadFile(light)
			require.NoError(t, err)
			b, err := testkit.RandomizeConstantWeights(raw, 3)
			require.NoError(t, err)
			srv := newWeightServer(t, map[string][]byte{"/model.onnx": b})
			e, err := registry.Lookup(name)
			require.NoError(t, err)
			require.NotEmpty(t, e.Tags)
			tag := e.Tags[0]
			f := &tag.File
			f.URL, f.SHA256, f.Size = srv.URL+"/model.onnx", weightFile("", "", b).File.SHA256, int64(len(b))
			e.Tags = []spec.Tag{tag}
			reg, err := registry.New(e)
			require.NoError(t, err)

			dir := t.TempDir()
			got, err := zoo.Load(name, zoo.WithRegistry(reg), zoo.Pretrained(zoo.PretrainedCache(dir), zoo.PretrainedClient(srv.Client())))
			require.NoError(t, err)
			local := filepath.Join(t.TempDir(), "local.onnx")
			require.NoError(t, os.WriteFile(local, b, 0o644))
			want, err := zoo.Load(name, zoo.WithWeights(local))
			require.NoError(t, err)
			sameBits(t, got.Params, want.Params)
		})
	}
}
