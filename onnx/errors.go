package onnx

import (
	"fmt"

	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// The decoder's sentinel errors and error types, re-exported so that
// callers of Load and Run can test errors without importing onnxir: every
// error of this package wraps ErrFormat, ErrUnsupported or ErrInput.
var (
	ErrFormat      = onnxir.ErrFormat      // a malformed model (see onnxir.ErrFormat)
	ErrUnsupported = onnxir.ErrUnsupported // a valid model using an unhandled feature
	ErrLimit       = onnxir.ErrLimit       // a model over a Limits value; also ErrFormat
	ErrUnsafePath  = onnxir.ErrUnsafePath  // an unsafe external-data path; also ErrFormat
)

type (
	// NodeError attributes an error to a graph node (see onnxir.NodeError).
	NodeError = onnxir.NodeError
	// TensorError attributes an error to a named tensor or value.
	TensorError = onnxir.TensorError
)

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

func unsupportedErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

func limitErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLimit}, args...)...)
}
