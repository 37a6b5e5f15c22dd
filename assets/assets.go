// Package assets holds the files the inception command ships: the
// Fashion-MNIST GoogLeNets trained by this project
// (inception-v1-d2l-fmnist96.onnx, the weight tag inception-v1-d2l.fmnist96,
// trained as the D2L book does; inception-v1-d2l-fmnist28.onnx, the tag
// inception-v1-d2l.fmnist28, trained at 28x28) and ten Fashion-MNIST test images (fashion-mnist/LABEL-class.png). The
// command embeds them, so `inception classify` works offline from any
// directory. Library packages do not import this package.
package assets

import "embed"

// FS holds the shipped model files and the bundled images, under their
// names in this directory.
//
//go:embed inception-v1-d2l-fmnist96.onnx inception-v1-d2l-fmnist28.onnx fashion-mnist/*.png
var FS embed.FS

// Names of the shipped files in FS.
const (
	D2LModel   = "inception-v1-d2l-fmnist96.onnx" // the shipped model (weight tag inception-v1-d2l.fmnist96)
	D2LModel28 = "inception-v1-d2l-fmnist28.onnx" // the 28x28 one (inception-v1-d2l.fmnist28)
	Images     = "fashion-mnist"                  // directory of LABEL-class.png files
)
