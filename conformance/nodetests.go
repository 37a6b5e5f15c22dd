package conformance

import (
	"bufio"
	"bytes"
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
	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// ONNXTestData is where Debian's libonnx-testdata installs the ONNX
// backend test data.
const ONNXTestData = "/usr/share/libonnx-testdata/data"

// ONNXTestDataHint says how to install the ONNX backend test data.
const ONNXTestDataHint = "apt-get install libonnx-testdata (or scripts/setup.sh)"

// KnownFailuresPath is the known-failures list of package onnx's node-test
// runner, relative to the repository root; both runners read it.
const KnownFailuresPath = "onnx/testdata/node_known_failures.txt"

// Node-test tolerances: the ONNX backend suite's defaults.
var NodeTolerance = Tolerance{RTol: 1e-3, ATol: 1e-7}

// NodeTestCases returns the in-scope ONNX backend tests (directories
// relative to ONNXTestData): testdata/node_tests.txt, a copy of package
// onnx's list kept identical by a test.
func NodeTestCases() ([]string, error) {
	f, err := testdata.Open("testdata/node_tests.txt")
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	defer f.Close()
	var out []string
	err = eachLine(f, func(line string) error {
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

// ReadKnownFailures reads "<test_dir> <reason>" lines ('#' comments).
func ReadKnownFailures(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("conformance: known node-test failures: %w", err)
	}
	defer f.Close()
	m := map[string]string{}
	err = eachLine(f, func(line string) error {
		dir, reason, ok := strings.Cut(line, " ")
		if !ok || strings.TrimSpace(reason) == "" {
			return fmt.Errorf("%w: %s: line %q has no reason", ErrNodeTests, path, line)
		}
		m[dir] = strings.TrimSpace(reason)
		return nil
	})
	return m, err
}

// NodeConfig configures RunNodeTests.
type NodeConfig struct {
	DataDir       string   // "" means ONNXTestData
	KnownFailures string   // path of the known-failures list (required)
	Cases         []string // nil means NodeTestCases()
}

// OpSummary counts one operator's node tests.
type OpSummary struct {
	Op    string `json:"op"`
	Pass  int    `json:"pass"`
	Known int    `json:"known"` // known failures that failed
	Total int    `json:"total"`
}

// NodeFailure is an unexpected node-test result.
type NodeFailure struct {
	Case  string `json:"case"`
	Error string `json:"error"`
}

// NodeSummary is the result of RunNodeTests.
type NodeSummary struct {
	Ops      []OpSummary   `json:"ops"`
	Pass     int           `json:"pass"`
	Known    int           `json:"known"`
	Total    int           `json:"total"`
	Failures []NodeFailure `json:"failures,omitempty"` // unexpected failures and passing known failures
}

// RunNodeTests runs each case's model with onnx.LoadReader on every
// test_data_set_* and compares with its outputs (NodeTolerance; integer
// outputs exactly). A case must pass unless the known-failures list names
// it, and a listed case that passes is a failure too, so the list stays
// exact. Missing test data is ErrOracle; unexpected results ErrNodeTests
// (the summary is returned either way).
func RunNodeTests(cfg NodeConfig) (*NodeSummary, error) {
	if cfg.DataDir == "" {
		cfg.DataDir = ONNXTestData
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "node")); err != nil {
		return nil, fmt.Errorf("%w: ONNX backend test data (%w); install with: %s", ErrOracle, err, ONNXTestDataHint)
	}
	cases := cfg.Cases
	if cases == nil {
		var err error
		if cases, err = NodeTestCases(); err != nil {
			return nil, err
		}
	}
	known, err := ReadKnownFailures(cfg.KnownFailures)
	if err != nil {
		return nil, err
	}
	s := &NodeSummary{}
	for k := range known {
		if !slices.Contains(cases, k) {
			s.Failures = append(s.Failures, NodeFailure{Case: k, Error: "listed as a known failure but not in the node-test list"})
		}
	}
	perOp := map[string]*OpSummary{}
	for _, c := range cases {
		dir := filepath.Join(cfg.DataDir, c)
		op := nodeTestOp(dir)
		if perOp[op] == nil {
			perOp[op] = &OpSummary{Op: op}
		}
		perOp[op].Total++
		s.Total++
		err := runNodeTest(dir)
		reason, isKnown := known[c]
		switch {
		case err == nil && isKnown:
			s.Failures = append(s.Failures, NodeFailure{Case: c, Error: fmt.Sprintf("passes but is listed as a known failure (%s)", reason)})
		case err == nil:
			perOp[op].Pass++
			s.Pass++
		case isKnown:
			perOp[op].Known++
			s.Known++
		default:
			s.Failures = append(s.Failures, NodeFailure{Case: c, Error: err.Error()})
		}
	}
	for _, o := range perOp {
		s.Ops = append(s.Ops, *o)
	}
	sort.Slice(s.Ops, func(i, j int) bool { return s.Ops[i].Op < s.Ops[j].Op })
	sort.Slice(s.Failures, func(i, j int) bool { return s.Failures[i].Case < s.Failures[j].Case })
	if len(s.Failures) > 0 {
		return s, fmt.Errorf("%w: %d unexpected results, first %s: %s", ErrNodeTests, len(s.Failures), s.Failures[0].Case, s.Failures[0].Error)
	}
	return s, nil
}

// nodeModelBytes returns dir/model.onnx with a default-domain opset
// below onnx.MinOpset raised to it (the operators in scope kept their
// semantics from those versions; see package onnx's runner).
func nodeModelBytes(dir string) ([]byte, error) {
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
		if (oi.GetDomain() == "" || oi.GetDomain() == "ai.onnx") && oi.GetVersion() < onnx.MinOpset {
			oi.Version = proto.Int64(onnx.MinOpset)
			bumped = true
		}
	}
	if !bumped {
		return b, nil
	}
	return proto.Marshal(&mp)
}

// nodeTestOp names the operator a test exercises: the op of its first
// non-Constant node.
func nodeTestOp(dir string) string {
	b, err := nodeModelBytes(dir)
	if err != nil {
		return "(unreadable)"
	}
	g, err := onnx.Decode(bytes.NewReader(b), onnx.DecodeOptions{})
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

func runNodeTest(dir string) error {
	b, err := nodeModelBytes(dir)
	if err != nil {
		return err
	}
	m, err := onnx.LoadReader(bytes.NewReader(b), onnx.LoadOptions{Decode: onnx.DecodeOptions{BaseDir: dir}})
	if err != nil {
		return err
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return fmt.Errorf("no test_data_set_* in %s", dir)
	}
	for _, set := range sets {
		ins := map[string]*onnx.Tensor{}
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
			if err := nodeCompare(outs[name], want); err != nil {
				return fmt.Errorf("%s output %d (%s): %w", filepath.Base(set), k, name, err)
			}
		}
	}
	return nil
}

func decodeFile(path string) (*onnx.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return onnx.DecodeTensor(f, onnx.DefaultLimits)
}

func nodeCompare(got, want *onnx.Tensor) error {
	switch {
	case got == nil:
		return fmt.Errorf("missing output")
	case !slices.Equal(got.Dims, want.Dims):
		return fmt.Errorf("shape %v, want %v", got.Dims, want.Dims)
	case want.Int != nil && got.Int == nil:
		return fmt.Errorf("float output, want %v", want.DType)
	case want.Int == nil && got.Float == nil:
		return fmt.Errorf("integer output, want %v", want.DType)
	}
	if want.Int != nil {
		for i := range want.Int {
			if got.Int[i] != want.Int[i] {
				return fmt.Errorf("element %d: got %d, want %d", i, got.Int[i], want.Int[i])
			}
		}
		return nil
	}
	for i := range want.Float {
		g, w := float64(got.Float[i]), float64(want.Float[i])
		if (math.IsNaN(g) && math.IsNaN(w)) || (math.IsInf(w, 0) && g == w) {
			continue
		}
		if !(math.Abs(g-w) <= NodeTolerance.ATol+NodeTolerance.RTol*math.Abs(w)) {
			return fmt.Errorf("element %d: got %v, want %v (%s)", i, got.Float[i], want.Float[i], NodeTolerance)
		}
	}
	return nil
}
