package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// tensorSpec is the model signature requests are checked against: one
// FP32 input [N, sample...] and one FP32 output [N, classes].
type tensorSpec struct {
	input, output string
	sample        []int // per-sample input shape, e.g. [3 224 224]
	sampleLen     int   // elements per sample
	classes       int   // output elements per sample
	maxBatch      int   // largest N of one request
}

// inferRequest is a decoded, validated inference request.
type inferRequest struct {
	id        string
	n         int       // batch size
	x         []float32 // n × sampleLen values, row-major
	binaryOut bool      // REST: return the output as binary data
	rawOut    bool      // gRPC: return raw_output_contents
}

// allocFunc returns a slice for n input values, or an error (the server's
// reserves the bytes from its in-flight budget first).
type allocFunc func(n int) ([]float32, error)

func plainAlloc(n int) ([]float32, error) { return make([]float32, n), nil }

// Parameters of the binary tensor data extension (Triton's
// extension_binary_data.md), and Triton's classification extension, which
// the server refuses rather than ignores.
const (
	paramBinarySize   = "binary_data_size"
	paramBinary       = "binary_data"
	paramBinaryOutput = "binary_data_output"
	paramClassify     = "classification"
	// HeaderJSONLength is the HTTP header that gives the length of the
	// JSON part of a body that carries binary tensor data after it.
	HeaderJSONLength = "Inference-Header-Content-Length"
)

type jsonRequest struct {
	ID         string                     `json:"id"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Inputs     []jsonInput                `json:"inputs"`
	Outputs    []jsonOutput               `json:"outputs"`
}

type jsonInput struct {
	Name       string                     `json:"name"`
	Shape      []int64                    `json:"shape"`
	Datatype   string                     `json:"datatype"`
	Parameters map[string]json.RawMessage `json:"parameters"`
	Data       json.RawMessage            `json:"data"`
}

type jsonOutput struct {
	Name       string                     `json:"name"`
	Parameters map[string]json.RawMessage `json:"parameters"`
}

// decodeREST decodes the body of POST /v2/models/{name}/infer. jsonLen is
// the value of the Inference-Header-Content-Length header, or -1 without
// it: then the whole body is JSON; with it, the first jsonLen bytes are
// the JSON object and the rest is the binary data of the inputs that have
// a binary_data_size parameter, in input order. Nothing proportional to a
// claimed size is allocated before the claim is checked against spec.
func decodeREST(spec *tensorSpec, body []byte, jsonLen int64, alloc allocFunc) (*inferRequest, error) {
	head, bin := body, []byte(nil)
	if jsonLen >= 0 {
		if jsonLen > int64(len(body)) {
			return nil, fmt.Errorf("%w: %s %d is larger than the %d-byte body", ErrBadRequest, HeaderJSONLength, jsonLen, len(body))
		}
		head, bin = body[:jsonLen], body[jsonLen:]
	}
	var jr jsonRequest
	if err := json.Unmarshal(head, &jr); err != nil {
		return nil, fmt.Errorf("%w: request JSON: %w", ErrBadRequest, jsonError(err, head))
	}
	if len(jr.Inputs) != 1 {
		return nil, fmt.Errorf("%w: %d inputs; the model takes one, %q %s", ErrBadRequest, len(jr.Inputs), spec.input, spec.shapeString())
	}
	in := jr.Inputs[0]
	d, n, err := spec.check(in.Name, in.Datatype, in.Shape)
	if err != nil {
		return nil, err
	}
	req := &inferRequest{id: jr.ID, n: n}
	if req.x, err = alloc(n * spec.sampleLen); err != nil {
		return nil, err
	}
	size, hasSize, err := intParam(in.Parameters, paramBinarySize)
	if err != nil {
		return nil, fmt.Errorf("%w: input %q: %w", ErrBadRequest, in.Name, err)
	}
	switch {
	case hasSize:
		if jsonLen < 0 {
			return nil, fmt.Errorf("%w: input %q has %s but the request has no %s header", ErrBadRequest, in.Name, paramBinarySize, HeaderJSONLength)
		}
		if len(in.Data) > 0 {
			return nil, fmt.Errorf("%w: input %q has both %s and data", ErrBadRequest, in.Name, paramBinarySize)
		}
		if want := int64(len(req.x)) * int64(d.size); size != want {
			return nil, fmt.Errorf("%w: input %q: %s %d, shape %v of %s needs %d bytes", ErrBadRequest, in.Name, paramBinarySize, size, in.Shape, d.name, want)
		}
		if size != int64(len(bin)) {
			return nil, fmt.Errorf("%w: %d bytes of binary data after the JSON, %s says %d", ErrBadRequest, len(bin), paramBinarySize, size)
		}
		if err := d.fromRaw(req.x, bin); err != nil {
			return nil, fmt.Errorf("%w: input %q: binary data: %w", ErrBadRequest, in.Name, err)
		}
	default:
		if len(bin) > 0 {
			return nil, fmt.Errorf("%w: %d bytes of binary data after the JSON, but no input has %s", ErrBadRequest, len(bin), paramBinarySize)
		}
		if len(in.Data) == 0 {
			return nil, fmt.Errorf("%w: input %q has no data", ErrBadRequest, in.Name)
		}
		if err := parseJSONData(in.Data, d, req.x, len(spec.sample)+1); err != nil {
			return nil, fmt.Errorf("%w: input %q: %w", ErrBadRequest, in.Name, err)
		}
	}
	if err := refuseClassification(jr.Parameters); err != nil {
		return nil, err
	}
	if req.binaryOut, _, err = boolParam(jr.Parameters, paramBinaryOutput); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	for _, o := range jr.Outputs {
		if o.Name != spec.output {
			return nil, fmt.Errorf("%w: unknown output %q; the model has one output, %q", ErrBadRequest, o.Name, spec.output)
		}
		if err := refuseClassification(o.Parameters); err != nil {
			return nil, err
		}
		b, ok, err := boolParam(o.Parameters, paramBinary)
		if err != nil {
			return nil, fmt.Errorf("%w: output %q: %w", ErrBadRequest, o.Name, err)
		}
		if ok {
			req.binaryOut = b
		}
	}
	return req, nil
}

// check validates an input's name, datatype and shape [N, sample...]
// against the spec and returns the datatype and N.
func (s *tensorSpec) check(name, dtype string, shape []int64) (datatype, int, error) {
	if name != s.input {
		return datatype{}, 0, fmt.Errorf("%w: unknown input %q; the model's input is %q %s", ErrBadRequest, name, s.input, s.shapeString())
	}
	d, err := lookupDatatype(dtype)
	if err != nil {
		return datatype{}, 0, fmt.Errorf("%w: input %q: %w", ErrBadRequest, name, err)
	}
	ok := len(shape) == len(s.sample)+1
	for i := 0; ok && i < len(s.sample); i++ {
		ok = shape[i+1] == int64(s.sample[i])
	}
	if !ok {
		return datatype{}, 0, fmt.Errorf("%w: input %q has shape %v; the model takes %s", ErrBadRequest, name, shape, s.shapeString())
	}
	if shape[0] < 1 || shape[0] > int64(s.maxBatch) {
		return datatype{}, 0, fmt.Errorf("%w: input %q has batch %d; this server takes 1 to %d per request", ErrBadRequest, name, shape[0], s.maxBatch)
	}
	return d, int(shape[0]), nil
}

// shapeString is the input shape as metadata gives it, batch as -1.
func (s *tensorSpec) shapeString() string {
	return fmt.Sprint(append([]int{-1}, s.sample...))
}

// parseJSONData reads a tensor's JSON "data": an array of numbers, flat
// or nested (at most maxDepth levels), in row-major order, with exactly
// len(dst) numbers, converted from datatype d to FP32 into dst. raw has
// already been checked to be valid JSON.
func parseJSONData(raw []byte, d datatype, dst []float32, maxDepth int) error {
	n, depth, arrays := 0, 0, 0
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',':
			i++
		case c == '[':
			if depth++; depth > maxDepth {
				return fmt.Errorf("data nests arrays deeper than the shape's %d dimensions", maxDepth)
			}
			arrays++
			i++
		case c == ']':
			if depth--; depth < 0 {
				return errors.New("data: unbalanced ']'")
			}
			i++
		case depth > 0 && (c == '-' || c >= '0' && c <= '9'):
			j := i + 1
			for j < len(raw) && isNumberByte(raw[j]) {
				j++
			}
			if n == len(dst) {
				return fmt.Errorf("data has more than the %d elements the shape needs", len(dst))
			}
			v, err := strconv.ParseFloat(string(raw[i:j]), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range: ±Inf, refused by convert
				return fmt.Errorf("data element %d: bad number %q", n, raw[i:j])
			}
			f, err := d.convert(v, n)
			if err != nil {
				return err
			}
			dst[n] = f
			n++
			i = j
		case depth == 0:
			return fmt.Errorf("data is %s, not an array of numbers", snippet(raw[i:]))
		default:
			return fmt.Errorf("data element %d is not a number (%s)", n, snippet(raw[i:]))
		}
	}
	if arrays == 0 || depth != 0 {
		return errors.New("data is not an array of numbers")
	}
	if n != len(dst) {
		return fmt.Errorf("data has %d elements, the shape needs %d", n, len(dst))
	}
	return nil
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// snippet quotes the start of b for an error message.
func snippet(b []byte) string {
	if len(b) > 16 {
		return strconv.Quote(string(b[:16])) + "..."
	}
	return strconv.Quote(string(b))
}

// jsonError makes encoding/json's errors say where in the request they
// are.
func jsonError(err error, data []byte) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if len(bytes.TrimSpace(data)) == 0 {
			return errors.New("empty body")
		}
		return fmt.Errorf("%w (at byte %d of %d)", err, se.Offset, len(data))
	}
	return err
}

// intParam returns parameter name as a non-negative integer.
func intParam(p map[string]json.RawMessage, name string) (int64, bool, error) {
	raw, ok := p[name]
	if !ok {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil || v < 0 {
		return 0, true, fmt.Errorf("parameter %s is %s, want a non-negative integer", name, snippet(raw))
	}
	return v, true, nil
}

// boolParam returns parameter name as a boolean.
func boolParam(p map[string]json.RawMessage, name string) (bool, bool, error) {
	raw, ok := p[name]
	if !ok {
		return false, false, nil
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, true, fmt.Errorf("parameter %s is %s, want true or false", name, snippet(raw))
}

func refuseClassification(p map[string]json.RawMessage) error {
	if _, ok := p[paramClassify]; ok {
		return fmt.Errorf("%w: the %q parameter (Triton's classification extension) is not supported; POST the image to /v1/classify for labelled top-K", ErrBadRequest, paramClassify)
	}
	return nil
}
