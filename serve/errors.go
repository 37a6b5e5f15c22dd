package serve

import (
	"context"
	"errors"
	"net/http"

	"google.golang.org/grpc/codes"
)

// Errors of the server. Each maps to one HTTP status and one gRPC code
// (see httpStatus and grpcCode); handlers wrap them with what went wrong
// and where.
var (
	// ErrBadRequest reports a malformed or invalid request: bad JSON, an
	// unknown input or output name, a shape or datatype the model does not
	// take, a non-finite value (HTTP 400, gRPC InvalidArgument).
	ErrBadRequest = errors.New("bad request")
	// ErrUnknownModel reports a model or version the server does not serve
	// (HTTP 404, gRPC NotFound).
	ErrUnknownModel = errors.New("unknown model")
	// ErrTooLarge reports a request body over Config.MaxBodyBytes (HTTP
	// 413, gRPC ResourceExhausted).
	ErrTooLarge = errors.New("request too large")
	// ErrOverloaded reports a request refused because the model's queue
	// (Config.QueueSize) or the server's budget of request bytes in flight
	// (Config.MaxInflightBytes) is full (HTTP 429, gRPC ResourceExhausted).
	ErrOverloaded = errors.New("overloaded")
	// ErrUnavailable reports a server that is shutting down, or a request
	// whose deadline passed before it ran (HTTP 503, gRPC Unavailable or
	// DeadlineExceeded).
	ErrUnavailable = errors.New("unavailable")
	// ErrInternal reports a failure of the model itself, e.g. a non-finite
	// output (HTTP 500, gRPC Internal).
	ErrInternal = errors.New("internal error")
)

// httpStatus is the HTTP status of an error returned by a handler step.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownModel):
		return http.StatusNotFound
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrOverloaded):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// grpcCode is the gRPC status code of an error returned by a handler step.
func grpcCode(err error) codes.Code {
	switch {
	case errors.Is(err, ErrBadRequest):
		return codes.InvalidArgument
	case errors.Is(err, ErrUnknownModel):
		return codes.NotFound
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrOverloaded):
		return codes.ResourceExhausted
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, ErrUnavailable):
		return codes.Unavailable
	default:
		return codes.Internal
	}
}
