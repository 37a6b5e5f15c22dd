package beamzoo

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/npy"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/zoo"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	// prism logs every job at INFO; keep test output readable.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}

// shipped returns the module root and the shipped Fashion-MNIST model's
// Model spec.
func shipped(t *testing.T) (root string, m Model) {
	t.Helper()
	root, err := testkit.ModuleRoot()
	require.NoError(t, err)
	return root, Model{Name: "inception-v1-d2l", Weights: filepath.Join(root, "assets", "inception-v1-d2l-fmnist28.onnx")}
}

// run executes p on prism in-process and returns the package's counters.
func run(t *testing.T, p *beam.Pipeline) map[string]int64 {
	t.Helper()
	r, err := prism.Execute(context.Background(), p)
	require.NoError(t, err)
	return Counters(r)
}

// imageDir builds a folder of inputs: the bundled Fashion-MNIST images,
// generated images of other sizes and formats (colour, odd sizes, JPEG),
// and one corrupt file. It returns the directory, the readable images'
// paths (sorted) and the corrupt file's path.
func imageDir(t *testing.T, root string) (dir string, good []string, corrupt string) {
	t.Helper()
	dir = t.TempDir()
	bundled, err := filepath.Glob(filepath.Join(root, "assets", "fashion-mnist", "*.png"))
	require.NoError(t, err)
	require.Len(t, bundled, 10)
	for _, src := range bundled {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		dst := filepath.Join(dir, filepath.Base(src))
		require.NoError(t, os.WriteFile(dst, b, 0o644))
		good = append(good, dst)
	}
	sizes := [][2]int{{28, 28}, {31, 40}, {100, 57}, {13, 9}, {64, 64}}
	for i, sz := range sizes {
		img := image.NewRGBA(image.Rect(0, 0, sz[0], sz[1]))
		for y := 0; y < sz[1]; y++ {
			for x := 0; x < sz[0]; x++ {
				v := uint8((x*37 + y*91 + i*53) % 256)
				img.Set(x, y, color.RGBA{v, uint8((int(v) * 7) % 256), uint8(255 - int(v)), 255})
			}
		}
		name := filepath.Join(dir, "gen-"+string(rune('a'+i)))
		f, err := os.Create(name + map[bool]string{true: ".jpg", false: ".png"}[i%2 == 1])
		require.NoError(t, err)
		if i%2 == 1 {
			require.NoError(t, jpeg.Encode(f, img, &jpeg.Options{Quality: 90}))
		} else {
			require.NoError(t, png.Encode(f, img))
		}
		require.NoError(t, f.Close())
		good = append(good, f.Name())
	}
	corrupt = filepath.Join(dir, "corrupt.png")
	require.NoError(t, os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\nthis is not a png"), 0o644))
	sort.Strings(good)
	return dir, good, corrupt
}

// readLines decodes a JSON-lines file into values of type T.
func readLines[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var v T
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), "line %q", sc.Text())
		out = append(out, v)
	}
	require.NoError(t, sc.Err())
	return out
}

func TestClassifyMatchesPredictImages(t *testing.T) {
	root, spec := shipped(t)
	dir, good, corrupt := imageDir(t, root)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	dead := filepath.Join(t.TempDir(), "errors.jsonl")

	const batch = 4 // 15 images: batches of 4, 4, 4, 3 if one bundle
	p, s := beam.NewPipelineWithRoot()
	files := MatchImages(s, filepath.Join(dir, "*"))
	res, fails := Classify(s, ClassifyOptions{Options: Options{Model: spec, BatchSize: batch}, Top: 3}, files)
	WriteJSONLines(s, out, res)
	WriteJSONLines(s, dead, fails)
	counters := run(t, p)

	got := readLines[Classified](t, out)
	sort.Slice(got, func(i, j int) bool { return got[i].Image < got[j].Image })

	m, err := zoo.Load(spec.Name, zoo.WithWeights(spec.Weights))
	require.NoError(t, err)
	imgs := make([]image.Image, len(good))
	for i, p := range good {
		imgs[i], err = preprocess.Open(p)
		require.NoError(t, err)
	}
	want, err := m.PredictImages(imgs, 3)
	require.NoError(t, err)

	require.Len(t, got, len(good))
	for i, g := range got {
		require.Equal(t, good[i], g.Image)
		require.Len(t, g.Top, 3, g.Image)
		for j, c := range g.Top {
			w := want[i][j]
			// The engine's results do not depend on the batch, so the
			// answers are bit for bit those of PredictImages.
			require.Equal(t, Class{Index: w.Index, Label: w.Label, Score: w.Score}, c, "%s rank %d", g.Image, j)
		}
	}
	// The bundled images are named LABEL-class.png; the shipped model gets
	// most of them right, so the labels are the Fashion-MNIST ones.
	require.Equal(t, "T-shirt/top", m.Labels()[0])

	fl := readLines[Failure](t, dead)
	require.Len(t, fl, 1)
	require.Equal(t, corrupt, fl[0].Image)
	require.Contains(t, fl[0].Error, "unsupported or corrupt image")

	require.Equal(t, int64(len(good)), counters[CounterImages])
	require.Equal(t, int64(1), counters[CounterErrors])
	// One bundle on prism: ceil(15/4) passes; more bundles only add passes.
	require.GreaterOrEqual(t, counters[CounterBatches], int64((len(good)+batch-1)/batch))
	require.LessOrEqual(t, counters[CounterBatches], int64(len(good)))
}

func TestEmbedMatchesFeatures(t *testing.T) {
	root, spec := shipped(t)
	dir, good, _ := imageDir(t, root)
	m, err := zoo.Load(spec.Name, zoo.WithWeights(spec.Weights))
	require.NoError(t, err)

	for _, tc := range []struct {
		name        string
		layer, pool string
	}{
		{"features", "", ""},
		{"layer-avg", "3", ""},
		{"layer-none", "2", PoolNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "emb.jsonl")
			p, s := beam.NewPipelineWithRoot()
			emb, _ := Embed(s, EmbedOptions{Options: Options{Model: spec, BatchSize: 3}, Layer: tc.layer, Pool: tc.pool}, MatchImages(s, filepath.Join(dir, "*.*g")))
			WriteJSONLines(s, out, emb)
			counters := run(t, p)
			require.Equal(t, int64(len(good)), counters[CounterImages])

			got := readLines[Embedding](t, out)
			sort.Slice(got, func(i, j int) bool { return got[i].Image < got[j].Image })
			require.Len(t, got, len(good))
			for i, g := range got {
				require.Equal(t, good[i], g.Image)
				img, err := preprocess.Open(good[i])
				require.NoError(t, err)
				x, err := preprocess.Tensor(img, m.Preprocess())
				require.NoError(t, err)
				want, err := embedBatch(m, x, tc.layer, tc.pool)
				require.NoError(t, err)
				if tc.layer == "" {
					f, err := m.Features(x)
					require.NoError(t, err)
					require.Equal(t, f.Data, want.Data)
				}
				require.Equal(t, want.Data, g.Vector, g.Image)
			}
		})
	}
}

func TestModelFromBeamFileSystem(t *testing.T) {
	root, spec := shipped(t)
	weights, err := os.ReadFile(spec.Weights)
	require.NoError(t, err)
	png0, err := os.ReadFile(filepath.Join(root, "assets", "fashion-mnist", "0-t-shirt-top.png"))
	require.NoError(t, err)
	memfs.Write("memfs://weights/d2l.onnx", weights)
	memfs.Write("memfs://imgs/a.png", png0)
	memfs.Write("memfs://imgs/b.png", png0[:len(png0)/2])

	for _, tc := range []struct {
		name, digest, wantErr string
	}{
		{"digest-ok", sha256Hex(weights), ""},
		{"no-digest", "", ""},
		{"digest-wrong", strings.Repeat("ab", 32), "digest mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Model{Name: spec.Name, Weights: "memfs://weights/d2l.onnx", WeightsSHA256: tc.digest}
			out := "memfs://out/" + tc.name + ".jsonl"
			p, s := beam.NewPipelineWithRoot()
			res, fails := Classify(s, ClassifyOptions{Options: Options{Model: m}, Top: 1}, MatchImages(s, "memfs://imgs/*.png"))
			WriteJSONLines(s, out, res)
			WriteJSONLines(s, out+".errors", fails)
			_, err := prism.Execute(context.Background(), p)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			lines := memLines(t, out)
			require.Len(t, lines, 1)
			require.Contains(t, lines[0], `"image":"memfs://imgs/a.png","top":[{"index":0,"label":"T-shirt/top"`)
			errs := memLines(t, out+".errors")
			require.Len(t, errs, 1)
			require.Contains(t, errs[0], `"image":"memfs://imgs/b.png"`)
		})
	}
}

func memLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := memfs.New(context.Background()).OpenRead(context.Background(), path)
	require.NoError(t, err)
	data, err := io.ReadAll(b)
	require.NoError(t, err)
	return slices.DeleteFunc(strings.Split(string(data), "\n"), func(s string) bool { return s == "" })
}

func TestWriteLinesEmpty(t *testing.T) {
	out := filepath.Join(t.TempDir(), "empty.jsonl")
	p, s := beam.NewPipelineWithRoot()
	WriteLines(s, out, beam.CreateList(s, []string{}))
	run(t, p)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Empty(t, b)
}

func TestOptionsRefused(t *testing.T) {
	_, spec := shipped(t)
	for _, tc := range []struct {
		name string
		o    ClassifyOptions
		want string
	}{
		{"no-name", ClassifyOptions{Options: Options{Model: Model{}}}, "empty model name"},
		{"weights-and-pretrained", ClassifyOptions{Options: Options{Model: Model{Name: "inception-v1", Weights: "x.onnx", Pretrained: true}}}, "exclude each other"},
		{"bad-digest", ClassifyOptions{Options: Options{Model: Model{Name: "inception-v1", Weights: "x.onnx", WeightsSHA256: "xyz"}}}, "64 hex digits"},
		{"batch-too-big", ClassifyOptions{Options: Options{Model: spec, BatchSize: MaxBatchSize + 1}}, "BatchSize 1025"},
		{"negative-batch", ClassifyOptions{Options: Options{Model: spec, BatchSize: -1}}, "BatchSize -1"},
		{"negative-top", ClassifyOptions{Options: Options{Model: spec}, Top: -2}, "Top -2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s := beam.NewPipelineWithRoot()
			_, _, err := TryClassify(s, tc.o, beam.Impulse(s))
			require.ErrorIs(t, err, ErrConfig)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, s := beam.NewPipelineWithRoot()
	_, _, err := TryEmbed(s, EmbedOptions{Options: Options{Model: spec}, Pool: PoolAvg}, beam.Impulse(s))
	require.ErrorIs(t, err, ErrConfig)
	_, err = TryFIDStats(s, FIDOptions{Shards: MaxShards + 1}, beam.Impulse(s))
	require.ErrorIs(t, err, ErrConfig)
}

// TestSetupRefuses checks the failures a worker finds in Setup: seeded
// weights, a top-K above the class count, a layer the model lacks.
func TestSetupRefuses(t *testing.T) {
	_, spec := shipped(t)
	ctx := context.Background()

	fn := &classifyFn{Opts: ClassifyOptions{Options: Options{Model: Model{Name: "inception-v1-d2l"}}}}
	require.ErrorIs(t, fn.Setup(ctx), ErrSeeded)

	fn = &classifyFn{Opts: ClassifyOptions{Options: Options{Model: spec}, Top: 11}}
	err := fn.Setup(ctx)
	require.ErrorIs(t, err, ErrConfig)
	require.ErrorContains(t, err, "Top 11: inception-v1-d2l has 10 classes")

	ef := &embedFn{Opts: EmbedOptions{Options: Options{Model: spec}, Layer: "no-such-block"}}
	require.ErrorIs(t, ef.Setup(ctx), ErrLayer)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestEmbedNPYShards(t *testing.T) {
	root, spec := shipped(t)
	dir, good, _ := imageDir(t, root)
	m, err := zoo.Load(spec.Name, zoo.WithWeights(spec.Weights))
	require.NoError(t, err)
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprint("shards-", shards), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "emb.npy")
			p, s := beam.NewPipelineWithRoot()
			emb, _ := Embed(s, EmbedOptions{Options: Options{Model: spec}}, MatchImages(s, filepath.Join(dir, "*")))
			require.NoError(t, WriteNPYShards(s, out, shards, emb))
			run(t, p)
			got := map[string][]float32{}
			for i := range shards {
				path := ShardPath(out, i, shards)
				a, err := npy.ReadNPYFile(path)
				if shards > 1 && errors.Is(err, fs.ErrNotExist) {
					continue // no image hashed to this shard
				}
				require.NoError(t, err)
				names := strings.Fields(string(must(os.ReadFile(ImagesPath(path)))))
				require.Equal(t, []int{len(names), 1024}, a.Shape)
				for r, name := range names {
					v := make([]float32, 1024)
					for j := range v {
						v[j] = float32(a.Data[r*1024+j])
					}
					got[name] = v
				}
			}
			require.Len(t, got, len(good))
			for _, path := range good {
				img, err := preprocess.Open(path)
				require.NoError(t, err)
				x, err := preprocess.Tensor(img, m.Preprocess())
				require.NoError(t, err)
				f, err := m.Features(x)
				require.NoError(t, err)
				require.Equal(t, f.Data, got[path], path)
			}
		})
	}
	_, s := beam.NewPipelineWithRoot()
	require.ErrorIs(t, WriteNPYShards(s, "x.npz", 1, beam.Impulse(s)), ErrConfig)
	require.ErrorIs(t, WriteNPYShards(s, "x.npy", 0, beam.Impulse(s)), ErrConfig)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestModelLoadOncePerProcess checks the per-process cache: concurrent
// loads share one model, and a failed load is retried by the next call.
func TestModelLoadOncePerProcess(t *testing.T) {
	_, spec := shipped(t)
	path := filepath.Join(t.TempDir(), "later.onnx")
	m := Model{Name: spec.Name, Weights: path}
	_, err := m.Load(context.Background())
	require.ErrorIs(t, err, fs.ErrNotExist)

	b, err := os.ReadFile(spec.Weights)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	got := make([]*zoo.Model, 4)
	done := make(chan error, len(got))
	for i := range got {
		go func() {
			var err error
			got[i], err = m.Load(context.Background())
			done <- err
		}()
	}
	for range got {
		require.NoError(t, <-done)
	}
	for _, g := range got {
		require.Same(t, got[0], g)
	}
}
