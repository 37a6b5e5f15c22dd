package serve

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/inceptionzoo/inception/serve/inferencepb"
)

// grpcClient starts the gRPC service of s on an in-memory listener and
// returns a real client connected to it.
func grpcClient(t *testing.T, s *Server) pb.GRPCInferenceServiceClient {
	t.Helper()
	l := bufconn.Listen(1 << 20)
	g := s.GRPCServer()
	go g.Serve(l)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewGRPCInferenceServiceClient(conn)
}

func TestGRPCHealthAndMetadata(t *testing.T) {
	s, _ := newTestServer(t, Config{Version: "v-test"})
	c := grpcClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil || !r.GetLive() {
		t.Errorf("ServerLive: %v, %v; want live", r, err)
	}
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.GetReady() {
		t.Errorf("ServerReady: %v, %v; want ready", r, err)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: d2lName, Version: "1"}); err != nil || !r.GetReady() {
		t.Errorf("ModelReady: %v, %v; want ready", r, err)
	}
	sm, err := c.ServerMetadata(ctx, &pb.ServerMetadataRequest{})
	if err != nil || sm.GetName() != "inception" || sm.GetVersion() != "v-test" || len(sm.GetExtensions()) != 1 || sm.GetExtensions()[0] != "binary_tensor_data" {
		t.Errorf("ServerMetadata: %v, %v", sm, err)
	}
	md, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: d2lName})
	if err != nil {
		t.Fatal(err)
	}
	in, out := md.GetInputs(), md.GetOutputs()
	if md.GetName() != d2lName || md.GetPlatform() != "inceptionzoo_go" || len(in) != 1 || len(out) != 1 ||
		in[0].GetName() != "input" || in[0].GetDatatype() != "FP32" || !equal(in[0].GetShape(), []int64{-1, 1, 28, 28}) ||
		out[0].GetName() != "output" || !equal(out[0].GetShape(), []int64{-1, 10}) || md.GetProperties()["seeded"] != "false" {
		t.Errorf("ModelMetadata: %v", md)
	}
	for _, call := range []func() error{
		func() error { _, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "nope"}); return err },
		func() error {
			_, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: d2lName, Version: "3"})
			return err
		},
	} {
		if err := call(); status.Code(err) != codes.NotFound {
			t.Errorf("unknown model or version: %v, want NotFound", err)
		}
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGRPCInfer(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	c := grpcClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x := input(2, 4)
	want := forward(t, x)
	shape := []int64{2, 1, 28, 28}

	// Typed contents in, typed contents out.
	r, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: d2lName, Id: "g1",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: shape,
			Contents: &pb.InferTensorContents{Fp32Contents: x.Data}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetId() != "g1" || r.GetModelName() != d2lName || len(r.GetOutputs()) != 1 || !equal(r.GetOutputs()[0].GetShape(), []int64{2, 10}) {
		t.Errorf("response header: %v", r)
	}
	closeTo(t, "fp32_contents", r.GetOutputs()[0].GetContents().GetFp32Contents(), want)

	// raw_input_contents in, raw_output_contents out.
	var raw []byte
	for _, v := range x.Data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	r, err = c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: d2lName, ModelVersion: "1",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: shape}},
		Outputs:          []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "output"}},
		RawInputContents: [][]byte{raw}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.GetRawOutputContents()) != 1 || len(r.GetRawOutputContents()[0]) != 4*len(want) || r.GetOutputs()[0].GetContents() != nil {
		t.Fatalf("raw response: %d raw outputs, contents %v", len(r.GetRawOutputContents()), r.GetOutputs()[0].GetContents())
	}
	got := make([]float32, len(want))
	for i := range got {
		got[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.GetRawOutputContents()[0][4*i:]))
	}
	closeTo(t, "raw_output_contents", got, want)

	// Integer contents are converted.
	ints := make([]int32, len(x.Data))
	fl := make([]float32, len(x.Data))
	for i, v := range x.Data {
		ints[i] = int32(math.Round(float64(v) * 100))
		fl[i] = float32(ints[i])
	}
	r, err = c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: d2lName,
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "INT16", Shape: shape,
			Contents: &pb.InferTensorContents{IntContents: ints}}}})
	if err != nil {
		t.Fatal(err)
	}
	xi := input(2, 4)
	copy(xi.Data, fl)
	closeTo(t, "int_contents", r.GetOutputs()[0].GetContents().GetFp32Contents(), forward(t, xi))
}

func TestGRPCInferErrors(t *testing.T) {
	g := newGate()
	s, _ := newTestServer(t, Config{MaxBatch: 1, MaxDelay: -1, QueueSize: 2, wrapForward: g.wrap})
	c := grpcClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := func(dtype string, shape []int64, contents *pb.InferTensorContents) *pb.ModelInferRequest {
		return &pb.ModelInferRequest{ModelName: d2lName, Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: dtype, Shape: shape, Contents: contents}}}
	}
	f := make([]float32, 784)
	nan := make([]float32, 784)
	nan[3] = float32(math.NaN())
	tests := []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"unknown model", &pb.ModelInferRequest{ModelName: "nope"}, codes.NotFound, `unknown model "nope"`},
		{"no inputs", &pb.ModelInferRequest{ModelName: d2lName}, codes.InvalidArgument, "0 inputs"},
		{"wrong shape", in("FP32", []int64{1, 28, 28}, &pb.InferTensorContents{Fp32Contents: f}), codes.InvalidArgument, "has shape [1 28 28]"},
		{"huge batch", in("FP32", []int64{1 << 40, 1, 28, 28}, nil), codes.InvalidArgument, "batch 1099511627776"},
		{"too few values", in("FP32", []int64{1, 1, 28, 28}, &pb.InferTensorContents{Fp32Contents: f[:700]}), codes.InvalidArgument, "700 FP32 values, the shape needs 784"},
		{"wrong field", in("FP32", []int64{1, 1, 28, 28}, &pb.InferTensorContents{Fp64Contents: make([]float64, 784)}), codes.InvalidArgument, "values in fields other than the one for FP32"},
		{"NaN", in("FP32", []int64{1, 1, 28, 28}, &pb.InferTensorContents{Fp32Contents: nan}), codes.InvalidArgument, "element 3 is NaN"},
		{"FP16 without raw", in("FP16", []int64{1, 1, 28, 28}, nil), codes.InvalidArgument, "raw_input_contents"},
		{"BYTES", in("BYTES", []int64{1, 1, 28, 28}, nil), codes.InvalidArgument, "not numeric"},
		{"raw size", &pb.ModelInferRequest{ModelName: d2lName, Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 1, 28, 28}}},
			RawInputContents: [][]byte{make([]byte, 100)}}, codes.InvalidArgument, "100 bytes of FP32 data, the shape needs 3136"},
	}
	for _, tt := range tests {
		_, err := c.ModelInfer(ctx, tt.req)
		if status.Code(err) != tt.code || !strings.Contains(status.Convert(err).Message(), tt.msg) {
			t.Errorf("%s: %v, want %v containing %q", tt.name, err, tt.code, tt.msg)
		}
	}

	// Queue full: two requests admitted (one running, one queued), the
	// third refused at once.
	req := in("FP32", []int64{1, 1, 28, 28}, &pb.InferTensorContents{Fp32Contents: f})
	done := make(chan error, 2)
	call := func(ctx context.Context) { _, err := c.ModelInfer(ctx, req); done <- err }
	go call(ctx)
	<-g.started
	go call(ctx)
	waitFor(t, "a queued request", func() bool { return len(s.models[d2lName].batcher.slots) == 2 })
	if _, err := c.ModelInfer(ctx, req); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("queue full: %v, want ResourceExhausted", err)
	}
	g.release <- struct{}{}
	<-g.started // the queued request runs
	if err := <-done; err != nil {
		t.Errorf("admitted request: %v", err)
	}
	// The client's deadline ends a request that waits behind a busy model.
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if _, err := c.ModelInfer(short, req); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("client deadline: %v, want DeadlineExceeded", err)
	}
	g.release <- struct{}{}
	if err := <-done; err != nil {
		t.Errorf("admitted request: %v", err)
	}
}

// TestGRPCTooLarge: a message over MaxBodyBytes is refused by the
// transport (RESOURCE_EXHAUSTED) before it reaches the service.
func TestGRPCTooLarge(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxBodyBytes: 4096})
	c := grpcClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: d2lName,
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{8, 1, 28, 28}}},
		RawInputContents: [][]byte{make([]byte, 8*784*4)}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("25 KB message with a 4 KB limit: %v, want ResourceExhausted", err)
	}
	if got := len(s.models[d2lName].batcher.slots); got != 0 {
		t.Errorf("%d requests admitted, want none", got)
	}
}
