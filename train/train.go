// Package train trains and fine-tunes zoo models with the gorgonia back
// end (package train/gorgon) on data sets from package train/data:
// seeded shuffling, mini-batches, SGD with momentum or Adam, a learning
// rate schedule, a progress line (loss, accuracy, images/s), evaluation
// with the zoo's inference engine, and checkpoints that resume exactly.
//
// # Checkpoints
//
// A checkpoint (gob, written atomically to DIR/checkpoint.gob through
// internal/atomicfile) holds every parameter and buffer of the model, the
// optimizer state, the position in the run (epoch and the number of
// batches done in it) and the training set's fingerprint
// (data.Set.Fingerprint). The order of an epoch's samples is a pure
// function of (seed, epoch) (data.Perm) and a dropout mask of (seed, path,
// step), so the random state is the seed and the position; a resumed run
// performs the same updates, in float32, as an uninterrupted one.
//
// A checkpoint file is untrusted input: its size is bounded by what the
// model's parameters and optimizer state need (checkpointLimit) before
// it is decoded, and every field is checked against the run (model,
// input, seed, batch, data fingerprint, tensor sizes, position) before
// anything is used; a mismatch is an error wrapping ErrCheckpoint that
// names both values. While a run uses a checkpoint directory it holds a
// lock on DIR/lock (flock), so two trainers cannot share one
// (ErrLocked).
package train

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/inceptionzoo/inception/internal/atomicfile"

	"github.com/inceptionzoo/inception/engine"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/train/data"
	"github.com/inceptionzoo/inception/train/gorgon"
)

// Errors.
var (
	// ErrCheckpoint reports a checkpoint that does not fit the run.
	ErrCheckpoint = errors.New("train: checkpoint does not fit")
	// ErrInterrupted reports a run stopped by Config.Context.
	ErrInterrupted = errors.New("train: interrupted")
	// ErrConfig reports an invalid configuration.
	ErrConfig = errors.New("train: invalid configuration")
	// ErrLocked reports a checkpoint directory in use by another trainer.
	ErrLocked = errors.New("train: checkpoint directory in use")
)

// Config is one training run.
type Config struct {
	Model       string    // zoo name, recorded in checkpoints
	Graph       *nn.Graph // lowered at the training input size
	Params      nn.Params // updated in place
	Train, Test *data.Set // Test may be nil
	Epochs      int
	Batch       int
	Optimizer   Optimizer
	Schedule    Schedule
	Seed        uint64 // shuffling seed
	// Trainable selects the learned parameters (nil: all); see gorgon.Config.
	Trainable         func(nn.ParamSpec) bool
	DropoutAsIdentity bool
	// AuxWeight, if positive, trains the graph's auxiliary heads with this
	// weight on each head's loss (see gorgon.Config.AuxWeight).
	AuxWeight float64
	// CheckpointDir, if set, receives checkpoint.gob after every epoch and
	// every CheckpointEvery steps; a checkpoint already there is resumed.
	CheckpointDir   string
	CheckpointEvery int
	Log             io.Writer // progress lines; nil discards
	LogEvery        int       // steps between progress lines; 0 means 50
	// MaxSteps stops after this many steps of this process (0: no limit).
	MaxSteps int
	// Context, if not nil, stops the run between two steps when it is
	// done: Run saves a checkpoint (with CheckpointDir) and returns an
	// error wrapping ErrInterrupted and the context's error.
	Context context.Context
}

// EpochStats summarises one epoch.
type EpochStats struct {
	Epoch                   int
	Loss, TrainAcc, TestAcc float64 // TestAcc is NaN without a test set
	ImagesPerSec, Seconds   float64
}

// Result summarises a run.
type Result struct {
	Epochs   []EpochStats
	Steps    int64 // total steps, resumed ones included
	Stopped  bool  // MaxSteps reached before the last epoch ended
	LastLoss float64
	LastAcc  float64 // training accuracy of the last logged window
	// Ran is the number of steps this call ran, StepTime their wall time
	// (batch, forward, backward, optimizer: no evaluation or checkpoint)
	// and FirstStep that of the first one, which allocates the step's
	// memory.
	Ran       int
	StepTime  time.Duration
	FirstStep time.Duration
	Batch     int
}

// ImagesPerSec returns the training throughput of the steps this call
// ran: over all of them, and over all but the first (the steady state;
// 0 with fewer than two steps).
func (r Result) ImagesPerSec() (all, steady float64) {
	if r.Ran > 0 && r.StepTime > 0 {
		all = float64(r.Ran*r.Batch) / r.StepTime.Seconds()
	}
	if rest := r.StepTime - r.FirstStep; r.Ran > 1 && rest > 0 {
		steady = float64((r.Ran-1)*r.Batch) / rest.Seconds()
	}
	return all, steady
}

// checkpoint is the gob payload.
type checkpoint struct {
	Version   int
	Model     string
	Input     []int
	Params    map[string][]float32
	Opt       OptState
	Epoch     int // current epoch (0-based)
	Batch     int // batches done in Epoch
	Steps     int64
	Seed      uint64
	BatchSize int
	History   []EpochStats
	Data      string // the training set's fingerprint (data.Set.Fingerprint)
	AuxWeight float64
}

const (
	checkpointFile    = "checkpoint.gob"
	checkpointVersion = 2
	lockFile          = "lock"
)

// Run trains cfg.Graph on cfg.Train.
func Run(cfg Config) (Result, error) {
	res := Result{Batch: cfg.Batch}
	if cfg.Graph == nil || cfg.Params == nil || cfg.Train == nil || cfg.Optimizer == nil {
		return res, fmt.Errorf("%w: graph, params, training set and optimizer are required", ErrConfig)
	}
	if cfg.Batch <= 0 || cfg.Epochs <= 0 {
		return res, fmt.Errorf("%w: batch %d, epochs %d", ErrConfig, cfg.Batch, cfg.Epochs)
	}
	if !tensor.SameShape(cfg.Train.Shape, cfg.Graph.InputShape()) {
		return res, fmt.Errorf("%w: data samples %v, model input %v", ErrConfig, cfg.Train.Shape, cfg.Graph.InputShape())
	}
	steps := cfg.Train.Len() / cfg.Batch
	if steps == 0 {
		return res, fmt.Errorf("%w: %d samples < batch %d", ErrConfig, cfg.Train.Len(), cfg.Batch)
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 50
	}
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	if cfg.AuxWeight < 0 || math.IsNaN(cfg.AuxWeight) {
		return res, fmt.Errorf("%w: auxiliary loss weight %g", ErrConfig, cfg.AuxWeight)
	}
	var fingerprint string
	if cfg.CheckpointDir != "" {
		if err := os.MkdirAll(cfg.CheckpointDir, 0o755); err != nil {
			return res, fmt.Errorf("train: checkpoint directory: %w", err)
		}
		unlock, err := lockDir(cfg.CheckpointDir)
		if err != nil {
			return res, err
		}
		defer unlock()
		fingerprint = cfg.Train.Fingerprint()
	}
	net, err := gorgon.Build(cfg.Graph, cfg.Params, gorgon.Config{Batch: cfg.Batch, Trainable: cfg.Trainable,
		DropoutAsIdentity: cfg.DropoutAsIdentity, Seed: cfg.Seed, AuxWeight: cfg.AuxWeight})
	if err != nil {
		return res, err
	}
	defer net.Close()
	params := make([][]float32, len(net.Learn))
	for i, s := range net.Learn {
		params[i] = cfg.Params[s.Path].Data
	}
	start := checkpoint{}
	if cfg.CheckpointDir != "" {
		ck, err := loadCheckpoint(filepath.Join(cfg.CheckpointDir, checkpointFile), checkpointLimit(cfg.Params, len(params)))
		switch {
		case err == nil:
			if err := restore(ck, &cfg, params, steps, fingerprint); err != nil {
				return res, err
			}
			start = *ck
			res.Epochs = append(res.Epochs, ck.History...)
			if ck.Epoch >= cfg.Epochs {
				fmt.Fprintf(log, "checkpoint %s: all %d epochs done (step %d)\n", cfg.CheckpointDir, cfg.Epochs, ck.Steps)
			} else {
				fmt.Fprintf(log, "resumed %s at epoch %d, batch %d (step %d)\n", cfg.CheckpointDir, ck.Epoch+1, ck.Batch, ck.Steps)
			}
		case errors.Is(err, os.ErrNotExist):
		default:
			return res, err
		}
	}
	save := func(epoch, batch int, stepsDone int64) error {
		if cfg.CheckpointDir == "" {
			return nil
		}
		return saveCheckpoint(cfg, epoch, batch, stepsDone, res.Epochs, fingerprint)
	}
	x := make([]float32, cfg.Batch*cfg.Train.Shape.Numel())
	labels := make([]int, cfg.Batch)
	stepsDone := start.Steps
	net.SetStep(stepsDone)
	for epoch := start.Epoch; epoch < cfg.Epochs; epoch++ {
		perm := data.Perm(cfg.Train.Len(), cfg.Seed, epoch)
		b0 := 0
		if epoch == start.Epoch {
			b0 = start.Batch
		}
		t0 := time.Now()
		var sumLoss float64
		var sumCorrect, seen int
		var winLoss float64
		var winCorrect, winSeen int
		winStart := time.Now()
		for b := b0; b < steps; b++ {
			if cfg.MaxSteps > 0 && res.Ran >= cfg.MaxSteps {
				res.Stopped = true
				res.Steps = stepsDone
				return res, save(epoch, b, stepsDone)
			}
			if cfg.Context != nil && cfg.Context.Err() != nil {
				res.Steps = stepsDone
				if err := save(epoch, b, stepsDone); err != nil {
					return res, err
				}
				where := ""
				if cfg.CheckpointDir != "" {
					where = "; checkpoint saved in " + cfg.CheckpointDir
				}
				return res, fmt.Errorf("%w at epoch %d, batch %d (step %d)%s: %w", ErrInterrupted, epoch+1, b, stepsDone, where, context.Cause(cfg.Context))
			}
			ts := time.Now()
			cfg.Train.Fill(perm[b*cfg.Batch:(b+1)*cfg.Batch], x, labels)
			loss, correct, err := net.Step(x, labels)
			if err != nil {
				return res, fmt.Errorf("train: epoch %d step %d: %w", epoch+1, b, err)
			}
			grads, err := net.Grads()
			if err != nil {
				return res, err
			}
			cfg.Optimizer.Step(params, grads, cfg.Schedule.LR(stepsDone))
			d := time.Since(ts)
			if res.Ran == 0 {
				res.FirstStep = d
			}
			res.StepTime += d
			stepsDone++
			res.Ran++
			sumLoss += loss * float64(cfg.Batch)
			sumCorrect += correct
			seen += cfg.Batch
			winLoss += loss * float64(cfg.Batch)
			winCorrect += correct
			winSeen += cfg.Batch
			res.LastLoss, res.LastAcc = winLoss/float64(winSeen), float64(winCorrect)/float64(winSeen)
			if (b+1)%cfg.LogEvery == 0 || b+1 == steps {
				el := time.Since(winStart).Seconds()
				fmt.Fprintf(log, "epoch %d/%d %s %d/%d loss %.4f acc %.4f %.1f img/s lr %.4g\n",
					epoch+1, cfg.Epochs, bar(b+1, steps, 20), b+1, steps, res.LastLoss, res.LastAcc,
					float64(winSeen)/el, cfg.Schedule.LR(stepsDone-1))
				winLoss, winCorrect, winSeen, winStart = 0, 0, 0, time.Now()
			}
			if cfg.CheckpointEvery > 0 && res.Ran%cfg.CheckpointEvery == 0 && b+1 < steps {
				if err := save(epoch, b+1, stepsDone); err != nil {
					return res, err
				}
			}
		}
		st := EpochStats{Epoch: epoch + 1, Loss: math.NaN(), TrainAcc: math.NaN(), TestAcc: math.NaN(), Seconds: time.Since(t0).Seconds()}
		if seen > 0 {
			st.Loss, st.TrainAcc = sumLoss/float64(seen), float64(sumCorrect)/float64(seen)
			st.ImagesPerSec = float64(seen) / st.Seconds
		}
		if cfg.Test != nil {
			acc, err := Evaluate(cfg.Graph, cfg.Params, cfg.Test, 250)
			if err != nil {
				return res, err
			}
			st.TestAcc = acc
		}
		res.Epochs = append(res.Epochs, st)
		fmt.Fprintf(log, "epoch %d/%d done: loss %.4f train acc %.4f test acc %.4f, %.1f img/s, %.0f s\n",
			epoch+1, cfg.Epochs, st.Loss, st.TrainAcc, st.TestAcc, st.ImagesPerSec, st.Seconds)
		if err := save(epoch+1, 0, stepsDone); err != nil {
			return res, err
		}
	}
	res.Steps = stepsDone
	return res, nil
}

func bar(done, total, width int) string {
	n := done * width / total
	b := make([]byte, width+2)
	b[0], b[width+1] = '[', ']'
	for i := 1; i <= width; i++ {
		if i <= n {
			b[i] = '='
		} else {
			b[i] = ' '
		}
	}
	return string(b)
}

// Evaluate returns the top-1 accuracy of the model (g, p) on s, run by the
// zoo's inference engine in batches of batch samples.
func Evaluate(g *nn.Graph, p nn.Params, s *data.Set, batch int) (float64, error) {
	m, err := engine.Compile(g, p)
	if err != nil {
		return 0, fmt.Errorf("train: evaluate: %w", err)
	}
	return EvaluateFunc(func(x *tensor.Tensor) (*tensor.Tensor, error) { return m.Run(x) }, s, batch)
}

// EvaluateFunc returns the top-1 accuracy on s of a function from an
// [N, C, H, W] batch to [N, classes] scores.
func EvaluateFunc(run func(*tensor.Tensor) (*tensor.Tensor, error), s *data.Set, batch int) (float64, error) {
	if s.Len() == 0 || batch <= 0 {
		return 0, fmt.Errorf("%w: empty evaluation set or batch %d", ErrConfig, batch)
	}
	k := s.Shape.Numel()
	correct := 0
	idx := make([]int, 0, batch)
	labels := make([]int, batch)
	for lo := 0; lo < s.Len(); lo += batch {
		hi := min(lo+batch, s.Len())
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		x := tensor.New(append([]int{hi - lo}, s.Shape...)...)
		s.Fill(idx, x.Data[:len(idx)*k], labels[:len(idx)])
		y, err := run(x)
		if err != nil {
			return 0, fmt.Errorf("train: evaluate: %w", err)
		}
		if len(y.Shape) != 2 || y.Shape[0] != hi-lo {
			return 0, fmt.Errorf("train: evaluate: output shape %v for a batch of %d", y.Shape, hi-lo)
		}
		c := y.Shape[1]
		for i := range idx {
			row := y.Data[i*c : (i+1)*c]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if best == labels[i] {
				correct++
			}
		}
	}
	return float64(correct) / float64(s.Len()), nil
}

func saveCheckpoint(cfg Config, epoch, batch int, steps int64, hist []EpochStats, fingerprint string) error {
	ck := checkpoint{Version: checkpointVersion, Model: cfg.Model, Input: cfg.Graph.InputShape(), Params: map[string][]float32{},
		Opt: cfg.Optimizer.State(), Epoch: epoch, Batch: batch, Steps: steps, Seed: cfg.Seed, BatchSize: cfg.Batch, History: hist,
		Data: fingerprint, AuxWeight: cfg.AuxWeight}
	for k, t := range cfg.Params {
		ck.Params[k] = t.Data
	}
	err := atomicfile.WriteFile(filepath.Join(cfg.CheckpointDir, checkpointFile), 0o644, func(w io.Writer) error {
		return gob.NewEncoder(w).Encode(&ck)
	})
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// checkpointLimit bounds the size of a checkpoint file of a model with
// parameters p and nLearned learned tensors: every value of p and two
// optimizer buffers (Adam) at gob's largest encoding of a float (9
// bytes), and 1 MiB for names, history and framing.
func checkpointLimit(p nn.Params, nLearned int) int64 {
	var n int64
	for _, t := range p {
		n += int64(len(t.Data))
	}
	return 3*9*n + int64(nLearned)*64 + 1<<20
}

// loadCheckpoint reads a checkpoint of at most limit bytes. A larger file
// is refused before it is decoded; a file that ends early or holds
// anything but one checkpoint is an error wrapping ErrCheckpoint.
func loadCheckpoint(path string, limit int64) (*checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCheckpoint, path, err)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%w: %s has %d bytes, more than this model's checkpoint can have (%d)", ErrCheckpoint, path, fi.Size(), limit)
	}
	ck, err := decodeCheckpoint(f, limit)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCheckpoint, path, err)
	}
	return ck, nil
}

// decodeCheckpoint decodes one checkpoint from at most limit bytes of r
// and checks what needs no run to check: the version, non-negative
// position and sizes, no NaN in the history's shape. The rest (fit to the
// run) is restore's.
func decodeCheckpoint(r io.Reader, limit int64) (ck *checkpoint, err error) {
	defer func() {
		// gob reports some malformed inputs by panicking inside its
		// decoder engine; they are malformed checkpoints here.
		if e := recover(); e != nil {
			ck, err = nil, fmt.Errorf("%w: malformed gob: %v", ErrCheckpoint, e)
		}
	}()
	ck = &checkpoint{}
	if err := gob.NewDecoder(io.LimitReader(r, limit)).Decode(ck); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	if ck.Version != checkpointVersion {
		return nil, fmt.Errorf("%w: version %d, this trainer reads version %d (version 1 checkpoints have no data fingerprint: start the run anew)", ErrCheckpoint, ck.Version, checkpointVersion)
	}
	if ck.Epoch < 0 || ck.Batch < 0 || ck.Steps < 0 || ck.BatchSize <= 0 || ck.Opt.Steps < 0 {
		return nil, fmt.Errorf("%w: position epoch %d, batch %d, steps %d, batch size %d, optimizer steps %d", ErrCheckpoint, ck.Epoch, ck.Batch, ck.Steps, ck.BatchSize, ck.Opt.Steps)
	}
	if len(ck.History) > ck.Epoch {
		return nil, fmt.Errorf("%w: %d epochs of history at epoch %d", ErrCheckpoint, len(ck.History), ck.Epoch)
	}
	if math.IsNaN(ck.AuxWeight) || ck.AuxWeight < 0 {
		return nil, fmt.Errorf("%w: auxiliary weight %g", ErrCheckpoint, ck.AuxWeight)
	}
	return ck, nil
}

// LoadParams reads the parameters of the checkpoint in dir into p (which
// must have every tensor of the checkpoint with the same size).
func LoadParams(dir string, p nn.Params) error {
	ck, err := loadCheckpoint(filepath.Join(dir, checkpointFile), checkpointLimit(p, len(p)))
	if err != nil {
		return err
	}
	return copyParams(ck.Params, p)
}

func copyParams(src map[string][]float32, p nn.Params) error {
	if len(src) != len(p) {
		return fmt.Errorf("%w: %d tensors, model has %d", ErrCheckpoint, len(src), len(p))
	}
	for k, t := range p {
		v, ok := src[k]
		if !ok {
			return fmt.Errorf("%w: tensor %s missing", ErrCheckpoint, k)
		}
		if len(v) != len(t.Data) {
			return fmt.Errorf("%w: tensor %s has %d values, the model %d", ErrCheckpoint, k, len(v), len(t.Data))
		}
	}
	for k, t := range p {
		copy(t.Data, src[k])
	}
	return nil
}

// restore checks ck against the run (stepsPerEpoch batches an epoch, the
// training set's fingerprint) and loads its parameters and optimizer
// state.
func restore(ck *checkpoint, cfg *Config, params [][]float32, stepsPerEpoch int, fingerprint string) error {
	if ck.Model != cfg.Model || !tensor.SameShape(ck.Input, cfg.Graph.InputShape()) || ck.Seed != cfg.Seed || ck.BatchSize != cfg.Batch {
		return fmt.Errorf("%w: checkpoint of %s at %v (seed %d, batch %d), run is %s at %v (seed %d, batch %d)",
			ErrCheckpoint, ck.Model, ck.Input, ck.Seed, ck.BatchSize, cfg.Model, cfg.Graph.InputShape(), cfg.Seed, cfg.Batch)
	}
	if ck.Data != fingerprint {
		return fmt.Errorf("%w: checkpoint trained on data %s, this run's data is %s (another --data or --limit?)", ErrCheckpoint, ck.Data, fingerprint)
	}
	if ck.AuxWeight != cfg.AuxWeight {
		return fmt.Errorf("%w: checkpoint's auxiliary loss weight %g, run's %g", ErrCheckpoint, ck.AuxWeight, cfg.AuxWeight)
	}
	if ck.Epoch > cfg.Epochs || ck.Batch >= stepsPerEpoch || (ck.Epoch == cfg.Epochs && ck.Batch != 0) {
		return fmt.Errorf("%w: position epoch %d batch %d, run has %d epochs of %d batches", ErrCheckpoint, ck.Epoch, ck.Batch, cfg.Epochs, stepsPerEpoch)
	}
	if want := int64(ck.Epoch)*int64(stepsPerEpoch) + int64(ck.Batch); ck.Steps != want || ck.Opt.Steps != want {
		return fmt.Errorf("%w: %d steps done (optimizer %d) at epoch %d batch %d, want %d", ErrCheckpoint, ck.Steps, ck.Opt.Steps, ck.Epoch, ck.Batch, want)
	}
	if err := checkBuffers(ck.Opt, params); err != nil {
		return err
	}
	if err := copyParams(ck.Params, cfg.Params); err != nil {
		return err
	}
	return cfg.Optimizer.SetState(ck.Opt)
}
