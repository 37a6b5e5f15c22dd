// Package labels holds the class names of the datasets the zoo's models are
// trained on: ImageNet-1k (1000 classes, in the order of torchvision's
// _IMAGENET_CATEGORIES, generated from Debian's python3-torchvision by
// gen.go), its 1001-class TF-slim form (index 0 "background", then the
// 1000), and Fashion-MNIST's 10 classes (the D2L GoogLeNet).
package labels

//go:generate go run gen.go

import (
	"errors"
	"fmt"
)

// Background is the extra class 0 of 1001-class TF-slim checkpoints.
const Background = "background"

var fashionMNIST = [10]string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// ImageNet returns the 1000 ImageNet-1k class names; index i names class i.
// The slice is a fresh copy.
func ImageNet() []string { return append([]string(nil), imageNet[:]...) }

// ImageNet1001 returns the 1001 class names of TF-slim checkpoints:
// Background, then the 1000 ImageNet classes (class i+1 is ImageNet class i).
func ImageNet1001() []string { return append([]string{Background}, imageNet[:]...) }

// FashionMNIST returns Fashion-MNIST's 10 class names.
func FashionMNIST() []string { return append([]string(nil), fashionMNIST[:]...) }

// Label set names, as model specs and weight tags name them.
const (
	SetImageNet     = "imagenet-1k"            // ImageNet
	SetImageNet1001 = "imagenet-1k+background" // ImageNet1001
	SetFashionMNIST = "fashion-mnist"          // FashionMNIST
	// Sets whose classes have no published names here: face identities of
	// the facenet-pytorch checkpoints and the 1008 outputs of the 2015 TF
	// Inception graph that pytorch-fid uses.
	SetVGGFace2     = "vggface2"      // 8631 identities
	SetCASIAWebFace = "casia-webface" // 10575 identities
	SetTF2015       = "tf-inception-2015-12-05"
)

// ErrUnknownSet reports a label set name this package does not know.
var ErrUnknownSet = errors.New("labels: unknown label set")

// sets maps a set name to its names (nil: known, without names) and size.
var sets = map[string]struct {
	names func() []string
	n     int
}{
	SetImageNet:     {ImageNet, 1000},
	SetImageNet1001: {ImageNet1001, 1001},
	SetFashionMNIST: {FashionMNIST, 10},
	SetVGGFace2:     {nil, 8631},
	SetCASIAWebFace: {nil, 10575},
	SetTF2015:       {nil, 1008},
}

// Names returns the class names of the label set called set (index i names
// class i), or nil when the set's classes have no names (face identities)
// or set is empty. The slice is a fresh copy. An unknown set is an error.
func Names(set string) ([]string, error) {
	if set == "" {
		return nil, nil
	}
	s, ok := sets[set]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSet, set)
	}
	if s.names == nil {
		return nil, nil
	}
	return s.names(), nil
}

// Size returns the number of classes of a known label set.
func Size(set string) (int, error) {
	s, ok := sets[set]
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownSet, set)
	}
	return s.n, nil
}
