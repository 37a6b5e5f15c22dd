package serve

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/tensor"
)

func TestRESTMetadataEndpoints(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
		want         string // the JSON body, compared as values
	}{
		{"GET", "/v2/health/live", 200, `{"live":true}`},
		{"GET", "/v2/health/ready", 200, `{"ready":true}`},
		{"GET", "/v2/models/inception-v1-d2l/ready", 200, `{"name":"inception-v1-d2l","ready":true}`},
		{"GET", "/v2/models/inception-v1-d2l/versions/1/ready", 200, `{"name":"inception-v1-d2l","ready":true}`},
		{"GET", "/v2/models/inception-v1-d2l", 200, `{"name":"inception-v1-d2l","versions":["1"],"platform":"inceptionzoo_go",
			"inputs":[{"name":"input","datatype":"FP32","shape":[-1,1,28,28]}],
			"outputs":[{"name":"output","datatype":"FP32","shape":[-1,10]}],
			"properties":{"architecture":"inception-v1-d2l","max_batch_size":"8","output_kind":"logits","preprocess":"resize 28, crop 28, bilinear, custom","seeded":"false","weights":"inception-v1-d2l"}}`},
		{"GET", "/v2/models/inception-v1-d2l/versions/1", 200, `{"name":"inception-v1-d2l","versions":["1"],"platform":"inceptionzoo_go",
			"inputs":[{"name":"input","datatype":"FP32","shape":[-1,1,28,28]}],
			"outputs":[{"name":"output","datatype":"FP32","shape":[-1,10]}],
			"properties":{"architecture":"inception-v1-d2l","max_batch_size":"8","output_kind":"logits","preprocess":"resize 28, crop 28, bilinear, custom","seeded":"false","weights":"inception-v1-d2l"}}`},
		{"GET", "/v2", 200, `{"name":"inception","version":"test-version","extensions":["binary_tensor_data"]}`},
	}
	_, ts := newTestServer(t, Config{Version: "test-version"})
	for _, tt := range tests {
		r := do(t, tt.method, ts.URL+tt.path, nil, nil)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d (%s)", tt.method, tt.path, r.status, tt.status, r.body)
			continue
		}
		var got, want any
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Errorf("%s %s: body %q: %v", tt.method, tt.path, r.body, err)
			continue
		}
		if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s:\n got  %s\n want %s", tt.method, tt.path, r.body, tt.want)
		}
	}
}

func TestRESTNotFoundAndMethod(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	tests := []struct {
		method, path string
		status       int
		msg          string
	}{
		{"GET", "/v2/models/nope", 404, `unknown model "nope"`},
		{"GET", "/v2/models/nope/ready", 404, `unknown model "nope"`},
		{"POST", "/v2/models/nope/infer", 404, `unknown model "nope"`},
		{"GET", "/v2/models/inception-v1-d2l/versions/2", 404, `no version "2"`},
		{"POST", "/v2/models/inception-v1-d2l/versions/7/infer", 404, `no version "7"`},
		{"GET", "/v3/whatever", 404, "no endpoint GET /v3/whatever"},
		{"GET", "/v2/models/inception-v1-d2l/infer", 405, "use POST"},
		{"POST", "/v2/health/live", 405, "use GET"},
		{"DELETE", "/v2/models/inception-v1-d2l", 405, "use GET"},
	}
	for _, tt := range tests {
		r := do(t, tt.method, ts.URL+tt.path, []byte("{}"), nil)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d (%s)", tt.method, tt.path, r.status, tt.status, r.body)
			continue
		}
		if msg := errorBody(t, r); !strings.Contains(msg, tt.msg) {
			t.Errorf("%s %s: error %q, want it to contain %q", tt.method, tt.path, msg, tt.msg)
		}
	}
}

// TestInferMatchesForward: an FP32 request's output is the model's own
// output for the same input, at batch 1 and 3, flat and nested data.
func TestInferMatchesForward(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	for _, n := range []int{1, 3} {
		x := input(n, uint64(n))
		want := forward(t, x)
		resp, got := inferOutput(t, do(t, "POST", ts.URL+"/v2/models/inception-v1-d2l/infer", jsonInfer(x), nil))
		closeTo(t, fmt.Sprintf("batch %d output", n), got, want)
		o := resp.Outputs[0]
		if o.Name != "output" || o.Datatype != "FP32" || !reflect.DeepEqual(o.Shape, []int64{int64(n), 10}) {
			t.Errorf("batch %d: output %q %s %v, want \"output\" FP32 [%d 10]", n, o.Name, o.Datatype, o.Shape, n)
		}
		if resp.ModelName != d2lName || resp.ModelVersion != "1" || resp.ID != "req-1" {
			t.Errorf("batch %d: model_name %q, model_version %q, id %q; want %q, \"1\", \"req-1\"", n, resp.ModelName, resp.ModelVersion, resp.ID, d2lName)
		}
		// The network-dependent part must be large against the tolerance:
		// logits of different classes differ.
		lo, hi := got[0], got[0]
		for _, v := range got[:10] {
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi-lo < 1 {
			t.Errorf("batch %d: logits span %v, want a spread over 1 (an insensitive check)", n, hi-lo)
		}
	}

	// Nested data in the natural shape gives the same answer.
	x := input(2, 9)
	nested := make([][][][]float32, 2)
	for b := range nested {
		nested[b] = [][][]float32{make([][]float32, 28)}
		for h := range 28 {
			nested[b][0][h] = x.Data[b*784+h*28 : b*784+(h+1)*28]
		}
	}
	body, _ := json.Marshal(map[string]any{"inputs": []any{map[string]any{"name": "input", "shape": []int{2, 1, 28, 28}, "datatype": "FP32", "data": nested}}})
	_, got := inferOutput(t, do(t, "POST", ts.URL+"/v2/models/inception-v1-d2l/versions/1/infer", body, nil))
	closeTo(t, "nested", got, forward(t, x))
}

// TestInferDatatypes: inputs in other numeric types are converted to FP32
// (JSON and binary), giving the output of the converted values.
func TestInferDatatypes(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	x := input(1, 3)
	// Integer-valued and half-exact inputs, so each type holds them exactly.
	ints := make([]float32, len(x.Data))
	for i, v := range x.Data {
		ints[i] = float32(math.Round(float64(v) * 100)) // -100..100
	}
	u8 := make([]float32, len(x.Data))
	for i, v := range x.Data {
		u8[i] = float32(math.Round(float64(v+1) * 127)) // 0..254
	}
	halfs := make([]float32, len(x.Data))
	for i, v := range x.Data {
		halfs[i] = float32(math.Round(float64(v)*256)) / 256 // exact in FP16 and BF16
	}
	ref := func(v []float32) *tensor.Tensor {
		t := tensor.New(1, 1, 28, 28)
		copy(t.Data, v)
		return t
	}
	tests := []struct {
		dtype  string
		values []float32
		binary func(v float32) []byte // nil: JSON data
	}{
		{"FP64", x.Data, nil},
		{"INT8", ints, nil},
		{"INT16", ints, nil},
		{"INT32", ints, nil},
		{"INT64", ints, nil},
		{"UINT8", u8, nil},
		{"UINT16", u8, nil},
		{"UINT32", u8, nil},
		{"UINT64", u8, nil},
		{"FP32", x.Data, func(v float32) []byte { return binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)) }},
		{"FP64", x.Data, func(v float32) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(float64(v))) }},
		{"INT8", ints, func(v float32) []byte { return []byte{byte(int8(v))} }},
		{"INT32", ints, func(v float32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(int32(v))) }},
		{"UINT8", u8, func(v float32) []byte { return []byte{uint8(v)} }},
		{"UINT16", u8, func(v float32) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }},
		{"INT64", ints, func(v float32) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(int64(v))) }},
		{"FP16", halfs, func(v float32) []byte { return binary.LittleEndian.AppendUint16(nil, float32ToHalf(v)) }},
		{"BF16", halfs, func(v float32) []byte {
			return binary.LittleEndian.AppendUint16(nil, uint16(math.Float32bits(v)>>16))
		}},
	}
	for _, tt := range tests {
		name := tt.dtype + "/json"
		var r response
		if tt.binary == nil {
			data := make([]any, len(tt.values))
			for i, v := range tt.values {
				if tt.dtype == "FP64" {
					data[i] = float64(v)
				} else {
					data[i] = int64(v)
				}
			}
			body, _ := json.Marshal(map[string]any{"inputs": []any{map[string]any{"name": "input", "shape": []int{1, 1, 28, 28}, "datatype": tt.dtype, "data": data}}})
			r = do(t, "POST", ts.URL+"/v2/models/inception-v1-d2l/infer", body, nil)
		} else {
			name = tt.dtype + "/binary"
			var raw []byte
			for _, v := range tt.values {
				raw = append(raw, tt.binary(v)...)
			}
			r = postBinary(t, ts.URL, tt.dtype, []int{1, 1, 28, 28}, raw, false)
		}
		_, got := inferOutput(t, r)
		closeTo(t, name, got, forward(t, ref(tt.values)))
	}
}

// float32ToHalf converts a value exact in FP16 to its bits.
func float32ToHalf(f float32) uint16 {
	for h := 0; h < 1<<16; h++ {
		if onnxir.Float16ToFloat32(uint16(h)) == f {
			return uint16(h)
		}
	}
	panic(fmt.Sprintf("%v is not exact in FP16", f))
}

// postBinary sends raw as the binary data of one input (and asks for a
// binary output if binOut).
func postBinary(t *testing.T, url, dtype string, shape []int, raw []byte, binOut bool) response {
	t.Helper()
	req := map[string]any{"inputs": []any{map[string]any{"name": "input", "shape": shape, "datatype": dtype,
		"parameters": map[string]any{"binary_data_size": len(raw)}}}}
	if binOut {
		req["outputs"] = []any{map[string]any{"name": "output", "parameters": map[string]any{"binary_data": true}}}
	}
	head, _ := json.Marshal(req)
	return do(t, "POST", url+"/v2/models/inception-v1-d2l/infer", append(head, raw...),
		map[string]string{HeaderJSONLength: strconv.Itoa(len(head)), "Content-Type": "application/octet-stream"})
}

// TestBinaryRoundTrip: binary input and binary output (the binary tensor
// data extension) give the JSON answer's values bit for bit.
func TestBinaryRoundTrip(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	x := input(2, 5)
	_, want := inferOutput(t, do(t, "POST", ts.URL+"/v2/models/inception-v1-d2l/infer", jsonInfer(x), nil))
	var raw []byte
	for _, v := range x.Data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	for _, viaRequestParam := range []bool{false, true} {
		var r response
		if viaRequestParam {
			head, _ := json.Marshal(map[string]any{"parameters": map[string]any{"binary_data_output": true},
				"inputs": []any{map[string]any{"name": "input", "shape": []int{2, 1, 28, 28}, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": len(raw)}}}})
			r = do(t, "POST", ts.URL+"/v2/models/inception-v1-d2l/infer", append(head, raw...), map[string]string{HeaderJSONLength: strconv.Itoa(len(head))})
		} else {
			r = postBinary(t, ts.URL, "FP32", []int{2, 1, 28, 28}, raw, true)
		}
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		hl, err := strconv.Atoi(r.header.Get(HeaderJSONLength))
		if err != nil || hl <= 0 || hl > len(r.body) {
			t.Fatalf("%s %q: want the JSON length (body %d bytes)", HeaderJSONLength, r.header.Get(HeaderJSONLength), len(r.body))
		}
		var head struct {
			Outputs []struct {
				Name       string         `json:"name"`
				Shape      []int64        `json:"shape"`
				Parameters map[string]int `json:"parameters"`
				Data       []float32      `json:"data"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal(r.body[:hl], &head); err != nil {
			t.Fatalf("JSON part %q: %v", r.body[:hl], err)
		}
		o := head.Outputs[0]
		if got, want := o.Parameters["binary_data_size"], 4*len(want); got != want || o.Data != nil || len(r.body)-hl != want {
			t.Fatalf("binary_data_size %d, data %v, %d bytes after the JSON; want %d, none, %d", got, o.Data, len(r.body)-hl, want, want)
		}
		got := make([]float32, len(want))
		for i := range got {
			got[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.body[hl+4*i:]))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("binary output differs from the JSON output")
		}
	}
}
