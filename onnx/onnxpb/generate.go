// Package onnxpb holds Go protobuf bindings for the ONNX model format
// (onnx.proto of ONNX v1.20, IR version 13 and earlier).
//
// The proto package is renamed from "onnx" to "inceptionzoo.onnx" so that
// these types can be linked into the same binary as
// github.com/owulveryck/onnx-go, whose generated types register the proto
// package "onnx". The wire format does not depend on the package name, so
// these types read and write standard .onnx files.
//
// onnx.pb.go is generated; regenerate it with
//
//	go generate ./onnx/onnxpb
//
// which runs gen.sh (see its header for the pinned schema source and tools).
package onnxpb

//go:generate bash gen.sh
