package onnxir

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// ErrFormat or ErrUnsupported; test with errors.Is.
var (
	// ErrFormat reports a malformed model: undecodable or truncated
	// protobuf, inconsistent tensor sizes, dangling or duplicate edges,
	// cycles, non-finite weights, exceeded limits, unsafe external paths.
	ErrFormat = errors.New("onnx: malformed model")

	// ErrUnsupported reports a well-formed model that uses a feature this
	// package does not handle: an operator domain, attribute kind, data
	// type, IR version or opset outside the supported range.
	ErrUnsupported = errors.New("onnx: unsupported feature")

	// ErrLimit reports that a model exceeds a configured Limits value.
	// Limits are treated as format errors: errors.Is(err, ErrFormat) is
	// also true for every error that wraps ErrLimit.
	ErrLimit = fmt.Errorf("%w: limit exceeded", ErrFormat)

	// ErrUnsafePath reports an external-data location that is absolute,
	// contains "..", or resolves (through symlinks) outside
	// DecodeOptions.BaseDir. errors.Is(err, ErrFormat) is also true.
	ErrUnsafePath = fmt.Errorf("%w: unsafe external data path", ErrFormat)
)

// NodeError attributes an error to a graph node.
type NodeError struct {
	Node string // node name, or "#<index>" for an unnamed node
	Op   string // op_type
	Err  error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("onnx: node %q (%s): %s", e.Node, e.Op, trimPrefix(e.Err))
}

func (e *NodeError) Unwrap() error { return e.Err }

// TensorError attributes an error to a named tensor or value: an
// initializer, a graph input or output, or a tensor-valued attribute.
type TensorError struct {
	Tensor string
	Err    error
}

func (e *TensorError) Error() string {
	return fmt.Sprintf("onnx: tensor %q: %s", e.Tensor, trimPrefix(e.Err))
}

func (e *TensorError) Unwrap() error { return e.Err }

// trimPrefix drops the "onnx: " prefix of the wrapped message so that the
// package prefix appears once.
func trimPrefix(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "onnx: ")
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

func unsupportedErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

func limitErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLimit}, args...)...)
}

func unsafePathErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsafePath}, args...)...)
}
