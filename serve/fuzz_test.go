package serve

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/inceptionzoo/inception/serve/inferencepb"
)

// fuzzSpec is a small signature, so that the fuzzer reaches valid
// requests: input [N, 1, 2, 2], N up to 4, 3 classes.
var fuzzSpec = tensorSpec{input: "input", output: "output", sample: []int{1, 2, 2}, sampleLen: 4, classes: 3, maxBatch: 4}

// checkDecoded is the decoders' contract: an error is a bad request;
// success is a batch within the limits, every value finite.
func checkDecoded(t *testing.T, req *inferRequest, err error) {
	if err != nil {
		if !errors.Is(err, ErrBadRequest) {
			t.Fatalf("error %v does not wrap ErrBadRequest", err)
		}
		return
	}
	if req.n < 1 || req.n > fuzzSpec.maxBatch || len(req.x) != req.n*fuzzSpec.sampleLen {
		t.Fatalf("decoded batch %d with %d values", req.n, len(req.x))
	}
	for i, v := range req.x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("decoded value %d is %v", i, v)
		}
	}
}

// FuzzDecodeREST fuzzes the REST inference request decoder: JSON, and the
// binary tensor data extension (jsonLen >= 0).
func FuzzDecodeREST(f *testing.F) {
	valid := `{"id":"1","inputs":[{"name":"input","shape":[1,1,2,2],"datatype":"FP32","data":[1,2,3,4]}],"outputs":[{"name":"output"}]}`
	nested := `{"inputs":[{"name":"input","shape":[2,1,2,2],"datatype":"INT8","data":[[[[1,2],[3,4]]],[[[5,6],[7,-8]]]]}],"parameters":{"binary_data_output":true}}`
	binHead := `{"inputs":[{"name":"input","shape":[1,1,2,2],"datatype":"FP32","parameters":{"binary_data_size":16}}]}`
	var bin []byte
	for _, v := range []float32{1, -2, 3.5, 0} {
		bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(v))
	}
	nanBin := binary.LittleEndian.AppendUint32(append([]byte(nil), bin[:12]...), math.Float32bits(float32(math.NaN())))
	f.Add([]byte(valid), int64(-1))
	f.Add([]byte(nested), int64(-1))
	f.Add(append([]byte(binHead), bin...), int64(len(binHead)))
	f.Add(append([]byte(binHead), nanBin...), int64(len(binHead)))
	f.Add(append([]byte(binHead), bin[:9]...), int64(len(binHead)))
	f.Add([]byte(valid[:len(valid)/2]), int64(-1))
	f.Add([]byte(strings.Replace(valid, "[1,1,2,2]", "[1000000000,1,2,2]", 1)), int64(-1))
	f.Add([]byte(strings.Replace(valid, "[1,2,3,4]", "[1e39,2,3,4]", 1)), int64(-1))
	f.Add([]byte(strings.Replace(valid, "FP32", "UINT8", 1)), int64(-1))
	f.Add([]byte(`{"inputs":[{"name":"input","shape":[1,1,2,2],"datatype":"FP16","parameters":{"binary_data_size":8}}]}`+"\x00\x3c\x00\x3c\x00\x7c\x00\x00"), int64(105))
	f.Add([]byte{}, int64(-1))
	f.Add([]byte("{}"), int64(0))
	f.Fuzz(func(t *testing.T, body []byte, jsonLen int64) {
		req, err := decodeREST(&fuzzSpec, body, jsonLen, plainAlloc)
		checkDecoded(t, req, err)
	})
}

// FuzzDecodeGRPC fuzzes the gRPC inference request decoder on protobuf
// bytes.
func FuzzDecodeGRPC(f *testing.F) {
	shape := []int64{1, 1, 2, 2}
	add := func(r *pb.ModelInferRequest) {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	in := func(dtype string, c *pb.InferTensorContents) []*pb.ModelInferRequest_InferInputTensor {
		return []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: dtype, Shape: shape, Contents: c}}
	}
	add(&pb.ModelInferRequest{ModelName: "m", Inputs: in("FP32", &pb.InferTensorContents{Fp32Contents: []float32{1, 2, 3, 4}})})
	add(&pb.ModelInferRequest{ModelName: "m", Inputs: in("UINT16", &pb.InferTensorContents{UintContents: []uint32{1, 2, 3, 70000}})})
	add(&pb.ModelInferRequest{ModelName: "m", Inputs: in("FP16", nil), RawInputContents: [][]byte{{0, 0x3c, 0, 0x3c, 0, 0x7e, 0, 0}}})
	add(&pb.ModelInferRequest{ModelName: "m", Inputs: in("FP64", nil), RawInputContents: [][]byte{make([]byte, 32)}})
	add(&pb.ModelInferRequest{ModelName: "m", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1 << 50, 1, 2, 2}}}})
	f.Add([]byte{0x2a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r pb.ModelInferRequest
		if proto.Unmarshal(b, &r) != nil {
			return
		}
		req, err := decodeGRPC(&fuzzSpec, &r, plainAlloc)
		checkDecoded(t, req, err)
	})
}
