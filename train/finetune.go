package train

import (
	"fmt"
	"strings"

	"github.com/inceptionzoo/inception/nn"
)

// TransferParams copies into dst every tensor of src with the same path
// and element count, and returns the paths of dst it did not fill (a new
// classifier head, for instance) in graph order of g.
func TransferParams(g *nn.Graph, dst, src nn.Params) (missing []string) {
	for _, s := range g.Params() {
		v, ok := src[s.Path]
		if ok && len(v.Data) == len(dst[s.Path].Data) {
			copy(dst[s.Path].Data, v.Data)
			continue
		}
		missing = append(missing, s.Path)
	}
	return missing
}

// HeadNode returns the ID of the classifier head: the last Linear or Conv
// node on the way to the output.
func HeadNode(g *nn.Graph) (int, bool) {
	for id := g.Output; ; {
		n := g.Nodes[id]
		switch n.Op.(type) {
		case nn.Linear, nn.Conv:
			return id, true
		}
		if len(n.Inputs) != 1 {
			return 0, false
		}
		id = n.Inputs[0]
	}
}

// FinetuneTrainable selects the parameters fine-tuning learns: those of
// the classifier head (HeadNode) and those under any of the block paths
// in unfreeze ("inception5b" matches "inception5b.branch1.conv.weight";
// "" or "all" unfreezes everything).
func FinetuneTrainable(g *nn.Graph, unfreeze []string) func(nn.ParamSpec) bool {
	head := map[string]bool{}
	if id, ok := HeadNode(g); ok {
		for _, p := range g.Nodes[id].Params {
			head[p.Path] = true
		}
	}
	return func(s nn.ParamSpec) bool {
		if head[s.Path] {
			return true
		}
		for _, u := range unfreeze {
			if u == "" || u == "all" || s.Path == u || strings.HasPrefix(s.Path, u+".") {
				return true
			}
		}
		return false
	}
}

// CheckUnfreeze reports an --unfreeze block path that selects no
// parameter of g (a typo would silently train the head alone), listing
// the model's top-level blocks.
func CheckUnfreeze(g *nn.Graph, unfreeze []string) error {
	for _, u := range unfreeze {
		if u == "" || u == "all" {
			continue
		}
		found := false
		for _, s := range g.Params() {
			if s.Path == u || strings.HasPrefix(s.Path, u+".") {
				found = true
				break
			}
		}
		if !found {
			var blocks []string
			for _, b := range g.Blocks {
				if b.Depth == 1 && b.Params > 0 {
					blocks = append(blocks, b.Path)
				}
			}
			return fmt.Errorf("%w: --unfreeze %q matches no parameter; the model's blocks with parameters are %v (see inception info)", ErrConfig, u, blocks)
		}
	}
	return nil
}

// PaperAuxWeight returns the weight of each auxiliary classifier's loss
// that a family's paper (or reference training) uses: 0.3 for GoogLeNet
// (Szegedy et al. 2014, section 5), 0.4 for Inception v3 (torchvision's
// reference training of inception_v3).
func PaperAuxWeight(family string) (float64, bool) {
	switch family {
	case "inception-v1":
		return 0.3, true
	case "inception-v3":
		return 0.4, true
	}
	return 0, false
}
