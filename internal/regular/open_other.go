//go:build !unix

package regular

import "os"

// openNonblocking opens path read-only; platforms without O_NONBLOCK open
// named pipes without waiting for a writer.
func openNonblocking(path string) (*os.File, error) { return os.Open(path) }
