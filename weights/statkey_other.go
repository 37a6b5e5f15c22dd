//go:build !unix

package weights

import (
	"fmt"
	"os"
)

// statKey identifies the file at p as it is now: its size and modification
// time (this platform exposes no change time through package os, so a file
// edited in place with its modification time restored is only caught by
// Verify).
func statKey(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("size=%d mtime=%d", st.Size(), st.ModTime().UnixNano()), nil
}
