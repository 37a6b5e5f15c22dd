package onnx_test

import (
	"errors"
	"testing"

	"github.com/inceptionzoo/inception/internal/nodetest"
	"github.com/inceptionzoo/inception/internal/testkit"
)

// TestONNXNodeTestsRun runs the in-scope backend tests (nodetest.Cases)
// through onnx.Load: each must pass unless it is a known failure
// (testdata/node_known_failures.txt, with a reason), and a known failure
// that passes, or that is not in scope, is an error too (so the list stays
// accurate).
func TestONNXNodeTestsRun(t *testing.T) {
	if err := nodetest.CheckData(""); err != nil {
		testkit.Missing(t, "%v", err)
	}
	known, err := nodetest.ReadKnownFailures("testdata/node_known_failures.txt")
	if err != nil {
		t.Fatal(err)
	}
	s, err := nodetest.Run(nodetest.Config{
		Known: known,
		OnKnown: func(c, reason string, err error) {
			t.Logf("known failure %s (%s): %v", c, reason, err)
		},
	})
	if err != nil && !errors.Is(err, nodetest.ErrUnexpected) {
		t.Fatal(err)
	}
	for _, f := range s.Failures {
		t.Errorf("%s: %s", f.Case, f.Error)
	}
	for _, op := range s.Ops {
		t.Logf("%-20s %3d/%-3d pass, %d known failures", op.Op, op.Pass, op.Total, op.Known)
	}
	if s.Pass == 0 {
		t.Errorf("no node test passed out of %d", s.Total)
	}
}
