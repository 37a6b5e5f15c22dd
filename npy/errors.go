package npy

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by a decoder in this package wraps
// exactly one of ErrFormat or ErrUnsupported; test with errors.Is.
var (
	// ErrFormat reports a malformed file: a bad magic string, an
	// unparsable or inconsistent header, truncated data, a corrupt or
	// inconsistent zip archive, a duplicate .npz entry.
	ErrFormat = errors.New("npy: malformed file")

	// ErrUnsupported reports a well-formed file that uses a feature this
	// package does not handle: a format version other than 1.0, 2.0 and
	// 3.0, a dtype other than float32, float64, int32 and int64 (either
	// byte order), structured or object arrays, a zip compression method
	// other than stored and deflate, a non-.npy entry in an .npz archive.
	ErrUnsupported = errors.New("npy: unsupported feature")

	// ErrLimit reports that a file exceeds a Limits value (header length,
	// dimensions, element count, entry count or size, compression ratio).
	// Limits are treated as format errors: errors.Is(err, ErrFormat) is
	// also true for every error that wraps ErrLimit.
	ErrLimit = fmt.Errorf("%w: limit exceeded", ErrFormat)
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
