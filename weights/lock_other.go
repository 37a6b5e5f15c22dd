//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package weights

import "context"

// sharedPart is false: without flock, each download writes its own
// temporary file (see download), and the verified file is renamed into
// place, so concurrent downloads never mix their bytes.
const sharedPart = false

// lockFile does nothing on platforms without flock.
func lockFile(context.Context, string, func()) (func(), error) { return func() {}, nil }
