package conformance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"testing"

	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// Options configures CheckModel and Run.
type Options struct {
	// Golden holds the goldens, one directory per model (see LoadGolden);
	// nil means Goldens(), the committed conformance/testdata.
	Golden fs.FS
	// SkipGolden skips the golden comparison (and the ORT check); the
	// model then runs with GoldenWeightSeed on the default golden input.
	SkipGolden bool
	// Tolerance overrides the golden's tolerance (zero: the golden's for
	// the golden and ORT checks, DefaultTolerance for the others).
	Tolerance Tolerance
	// ORT also re-verifies the golden against live ONNX Runtime.
	ORT bool
	// Torch, when set, also runs the model's torch twin cases.
	Torch *TorchEnv
	// TempDir holds the exports; "" means a new temporary directory,
	// removed afterwards.
	TempDir string
}

// Status is the outcome of one check.
type Status string

// Statuses. Missing means an oracle is not installed: a failure when CI
// is true, a skip otherwise.
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Skip    Status = "skip"
	Missing Status = "missing"
)

// Result is one check of one model.
type Result struct {
	Check  string `json:"check"` // metadata, forward, golden, roundtrip, ort, torch
	Status Status `json:"status"`
	Detail string `json:"detail,omitempty"` // what passed, or why not
	Err    error  `json:"-"`
}

// Check names, in the order CheckModel runs them.
const (
	CheckMetadataName  = "metadata"
	CheckForwardName   = "forward"
	CheckGoldenName    = "golden"
	CheckRoundTripName = "roundtrip"
	CheckORTName       = "ort"
	CheckTorchName     = "torch"
)

// Report is everything CheckModel found about one model.
type Report struct {
	Model     string         `json:"model"`
	Metadata  *Metadata      `json:"metadata,omitempty"`
	Golden    *GoldenResult  `json:"golden,omitempty"`
	RoundTrip *RoundTrip     `json:"roundtrip,omitempty"`
	ORT       *Diff          `json:"ort,omitempty"`
	Torch     []*TorchResult `json:"torch,omitempty"`
	Results   []Result       `json:"results"`
}

// Result returns the named check's result, or nil.
func (r *Report) Result(check string) *Result {
	for i := range r.Results {
		if r.Results[i].Check == check {
			return &r.Results[i]
		}
	}
	return nil
}

// Failed reports whether a check failed, or (with ci) an oracle was
// missing.
func (r *Report) Failed(ci bool) bool {
	for _, res := range r.Results {
		if res.Status == Fail || (ci && res.Status == Missing) {
			return true
		}
	}
	return false
}

func (r *Report) add(check string, err error, detail string, args ...any) {
	res := Result{Check: check, Status: Pass, Detail: fmt.Sprintf(detail, args...), Err: err}
	switch {
	case errors.Is(err, ErrOracle):
		res.Status, res.Detail = Missing, err.Error()
	case err != nil:
		res.Status, res.Detail = Fail, err.Error()
	}
	r.Results = append(r.Results, res)
}

func (r *Report) skip(check, why string) {
	r.Results = append(r.Results, Result{Check: check, Status: Skip, Detail: why})
}

// CheckModel runs every check on one registered model and reports each
// (it does not stop at the first failure, except that checks needing the
// model's outputs are skipped when it cannot be loaded or run):
//
//   - metadata: CheckMetadata;
//   - forward: the model loaded with the golden's weight seed, run by the
//     zoo engine at batch 1 on the golden input and at batch 2
//     (CheckForward);
//   - golden: the batch-1 output against the golden (CheckGolden); a
//     model without a golden fails, naming the update command;
//   - roundtrip: export, decode, import bit for bit, and the onnx runner
//     on the export at batch 2 against the engine (CheckRoundTrip);
//   - ort (Options.ORT): CheckORT;
//   - torch (Options.Torch): CheckTorchTwin for each of TorchCasesFor.
func CheckModel(reg *registry.Registry, name string, opts Options) *Report {
	r := &Report{Model: name}
	e, err := reg.Lookup(name)
	if err != nil {
		r.add(CheckMetadataName, fmt.Errorf("%w: %w", ErrMetadata, err), "")
		return r
	}
	name, r.Model = e.Name, e.Name
	md, err := CheckMetadata(e)
	r.Metadata = md
	r.add(CheckMetadataName, err, "params %d = reference, MACs %d = reference", md.Params, md.MACs)

	tol := func(golden *Golden) Tolerance {
		if opts.Tolerance != (Tolerance{}) {
			return opts.Tolerance
		}
		if golden != nil {
			return golden.Spec.Tolerance()
		}
		return DefaultTolerance
	}
	var g *Golden
	var gerr error
	if !opts.SkipGolden {
		fsys := opts.Golden
		if fsys == nil {
			fsys = Goldens()
		}
		g, gerr = LoadGolden(fsys, name)
		if gerr == nil {
			gerr = goldenFits(g, e)
		}
		if gerr != nil {
			g = nil
		}
	}
	seed := uint64(GoldenWeightSeed)
	x := defaultInput(e.Input)
	if g != nil {
		seed, x = g.Spec.WeightSeed, g.Input
	}

	dir := opts.TempDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "conformance-"); err != nil {
			r.add(CheckForwardName, fmt.Errorf("conformance: %w", err), "")
			return r
		}
		defer os.RemoveAll(dir)
	}

	m, err := zoo.Load(name, zoo.WithRegistry(reg), zoo.WithSeed(seed))
	var f *Forward
	if err != nil {
		r.add(CheckForwardName, fmt.Errorf("%w: %s: %w", ErrForward, name, err), "")
	} else {
		f, err = CheckForward(m, x, tol(nil))
		r.add(CheckForwardName, err, "batch 1 and 2 finite, batch-independent (max abs %.3g)", f.Batch.MaxAbs)
		if err != nil && (f.Y1 == nil || f.Y2 == nil) {
			f = nil
		}
	}

	switch {
	case opts.SkipGolden:
		r.skip(CheckGoldenName, "SkipGolden")
	case gerr != nil:
		r.add(CheckGoldenName, gerr, "")
	case f == nil:
		r.skip(CheckGoldenName, "no output to compare (see forward)")
	default:
		r.Golden, err = CheckGolden(m, g, f.Y1, tol(g))
		r.add(CheckGoldenName, err, "max abs %.3g, max rel %.3g vs %s (%s); network spread %.3g",
			r.Golden.Diff.MaxAbs, r.Golden.Diff.MaxRel, g.Spec.Reference, tol(g), r.Golden.NetworkSpread)
	}

	if f == nil {
		r.skip(CheckRoundTripName, "no output to compare (see forward)")
	} else {
		r.RoundTrip, err = CheckRoundTrip(m, f.X2, f.Y2, tol(nil), dir)
		r.add(CheckRoundTripName, err, "%d weights bit-identical; onnx runner max abs %.3g", r.RoundTrip.Weights, r.RoundTrip.Runner.MaxAbs)
	}

	switch {
	case !opts.ORT:
		r.skip(CheckORTName, "not requested")
	case g == nil:
		r.skip(CheckORTName, "no golden")
	case m == nil:
		r.skip(CheckORTName, "model did not load")
	default:
		d, err := CheckORT(m, g, tol(g), dir)
		if err == nil || errors.Is(err, ErrMismatch) {
			r.ORT = &d
		}
		r.add(CheckORTName, err, "live onnxruntime vs committed golden: max abs %.3g, max rel %.3g", d.MaxAbs, d.MaxRel)
	}
	m, f = nil, nil // let the big models go before the torch twins load theirs

	cases := TorchCasesFor(name)
	switch {
	case len(cases) == 0:
		r.skip(CheckTorchName, "no torch twin")
	case opts.Torch == nil:
		r.skip(CheckTorchName, "not requested")
	default:
		var errs []error
		worst := Diff{}
		for _, c := range cases {
			tr, err := CheckTorchTwin(opts.Torch, reg, c, tol(nil))
			r.Torch = append(r.Torch, tr)
			errs = append(errs, err)
			for _, d := range []Diff{tr.Zoo, tr.Runner} {
				worst.MaxAbs, worst.MaxRel = max(worst.MaxAbs, d.MaxAbs), max(worst.MaxRel, d.MaxRel)
			}
		}
		r.add(CheckTorchName, errors.Join(errs...), "%d cases, zoo twin and onnx runner vs torch: max abs %.3g, max rel %.3g", len(cases), worst.MaxAbs, worst.MaxRel)
	}
	return r
}

// goldenFits checks a golden's spec against the registry entry.
func goldenFits(g *Golden, e registry.Entry) error {
	if want := append([]int{1}, e.Input...); !slices.Equal(g.Spec.InputShape, want) {
		return fmt.Errorf("%w: %s: golden input %v, model input %v: regenerate with %s", ErrGolden, e.Name, g.Spec.InputShape, want, UpdateCommand)
	}
	if want := []int{1, e.Classes}; !slices.Equal(g.Spec.OutputShape, want) {
		return fmt.Errorf("%w: %s: golden output %v, model output %v: regenerate with %s", ErrGolden, e.Name, g.Spec.OutputShape, want, UpdateCommand)
	}
	return nil
}

// Run checks one registered model in a test (see CheckModel): each
// failing check is a t.Errorf naming the model and the check, a missing
// oracle is an error under CI=true and a log line otherwise, and passing
// or skipped checks are logged. It returns the report.
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, registry.Default, "inception-v3", conformance.Options{})
//	}
func Run(t testing.TB, reg *registry.Registry, name string, opts Options) *Report {
	t.Helper()
	r := CheckModel(reg, name, opts)
	ci := CI()
	for _, res := range r.Results {
		switch {
		case res.Status == Fail, res.Status == Missing && ci:
			t.Errorf("%s: %s check: %s", r.Model, res.Check, res.Detail)
		default:
			t.Logf("%s: %s: %s: %s", r.Model, res.Check, res.Status, res.Detail)
		}
	}
	return r
}

// defaultInput is the golden input of a model with per-sample input
// shape, as UpdateGolden makes it.
func defaultInput(shape []int) *tensor.Tensor {
	return GoldenInput(&Spec{InputShape: append([]int{1}, shape...), InputSeed: GoldenInputSeed, InputKey: GoldenInputKey, InputRange: [2]float32{-1, 1}})
}
