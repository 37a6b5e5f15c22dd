package beamzoo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/inceptionzoo/inception/beamzoo"
	"github.com/inceptionzoo/inception/internal/testkit"
)

// Classify the bundled Fashion-MNIST images with the shipped model on the
// prism runner, writing JSON lines and a dead-letter file.
func ExampleClassify() {
	root, _ := testkit.ModuleRoot()
	out, _ := os.MkdirTemp("", "beamzoo-example")
	defer os.RemoveAll(out)

	p, s := beam.NewPipelineWithRoot()
	files := beamzoo.MatchImages(s, filepath.Join(root, "assets", "fashion-mnist", "*.png"))
	model := beamzoo.Model{Name: "inception-v1-d2l", Weights: filepath.Join(root, "assets", "inception-v1-d2l-fmnist28.onnx")}
	results, failures := beamzoo.Classify(s, beamzoo.ClassifyOptions{Options: beamzoo.Options{Model: model}, Top: 1}, files)
	beamzoo.WriteJSONLines(s, filepath.Join(out, "out.jsonl"), results)
	beamzoo.WriteJSONLines(s, filepath.Join(out, "out.errors.jsonl"), failures)

	r, err := prism.Execute(context.Background(), p) // or beam.Run(ctx, "dataflow", p), ...
	if err != nil {
		fmt.Println(err)
		return
	}
	c := beamzoo.Counters(r)
	fmt.Println("images", c[beamzoo.CounterImages], "errors", c[beamzoo.CounterErrors])
	// Output: images 10 errors 0
}

// FID statistics of an image set as pytorch-fid's .npz, with pytorch-fid's
// Inception network (inception-v3-fid: its weights are fetched into each
// worker's weight cache).
func ExampleFIDStats() {
	p, s := beam.NewPipelineWithRoot()
	files := beamzoo.MatchImages(s, "gs://my-bucket/samples/*.png")
	model := beamzoo.Model{Name: "inception-v3-fid", Pretrained: true}
	emb, failures := beamzoo.Embed(s, beamzoo.EmbedOptions{Options: beamzoo.Options{Model: model, BatchSize: 32}}, files)
	beamzoo.WriteStatsNPZ(s, "gs://my-bucket/stats/samples.npz", beamzoo.FIDStats(s, beamzoo.FIDOptions{}, emb))
	beamzoo.WriteJSONLines(s, "gs://my-bucket/stats/samples.errors.jsonl", failures)
	_ = p // run with beam.Run(ctx, "dataflow", p) and --project, --region, --staging_location
}
