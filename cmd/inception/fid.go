package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/metrics"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/npy"
	"github.com/inceptionzoo/inception/tensor"
	inceptionv3 "github.com/inceptionzoo/inception/variants/v3"
	"github.com/inceptionzoo/inception/zoo"
)

func init() {
	commands = append(commands,
		func() *cobra.Command { return fidCmd(defaultEnv()) },
		func() *cobra.Command { return kidCmd(defaultEnv()) },
		func() *cobra.Command { return isCmd(defaultEnv()) })
}

// fidModel is the default model of fid, kid and is: pytorch-fid's network.
const fidModel = "inception-v3-fid"

// metricFlags are the model and image flags fid, kid and is share.
type metricFlags struct {
	model, weights, file, cache string
	pretrained, asJSON, skipBad bool
	allowSeeded                 bool
	dims, batch                 int
}

func (f *metricFlags) register(cmd *cobra.Command, dims bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", fidModel, "model (default pytorch-fid's network); NAME.TAG picks a weight tag")
	fl.StringVar(&f.weights, "weights", "", "weights file (e.g. pytorch-fid's pt_inception-2015-12-05-6726825d.pth)")
	fl.BoolVar(&f.pretrained, "pretrained", false, "download the tag's pretrained weights if they are not in the cache")
	fl.StringVar(&f.file, "file", "", "pretrained weight tag (default: the model's default tag)")
	fl.StringVar(&f.cache, "cache", "", "weight cache directory (default: "+defaultCacheHelp()+")")
	fl.IntVar(&f.batch, "batch", 50, "images per forward pass")
	fl.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	fl.BoolVar(&f.skipBad, "skip-bad", false, "leave out images that cannot be read (counted)")
	fl.BoolVar(&f.allowSeeded, "allow-seeded", false, "run on seeded (untrained) weights (the numbers mean nothing; for testing the pipeline)")
	if dims {
		fl.IntVar(&f.dims, "dims", 0, "feature dimensions: 64, 192, 768 or 2048 for "+fidModel+" (pytorch-fid's blocks; default 2048), the embedding width for other models")
	}
}

// featureLayer says where a model's metric features come from: the block
// whose output is spatially averaged (pytorch-fid's 64, 192 and 768
// dims of inception-v3-fid), or "" for the embedding (its 2048).
func (e env) featureLayer(ref string, dims int) (layer string, err error) {
	entry, _, err := e.reg.Resolve(ref)
	if err != nil {
		return "", err
	}
	if entry.Name != fidModel {
		return "", nil // checked against the embedding once loaded
	}
	if dims == 0 || dims == 2048 {
		return "", nil
	}
	l, ok := inceptionv3.FIDLayers[dims]
	if !ok {
		return "", usageErrorf("--dims %d: want 64, 192, 768 or 2048 (pytorch-fid's feature blocks)", dims)
	}
	return l, nil
}

// metricModel loads the model of a metric command and returns it with the
// layer its features come from and their dimensions.
func (e env) metricModel(cmd *cobra.Command, verb string, f metricFlags) (*zoo.Model, string, int, error) {
	if err := checkBatch(verb, f.batch); err != nil {
		return nil, "", 0, err
	}
	layer, err := e.featureLayer(f.model, f.dims)
	if err != nil {
		return nil, "", 0, err
	}
	m, err := e.embedModel(cmd, verb, f.model, f.weights, f.file, f.cache, f.pretrained, f.allowSeeded, layer)
	if err != nil {
		return nil, "", 0, err
	}
	dims := m.FeatureDim()
	if layer != "" {
		dims = m.Graph.OutputShape()[0]
	}
	if dims == 0 {
		return nil, "", 0, fmt.Errorf("%s: %s has no embedding (its output is not a Linear classifier)", verb, m.Name())
	}
	if f.dims != 0 && f.dims != dims {
		return nil, "", 0, usageErrorf("%s: --dims %d: %s's features have %d dimensions (64, 192 and 768 exist for %s only)", verb, f.dims, m.Name(), dims, fidModel)
	}
	return m, layer, dims, nil
}

// featureSet is the features of one PATH argument.
type featureSet struct {
	path    string
	n       int // images used
	skipped []badImage
}

// folderImages lists the images of a folder argument as pytorch-fid does:
// the files with its extensions, sorted, not recursive.
func folderImages(verb, path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	if !st.IsDir() {
		return nil, usageErrorf("%s: %s is neither a folder of images nor a statistics/feature file", verb, path)
	}
	paths, _, err := listImages(verb, []string{path}, isFIDImage)
	return paths, err
}

// extract runs m over the images of folder and calls fn with each batch's
// feature rows (and the main output, when withOutput).
func (e env) extract(cmd *cobra.Command, verb string, f metricFlags, m *zoo.Model, layer, folder string, withOutput bool,
	fn func(rows, out *tensor.Tensor) error) (*featureSet, error) {
	paths, err := folderImages(verb, folder)
	if err != nil {
		return nil, err
	}
	fs := &featureSet{path: folder}
	bar := newProgress(cmd.ErrOrStderr(), verb+" "+folder, len(paths))
	x := &extractor{m: m, batch: f.batch, skipBad: f.skipBad, bar: bar,
		run: func(x *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor, error) {
			if withOutput {
				a, err := m.Activations(x)
				if err != nil {
					return nil, nil, err
				}
				return a.Features, a.Output, nil
			}
			y, err := layerRows(m, layer, layer != "", x)
			return y, nil, err
		}}
	fs.skipped, err = x.each(cmd.Context(), paths, func(ps []string, rows, out *tensor.Tensor) error {
		fs.n += len(ps)
		return fn(rows, out)
	})
	bar.finish()
	reportBad(cmd.ErrOrStderr(), verb, fs.skipped)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	return fs, nil
}

// statsOf returns the statistics of a PATH: read from a pytorch-fid .npz,
// or computed over a folder's images (mean and ddof-1 covariance in
// float64, as numpy).
func (e env) statsOf(cmd *cobra.Command, f metricFlags, load func() (*zoo.Model, string, int, error), path string) (*metrics.Stats, *featureSet, error) {
	if strings.HasSuffix(strings.ToLower(path), ".npz") {
		s, err := metrics.ReadStatsNPZ(path)
		if err != nil {
			return nil, nil, fmt.Errorf("fid: %w", err)
		}
		return s, nil, nil
	}
	m, layer, dims, err := load()
	if err != nil {
		return nil, nil, err
	}
	mom, err := metrics.NewMoments(dims)
	if err != nil {
		return nil, nil, err
	}
	fs, err := e.extract(cmd, "fid", f, m, layer, path, false, func(rows, _ *tensor.Tensor) error {
		return mom.AddRows32(rows.Data, dims)
	})
	if err != nil {
		return nil, nil, err
	}
	if fs.n < 2 {
		return nil, nil, fmt.Errorf("fid: %s: %d readable image(s); a covariance needs at least 2", path, fs.n)
	}
	s, err := mom.Stats()
	if err != nil {
		return nil, nil, fmt.Errorf("fid: %s: %w", path, err)
	}
	return s, fs, nil
}

// onceModel loads the model on first use (an .npz argument needs none).
func (e env) onceModel(cmd *cobra.Command, verb string, f metricFlags) func() (*zoo.Model, string, int, error) {
	var m *zoo.Model
	var layer string
	var dims int
	var err error
	done := false
	return func() (*zoo.Model, string, int, error) {
		if !done {
			m, layer, dims, err = e.metricModel(cmd, verb, f)
			done = true
		}
		return m, layer, dims, err
	}
}

// fidCmd is `inception fid PATH_A PATH_B` and `inception fid --save-stats
// PATH OUT.npz`.
func fidCmd(e env) *cobra.Command {
	var f metricFlags
	var saveStats bool
	cmd := &cobra.Command{
		Use:         "fid PATH_A PATH_B | fid --save-stats PATH OUT.npz  [--model " + fidModel + "] [--weights F] [--dims 64|192|768|2048] [--batch N] [--json]",
		Annotations: stopsOnSignal,
		Short:       "Frechet Inception Distance between two image folders or pytorch-fid statistics",
		Long: `Frechet Inception Distance as pytorch-fid computes it.

Each PATH is a folder of images (the files with pytorch-fid's extensions
bmp, jpg, jpeg, pgm, png, ppm, tif, tiff, webp, not recursive; any size;
grey images become RGB) or a pytorch-fid statistics file (.npz with mu and
sigma). Images go through pytorch-fid's pipeline: floats in [0, 1],
bilinear resize to 299x299 (PyTorch's F.interpolate, align_corners=False),
2x - 1, then pytorch-fid's Inception network (` + fidModel + `); --dims picks its
feature block: 64 (first max pool), 192 (second max pool), 768 (Mixed_6e),
each averaged over positions, or 2048 (final average pool, the default).
The statistics are the mean and the covariance (numpy.cov) in float64, and
the distance is ||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr(sqrtm(S_a S_b))
with scipy's sqrtm and pytorch-fid's eps = 1e-6 retry.

Prints "FID: <value>"; --json prints one object with fid, dims, n_a, n_b
(null for a .npz), the model and weights, eps_added and the skipped images.
--save-stats PATH OUT.npz writes PATH's statistics in pytorch-fid's format
instead. An unreadable image is an error naming it, unless --skip-bad.

The weights: --weights F (pytorch-fid's pt_inception-2015-12-05-6726825d.pth,
a PyTorch state dict, or any file of the model's layout), or --pretrained to
download it (` + fidModel + `.pt_inception); a verified copy in the cache is used
otherwise. Seeded (untrained) weights are refused unless --allow-seeded.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				if saveStats {
					return usageErrorf("fid --save-stats needs PATH and OUT.npz, got %d arguments", len(args))
				}
				return usageErrorf("fid needs two paths (folders of images or .npz statistics), got %d", len(args))
			}
			load := e.onceModel(cmd, "fid", f)
			if saveStats {
				return e.saveStats(cmd, f, load, args[0], args[1])
			}
			a, fa, err := e.statsOf(cmd, f, load, args[0])
			if err != nil {
				return err
			}
			b, fb, err := e.statsOf(cmd, f, load, args[1])
			if err != nil {
				return err
			}
			if len(a.Mu) != len(b.Mu) {
				return fmt.Errorf("fid: %s has %d-dimensional statistics, %s %d-dimensional", args[0], len(a.Mu), args[1], len(b.Mu))
			}
			if f.dims != 0 && len(a.Mu) != f.dims {
				return fmt.Errorf("fid: --dims %d, the statistics have %d dimensions", f.dims, len(a.Mu))
			}
			r, err := metrics.FID(a, b)
			if err != nil {
				return fmt.Errorf("fid: %w", err)
			}
			w := cmd.OutOrStdout()
			if !f.asJSON {
				fmt.Fprintf(w, "FID: %s\n", strconv.FormatFloat(r.Distance, 'g', -1, 64))
				return nil
			}
			out := metricJSON{Dims: len(a.Mu), NA: count(fa), NB: count(fb), SkippedA: skipped(fa), SkippedB: skipped(fb)}
			out.FID, out.EpsAdded = &r.Distance, &r.EpsAdded
			if fa != nil || fb != nil { // a folder was read: the model is loaded
				m, _, _, _ := load()
				out.Model, out.Weights = m.Name(), m.Source()
			}
			return writeJSON(w, out)
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&saveStats, "save-stats", false, "write the statistics of PATH to OUT.npz (pytorch-fid's format) instead")
	return cmd
}

// metricJSON is the --json output of fid, kid and is.
type metricJSON struct {
	FID      *float64    `json:"fid,omitempty"`
	EpsAdded *bool       `json:"eps_added,omitempty"`
	KIDMean  *float64    `json:"kid_mean,omitempty"`
	KIDStd   *float64    `json:"kid_std,omitempty"`
	Dims     int         `json:"dims"`
	NA       *int        `json:"n_a"`
	NB       *int        `json:"n_b"`
	Model    string      `json:"model,omitempty"`
	Weights  string      `json:"weights,omitempty"`
	SkippedA []badImage  `json:"skipped_a,omitempty"`
	SkippedB []badImage  `json:"skipped_b,omitempty"`
	Options  interface{} `json:"options,omitempty"`
}

func count(fs *featureSet) *int {
	if fs == nil {
		return nil
	}
	return &fs.n
}

func skipped(fs *featureSet) []badImage {
	if fs == nil {
		return nil
	}
	return fs.skipped
}

func (e env) saveStats(cmd *cobra.Command, f metricFlags, load func() (*zoo.Model, string, int, error), path, out string) error {
	if !strings.HasSuffix(strings.ToLower(out), ".npz") {
		return usageErrorf("fid --save-stats: the output %s must end in .npz", out)
	}
	if strings.HasSuffix(strings.ToLower(path), ".npz") {
		return usageErrorf("fid --save-stats: %s is already statistics; give a folder of images", path)
	}
	if _, err := atomicfile.Target(out); err != nil {
		return fmt.Errorf("fid: output %s: %w", out, err)
	}
	s, fs, err := e.statsOf(cmd, f, load, path)
	if err != nil {
		return err
	}
	if err := metrics.WriteStatsNPZ(out, s); err != nil {
		return fmt.Errorf("fid: %w", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "fid: statistics of %d images (%d dims) written to %s\n", fs.n, len(s.Mu), out)
	if f.asJSON {
		return writeJSON(cmd.OutOrStdout(), metricJSON{Dims: len(s.Mu), NA: &fs.n, SkippedA: fs.skipped})
	}
	return nil
}

// featureMatrix returns the rows of a PATH: read from a .npy of shape
// [N, D] (e.g. written by inception embed), or computed over a folder's
// images; logits selects the main output (the classifier's logits)
// instead of the features.
func (e env) featureMatrix(cmd *cobra.Command, verb string, f metricFlags, load func() (*zoo.Model, string, int, error), path string, logits func(*zoo.Model, *tensor.Tensor) ([]float64, error)) (*mat.Dense, *featureSet, error) {
	if strings.HasSuffix(strings.ToLower(path), ".npy") {
		a, err := npy.ReadNPYFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", verb, err)
		}
		if len(a.Shape) != 2 || a.Shape[0] < 1 || a.Shape[1] < 1 {
			return nil, nil, fmt.Errorf("%s: %s has shape %v, want [N, D]", verb, path, a.Shape)
		}
		return mat.NewDense(a.Shape[0], a.Shape[1], a.Data), nil, nil
	}
	m, layer, dims, err := load()
	if err != nil {
		return nil, nil, err
	}
	var data []float64
	cols := dims
	fs, err := e.extract(cmd, verb, f, m, layer, path, logits != nil, func(rows, out *tensor.Tensor) error {
		if logits != nil {
			l, err := logits(m, out)
			if err != nil {
				return err
			}
			cols = out.Shape[1]
			data = append(data, l...)
			return nil
		}
		for _, v := range rows.Data {
			data = append(data, float64(v))
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if fs.n == 0 {
		return nil, nil, fmt.Errorf("%s: %s: no readable images", verb, path)
	}
	return mat.NewDense(fs.n, cols, data), fs, nil
}

// kidCmd is `inception kid PATH_A PATH_B`.
func kidCmd(e env) *cobra.Command {
	var f metricFlags
	o := metrics.DefaultKIDOptions()
	var seed uint32
	cmd := &cobra.Command{
		Use:   "kid PATH_A PATH_B [--model " + fidModel + "] [--weights F] [--subsets 100] [--subset-size 1000] [--json]",
		Short: "Kernel Inception Distance between two image folders (torch-fidelity's KID)",
		Long: `Kernel Inception Distance as torch-fidelity computes it: the unbiased MMD^2
with the polynomial kernel (x.y/d + 1)^3 over --subsets random subsets of
--subset-size features from each set (drawn with numpy's RandomState(--seed)),
reported as mean and standard deviation. Both sets need at least
--subset-size images.

Each PATH is a folder of images (as for 'inception fid') or a .npy of
features [N, D] (e.g. from 'inception embed'). The features are the 2048-d
embedding of ` + fidModel + ` by default, with pytorch-fid's input pipeline
(torch-fidelity resizes with its own TF1-style bilinear and feeds 0-255
values, so numbers differ slightly from its own). Prints "KID: mean ± std".`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErrorf("kid needs two paths (folders of images or .npy features), got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Seed = seed
			load := e.onceModel(cmd, "kid", f)
			a, fa, err := e.featureMatrix(cmd, "kid", f, load, args[0], nil)
			if err != nil {
				return err
			}
			b, fb, err := e.featureMatrix(cmd, "kid", f, load, args[1], nil)
			if err != nil {
				return err
			}
			r, err := metrics.KID(a, b, o)
			if err != nil {
				return fmt.Errorf("kid: %w", err)
			}
			if !f.asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "KID: %s ± %s\n", strconv.FormatFloat(r.Mean, 'g', -1, 64), strconv.FormatFloat(r.Std, 'g', -1, 64))
				return nil
			}
			_, d := a.Dims()
			out := metricJSON{KIDMean: &r.Mean, KIDStd: &r.Std, Dims: d, NA: rowsOf(a, fa), NB: rowsOf(b, fb),
				SkippedA: skipped(fa), SkippedB: skipped(fb), Options: o}
			if fa != nil || fb != nil {
				m, _, _, _ := load()
				out.Model, out.Weights = m.Name(), m.Source()
			}
			return writeJSON(cmd.OutOrStdout(), out)
		},
	}
	f.register(cmd, true)
	fl := cmd.Flags()
	fl.IntVar(&o.Subsets, "subsets", o.Subsets, "number of random subsets")
	fl.IntVar(&o.SubsetSize, "subset-size", o.SubsetSize, "features per subset and set")
	fl.IntVar(&o.Degree, "degree", o.Degree, "polynomial kernel degree")
	fl.Float64Var(&o.Gamma, "gamma", 0, "polynomial kernel gamma (0: 1/dims)")
	fl.Float64Var(&o.Coef0, "coef0", o.Coef0, "polynomial kernel coef0")
	fl.Uint32Var(&seed, "seed", o.Seed, "RandomState seed of the subsets")
	return cmd
}

func rowsOf(m *mat.Dense, fs *featureSet) *int {
	if fs != nil {
		return &fs.n
	}
	r, _ := m.Dims()
	return &r
}

// classifierBias returns the bias of the Linear producing m's main output
// (nil if it has none).
func classifierBias(m *zoo.Model) ([]float32, error) {
	n := m.Graph.Nodes[m.Graph.Output]
	if _, ok := n.Op.(nn.Linear); !ok {
		return nil, fmt.Errorf("%s: the main output comes from %s (%T), not a Linear classifier", m.Name(), n.Path, n.Op)
	}
	p, ok := n.Param(nn.Bias)
	if !ok {
		return nil, nil
	}
	return m.Params[p.Path].Data, nil
}

// isCmd is `inception is PATH`.
func isCmd(e env) *cobra.Command {
	var f metricFlags
	o := metrics.DefaultISOptions()
	var noShuffle, biased bool
	var seed uint32
	cmd := &cobra.Command{
		Use:   "is PATH [--model " + fidModel + "] [--weights F] [--splits 10] [--json]",
		Short: "Inception Score of an image folder (torch-fidelity's IS)",
		Long: `Inception Score as torch-fidelity computes it: the samples shuffled with
numpy's RandomState(--seed) (unless --no-shuffle), cut into --splits
consecutive chunks, each scored exp(mean KL(p(y|x) || p(y))) with p the
softmax of the logits; the mean and standard deviation of the chunk scores.

The logits are the classifier outputs of ` + fidModel + ` without its bias
(torch-fidelity's default "logits_unbiased"; --biased adds the bias), on
pytorch-fid's input pipeline. PATH is a folder of images or a .npy of
logits [N, classes]. Prints "IS: mean ± std".`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("is needs one path (a folder of images or .npy logits), got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Shuffle, o.Seed = !noShuffle, seed
			load := e.onceModel(cmd, "is", f)
			logits := func(m *zoo.Model, out *tensor.Tensor) ([]float64, error) {
				bias, err := classifierBias(m)
				if err != nil {
					return nil, err
				}
				c := out.Shape[1]
				l := make([]float64, len(out.Data))
				for i, v := range out.Data {
					l[i] = float64(v)
					if !biased && bias != nil {
						l[i] -= float64(bias[i%c])
					}
				}
				return l, nil
			}
			x, fs, err := e.featureMatrix(cmd, "is", f, load, args[0], logits)
			if err != nil {
				return err
			}
			r, err := metrics.InceptionScore(x, o)
			if err != nil {
				return fmt.Errorf("is: %w", err)
			}
			if !f.asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "IS: %s ± %s\n", strconv.FormatFloat(r.Mean, 'g', -1, 64), strconv.FormatFloat(r.Std, 'g', -1, 64))
				return nil
			}
			_, c := x.Dims()
			out := struct {
				ISMean  float64           `json:"is_mean"`
				ISStd   float64           `json:"is_std"`
				Scores  []float64         `json:"scores"`
				Classes int               `json:"classes"`
				N       *int              `json:"n"`
				Model   string            `json:"model,omitempty"`
				Weights string            `json:"weights,omitempty"`
				Skipped []badImage        `json:"skipped,omitempty"`
				Options metrics.ISOptions `json:"options"`
			}{ISMean: r.Mean, ISStd: r.Std, Scores: r.Scores, Classes: c, N: rowsOf(x, fs), Skipped: skipped(fs), Options: o}
			if fs != nil {
				m, _, _, _ := load()
				out.Model, out.Weights = m.Name(), m.Source()
			}
			return writeJSON(cmd.OutOrStdout(), out)
		},
	}
	f.register(cmd, false)
	fl := cmd.Flags()
	fl.IntVar(&o.Splits, "splits", o.Splits, "number of splits")
	fl.Uint32Var(&seed, "seed", o.Seed, "RandomState seed of the shuffle")
	fl.BoolVar(&noShuffle, "no-shuffle", false, "do not shuffle the samples before splitting")
	fl.BoolVar(&biased, "biased", false, "use the logits with the classifier's bias")
	return cmd
}
