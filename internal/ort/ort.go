package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Version is the ONNX Runtime release scripts/setup.sh installs.
const Version = "1.30.0"

// DefaultIntraOpThreads is the intra-op thread count NewSession uses when
// asked for zero or fewer threads.
const DefaultIntraOpThreads = 2

// InstallHint says how to get a working oracle.
const InstallHint = "run scripts/setup.sh, then test with CGO_ENABLED=1 -tags ort (make ort)"

var (
	// ErrNotBuilt is returned by Init and NewSession when the package was
	// built without the ort tag or without cgo.
	ErrNotBuilt = errors.New("ort: ONNX Runtime oracle not built: run with CGO_ENABLED=1 -tags ort after scripts/setup.sh")
	// ErrNoLibrary is returned by Init when the shared library is not at
	// LibraryPath.
	ErrNoLibrary = errors.New("ort: ONNX Runtime library not found")
	// ErrUnsupported is returned for models or tensors outside what this
	// package handles: only float32 tensor inputs and outputs.
	ErrUnsupported = errors.New("ort: unsupported")
	// ErrClosed is returned by Run on a closed Session.
	ErrClosed = errors.New("ort: session closed")
)

// LibraryPath returns where the ONNX Runtime shared library is loaded from:
// $INCEPTION_ORT_LIB if set, else
// ${INCEPTION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inceptionzoo}/onnxruntime-1.30.0/libonnxruntime.so.1,
// the path scripts/setup.sh installs to (an empty variable counts as unset,
// as in the script).
func LibraryPath() string {
	if p := os.Getenv("INCEPTION_ORT_LIB"); p != "" {
		return p
	}
	return filepath.Join(cacheDir(), "onnxruntime-"+Version, "libonnxruntime.so.1")
}

// cacheDir mirrors setup.sh's
// ${INCEPTION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/inceptionzoo}.
func cacheDir() string {
	if d := os.Getenv("INCEPTION_CACHE"); d != "" {
		return d
	}
	xdg := os.Getenv("XDG_CACHE_HOME")
	if xdg == "" {
		xdg = os.Getenv("HOME") + "/.cache"
	}
	return xdg + "/inceptionzoo"
}

// checkLibrary returns an error wrapping ErrNoLibrary, with the install
// hint, unless path names a regular file.
func checkLibrary(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%w at %s (%w): %s", ErrNoLibrary, path, err, InstallHint)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file: %s", ErrNoLibrary, path, InstallHint)
	}
	return nil
}
