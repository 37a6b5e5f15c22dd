//go:build tools

// Package tools pins the versions of module dependencies that are required
// before the code that uses them lands (gorgonia for training, onnx-go for
// interop). It is never built.
package tools

import (
	_ "github.com/owulveryck/onnx-go"
	_ "gorgonia.org/gorgonia"
)
