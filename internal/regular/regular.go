// Package regular opens untrusted input files (images, weight files, data
// sets) for reading only when they are regular files. Opening a FIFO for
// reading blocks until a writer appears, and reading a device such as
// /dev/zero never ends, so a path given by a user is opened without
// blocking (O_NONBLOCK where the platform has it), checked with fstat on
// the open descriptor (no race between the check and the open), and
// refused with ErrNotRegular unless it is a regular file. Symbolic links
// are followed.
package regular

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotRegular reports a path that is a FIFO, a device, a socket or a
// directory rather than a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading if it is a regular file. The error wraps
// ErrNotRegular (naming the file type) or the open error, and names path.
func Open(path string) (*os.File, error) {
	f, err := openNonblocking(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, typeName(st.Mode()))
	}
	return f, nil
}

// ReadFile reads the regular file at path, at most limit bytes; a longer
// file is an error wrapping ErrTooLong.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", path, ErrTooLong, limit)
	}
	return b, nil
}

// ErrTooLong reports a file longer than ReadFile's limit.
var ErrTooLong = errors.New("file too long")

// typeName names a non-regular file type in messages.
func typeName(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "file type " + m.Type().String()
}
