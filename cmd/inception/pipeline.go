//go:build !nobeam

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	// File systems for --input, --output and --weights: local paths and
	// gs://bucket/... (Google Cloud Storage).
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"

	// Runners for --runner: prism (in-process, the default), dataflow,
	// flink, spark and universal (any portable job server at --endpoint).
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"

	"github.com/inceptionzoo/inception/assets"
	"github.com/inceptionzoo/inception/beamzoo"
	"github.com/inceptionzoo/inception/internal/atomicfile"
)

func init() {
	// Workers run this binary too: they find the embedded weights as well.
	beamzoo.Sources = append(beamzoo.Sources, assets.FS)
	commands = append(commands, pipelineCmd)
	preMain = append(preMain, beamWorker)
}

// defaultRunner is the Beam runner without --runner: prism, in this
// process, with no service to start.
const defaultRunner = "prism"

// beamWorker runs the process as a Beam worker when a runner started it as
// one (the SDK container runs the worker binary with --worker=true and the
// control endpoints as Go flags). It does not return in that case.
func beamWorker() bool {
	if len(os.Args) < 2 {
		return false
	}
	name, value, _ := strings.Cut(strings.TrimLeft(os.Args[1], "-"), "=")
	if name != "worker" || (value != "" && value != "true") {
		return false
	}
	flag.Parse()
	// After a successful run the harness waits to be killed, as a
	// container's process is. Started by a parent that is killed instead
	// (a PROCESS environment's boot program), exit when the parent goes.
	ppid := os.Getppid()
	go func() {
		for range time.Tick(time.Second) {
			if os.Getppid() != ppid {
				os.Exit(0)
			}
		}
	}()
	beam.Init() // runs the harness; does not return
	return true
}

// pipelineFlags are the flags of `inception pipeline VERB` that are ours;
// every other flag goes to Beam.
type pipelineFlags struct {
	model, weights, digest, cache string
	pretrained, verbose           bool
	input, output, errors         string
	batch, maxErrors              int
	// classify
	top int
	// embed
	layer, pool string
	dims        int
	// fid-stats
	shards int
}

func pipelineCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:         "pipeline classify|embed|fid-stats --input GLOB --output FILE [flags] [Beam flags]",
		Annotations: stopsOnSignal,
		Short:       "Classify, embed or compute FID statistics of an image set as an Apache Beam pipeline",
		Long: `Classify, embed or compute FID statistics of an image set as an Apache Beam
pipeline: locally on the prism runner (the default, in this process), or
unchanged on Google Cloud Dataflow, Apache Flink or Apache Spark.

  inception pipeline classify  --model NAME [--weights F | --pretrained] --input GLOB --output OUT.jsonl [--top K]
  inception pipeline embed     --model NAME [--weights F | --pretrained] --input GLOB --output OUT.jsonl|OUT.npy [--layer PATH]
  inception pipeline fid-stats [--model inception-v3-fid] [--weights F | --pretrained] --input GLOB --output STATS.npz
  inception pipeline flags     (lists Beam's flags)

--input is a glob in any file system Beam knows: a local path or
gs://bucket/dir/*.jpg. Every matching file is read; one that is not a
readable image goes to the dead-letter file (--errors, default
OUT.errors.jsonl: {"image": ..., "error": ...} per line) and is counted.
The Beam counters (images, errors, batches) are printed at the end, and
the command fails when more than --max-errors inputs could not be read.

Flags that are not the command's own are Beam's pipeline options and are
passed to Beam unchanged: --runner (default prism), --endpoint,
--job_name, --environment_type, --worker_binary, --project, --region,
--staging_location, --temp_location, --num_workers, ... ('inception
pipeline flags' lists them). Write them as --name=value or --name value.`,
	}
	cmd.AddCommand(
		pipelineVerbCmd("classify", "Top-K classes of each image, as JSON lines"),
		pipelineVerbCmd("embed", "Embedding of each image, as JSON lines or .npy"),
		pipelineVerbCmd("fid-stats", "FID statistics (mean and covariance of the embeddings) as pytorch-fid's .npz"),
		&cobra.Command{
			Use:   "flags",
			Short: "List Beam's pipeline flags, which 'inception pipeline VERB' passes through",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				w := cmd.OutOrStdout()
				flag.CommandLine.VisitAll(func(f *flag.Flag) {
					if isBeamHarnessFlag(f.Name) {
						return
					}
					def := ""
					if f.DefValue != "" {
						def = fmt.Sprintf(" (default %q)", f.DefValue)
					}
					fmt.Fprintf(w, "  --%s%s\n      %s\n", f.Name, def, f.Usage)
				})
				return nil
			},
		},
	)
	return cmd
}

// isBeamHarnessFlag names the flags a worker process is started with, not
// options of a pipeline.
func isBeamHarnessFlag(name string) bool {
	switch name {
	case "worker", "id", "logging_endpoint", "control_endpoint", "semi_persist_dir", "options", "status_endpoint":
		return true
	}
	return strings.HasPrefix(name, "test.")
}

// pipelineVerbCmd is one verb. Cobra does not parse its flags: the command
// sorts its own flags from Beam's (see splitPipelineArgs).
func pipelineVerbCmd(verb, short string) *cobra.Command {
	var f pipelineFlags
	fs := pflag.NewFlagSet(verb, pflag.ContinueOnError)
	fs.StringVar(&f.model, "model", "", "zoo model name, optionally with a weight tag (MODEL.TAG)")
	fs.StringVar(&f.weights, "weights", "", "weight file (ONNX, PyTorch checkpoint, safetensors): a local path on every worker, or gs://...")
	fs.StringVar(&f.digest, "weights-sha256", "", "expected SHA-256 of the --weights file, checked on each worker")
	fs.BoolVar(&f.pretrained, "pretrained", false, "use the weight tag's published file, fetched into each worker's weight cache")
	fs.StringVar(&f.cache, "cache", "", "weight cache directory on the workers (default: "+defaultCacheHelp()+")")
	fs.StringVar(&f.input, "input", "", "image files: a glob, local or gs://bucket/dir/*.jpg (required)")
	fs.StringVar(&f.output, "output", "", "output file, local or gs://... (required)")
	fs.StringVar(&f.errors, "errors", "", "dead-letter JSON lines of the inputs that could not be read (default OUTPUT minus extension + .errors.jsonl)")
	fs.IntVar(&f.batch, "batch", beamzoo.DefaultBatchSize, fmt.Sprintf("images per forward pass, batched within a bundle (1 to %d)", beamzoo.MaxBatchSize))
	fs.IntVar(&f.maxErrors, "max-errors", 0, "fail when more inputs than this could not be read (they are in --errors either way)")
	fs.BoolVar(&f.verbose, "verbose", false, "print the runner's and the SDK's logs")
	switch verb {
	case "classify":
		fs.IntVar(&f.top, "top", beamzoo.DefaultTop, "classes per image")
	case "embed":
		fs.StringVar(&f.layer, "layer", "", "block path whose output is the embedding (default: the model's Features, the classifier's input)")
		fs.StringVar(&f.pool, "pool", beamzoo.PoolAvg, "for a spatial --layer: avg (mean over positions) or none")
		fs.IntVar(&f.shards, "shards", 1, fmt.Sprintf("with --output F.npy: .npy files to write, F-IIIII-of-NNNNN.npy when more than 1 (1 to %d)", beamzoo.MaxShards))
	case "fid-stats":
		fs.IntVar(&f.dims, "dims", 0, "feature dimensions: 64, 192, 768 or 2048 for "+fidModel+" (pytorch-fid's blocks, averaged over positions; default 2048), the embedding width for other models")
		fs.IntVar(&f.shards, "shards", beamzoo.DefaultShards, fmt.Sprintf("partial accumulators merged into the statistics (1 to %d)", beamzoo.MaxShards))
	}
	fs.SortFlags = false
	cmd := &cobra.Command{
		Use:                verb + " --model NAME [--weights F | --pretrained] --input GLOB --output FILE [flags] [Beam flags]",
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			beamArgs, err := splitPipelineArgs(fs, args)
			if errors.Is(err, pflag.ErrHelp) {
				fmt.Fprintf(cmd.OutOrStdout(), "Usage:\n  inception pipeline %s\n\n%s\n\nFlags:\n%s\nBeam flags ('inception pipeline flags' lists them all): --runner (default %s), --endpoint, --job_name,\n--environment_type, --worker_binary, --project, --region, --staging_location, --temp_location, ...\n", cmd.Use, short, fs.FlagUsages(), defaultRunner)
				return nil
			}
			if err != nil {
				return usageError{fmt.Errorf("pipeline %s: %w", verb, err)}
			}
			return runPipeline(cmd, verb, f, beamArgs)
		},
	}
	return cmd
}

// beamArg is one Beam flag and its value.
type beamArg struct{ name, value string }

// splitPipelineArgs parses args: the command's own flags into fs, Beam's
// (the flags registered with Go's flag package) into the returned list.
// Positional arguments and flags that are neither are errors.
func splitPipelineArgs(fs *pflag.FlagSet, args []string) ([]beamArg, error) {
	var ours []string
	var theirs []beamArg
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			return nil, fmt.Errorf("unexpected argument %q (images are given by --input GLOB)", a)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "help" || name == "h" {
			return nil, pflag.ErrHelp
		}
		if pf := fs.Lookup(name); pf != nil {
			ours = append(ours, "--"+name)
			switch {
			case hasValue:
				ours[len(ours)-1] += "=" + value
			case pf.NoOptDefVal == "":
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag --%s needs a value", name)
				}
				i++
				ours[len(ours)-1] += "=" + args[i]
			}
			continue
		}
		gf := flag.CommandLine.Lookup(name)
		if gf == nil || isBeamHarnessFlag(name) {
			return nil, fmt.Errorf("unknown flag --%s: neither a flag of this command nor a Beam flag ('inception pipeline flags' lists Beam's)", name)
		}
		if !hasValue {
			if b, ok := gf.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				value = "true"
			} else {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("Beam flag --%s needs a value", name)
				}
				i++
				value = args[i]
			}
		}
		theirs = append(theirs, beamArg{name, value})
	}
	if err := fs.Parse(ours); err != nil {
		return nil, err
	}
	return theirs, nil
}

// setBeamFlags sets Beam's flags (marking them as set, so that Beam
// passes them on as pipeline options) and returns the runner's name.
func setBeamFlags(args []beamArg) (string, error) {
	// prism records the endpoint of the job service it starts, and the
	// loopback environment, in Beam's flag variables; start each run (in
	// tests, several share a process) from what the command line says.
	*jobopts.Endpoint, *jobopts.EnvironmentType, *jobopts.WorkerBinary = "", "", ""
	for _, a := range args {
		if err := flag.CommandLine.Set(a.name, a.value); err != nil {
			return "", usageError{fmt.Errorf("Beam flag --%s=%s: %w", a.name, a.value, err)}
		}
	}
	if !beam.Initialized() {
		// Not a worker (beamWorker handled that): the hooks only note it.
		beam.Init()
	}
	runner := *runners.Runner
	if runner == "" {
		runner = defaultRunner
	}
	return runner, nil
}

// inProcess reports whether the runner runs the pipeline in this process,
// where the workers see this machine's files.
func inProcess(runner string) bool {
	switch strings.ToLower(runner) {
	case "prism", "prismrunner", "direct", "directrunner":
		env := strings.ToLower(*jobopts.EnvironmentType)
		return *jobopts.Endpoint == "" && (env == "" || env == "loopback")
	}
	return false
}

func runPipeline(cmd *cobra.Command, verb string, f pipelineFlags, beamArgs []beamArg) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.model == "" {
		if verb != "fid-stats" {
			return usageErrorf("pipeline %s: --model NAME is required", verb)
		}
		f.model = fidModel
	}
	if f.input == "" || f.output == "" {
		return usageErrorf("pipeline %s: --input GLOB and --output FILE are required", verb)
	}
	if f.weights == "" && !f.pretrained {
		return usageErrorf("pipeline %s: %s: pass --weights FILE or --pretrained (a pipeline never runs on seeded weights)", verb, f.model)
	}
	if f.errors == "" {
		f.errors = strings.TrimSuffix(f.output, filepath.Ext(f.output)) + ".errors.jsonl"
	}
	if f.errors == f.output {
		return usageErrorf("pipeline %s: --errors and --output are both %s", verb, f.output)
	}
	if f.batch < 1 || f.batch > beamzoo.MaxBatchSize {
		return usageErrorf("pipeline %s: --batch %d: want 1 to %d", verb, f.batch, beamzoo.MaxBatchSize)
	}
	if verb == "classify" && f.top < 1 {
		return usageErrorf("pipeline classify: --top %d: want 1 or more", f.top)
	}
	if f.maxErrors < 0 {
		return usageErrorf("pipeline %s: --max-errors %d", verb, f.maxErrors)
	}
	runner, err := setBeamFlags(beamArgs)
	if err != nil {
		return err
	}
	if !f.verbose {
		quietBeamLogs(stderr)
	}
	for _, p := range []string{f.output, f.errors} {
		if !strings.Contains(p, "://") {
			if _, err := atomicfile.Target(p); err != nil {
				return fmt.Errorf("pipeline %s: output %s: %w", verb, p, err)
			}
		}
	}
	if !strings.Contains(f.input, "://") {
		// A local glob is checked here, where the error is clear; the
		// pipeline checks it again where it runs.
		matches, err := filepath.Glob(f.input)
		if err != nil {
			return usageErrorf("pipeline %s: --input %q: %v", verb, f.input, err)
		}
		if len(matches) == 0 {
			return fmt.Errorf("pipeline %s: no files match --input %q", verb, f.input)
		}
	}
	opts := beamzoo.Options{
		Model:     beamzoo.Model{Name: f.model, Weights: f.weights, WeightsSHA256: f.digest, Pretrained: f.pretrained, Cache: f.cache},
		BatchSize: f.batch,
	}
	if opts.Model.Weights != "" && !strings.Contains(opts.Model.Weights, "://") {
		// Workers open the same path: make it absolute so that it does not
		// depend on their working directory.
		if abs, err := filepath.Abs(opts.Model.Weights); err == nil {
			opts.Model.Weights = abs
		}
	}

	p, s := beam.NewPipelineWithRoot()
	files := beamzoo.MatchImages(s, f.input)
	var failures beam.PCollection
	switch verb {
	case "classify":
		var res beam.PCollection
		res, failures, err = beamzoo.TryClassify(s, beamzoo.ClassifyOptions{Options: opts, Top: f.top}, files)
		if err != nil {
			return usageError{fmt.Errorf("pipeline classify: %w", err)}
		}
		beamzoo.WriteJSONLines(s, f.output, res)
	case "embed", "fid-stats":
		var emb beam.PCollection
		eo := beamzoo.EmbedOptions{Options: opts, Layer: f.layer}
		if f.layer != "" {
			eo.Pool = f.pool
		}
		if verb == "fid-stats" {
			// The same features as `inception fid --dims`.
			if eo.Layer, err = defaultEnv().featureLayer(f.model, f.dims); err != nil {
				return err
			}
			if eo.Layer != "" {
				eo.Pool = beamzoo.PoolAvg
			}
		}
		emb, failures, err = beamzoo.TryEmbed(s, eo, files)
		if err != nil {
			return usageError{fmt.Errorf("pipeline %s: %w", verb, err)}
		}
		if verb == "fid-stats" {
			if filepath.Ext(f.output) != ".npz" {
				return usageErrorf("pipeline fid-stats: --output %s: want a .npz file (pytorch-fid's statistics)", f.output)
			}
			st, err := beamzoo.TryFIDStats(s, beamzoo.FIDOptions{Shards: f.shards}, emb)
			if err != nil {
				return usageError{fmt.Errorf("pipeline fid-stats: %w", err)}
			}
			beamzoo.WriteStatsNPZ(s, f.output, st)
		} else if filepath.Ext(f.output) == ".npy" {
			if err := beamzoo.WriteNPYShards(s, f.output, f.shards, emb); err != nil {
				return usageError{fmt.Errorf("pipeline embed: %w", err)}
			}
		} else {
			if f.shards != 1 {
				return usageErrorf("pipeline embed: --shards %d applies to an .npy --output, not %s", f.shards, f.output)
			}
			beamzoo.WriteJSONLines(s, f.output, emb)
		}
	}
	beamzoo.WriteJSONLines(s, f.errors, failures)

	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if inProcess(runner) {
		// The in-process worker shares this process's model cache: load
		// the model now, so that a bad name or file fails before the
		// pipeline starts, with the zoo's error.
		m, err := opts.Model.Load(ctx)
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", verb, err)
		}
		if verb == "fid-stats" && f.dims != 0 && m.Spec.Name != fidModel && m.FeatureDim() != f.dims {
			return usageErrorf("pipeline fid-stats: --dims %d: %s's features have %d dimensions (64, 192 and 768 exist for %s only)", f.dims, m.Name(), m.FeatureDim(), fidModel)
		}
	} else {
		setWorkerBinary(stderr)
	}
	start := time.Now()
	res, err := beam.Run(ctx, runner, p)
	if err != nil {
		return fmt.Errorf("pipeline %s on %s: %s", verb, runner, pipelineError(err, f.verbose))
	}
	elapsed := time.Since(start)
	counters := beamzoo.Counters(res)
	names := []string{beamzoo.CounterImages, beamzoo.CounterErrors, beamzoo.CounterBatches}
	if verb == "fid-stats" {
		names = append(names, beamzoo.CounterPartials)
	}
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, counters[n]))
	}
	fmt.Fprintf(stdout, "pipeline %s (%s, runner %s, %.1fs): %s\n", verb, f.model, runner, elapsed.Seconds(), strings.Join(parts, ", "))
	output := f.output
	if verb == "embed" && filepath.Ext(f.output) == ".npy" {
		output = fmt.Sprintf("%s (%d shard(s), images of the rows in %s)", beamzoo.ShardPath(f.output, 0, f.shards), f.shards, beamzoo.ImagesPath(beamzoo.ShardPath(f.output, 0, f.shards)))
	}
	fmt.Fprintf(stdout, "output: %s\nerrors: %s\n", output, f.errors)
	if len(counters) == 0 {
		fmt.Fprintf(stderr, "pipeline %s: the %s runner reported no counters; read %s for the inputs that failed\n", verb, runner, f.errors)
		return nil
	}
	if n := counters[beamzoo.CounterErrors]; n > int64(f.maxErrors) {
		return fmt.Errorf("pipeline %s: %d of %d inputs could not be read (see %s); --max-errors %d", verb, n, n+counters[beamzoo.CounterImages], f.errors, f.maxErrors)
	}
	return nil
}

// setWorkerBinary makes this executable the workers' binary when the
// runner needs one and none was given (--worker_binary): it is a Linux
// amd64 program built without cgo, which is what the Go SDK's container
// runs. Otherwise Beam cross-compiles the main package from its source
// (CGO_ENABLED=0), which needs the source and a Go toolchain.
func setWorkerBinary(stderr io.Writer) {
	if *jobopts.WorkerBinary != "" || runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	cgo := "1"
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" {
			cgo = s.Value
		}
	}
	exe, err := os.Executable()
	if cgo != "0" || err != nil {
		fmt.Fprintln(stderr, "pipeline: this binary was built with cgo: Beam will cross-compile the worker from source (CGO_ENABLED=0); build with CGO_ENABLED=0 or pass --worker_binary to use a prebuilt one")
		return
	}
	*jobopts.WorkerBinary = exe
	fmt.Fprintf(stderr, "pipeline: worker binary %s (this program, built without cgo)\n", exe)
}

// quietBeamLogs keeps the runner's logs (job state changes, bundle
// details, and failures, which the command reports itself) off the
// terminal; --verbose shows them.
func quietBeamLogs(w io.Writer) {
	slog.SetDefault(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError + 1})))
}

// pipelineError shortens a failed job's error to its cause: Beam's message
// starts with the plan of the failed bundle, which --verbose shows.
func pipelineError(err error, verbose bool) string {
	msg := err.Error()
	if verbose {
		return msg
	}
	if i := strings.LastIndex(msg, "caused by:\n"); i >= 0 {
		cause := strings.TrimSpace(msg[i+len("caused by:\n"):])
		// The cause starts with the failed DoFn's name on its own line.
		if _, rest, ok := strings.Cut(cause, "failed:\n"); ok {
			cause = rest
		}
		return cause + " (--verbose shows the runner's whole error)"
	}
	return msg
}

// beamFlagNames lists the Beam flags, for tests.
func beamFlagNames() []string {
	var out []string
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if !isBeamHarnessFlag(f.Name) {
			out = append(out, f.Name)
		}
	})
	sort.Strings(out)
	return out
}
