package zoo

import (
	"errors"
	"fmt"
	"path/filepath"
)

// ErrSeeded reports weights that are the seeded initialisation rather than
// trained weights: a model run on them answers with confident nonsense
// ("recreational vehicle 1.000" for a shoe).
var ErrSeeded = errors.New("zoo: seeded weights, not trained")

// RequireTrained is the rule every command that answers questions about
// real inputs (classify, eval, serve) applies before running m: it returns
// an error wrapping ErrSeeded when m's weights are the seeded
// initialisation, because no weights were loaded (a registry name without
// weights) or because the file loaded records that it holds seeded weights
// (MetaWeights "seeded": an export of an untrained model). Callers refuse
// the model unless the user explicitly allowed seeded weights, and add how
// to do so to the message.
func (m *Model) RequireTrained() error {
	if !m.seeded {
		return nil
	}
	if m.source == "" {
		return fmt.Errorf("%w: %s: no weights were loaded, its answers would be meaningless (load trained weights: a weight tag, or a file)", ErrSeeded, m.Name())
	}
	return fmt.Errorf("%w: %s: %s records %s=seeded (an export of an untrained model), its answers would be meaningless", ErrSeeded, m.Name(), m.source, MetaWeights)
}

// RequireTrainedMetadata applies the rule of RequireTrained to an ONNX
// file run outside the zoo (onnx.Load): md is its metadata_props, path
// names it in the message.
func RequireTrainedMetadata(path string, md map[string]string) error {
	if md[MetaWeights] != "seeded" {
		return nil
	}
	return fmt.Errorf("%w: %s records %s=seeded (an export of an untrained model), its answers would be meaningless", ErrSeeded, filepath.Clean(path), MetaWeights)
}
