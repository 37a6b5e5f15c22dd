//go:build !ort || !cgo

package ort

import "github.com/inceptionzoo/inception/tensor"

// Built reports whether the real ONNX Runtime binding is compiled in (cgo
// and the ort build tag).
const Built = false

// Init would load the ONNX Runtime library; without the ort tag and cgo it
// returns ErrNotBuilt.
func Init() error { return ErrNotBuilt }

// LibraryVersion would report the loaded library's version; without the ort
// tag and cgo it returns "".
func LibraryVersion() string { return "" }

// Session would be an ONNX Runtime inference session; without the ort tag
// and cgo none can be created.
type Session struct{}

// NewSession returns ErrNotBuilt without the ort tag and cgo.
func NewSession(modelPath string, intraOpThreads int) (*Session, error) {
	return nil, ErrNotBuilt
}

// InputNames returns nil: no stub session exists.
func (s *Session) InputNames() []string { return nil }

// OutputNames returns nil: no stub session exists.
func (s *Session) OutputNames() []string { return nil }

// Run returns ErrNotBuilt.
func (s *Session) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return nil, ErrNotBuilt
}

// Close returns nil.
func (s *Session) Close() error { return nil }
