//go:build !ort || !cgo

package ort

import (
	"errors"
	"testing"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/tensor"
)

func TestStubReturnsErrNotBuilt(t *testing.T) {
	if Built {
		t.Fatal("Built = true in a build without the ort tag and cgo")
	}
	s, err := NewSession(testkit.SharedFile(t, "onnx-light", "light_inception_v1.onnx"), 0)
	tests := []struct {
		name string
		err  error
	}{
		{"Init", Init()},
		{"NewSession", err},
		{"Run", func() error {
			_, err := (&Session{}).Run(map[string]*tensor.Tensor{"x": tensor.New(1)})
			return err
		}()},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, ErrNotBuilt) {
			t.Errorf("%s: got %v, want ErrNotBuilt", tc.name, tc.err)
		}
	}
	if s != nil {
		t.Errorf("NewSession returned %v, want nil", s)
	}
	if got := LibraryVersion(); got != "" {
		t.Errorf("LibraryVersion() = %q, want \"\"", got)
	}
	const want = "ONNX Runtime oracle not built: run with CGO_ENABLED=1 -tags ort after scripts/setup.sh"
	if got := ErrNotBuilt.Error(); got != "ort: "+want {
		t.Errorf("ErrNotBuilt = %q, want %q", got, "ort: "+want)
	}
}
