// Package modelconfigpb holds Go protobuf bindings of a subset of NVIDIA
// Triton Inference Server's model configuration schema (ModelConfig, the
// message of a model repository's config.pbtxt), with Triton's proto
// package ("inference"), names and field numbers. Package triton writes
// config.pbtxt files from these types with prototext, and its tests parse
// them back with the same types, where any field outside the subset fails.
//
// The .pb.go file is generated; regenerate it with
//
//	go generate ./triton/modelconfigpb
//
// which runs scripts/genproto.sh (protoc 3.21 from Debian and protoc-gen-go
// at the version of go.mod's tool directive).
package modelconfigpb

//go:generate bash ../../scripts/genproto.sh triton/modelconfigpb/model_config.proto
