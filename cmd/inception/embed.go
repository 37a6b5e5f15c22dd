package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/npy"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

func init() {
	commands = append(commands, func() *cobra.Command { return embedCmd(defaultEnv()) })
}

// defaultEmbedModel is the model embed uses without --model.
const defaultEmbedModel = "inception-v3"

type embedFlags struct {
	model, weights, file, cache  string
	pretrained                   bool
	layer, pool, out, files      string
	batch                        int
	asJSON, skipBad, allowSeeded bool
}

// embedCmd is `inception embed --model NAME [--weights F] [--layer PATH]
// IMAGES... --out FILE`.
func embedCmd(e env) *cobra.Command {
	var f embedFlags
	cmd := &cobra.Command{
		Use:         "embed [--model NAME] [--weights F | --pretrained] [--layer PATH] [--pool avg|none] [--batch N] [--json] IMAGE|DIR|GLOB... --out FILE",
		Annotations: stopsOnSignal,
		Short:       "Write the embeddings (or a layer's outputs) of images to .npy or JSON lines",
		Long: `Write the embedding of each image: the model's pooled features, the input of
its classifier (1024 values for inception-v1, 2048 for inception-v3, 1536 for
inception-v4 and inception-resnet-v2, facenet's L2-normalised 512 for
inception-resnet-v1), or with --layer PATH the output of a block as
'inception info NAME --depth N' prints them (e.g. Mixed_6e, inception4e,
features.9); --pool avg (the default) averages a spatial output over its
positions, --pool none keeps it whole ([C, H, W] per image).

Images are preprocessed as the weights expect (see 'inception info NAME').
--out FILE receives a float32 .npy array with one row per image, in the
order of the arguments (directories sorted by name); with --json it receives
JSON lines {"file": ..., "embedding": [...]} instead ('-' writes them to
stdout). --files LIST writes the image path of each row. An unreadable image
is an error naming it, unless --skip-bad leaves it out (and counts it).

Weights: --weights FILE (ONNX, PyTorch checkpoint or safetensors), or
--pretrained to download the tag's file; without either, a verified copy in
the cache is used. Seeded (untrained) weights are refused unless
--allow-seeded.`,
		RunE: func(cmd *cobra.Command, args []string) error { return e.embed(cmd, f, args) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", defaultEmbedModel, "zoo model name, optionally NAME.TAG (see 'inception list')")
	fl.StringVar(&f.weights, "weights", "", "take the weights from this file (ONNX, PyTorch checkpoint, safetensors)")
	fl.BoolVar(&f.pretrained, "pretrained", false, "download the tag's pretrained weights if they are not in the cache")
	fl.StringVar(&f.file, "file", "", "pretrained weight tag (default: the model's default tag)")
	fl.StringVar(&f.cache, "cache", "", "weight cache directory (default: "+defaultCacheHelp()+")")
	fl.StringVar(&f.layer, "layer", "", "block path whose output to write (default: the embedding)")
	fl.StringVar(&f.pool, "pool", "avg", "for a spatial --layer: avg (mean over positions) or none")
	fl.StringVar(&f.out, "out", "", "output file: .npy, or JSON lines with --json ('-': stdout)")
	fl.StringVar(&f.files, "files", "", "also write the image path of each row to this file")
	fl.IntVar(&f.batch, "batch", 50, "images per forward pass")
	fl.BoolVar(&f.asJSON, "json", false, "write JSON lines instead of .npy")
	fl.BoolVar(&f.skipBad, "skip-bad", false, "leave out images that cannot be read (counted on stderr)")
	fl.BoolVar(&f.allowSeeded, "allow-seeded", false, "run on seeded (untrained) weights when no trained ones are given (for testing)")
	return cmd
}

// maxBatchFlag bounds --batch.
const maxBatchFlag = 1024

func checkBatch(verb string, n int) error {
	if n < 1 || n > maxBatchFlag {
		return usageErrorf("%s: --batch %d: want 1 to %d", verb, n, maxBatchFlag)
	}
	return nil
}

// embedModel loads the model for a layer: cut after the layer when it is
// a trunk block (only what it needs runs), else the whole model with the
// layer tapped.
func (e env) embedModel(cmd *cobra.Command, verb, ref, weights, tag, cache string, pretrained, allowSeeded bool, layer string) (*zoo.Model, error) {
	if layer == "" {
		return e.loadForImages(cmd, verb, ref, weights, tag, cache, pretrained, allowSeeded)
	}
	m, err := e.loadForImages(cmd, verb, ref, weights, tag, cache, pretrained, allowSeeded, zoo.TruncateAt(layer))
	if errors.Is(err, zoo.ErrNotTrunk) {
		return e.loadForImages(cmd, verb, ref, weights, tag, cache, pretrained, allowSeeded, zoo.WithLayers(layer))
	}
	return m, err
}

// layerRows returns the rows a model gives for x: the embedding, or the
// layer's output (the main output of a model cut after it), spatially
// averaged if pool.
func layerRows(m *zoo.Model, layer string, pool bool, x *tensor.Tensor) (*tensor.Tensor, error) {
	var y *tensor.Tensor
	var err error
	switch {
	case layer == "":
		y, err = m.Features(x)
	case m.Headless():
		y, err = m.Forward(x) // cut after the layer
	default:
		var ys []*tensor.Tensor
		if ys, err = m.ForwardLayers(x, layer); err == nil {
			y = ys[0]
		}
	}
	if err != nil {
		return nil, err
	}
	if pool {
		y = zoo.SpatialMean(y)
	}
	return y, nil
}

func (e env) embed(cmd *cobra.Command, f embedFlags, args []string) error {
	if len(args) == 0 {
		return usageErrorf("embed: no images given")
	}
	if f.out == "" {
		return usageErrorf("embed: --out FILE is required")
	}
	if f.pool != "avg" && f.pool != "none" {
		return usageErrorf("embed: --pool %q: want avg or none", f.pool)
	}
	if err := checkBatch("embed", f.batch); err != nil {
		return err
	}
	for _, out := range []string{f.out, f.files} {
		if out != "" && out != "-" {
			if _, err := atomicfile.Target(out); err != nil {
				return fmt.Errorf("embed: output %s: %w", out, err)
			}
		}
	}
	paths, _, err := listImages("embed", args, isImage)
	if err != nil {
		return err
	}
	m, err := e.embedModel(cmd, "embed", f.model, f.weights, f.file, f.cache, f.pretrained, f.allowSeeded, f.layer)
	if err != nil {
		return err
	}
	pool := f.pool == "avg"
	stderr := cmd.ErrOrStderr()

	var sink rowSink
	if f.asJSON {
		sink, err = newJSONSink(f.out, cmd.OutOrStdout())
	} else {
		sink = &npySink{path: f.out}
	}
	if err != nil {
		return err
	}
	defer sink.abort()
	var listed []string
	bar := newProgress(stderr, "embed", len(paths))
	x := &extractor{m: m, batch: f.batch, skipBad: f.skipBad, bar: bar,
		run: func(x *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor, error) {
			y, err := layerRows(m, f.layer, pool, x)
			return y, nil, err
		}}
	bad, err := x.each(cmd.Context(), paths, func(ps []string, rows, _ *tensor.Tensor) error {
		listed = append(listed, ps...)
		return sink.write(ps, rows)
	})
	bar.finish()
	reportBad(stderr, "embed", bad)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if len(listed) == 0 {
		return fmt.Errorf("embed: none of the %d images could be read", len(paths))
	}
	if err := sink.close(); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	if f.files != "" {
		if err := atomicfile.WriteFile(f.files, 0o644, func(w io.Writer) error {
			_, err := io.WriteString(w, strings.Join(listed, "\n")+"\n")
			return err
		}); err != nil {
			return fmt.Errorf("embed: %w", err)
		}
	}
	fmt.Fprintf(stderr, "embed: %s, %d images (%d skipped), rows of %v, to %s\n", m.Name(), len(listed), len(bad), sink.rowShape(), f.out)
	return nil
}

// rowSink receives the rows of embed.
type rowSink interface {
	write(paths []string, rows *tensor.Tensor) error
	close() error
	abort()
	rowShape() []int
}

// npySink writes a growing float32 .npy through atomicfile.
type npySink struct {
	path  string
	f     *npy.RowFile[float32]
	shape []int
}

func (s *npySink) write(_ []string, rows *tensor.Tensor) error {
	if s.f == nil {
		s.shape = append([]int(nil), rows.Shape[1:]...)
		f, err := npy.CreateRowFile[float32](s.path, s.shape...)
		if err != nil {
			return err
		}
		s.f = f
	}
	return s.f.Write(rows.Data)
}

func (s *npySink) close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

func (s *npySink) abort() {
	if s.f != nil {
		s.f.Abort()
	}
}

func (s *npySink) rowShape() []int { return s.shape }

// jsonSink writes JSON lines {"file", "embedding"} (the embedding flat, in
// C order) to a file through atomicfile, or to stdout.
type jsonSink struct {
	af    *atomicfile.File
	w     *bufio.Writer
	enc   *json.Encoder
	shape []int
}

func newJSONSink(path string, stdout io.Writer) (*jsonSink, error) {
	s := &jsonSink{}
	var w io.Writer = stdout
	if path != "-" {
		af, err := atomicfile.Create(path, 0o644)
		if err != nil {
			return nil, err
		}
		s.af, w = af, af
	}
	s.w = bufio.NewWriter(w)
	s.enc = json.NewEncoder(s.w)
	return s, nil
}

func (s *jsonSink) write(paths []string, rows *tensor.Tensor) error {
	s.shape = append(s.shape[:0], rows.Shape[1:]...)
	per := len(rows.Data) / rows.Shape[0]
	for i, p := range paths {
		line := struct {
			File      string    `json:"file"`
			Shape     []int     `json:"shape,omitempty"`
			Embedding []float32 `json:"embedding"`
		}{File: p, Embedding: rows.Data[i*per : (i+1)*per]}
		if len(s.shape) > 1 {
			line.Shape = s.shape
		}
		if err := s.enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}

func (s *jsonSink) close() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if s.af != nil {
		err := s.af.Commit()
		s.af = nil
		return err
	}
	return nil
}

func (s *jsonSink) abort() {
	if s.af != nil {
		s.af.Abort()
	}
}

func (s *jsonSink) rowShape() []int { return s.shape }
