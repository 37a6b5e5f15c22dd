// Package inferencepb holds the Go protobuf and gRPC bindings of the Open
// Inference Protocol (KServe v2) gRPC API: proto package "inference",
// service inference.GRPCInferenceService, as NVIDIA Triton, KServe and
// Seldon MLServer speak it. Package serve implements the service.
//
// open_inference_grpc.proto is written from the protocol's specification
// (see its header) with the published package, service, message and field
// names and field numbers, so existing clients interoperate. Because the
// proto package is "inference", a program that links these bindings and
// another copy of the same schema (a Triton or KServe client's generated
// code) has two registrations of the same full names in the global
// protobuf registry; see protobuf-go's documentation of
// GOLANG_PROTOBUF_REGISTRATION_CONFLICT for that case.
//
// The .pb.go files are generated; regenerate them with
//
//	go generate ./serve/inferencepb
//
// which runs scripts/genproto.sh (protoc 3.21 from Debian, and
// protoc-gen-go and protoc-gen-go-grpc at the versions of go.mod's tool
// directives).
package inferencepb

//go:generate bash ../../scripts/genproto.sh serve/inferencepb/open_inference_grpc.proto
