// Package nodetest runs the ONNX backend node tests (Debian's
// libonnx-testdata) that are in scope for package onnx's runner, for both
// package onnx's tests and package conformance.
//
// It owns the single list of cases in scope (testdata/in_scope.txt,
// embedded; see Cases), the parsing of the known-failures list
// (KnownFailuresPath, "<test_dir> <reason>" lines), running one case
// (RunCase: onnx.LoadReader on every test_data_set_*, outputs compared by
// Compare with the suite's tolerances) and the whole run with its per-op
// summary (Run). A case must pass unless the known-failures list names it,
// and a listed case that passes is an unexpected result too, so the list
// stays exact.
package nodetest

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// DataDir is where Debian's libonnx-testdata installs the ONNX backend
// test data (<DataDir>/node/<test>/model.onnx,
// test_data_set_N/{input,output}_M.pb).
const DataDir = "/usr/share/libonnx-testdata/data"

// InstallHint says how to install the ONNX backend test data.
const InstallHint = "apt-get install libonnx-testdata (or scripts/setup.sh)"

// KnownFailuresPath is the known-failures list, relative to the repository
// root.
const KnownFailuresPath = "onnx/testdata/node_known_failures.txt"

// Tolerances of Compare for float outputs: the ONNX backend suite's
// defaults. Integer outputs are compared exactly.
const (
	RTol = 1e-3
	ATol = 1e-7
)

var (
	// ErrNoData: the ONNX backend test data is not installed.
	ErrNoData = errors.New("nodetest: ONNX backend test data missing")
	// ErrList: a malformed case or known-failures list.
	ErrList = errors.New("nodetest: malformed list")
	// ErrUnexpected: a case failed without being a known failure, or a
	// known failure passed or is not in scope.
	ErrUnexpected = errors.New("nodetest: unexpected node-test results")
)

//go:embed testdata/in_scope.txt
var inScope string

// Cases returns the in-scope test directories, relative to DataDir, in the
// list's order.
func Cases() ([]string, error) {
	var out []string
	err := eachLine(strings.NewReader(inScope), func(line string) error {
		if strings.ContainsAny(line, " \t") {
			return fmt.Errorf("%w: in_scope.txt: line %q has more than a directory", ErrList, line)
		}
		out = append(out, line)
		return nil
	})
	return out, err
}

// eachLine calls fn on every non-blank line that is not a '#' comment.
func eachLine(r io.Reader, fn func(string) error) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return sc.Err()
}

// ParseKnownFailures reads "<test_dir> <reason>" lines ('#' comments) into
// a map from test directory to reason; name labels errors.
func ParseKnownFailures(r io.Reader, name string) (map[string]string, error) {
	m := map[string]string{}
	err := eachLine(r, func(line string) error {
		dir, reason, ok := strings.Cut(line, " ")
		if !ok || strings.TrimSpace(reason) == "" {
			return fmt.Errorf("%w: %s: line %q has no reason", ErrList, name, line)
		}
		m[dir] = strings.TrimSpace(reason)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ReadKnownFailures reads the known-failures file at path (see
// ParseKnownFailures).
func ReadKnownFailures(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nodetest: known failures: %w", err)
	}
	defer f.Close()
	return ParseKnownFailures(f, path)
}

// CheckData returns an error wrapping ErrNoData, with InstallHint, when
// dataDir ("" means DataDir) has no node/ directory.
func CheckData(dataDir string) error {
	if dataDir == "" {
		dataDir = DataDir
	}
	if _, err := os.Stat(filepath.Join(dataDir, "node")); err != nil {
		return fmt.Errorf("%w (%w); install with: %s", ErrNoData, err, InstallHint)
	}
	return nil
}

// ModelBytes returns dir/model.onnx. Models that import a default-domain
// opset below onnxir.MinOpset (the pytorch-converted and pytorch-operator
// cases are opset 6, test_globalaveragepool opset 1) are returned with it
// raised to onnxir.MinOpset: the operators in scope kept their semantics
// from those versions to opset 7, except the legacy broadcast attributes
// of Add/Sub/Mul/Div/Gemm, which the known-failures list names where they
// matter.
func ModelBytes(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nil, err
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(b, &mp); err != nil {
		return nil, fmt.Errorf("model.onnx: %w", err)
	}
	bumped := false
	for _, oi := range mp.OpsetImport {
		if (oi.GetDomain() == "" || oi.GetDomain() == "ai.onnx") && oi.GetVersion() < onnxir.MinOpset {
			oi.Version = proto.Int64(onnxir.MinOpset)
			bumped = true
		}
	}
	if !bumped {
		return b, nil
	}
	return proto.Marshal(&mp)
}

// Op names the operator a test directory exercises, for the summary: the
// op of its first non-Constant node ("(unreadable)" or "(undecodable)"
// when the model cannot be read).
func Op(dir string) string {
	b, err := ModelBytes(dir)
	if err != nil {
		return "(unreadable)"
	}
	g, err := onnxir.Decode(bytes.NewReader(b), onnxir.DecodeOptions{})
	if err != nil || len(g.Nodes) == 0 {
		return "(undecodable)"
	}
	for _, n := range g.Nodes {
		if n.OpType != "Constant" {
			return n.OpType
		}
	}
	return g.Nodes[0].OpType
}

// RunCase loads dir/model.onnx (ModelBytes) with onnx.LoadReader, runs it
// on every test_data_set_* and compares its outputs (Compare).
func RunCase(dir string) error {
	b, err := ModelBytes(dir)
	if err != nil {
		return err
	}
	m, err := onnx.LoadReader(bytes.NewReader(b), onnx.LoadOptions{Decode: onnxir.DecodeOptions{BaseDir: dir}})
	if err != nil {
		return err
	}
	sets, err := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		return fmt.Errorf("no test_data_set_* in %s", dir)
	}
	for _, set := range sets {
		ins := map[string]*onnxir.Tensor{}
		for k, name := range m.InputNames() {
			t, err := decodeFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", k)))
			if err != nil {
				return err
			}
			ins[name] = t
		}
		outs, err := m.RunTensors(ins)
		if err != nil {
			return err
		}
		for k, name := range m.OutputNames() {
			want, err := decodeFile(filepath.Join(set, fmt.Sprintf("output_%d.pb", k)))
			if err != nil {
				return err
			}
			if err := Compare(outs[name], want); err != nil {
				return fmt.Errorf("%s output %d (%s): %w", filepath.Base(set), k, name, err)
			}
		}
	}
	return nil
}

func decodeFile(path string) (*onnxir.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return onnxir.DecodeTensor(f, onnxir.DefaultLimits)
}

// Compare checks got against want: equal dims and kind (integer or float),
// integers exactly, floats within |got-want| <= ATol + RTol*|want| (NaN
// matches NaN, an infinity itself). The error names the first mismatch.
func Compare(got, want *onnxir.Tensor) error {
	switch {
	case got == nil:
		return errors.New("missing output")
	case want == nil:
		return errors.New("missing reference")
	case !slices.Equal(got.Dims, want.Dims):
		return fmt.Errorf("shape %v, want %v", got.Dims, want.Dims)
	case want.Int != nil && got.Int == nil:
		return fmt.Errorf("got float output, want %v", want.DType)
	case want.Int == nil && got.Float == nil:
		return fmt.Errorf("got integer output, want %v", want.DType)
	}
	if want.Int != nil {
		if len(got.Int) != len(want.Int) {
			return fmt.Errorf("%d elements, want %d", len(got.Int), len(want.Int))
		}
		for i := range want.Int {
			if got.Int[i] != want.Int[i] {
				return fmt.Errorf("element %d: got %d, want %d", i, got.Int[i], want.Int[i])
			}
		}
		return nil
	}
	if len(got.Float) != len(want.Float) {
		return fmt.Errorf("%d elements, want %d", len(got.Float), len(want.Float))
	}
	for i := range want.Float {
		g, w := float64(got.Float[i]), float64(want.Float[i])
		if (math.IsNaN(g) && math.IsNaN(w)) || (math.IsInf(w, 0) && g == w) {
			continue
		}
		if !(math.Abs(g-w) <= ATol+RTol*math.Abs(w)) {
			return fmt.Errorf("element %d: got %v, want %v (rtol %g, atol %g)", i, got.Float[i], want.Float[i], RTol, ATol)
		}
	}
	return nil
}

// Config configures Run.
type Config struct {
	DataDir string            // "" means DataDir
	Cases   []string          // nil means Cases()
	Known   map[string]string // known failures: test directory → reason
	// RunCase runs one case directory; nil means RunCase.
	RunCase func(dir string) error
	// OnKnown, if set, is called for every known failure that failed as
	// expected.
	OnKnown func(c, reason string, err error)
}

// OpSummary counts one operator's node tests.
type OpSummary struct {
	Op    string `json:"op"`
	Pass  int    `json:"pass"`
	Known int    `json:"known"` // known failures that failed
	Total int    `json:"total"`
}

// Failure is an unexpected node-test result.
type Failure struct {
	Case  string `json:"case"`
	Error string `json:"error"`
}

// Summary is the result of Run.
type Summary struct {
	Ops      []OpSummary `json:"ops"` // by op name
	Pass     int         `json:"pass"`
	Known    int         `json:"known"`
	Total    int         `json:"total"`
	Failures []Failure   `json:"failures,omitempty"` // by case: unexpected failures, passing or out-of-scope known failures
}

// Run runs every case (cfg.RunCase on DataDir/case) and tallies the
// results per operator. A case must pass unless cfg.Known lists it; a
// listed case that passes, or that is not among the cases, is a Failure
// too. Missing test data is ErrNoData (no summary); unexpected results are
// ErrUnexpected, with the summary.
func Run(cfg Config) (*Summary, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = DataDir
	}
	if err := CheckData(cfg.DataDir); err != nil {
		return nil, err
	}
	cases := cfg.Cases
	if cases == nil {
		var err error
		if cases, err = Cases(); err != nil {
			return nil, err
		}
	}
	run := cfg.RunCase
	if run == nil {
		run = RunCase
	}
	s := &Summary{}
	for k := range cfg.Known {
		if !slices.Contains(cases, k) {
			s.Failures = append(s.Failures, Failure{Case: k, Error: "listed as a known failure but not in the node-test list"})
		}
	}
	perOp := map[string]*OpSummary{}
	for _, c := range cases {
		dir := filepath.Join(cfg.DataDir, c)
		op := Op(dir)
		if perOp[op] == nil {
			perOp[op] = &OpSummary{Op: op}
		}
		perOp[op].Total++
		s.Total++
		err := run(dir)
		reason, isKnown := cfg.Known[c]
		switch {
		case err == nil && isKnown:
			s.Failures = append(s.Failures, Failure{Case: c, Error: fmt.Sprintf("passes but is listed as a known failure (%s): remove it from the known-failures list", reason)})
		case err == nil:
			perOp[op].Pass++
			s.Pass++
		case isKnown:
			perOp[op].Known++
			s.Known++
			if cfg.OnKnown != nil {
				cfg.OnKnown(c, reason, err)
			}
		default:
			s.Failures = append(s.Failures, Failure{Case: c, Error: err.Error()})
		}
	}
	for _, o := range perOp {
		s.Ops = append(s.Ops, *o)
	}
	sort.Slice(s.Ops, func(i, j int) bool { return s.Ops[i].Op < s.Ops[j].Op })
	sort.Slice(s.Failures, func(i, j int) bool { return s.Failures[i].Case < s.Failures[j].Case })
	if len(s.Failures) > 0 {
		return s, fmt.Errorf("%w: %d, first %s: %s", ErrUnexpected, len(s.Failures), s.Failures[0].Case, s.Failures[0].Error)
	}
	return s, nil
}
