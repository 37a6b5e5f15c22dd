// Package assets holds the files the inception command ships: the
// Fashion-MNIST GoogLeNet trained by this project
// (inception-v1-d2l-fmnist28.onnx, the weight tag inception-v1-d2l.fmnist28)
// and ten Fashion-MNIST test images (fashion-mnist/LABEL-class.png). The
// command embeds them, so `inception classify` works offline from any
// directory. Library packages do not import this package.
package assets

import "embed"

// FS holds the shipped model file and the bundled images, under their
// names in this directory.
//
//go:embed inception-v1-d2l-fmnist28.onnx fashion-mnist/*.png
var FS embed.FS

// Names of the shipped files in FS.
const (
	D2LModel = "inception-v1-d2l-fmnist28.onnx"
	Images   = "fashion-mnist" // directory of LABEL-class.png files
)
