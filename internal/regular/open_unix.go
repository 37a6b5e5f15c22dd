//go:build unix

package regular

import (
	"os"
	"syscall"
)

// openNonblocking opens path read-only with O_NONBLOCK, so that opening a
// FIFO without a writer returns at once; O_NONBLOCK has no effect on reads
// of regular files.
func openNonblocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
