//go:build !nobeam

package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/metrics"
	"github.com/inceptionzoo/inception/npy"
)

// pipelineInputs is a folder with the bundled Fashion-MNIST images, two
// generated images and a corrupt PNG; it returns the folder, the readable
// images and the shipped model's path.
func pipelineInputs(t *testing.T) (dir string, good []string, model string) {
	t.Helper()
	root, err := testkit.ModuleRoot()
	require.NoError(t, err)
	dir = t.TempDir()
	bundled, err := filepath.Glob(filepath.Join(root, "assets", "fashion-mnist", "*.png"))
	require.NoError(t, err)
	for _, src := range bundled {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		dst := filepath.Join(dir, filepath.Base(src))
		require.NoError(t, os.WriteFile(dst, b, 0o644))
		good = append(good, dst)
	}
	for i, sz := range [][2]int{{28, 28}, {45, 30}} {
		img := image.NewGray(image.Rect(0, 0, sz[0], sz[1]))
		for y := range sz[1] {
			for x := range sz[0] {
				img.SetGray(x, y, color.Gray{uint8((x*x + 3*y + 50*i) % 256)})
			}
		}
		name := filepath.Join(dir, "gen-"+string(rune('a'+i))+".png")
		f, err := os.Create(name)
		require.NoError(t, err)
		require.NoError(t, png.Encode(f, img))
		require.NoError(t, f.Close())
		good = append(good, name)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "zz-corrupt.png"), []byte("\x89PNG\r\n\x1a\ngarbage"), 0o644))
	return dir, good, filepath.Join(root, "assets", "inception-v1-d2l-fmnist28.onnx")
}

// TestPipelineClassifyMatchesClassify is the acceptance check: `inception
// pipeline classify` on prism gives every image the answer `inception
// classify` gives it, and sends the corrupt file to the dead-letter file.
func TestPipelineClassifyMatchesClassify(t *testing.T) {
	dir, good, model := pipelineInputs(t)
	out := filepath.Join(t.TempDir(), "out.jsonl")

	// One unreadable input over --max-errors 0: the outputs are written,
	// the counters printed, and the command fails saying so.
	stdout, err := run(t, "pipeline", "classify", "--model", "inception-v1-d2l", "--weights", model,
		"--input", filepath.Join(dir, "*.png"), "--output", out, "--top", "3", "--batch", "5", "--runner", "prism")
	require.ErrorContains(t, err, "1 of 13 inputs could not be read")
	require.Contains(t, stdout, "images 12, errors 1, batches ")
	// Batches form within bundles, and prism chooses the bundles: at
	// least ceil(12/5) passes, one per image at most.
	var batches int
	_, err = fmt.Sscanf(stdout[strings.Index(stdout, "batches "):], "batches %d", &batches)
	require.NoError(t, err)
	require.GreaterOrEqual(t, batches, 3)
	require.LessOrEqual(t, batches, 12)

	want := classifyTop(t, append([]string{"--top", "3", "--model", "inception-v1-d2l", "--weights", model}, good...)...)
	require.Len(t, want, len(good))

	got := map[string][]jsonPrediction{}
	for _, line := range nonEmptyLines(t, out) {
		var r struct {
			Image string           `json:"image"`
			Top   []jsonPrediction `json:"top"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		require.Contains(t, line, `"label":`) // always present, even if empty
		got[r.Image] = r.Top
	}
	require.Equal(t, want, got)

	dead := nonEmptyLines(t, filepath.Join(filepath.Dir(out), "out.errors.jsonl"))
	require.Len(t, dead, 1)
	require.Contains(t, dead[0], `"image":"`+filepath.Join(dir, "zz-corrupt.png")+`"`)
	require.Contains(t, dead[0], "corrupt image")

	// --max-errors 1 accepts it.
	_, err = run(t, "pipeline", "classify", "--model=inception-v1-d2l", "--weights="+model,
		"--input="+filepath.Join(dir, "*.png"), "--output="+out, "--max-errors=1")
	require.NoError(t, err)
}

// TestPipelineFIDStatsAndEmbed runs the other verbs on the same folder:
// fid-stats writes statistics `inception fid` reads (metrics.ReadStatsNPZ),
// embed writes one vector per image.
func TestPipelineFIDStatsAndEmbed(t *testing.T) {
	dir, good, model := pipelineInputs(t)
	tmp := t.TempDir()
	stats := filepath.Join(tmp, "stats.npz")
	stdout, err := run(t, "pipeline", "fid-stats", "--model", "inception-v1-d2l", "--weights", model,
		"--input", filepath.Join(dir, "*.png"), "--output", stats, "--shards", "3", "--max-errors", "1", "--dims", "1024")
	require.NoError(t, err)
	require.Contains(t, stdout, "images 12, errors 1")
	st, err := metrics.ReadStatsNPZ(stats)
	require.NoError(t, err)
	require.Len(t, st.Mu, 1024)

	emb := filepath.Join(tmp, "emb.jsonl")
	_, err = run(t, "pipeline", "embed", "--model", "inception-v1-d2l", "--weights", model,
		"--input", filepath.Join(dir, "*.png"), "--output", emb, "--max-errors", "1")
	require.NoError(t, err)
	lines := nonEmptyLines(t, emb)
	require.Len(t, lines, len(good))
	var e struct {
		Image  string    `json:"image"`
		Vector []float32 `json:"embedding"`
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &e))
	require.Len(t, e.Vector, 1024)

	// The same embeddings as one .npy file and its row list.
	npyOut := filepath.Join(tmp, "emb.npy")
	_, err = run(t, "pipeline", "embed", "--model", "inception-v1-d2l", "--weights", model,
		"--input", filepath.Join(dir, "*.png"), "--output", npyOut, "--max-errors", "1")
	require.NoError(t, err)
	a, err := npy.ReadNPYFile(npyOut)
	require.NoError(t, err)
	require.Equal(t, []int{len(good), 1024}, a.Shape)
	names := nonEmptyLines(t, filepath.Join(tmp, "emb.images.txt"))
	require.Len(t, names, len(good))
	row := slices.Index(names, e.Image)
	require.GreaterOrEqual(t, row, 0)
	for j, v := range e.Vector {
		require.Equal(t, v, float32(a.Data[row*1024+j]))
	}
}

func nonEmptyLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestPipelineArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    []beamArg
		model   string
		wantErr string
	}{
		{"ours-and-beam", []string{"--model", "m", "--runner", "prism", "--job_name=j", "--async"}, []beamArg{{"runner", "prism"}, {"job_name", "j"}, {"async", "true"}}, "m", ""},
		{"single-dash-beam", []string{"-endpoint", "localhost:8099", "--model=m"}, []beamArg{{"endpoint", "localhost:8099"}}, "m", ""},
		{"dataflow-flags", []string{"--project", "p", "--region=r", "--staging_location", "gs://b/s"}, []beamArg{{"project", "p"}, {"region", "r"}, {"staging_location", "gs://b/s"}}, "", ""},
		{"unknown", []string{"--bogus", "1"}, nil, "", "unknown flag --bogus"},
		{"harness-flag", []string{"--worker=true"}, nil, "", "unknown flag --worker"},
		{"positional", []string{"img.png"}, nil, "", `unexpected argument "img.png"`},
		{"missing-value", []string{"--runner"}, nil, "", "Beam flag --runner needs a value"},
		{"missing-our-value", []string{"--model"}, nil, "", "flag --model needs a value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var model string
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			fs.StringVar(&model, "model", "", "")
			got, err := splitPipelineArgs(fs, tc.args)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.model, model)
		})
	}
	// The flags the docs promise are Beam's.
	names := beamFlagNames()
	for _, n := range []string{"runner", "endpoint", "project", "region", "staging_location", "temp_location", "worker_binary", "environment_type", "job_name"} {
		require.Contains(t, names, n)
	}
}

func TestPipelineUsageErrors(t *testing.T) {
	dir, _, model := pipelineInputs(t)
	in := filepath.Join(dir, "*.png")
	out := filepath.Join(t.TempDir(), "o.jsonl")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"classify", "--input", in, "--output", out, "--weights", model}, "--model NAME is required"},
		{[]string{"classify", "--model", "inception-v1-d2l", "--input", in, "--output", out}, "pass --weights FILE or --pretrained"},
		{[]string{"classify", "--model", "inception-v1-d2l", "--weights", model, "--output", out}, "--input GLOB and --output FILE are required"},
		{[]string{"classify", "--model", "inception-v1-d2l", "--weights", model, "--input", filepath.Join(dir, "*.tiff"), "--output", out}, "no files match --input"},
		{[]string{"fid-stats", "--model", "inception-v1-d2l", "--weights", model, "--input", in, "--output", filepath.Join(t.TempDir(), "s.txt")}, "want a .npz file"},
		{[]string{"classify", "--model", "inception-v1-d2l", "--weights", model, "--input", in, "--output", out, "--batch", "0"}, "--batch 0: want 1 to 1024"},
		{[]string{"fid-stats", "--model", "inception-v1-d2l", "--weights", model, "--input", in, "--output", filepath.Join(t.TempDir(), "s.npz"), "--dims", "64"}, "--dims 64: inception-v1-d2l's features have 1024 dimensions"},
		{[]string{"fid-stats", "--weights", model, "--input", in, "--output", filepath.Join(t.TempDir(), "s.npz"), "--dims", "100"}, "--dims 100: want 64, 192, 768 or 2048"},
		{[]string{"embed", "--model", "inception-v1-d2l", "--weights", model, "--input", in, "--output", out, "--layer", "3", "--pool", "max"}, `Pool "max"`},
		{[]string{"classify", "--model", "inception-v1-d2l", "--weights", model, "--input", in, "--output", "/no/such/dir/o.jsonl"}, "output /no/such/dir/o.jsonl"},
	} {
		_, err := run(t, append([]string{"pipeline"}, tc.args...)...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}

// classifyTop runs `inception classify --json ARGS...` and returns each
// image's top predictions by file.
func classifyTop(t *testing.T, args ...string) map[string][]jsonPrediction {
	t.Helper()
	clsOut, err := run(t, append([]string{"classify", "--json"}, args...)...)
	require.NoError(t, err)
	var cls struct {
		Images []struct {
			File string           `json:"file"`
			Top  []jsonPrediction `json:"top"`
		} `json:"images"`
	}
	require.NoError(t, json.Unmarshal([]byte(clsOut[strings.Index(clsOut, "{"):]), &cls))
	want := map[string][]jsonPrediction{}
	for _, im := range cls.Images {
		want[im.File] = im.Top
	}
	return want
}
