package serve

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/inceptionzoo/inception/serve/inferencepb"
)

// GRPCServer returns a gRPC server with the inference service registered
// and the configured limits (message size, handshake timeout, keepalive
// policy), and request metrics and logs.
func (s *Server) GRPCServer() *grpc.Server {
	g := grpc.NewServer(s.GRPCOptions()...)
	s.RegisterGRPC(g)
	return g
}

// GRPCOptions are the server options GRPCServer uses, for a gRPC server of
// your own that RegisterGRPC registers with.
func (s *Server) GRPCOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(s.cfg.MaxBodyBytes)),
		grpc.ConnectionTimeout(s.cfg.ReadHeaderTimeout),
		grpc.MaxConcurrentStreams(uint32(max(100, s.cfg.QueueSize))),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: s.cfg.IdleTimeout}),
		grpc.ChainUnaryInterceptor(s.observeGRPC),
	}
}

// RegisterGRPC registers the inference.GRPCInferenceService on g.
func (s *Server) RegisterGRPC(g grpc.ServiceRegistrar) {
	pb.RegisterGRPCInferenceServiceServer(g, &grpcService{s: s})
}

// observeGRPC counts and logs every call, and turns the server's errors
// into gRPC statuses.
func (s *Server) observeGRPC(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	c := &call{start: time.Now(), endpoint: epOther}
	method := info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:]
	switch m := req.(type) {
	case *pb.ModelInferRequest:
		c.endpoint, c.model = epInfer, m.GetModelName()
	case *pb.ModelMetadataRequest:
		c.endpoint, c.model = epMetadata, m.GetName()
	case *pb.ModelReadyRequest:
		c.endpoint, c.model = epReady, m.GetName()
	case *pb.ServerLiveRequest, *pb.ServerReadyRequest:
		c.endpoint = epHealth
	case *pb.ServerMetadataRequest:
		c.endpoint = epServer
	}
	resp, err := h(ctx, req)
	if err != nil {
		if _, ok := status.FromError(err); !ok || status.Code(err) == codes.Unknown {
			err = status.Error(grpcCode(err), err.Error())
		}
	}
	code := status.Code(err)
	s.record(c, "grpc", code.String(), grpcHTTPStatus(code), err, nil)
	_ = method
	return resp, err
}

// grpcHTTPStatus maps a gRPC code to the HTTP status used for log levels.
func grpcHTTPStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return 200
	case codes.InvalidArgument, codes.Canceled:
		return 400
	case codes.NotFound:
		return 404
	case codes.ResourceExhausted:
		return 429
	case codes.Unavailable, codes.DeadlineExceeded:
		return 503
	}
	return 500
}

type grpcService struct {
	pb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func (g *grpcService) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: g.s.Ready()}, nil
}

func (g *grpcService) ModelReady(_ context.Context, r *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	if _, err := g.s.lookup(r.GetName(), r.GetVersion()); err != nil {
		return nil, err
	}
	return &pb.ModelReadyResponse{Ready: g.s.Ready()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	return &pb.ServerMetadataResponse{Name: ServerName, Version: g.s.cfg.Version, Extensions: []string{ExtensionBinaryData}}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, r *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	sv, err := g.s.lookup(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, err
	}
	md := sv.metadata()
	resp := &pb.ModelMetadataResponse{Name: md.Name, Versions: md.Versions, Platform: md.Platform, Properties: md.Properties}
	for _, t := range md.Inputs {
		resp.Inputs = append(resp.Inputs, &pb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	for _, t := range md.Outputs {
		resp.Outputs = append(resp.Outputs, &pb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	return resp, nil
}

func (g *grpcService) ModelInfer(ctx context.Context, r *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	s := g.s
	sv, err := s.lookup(r.GetModelName(), r.GetModelVersion())
	if err != nil {
		return nil, err
	}
	if !sv.batcher.admit() {
		return nil, fmt.Errorf("%w: model %s has %d requests in progress, its queue limit; retry later", ErrOverloaded, sv.Name, s.cfg.QueueSize)
	}
	defer sv.batcher.release()
	res := &reservation{b: &s.bytes}
	defer res.release()
	if err := res.take(int64(proto.Size(r))); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := decodeGRPC(&sv.spec, r, res.alloc)
	if err != nil {
		return nil, err
	}
	y, err := sv.batcher.do(ctx, req.x, req.n)
	if err != nil {
		return nil, err
	}
	for i, v := range y {
		if v-v != 0 {
			return nil, fmt.Errorf("%w: model %s produced %v at output element %d", ErrInternal, sv.Name, v, i)
		}
	}
	out := &pb.ModelInferResponse_InferOutputTensor{Name: sv.spec.output, Datatype: "FP32", Shape: []int64{int64(req.n), int64(sv.spec.classes)}}
	resp := &pb.ModelInferResponse{ModelName: sv.Name, ModelVersion: ModelVersion, Id: r.GetId(), Outputs: []*pb.ModelInferResponse_InferOutputTensor{out}}
	if req.rawOut {
		raw := make([]byte, 0, 4*len(y))
		for _, v := range y {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
		resp.RawOutputContents = [][]byte{raw}
	} else {
		out.Contents = &pb.InferTensorContents{Fp32Contents: y}
	}
	return resp, nil
}

// decodeGRPC validates a ModelInferRequest against spec and converts its
// input to FP32: from raw_input_contents (any numeric datatype,
// little-endian) or from the typed contents field of its datatype. The
// response carries raw_output_contents when the request used raw input.
func decodeGRPC(spec *tensorSpec, r *pb.ModelInferRequest, alloc allocFunc) (*inferRequest, error) {
	ins := r.GetInputs()
	if len(ins) != 1 {
		return nil, fmt.Errorf("%w: %d inputs; the model takes one, %q %s", ErrBadRequest, len(ins), spec.input, spec.shapeString())
	}
	in := ins[0]
	d, n, err := spec.check(in.GetName(), in.GetDatatype(), in.GetShape())
	if err != nil {
		return nil, err
	}
	if err := refuseGRPCClassification(r.GetParameters()); err != nil {
		return nil, err
	}
	for _, o := range r.GetOutputs() {
		if o.GetName() != spec.output {
			return nil, fmt.Errorf("%w: unknown output %q; the model has one output, %q", ErrBadRequest, o.GetName(), spec.output)
		}
		if err := refuseGRPCClassification(o.GetParameters()); err != nil {
			return nil, err
		}
	}
	req := &inferRequest{id: r.GetId(), n: n}
	if req.x, err = alloc(n * spec.sampleLen); err != nil {
		return nil, err
	}
	if raw := r.GetRawInputContents(); len(raw) > 0 {
		if len(raw) != 1 {
			return nil, fmt.Errorf("%w: %d raw_input_contents for 1 input", ErrBadRequest, len(raw))
		}
		if hasContents(in.GetContents()) {
			return nil, fmt.Errorf("%w: input %q has contents and raw_input_contents; send one", ErrBadRequest, in.GetName())
		}
		if err := d.fromRaw(req.x, raw[0]); err != nil {
			return nil, fmt.Errorf("%w: input %q: raw_input_contents: %w", ErrBadRequest, in.GetName(), err)
		}
		req.rawOut = true
		return req, nil
	}
	if err := typedContents(d, in.GetContents(), req.x); err != nil {
		return nil, fmt.Errorf("%w: input %q: contents: %w", ErrBadRequest, in.GetName(), err)
	}
	return req, nil
}

func hasContents(c *pb.InferTensorContents) bool {
	return len(c.GetBoolContents())+len(c.GetIntContents())+len(c.GetInt64Contents())+len(c.GetUintContents())+
		len(c.GetUint64Contents())+len(c.GetFp32Contents())+len(c.GetFp64Contents())+len(c.GetBytesContents()) > 0
}

// typedContents converts the contents field that datatype d uses into dst,
// which the field must fill exactly; other fields must be empty.
func typedContents(d datatype, c *pb.InferTensorContents, dst []float32) error {
	var got int
	var at func(i int) float64
	switch d.name {
	case "FP32":
		v := c.GetFp32Contents()
		got, at = len(v), func(i int) float64 { return float64(v[i]) }
	case "FP64":
		v := c.GetFp64Contents()
		got, at = len(v), func(i int) float64 { return v[i] }
	case "INT8", "INT16", "INT32":
		v := c.GetIntContents()
		got, at = len(v), func(i int) float64 { return float64(v[i]) }
	case "INT64":
		v := c.GetInt64Contents()
		got, at = len(v), func(i int) float64 { return float64(v[i]) }
	case "UINT8", "UINT16", "UINT32":
		v := c.GetUintContents()
		got, at = len(v), func(i int) float64 { return float64(v[i]) }
	case "UINT64":
		v := c.GetUint64Contents()
		got, at = len(v), func(i int) float64 { return float64(v[i]) }
	default: // FP16, BF16
		return fmt.Errorf("%s has no typed contents field; send it in raw_input_contents", d.name)
	}
	if all := len(c.GetBoolContents()) + len(c.GetIntContents()) + len(c.GetInt64Contents()) + len(c.GetUintContents()) +
		len(c.GetUint64Contents()) + len(c.GetFp32Contents()) + len(c.GetFp64Contents()) + len(c.GetBytesContents()); all != got {
		return fmt.Errorf("values in fields other than the one for %s", d.name)
	}
	if got != len(dst) {
		return fmt.Errorf("%d %s values, the shape needs %d", got, d.name, len(dst))
	}
	if d.name == "FP32" {
		for i, f := range c.GetFp32Contents() {
			if f-f != 0 {
				return fmt.Errorf("element %d is %v; inputs must be finite FP32 values", i, f)
			}
			dst[i] = f
		}
		return nil
	}
	for i := range dst {
		f, err := d.convert(at(i), i)
		if err != nil {
			return err
		}
		dst[i] = f
	}
	return nil
}

func refuseGRPCClassification(p map[string]*pb.InferParameter) error {
	if _, ok := p[paramClassify]; ok {
		return fmt.Errorf("%w: the %q parameter (Triton's classification extension) is not supported; POST the image to /v1/classify for labelled top-K", ErrBadRequest, paramClassify)
	}
	return nil
}
