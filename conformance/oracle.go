package conformance

import (
	"fmt"

	"github.com/inceptionzoo/inception/internal/repo"
)

// ModulePath is the module whose checkout RepoRoot looks for.
const ModulePath = repo.ModulePath

// CI reports whether the environment says CI=true: a missing oracle is
// then a failure rather than a skip.
func CI() bool { return repo.CI() }

// RepoRoot returns the root of the checkout of ModulePath that contains
// dir (or the working directory when dir is ""), found by walking up to
// its go.mod. The torch twins need scripts/torch_export.py and the node
// tests onnx/testdata/node_known_failures.txt from it. The error wraps
// ErrOracle.
func RepoRoot(dir string) (string, error) {
	root, err := repo.Root(dir)
	if err != nil {
		return "", fmt.Errorf("%w: %w: run from the repository (git clone, then cd into it)", ErrOracle, err)
	}
	return root, nil
}
