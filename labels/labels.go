// Package labels holds the class names of the datasets the zoo's models are
// trained on: ImageNet-1k (1000 classes, in the order of torchvision's
// _IMAGENET_CATEGORIES, generated from Debian's python3-torchvision by
// gen.go), its 1001-class TF-slim form (index 0 "background", then the
// 1000), and Fashion-MNIST's 10 classes (the D2L GoogLeNet).
package labels

//go:generate go run gen.go

import "strings"

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

// For returns the class names of a classifier with the given number of
// outputs; model is the model's registry name or family. The rule is by
// class count, since a zoo model's head width says which dataset it was
// built for:
//
//   - 1000: ImageNet-1k;
//   - 1001: Background followed by ImageNet-1k (TF-slim);
//   - 10, when model names a D2L model (contains "d2l") or
//     "fashion": Fashion-MNIST;
//   - anything else: nil (no known names; callers print class indices).
func For(classes int, model string) []string {
	switch classes {
	case 1000:
		return ImageNet()
	case 1001:
		return ImageNet1001()
	case 10:
		m := strings.ToLower(model)
		if strings.Contains(m, "d2l") || strings.Contains(m, "fashion") {
			return FashionMNIST()
		}
	}
	return nil
}
