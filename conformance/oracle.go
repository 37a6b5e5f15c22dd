package conformance

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the module whose checkout RepoRoot looks for.
const ModulePath = "github.com/inceptionzoo/inception"

// CI reports whether the environment says CI=true: a missing oracle is
// then a failure rather than a skip.
func CI() bool { return os.Getenv("CI") == "true" }

// RepoRoot returns the root of the checkout of ModulePath that contains
// dir (or the working directory when dir is ""), found by walking up to
// its go.mod. The torch twins need scripts/torch_export.py and the node
// tests onnx/testdata/node_known_failures.txt from it. The error wraps
// ErrOracle.
func RepoRoot(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("%w: repository checkout: %w", ErrOracle, err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%w: repository checkout: %w", ErrOracle, err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isModuleRoot(filepath.Join(d, "go.mod")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no checkout of %s at or above %s: run from the repository (git clone, then cd into it)", ErrOracle, ModulePath, dir)
		}
	}
}

func isModuleRoot(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == ModulePath
		}
	}
	return false
}
