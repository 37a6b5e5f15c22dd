//go:build !unix

package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// lockDir creates dir/lock exclusively (O_EXCL) with the process id in it
// and removes it on unlock. A directory whose lock file exists is
// ErrLocked (a crashed run leaves its lock file: remove it by hand).
func lockDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			b, _ := os.ReadFile(path)
			return nil, fmt.Errorf("%w: %s holds %s (pid %q); remove it if no trainer runs", ErrLocked, dir, path, b)
		}
		return nil, fmt.Errorf("train: lock %s: %w", path, err)
	}
	_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	f.Close()
	return func() { os.Remove(path) }, nil
}
