package conformance

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Sentinel errors. Every error a check returns wraps one of them.
var (
	// ErrMismatch: an output disagrees with its reference beyond the
	// tolerance (a *MismatchError names the element).
	ErrMismatch = errors.New("conformance: output mismatch")
	// ErrMetadata: a registry entry disagrees with what its builder builds.
	ErrMetadata = errors.New("conformance: metadata inconsistent with the builder")
	// ErrForward: a forward pass failed, gave the wrong shape, non-finite
	// values or batch-dependent results.
	ErrForward = errors.New("conformance: forward pass")
	// ErrRoundTrip: the ONNX export did not import back bit for bit.
	ErrRoundTrip = errors.New("conformance: ONNX round trip")
	// ErrNoGolden: a model has no committed golden output.
	ErrNoGolden = errors.New("conformance: no golden")
	// ErrGolden: a golden is malformed or inconsistent with its spec.
	ErrGolden = errors.New("conformance: bad golden")
	// ErrInsensitive: the part of a golden that depends on the network is
	// too flat to test it (see MinSpreadFactor).
	ErrInsensitive = errors.New("conformance: golden not sensitive enough")
	// ErrOracle: an independent reference (ONNX Runtime, torch, the ONNX
	// backend test data) is missing; the message says how to install it.
	ErrOracle = errors.New("conformance: oracle missing")
	// ErrNodeTests: an ONNX backend node test failed unexpectedly, or a
	// known failure passed.
	ErrNodeTests = errors.New("conformance: ONNX node tests")
)

// Tolerance is an allclose tolerance: an element passes when
// |got − want| ≤ ATol + RTol·|want|.
type Tolerance struct {
	RTol float64 `json:"rtol"`
	ATol float64 `json:"atol"`
}

// DefaultTolerance is the project's tolerance for float32 outputs of
// different implementations.
var DefaultTolerance = Tolerance{RTol: 1e-3, ATol: 1e-4}

func (t Tolerance) String() string { return fmt.Sprintf("rtol %g, atol %g", t.RTol, t.ATol) }

// Diff summarises a comparison of got against want.
type Diff struct {
	N        int     `json:"n"`        // elements compared
	MaxAbs   float64 `json:"max_abs"`  // max |got − want|
	MaxRel   float64 `json:"max_rel"`  // max |got − want| / |want| over want ≠ 0
	Failures int     `json:"failures"` // elements outside the tolerance
	First    int     `json:"first"`    // index of the first failing element, −1 if none
	Got      float32 `json:"got"`      // got[First]
	Want     float32 `json:"want"`     // want[First]
}

// OK reports whether every element is within the tolerance.
func (d Diff) OK() bool { return d.Failures == 0 }

// Compare compares got with want element by element. A NaN or infinite
// value in got fails unless want holds the same value; len(got) must equal
// len(want) (missing elements count as failures).
func Compare(got, want []float32, tol Tolerance) Diff {
	d := Diff{N: len(want), First: -1}
	for i := range want {
		w := float64(want[i])
		if i >= len(got) {
			d.fail(i, float32(math.NaN()), want[i])
			continue
		}
		g := float64(got[i])
		if g == w || (math.IsNaN(g) && math.IsNaN(w)) {
			continue
		}
		diff := math.Abs(g - w)
		if math.IsNaN(diff) {
			diff = math.Inf(1)
		}
		d.MaxAbs = math.Max(d.MaxAbs, diff)
		if w != 0 {
			d.MaxRel = math.Max(d.MaxRel, diff/math.Abs(w))
		}
		if !(diff <= tol.ATol+tol.RTol*math.Abs(w)) {
			d.fail(i, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		d.Failures += len(got) - len(want)
		if d.First < 0 {
			d.First, d.Got, d.Want = len(want), got[len(want)], float32(math.NaN())
		}
	}
	return d
}

func (d *Diff) fail(i int, g, w float32) {
	if d.Failures == 0 {
		d.First, d.Got, d.Want = i, g, w
	}
	d.Failures++
}

// MismatchError reports outputs that disagree beyond a tolerance, naming
// the model, the check, the reference and the first failing element.
type MismatchError struct {
	Model     string    // registered name
	Check     string    // "golden", "forward", "roundtrip", "ort", "torch", …
	Reference string    // what want came from
	Shape     []int     // shape of the compared tensor, for the element's index
	Tol       Tolerance //
	Diff      Diff
}

func (e *MismatchError) Error() string {
	d := e.Diff
	return fmt.Sprintf("conformance: %s: %s: element %d %s: got %v, want %v (%s) — %d of %d elements outside %s; max abs %.3g, max rel %.3g",
		e.Model, e.Check, d.First, index(e.Shape, d.First), d.Got, d.Want, e.Reference, d.Failures, d.N, e.Tol, d.MaxAbs, d.MaxRel)
}

// Unwrap returns ErrMismatch.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// index formats flat index i of shape as "[n c …]".
func index(shape []int, i int) string {
	if len(shape) == 0 || i < 0 {
		return "[]"
	}
	idx := make([]string, len(shape))
	for k := len(shape) - 1; k >= 0; k-- {
		if shape[k] <= 0 {
			return "[?]"
		}
		idx[k] = fmt.Sprint(i % shape[k])
		i /= shape[k]
	}
	return "[" + strings.Join(idx, " ") + "]"
}

// compare returns a *MismatchError when got and want disagree, and the
// diff either way.
func compare(model, check, ref string, shape []int, got, want []float32, tol Tolerance) (Diff, error) {
	d := Compare(got, want, tol)
	if !d.OK() {
		return d, &MismatchError{Model: model, Check: check, Reference: ref, Shape: shape, Tol: tol, Diff: d}
	}
	return d, nil
}

// spread returns max − min of v (0 for an empty slice).
func spread(v []float32) float64 {
	if len(v) == 0 {
		return 0
	}
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return float64(hi) - float64(lo)
}

// finite returns the index of the first NaN or infinite value, or −1.
func finite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}
