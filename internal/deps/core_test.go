package deps_test

import (
	"os/exec"
	"strings"
	"testing"
)

// corePackages are the library packages a `go get` user imports. They must
// stay lean: distributed runners, RPC stacks and metrics libraries belong to
// the packages and commands that need them.
var corePackages = []string{
	"./tensor/...", "./nn/...", "./spec/...", "./registry/...", "./zoo/...", "./engine/...",
	"./onnx/...", "./weights/...", "./preprocess/...", "./labels/...", "./variants/...",
}

// forbidden import path prefixes for corePackages.
var forbidden = []string{
	"github.com/apache/beam",
	"github.com/inceptionzoo/inception/beamzoo", // the Beam transforms

	"google.golang.org/grpc",
	"github.com/prometheus/",
}

// gorgonia is for training (package train and below) and for the onnx-go
// adapter (onnx/onnxgo), whose interface is expressed in gorgonia tensors.
var gorgoniaFree = []string{
	"./tensor/...", "./nn/...", "./spec/...", "./registry/...", "./zoo/...", "./engine/...",
	"./onnx", "./onnx/onnxir/...", "./onnx/convert/...", "./weights/...", "./preprocess/...", "./labels/...", "./variants/...",
}

func TestCoreImportsStayLean(t *testing.T) {
	check(t, corePackages, forbidden)
	check(t, gorgoniaFree, []string{"gorgonia.org/"})
}

func check(t *testing.T, pkgs, prefixes []string) {
	t.Helper()
	args := append([]string{"list", "-e", "-deps", "-f", "{{.ImportPath}}"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, path := range strings.Fields(string(out)) {
		for _, f := range prefixes {
			if strings.HasPrefix(path, f) {
				t.Errorf("a core package depends on %s (forbidden prefix %s); `go list -deps %s` shows which", path, f, strings.Join(pkgs, " "))
			}
		}
	}
}
