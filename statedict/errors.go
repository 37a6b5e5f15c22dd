package statedict

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error that Read and ReadFile return for bad input
// wraps exactly one of ErrFormat or ErrUnsupported; test with errors.Is.
// Failures of the underlying reader itself (a missing file, an I/O error)
// are returned wrapped as they are.
var (
	// ErrFormat reports a malformed file: truncated data, a broken
	// pickle, inconsistent sizes, offsets or strides outside a storage,
	// a zip entry whose size or checksum does not match, a non-finite
	// weight, or an exceeded limit.
	ErrFormat = errors.New("statedict: malformed file")

	// ErrUnsupported reports a well-formed file this package does not
	// read: an ONNX model, a TorchScript archive, a whole pickled
	// nn.Module, a complex or quantized dtype, big-endian data, or a
	// pickle opcode that state dicts never use.
	ErrUnsupported = errors.New("statedict: unsupported file")

	// ErrLimit reports that a file exceeds a Limits value. Limits are
	// treated as format errors: errors.Is(err, ErrFormat) is also true.
	ErrLimit = fmt.Errorf("%w: limit exceeded", ErrFormat)

	// ErrForbidden reports a pickle that names a Python global outside
	// the small set a state dict needs (see GlobalError). The pickle may
	// be well-formed, so errors.Is(err, ErrUnsupported) is also true.
	ErrForbidden = fmt.Errorf("%w: forbidden global", ErrUnsupported)
)

// GlobalError names a Python global (a GLOBAL or STACK_GLOBAL opcode)
// that the unpickler refused. Nothing is ever imported or called: the
// unpickler only knows the globals listed in the package documentation.
type GlobalError struct {
	Module, Name string
}

func (e *GlobalError) Error() string {
	msg := fmt.Sprintf("statedict: global %q is not allowed in a state dict", e.Module+"."+e.Name)
	if looksLikeModule(e.Module) {
		msg += " (a whole pickled model? save model.state_dict() instead)"
	}
	return msg
}

// Unwrap returns ErrForbidden.
func (e *GlobalError) Unwrap() error { return ErrForbidden }

func looksLikeModule(module string) bool {
	return module == "__main__" || strings.HasPrefix(module, "torch.nn.") ||
		strings.HasPrefix(module, "torchvision.") || strings.HasPrefix(module, "timm.")
}

// PickleError attributes an error to an opcode of a pickle stream.
type PickleError struct {
	Pickle string // "archive/data.pkl", or "legacy pickle 3 (state)" etc.
	Offset int64  // byte offset of the opcode within the file or zip entry
	Op     string // opcode name, e.g. "REDUCE"; empty when not known
	Err    error
}

func (e *PickleError) Error() string {
	op := ""
	if e.Op != "" {
		op = " (" + e.Op + ")"
	}
	return fmt.Sprintf("statedict: %s at byte %d%s: %s", e.Pickle, e.Offset, op, trimPrefix(e.Err))
}

func (e *PickleError) Unwrap() error { return e.Err }

// EntryError attributes an error to a zip entry, a legacy storage record
// or a part of a safetensors file.
type EntryError struct {
	Entry string // e.g. "archive/data/3", "storage 140239", "safetensors header"
	Err   error
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("statedict: %s: %s", e.Entry, trimPrefix(e.Err))
}

func (e *EntryError) Unwrap() error { return e.Err }

// TensorError attributes an error to a state-dict key.
type TensorError struct {
	Tensor string
	Err    error
}

func (e *TensorError) Error() string {
	return fmt.Sprintf("statedict: tensor %q: %s", e.Tensor, trimPrefix(e.Err))
}

func (e *TensorError) Unwrap() error { return e.Err }

// trimPrefix drops the "statedict: " prefix of a wrapped message so that
// the package prefix appears once.
func trimPrefix(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "statedict: ")
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
