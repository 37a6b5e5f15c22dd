// Package ort runs ONNX models with ONNX Runtime 1.30 (CPU), through the
// cgo binding github.com/yalue/onnxruntime_go. It is the project's oracle
// (tests compare the pure-Go engine against it) and its speed reference
// (benchmarks put the engine beside it); nothing in the zoo itself depends
// on it.
//
// The real implementation is built only with cgo and the build tag ort:
//
//	scripts/setup.sh                         # installs the library (idempotent)
//	CGO_ENABLED=1 go test -tags ort ./...    # or: make ort
//
// Without the tag (or without cgo) the package keeps the same API, and Init
// and NewSession return ErrNotBuilt, so code that uses the oracle compiles
// everywhere and can skip with a clear message.
//
// The shared library is loaded at run time from LibraryPath: the file named
// by $INCEPTION_ORT_LIB, else the cache path scripts/setup.sh installs to.
// Sessions run with DefaultIntraOpThreads intra-op threads (unless told
// otherwise), one inter-op thread, sequential execution and every graph
// optimisation (ORT_ENABLE_ALL).
package ort
