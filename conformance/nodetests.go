package conformance

import (
	"errors"
	"fmt"

	"github.com/inceptionzoo/inception/internal/nodetest"
)

// ONNXTestData is where Debian's libonnx-testdata installs the ONNX
// backend test data.
const ONNXTestData = nodetest.DataDir

// ONNXTestDataHint says how to install the ONNX backend test data.
const ONNXTestDataHint = nodetest.InstallHint

// KnownFailuresPath is the known-failures list of the ONNX node tests,
// relative to the repository root; package onnx's runner reads it too.
const KnownFailuresPath = nodetest.KnownFailuresPath

// Node-test tolerances: the ONNX backend suite's defaults.
var NodeTolerance = Tolerance{RTol: nodetest.RTol, ATol: nodetest.ATol}

// NodeTestCases returns the in-scope ONNX backend tests (directories
// relative to ONNXTestData): the module's single list, shared with package
// onnx's runner.
func NodeTestCases() ([]string, error) {
	cases, err := nodetest.Cases()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNodeTests, err)
	}
	return cases, nil
}

// ReadKnownFailures reads "<test_dir> <reason>" lines ('#' comments).
func ReadKnownFailures(path string) (map[string]string, error) {
	m, err := nodetest.ReadKnownFailures(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNodeTests, err)
	}
	return m, nil
}

// NodeConfig configures RunNodeTests.
type NodeConfig struct {
	DataDir       string   // "" means ONNXTestData
	KnownFailures string   // path of the known-failures list (required)
	Cases         []string // nil means NodeTestCases()
}

// OpSummary counts one operator's node tests.
type OpSummary = nodetest.OpSummary

// NodeFailure is an unexpected node-test result.
type NodeFailure = nodetest.Failure

// NodeSummary is the result of RunNodeTests.
type NodeSummary = nodetest.Summary

// RunNodeTests runs each case's model with onnx.LoadReader on every
// test_data_set_* and compares with its outputs (NodeTolerance; integer
// outputs exactly). A case must pass unless the known-failures list names
// it, and a listed case that passes is a failure too, so the list stays
// exact. Missing test data is ErrOracle; unexpected results ErrNodeTests
// (the summary is returned either way).
func RunNodeTests(cfg NodeConfig) (*NodeSummary, error) {
	if err := nodetest.CheckData(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOracle, err)
	}
	known, err := ReadKnownFailures(cfg.KnownFailures)
	if err != nil {
		return nil, err
	}
	s, err := nodetest.Run(nodetest.Config{DataDir: cfg.DataDir, Cases: cfg.Cases, Known: known})
	switch {
	case errors.Is(err, nodetest.ErrNoData):
		return s, fmt.Errorf("%w: %w", ErrOracle, err)
	case err != nil:
		return s, fmt.Errorf("%w: %w", ErrNodeTests, err)
	}
	return s, nil
}
