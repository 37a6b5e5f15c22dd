// Package repo answers two questions tests and tools ask about where they
// run: is this CI (CI=true: a missing oracle is a failure, not a skip), and
// where is the root of this repository's checkout (the directory of the
// go.mod that declares the module, found by walking up)?
package repo

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the module whose checkout Root looks for.
const ModulePath = "github.com/inceptionzoo/inception"

// ErrNoRoot reports a directory that is not inside a checkout of
// ModulePath.
var ErrNoRoot = errors.New("repo: not inside a checkout of " + ModulePath)

// CI reports whether the environment says CI=true.
func CI() bool { return os.Getenv("CI") == "true" }

// Root returns the root of the checkout of ModulePath that contains dir
// (the working directory when dir is ""): the nearest directory at or
// above it whose go.mod declares ModulePath.
func Root(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("repo: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("repo: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if declares(filepath.Join(d, "go.mod")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no go.mod declaring it at or above %s", ErrNoRoot, dir)
		}
	}
}

// declares reports whether the go.mod file at gomod declares ModulePath.
func declares(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], "\"`") == ModulePath
		}
	}
	return false
}
