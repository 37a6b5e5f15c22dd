package serve

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestInferBadRequests: malformed and hostile requests get a 400 with a
// JSON error saying what is wrong, and the server goes on answering.
func TestInferBadRequests(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	good := string(jsonInfer(input(1, 1)))
	inp := func(shape, dtype, data string) string {
		return `{"inputs":[{"name":"input","shape":` + shape + `,"datatype":"` + dtype + `","data":` + data + `}]}`
	}
	nums := func(n int, v string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(v+",", n), ",") + "]"
	}
	f784 := nums(784, "0.5")
	tests := []struct {
		name, body string
		header     map[string]string
		msg        string
	}{
		{"empty body", "", nil, "empty body"},
		{"truncated JSON", good[:len(good)/2], nil, "request JSON"},
		{"not an object", `[1,2,3]`, nil, "request JSON"},
		{"no inputs", `{"inputs":[]}`, nil, "0 inputs"},
		{"two inputs", `{"inputs":[{"name":"input"},{"name":"input"}]}`, nil, "2 inputs"},
		{"wrong input name", `{"inputs":[{"name":"x","shape":[1,1,28,28],"datatype":"FP32","data":[1]}]}`, nil, `unknown input "x"`},
		{"wrong shape", inp("[1,3,28,28]", "FP32", f784), nil, "has shape [1 3 28 28]; the model takes [-1 1 28 28]"},
		{"rank", inp("[784]", "FP32", f784), nil, "has shape [784]"},
		{"batch 0", inp("[0,1,28,28]", "FP32", "[]"), nil, "batch 0"},
		{"negative batch", inp("[-1,1,28,28]", "FP32", "[]"), nil, "batch -1"},
		{"batch over max", inp("[9,1,28,28]", "FP32", "[]"), nil, "batch 9; this server takes 1 to 8"},
		{"a billion elements", inp("[1000000000,1,28,28]", "FP32", "[]"), nil, "batch 1000000000"},
		{"huge dims", inp("[1,1,9223372036854775807,28]", "FP32", "[]"), nil, "has shape"},
		{"dims overflow int64", inp("[1,1,99999999999999999999,28]", "FP32", "[]"), nil, "request JSON"},
		{"BYTES", inp("[1,1,28,28]", "BYTES", f784), nil, "BYTES is not numeric"},
		{"BOOL", inp("[1,1,28,28]", "BOOL", f784), nil, "BOOL is not numeric"},
		{"unknown datatype", inp("[1,1,28,28]", "FP8", f784), nil, `unknown datatype "FP8"`},
		{"too few values", inp("[1,1,28,28]", "FP32", nums(783, "1")), nil, "data has 783 elements, the shape needs 784"},
		{"too many values", inp("[1,1,28,28]", "FP32", nums(785, "1")), nil, "more than the 784 elements"},
		{"string value", inp("[1,1,28,28]", "FP32", `["a"]`), nil, "data element 0 is not a number"},
		{"null value", inp("[1,1,28,28]", "FP32", `[1,null]`), nil, "data element 1 is not a number"},
		{"data not an array", inp("[1,1,28,28]", "FP32", `5`), nil, "not an array"},
		{"no data", `{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32"}]}`, nil, "has no data"},
		{"too deep", inp("[1,1,28,28]", "FP32", "[[[[[[1]]]]]]"), nil, "deeper than the shape's 4 dimensions"},
		{"overflowing FP32", inp("[1,1,28,28]", "FP32", "[1e39,"+f784[1:]), nil, "element 0 is 1e+39"},
		{"overflowing float64", inp("[1,1,28,28]", "FP64", "[1e400,"+f784[1:]), nil, "element 0 is +Inf"},
		{"fraction in INT32", inp("[1,1,28,28]", "INT32", "[1.5,"+f784[1:]), nil, "element 0 (1.5) is not a INT32 value"},
		{"UINT8 out of range", inp("[1,1,28,28]", "UINT8", "[256,"+f784[1:]), nil, "element 0 (256) is not a UINT8 value"},
		{"negative UINT16", inp("[1,1,28,28]", "UINT16", "[-1,"+f784[1:]), nil, "element 0 (-1) is not a UINT16 value"},
		{"unknown output", `{"inputs":` + good[strings.Index(good, `[`):len(good)-1] + `,"outputs":[{"name":"logits"}]}`, nil, `unknown output "logits"`},
		{"classification", `{"inputs":` + good[strings.Index(good, `[`):len(good)-1] + `,"outputs":[{"name":"output","parameters":{"classification":3}}]}`, nil, "classification extension"},
		{"id not a string", `{"id":5,` + good[1:], nil, "request JSON"},
		{"bad binary_data parameter", `{"inputs":` + good[strings.Index(good, `[`):len(good)-1] + `,"outputs":[{"name":"output","parameters":{"binary_data":"yes"}}]}`, nil, "want true or false"},
		{"binary size without header", `{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","parameters":{"binary_data_size":3136}}]}`, nil, "no Inference-Header-Content-Length"},
		{"header past the body", good, map[string]string{HeaderJSONLength: "999999"}, "larger than the"},
		{"header not a number", good, map[string]string{HeaderJSONLength: "ten"}, "is not a byte count"},
		{"compressed", good, map[string]string{"Content-Encoding": "gzip"}, `Content-Encoding "gzip" is not supported`},
		{"binary data without binary input", good + "xxxx", map[string]string{HeaderJSONLength: strconv.Itoa(len(good))}, "4 bytes of binary data after the JSON, but no input"},
		{"binary size mismatch", `{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","parameters":{"binary_data_size":3000}}]}`, map[string]string{HeaderJSONLength: "auto"}, "needs 3136 bytes"},
		{"negative binary size", `{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","parameters":{"binary_data_size":-5}}]}`, map[string]string{HeaderJSONLength: "auto"}, "want a non-negative integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h[HeaderJSONLength] == "auto" { // the whole body is the JSON part
				h = map[string]string{HeaderJSONLength: strconv.Itoa(len(tt.body))}
			}
			r := do(t, "POST", ts.URL+"/v2/models/inception-v1-d2l/infer", []byte(tt.body), h)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (%s)", r.status, r.body)
			}
			if msg := errorBody(t, r); !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q, want it to contain %q", msg, tt.msg)
			}
		})
	}
	// Non-finite values in binary data: NaN, +Inf, and FP64 beyond FP32.
	raw := make([]byte, 4*784)
	binary.LittleEndian.PutUint32(raw[4*100:], math.Float32bits(float32(math.NaN())))
	r := postBinary(t, ts.URL, "FP32", []int{1, 1, 28, 28}, raw, false)
	if msg := errorBody(t, r); r.status != 400 || !strings.Contains(msg, "element 100 is NaN") {
		t.Errorf("NaN: status %d, error %q; want 400 naming element 100", r.status, msg)
	}
	raw64 := make([]byte, 8*784)
	binary.LittleEndian.PutUint64(raw64[8*7:], math.Float64bits(1e300))
	r = postBinary(t, ts.URL, "FP64", []int{1, 1, 28, 28}, raw64, false)
	if msg := errorBody(t, r); r.status != 400 || !strings.Contains(msg, "element 7 is 1e+300") {
		t.Errorf("FP64 1e300: status %d, error %q; want 400 naming element 7", r.status, msg)
	}
	// The server still answers.
	if _, got := inferOutput(t, do(t, "POST", ts.URL+"/v2/models/inception-v1-d2l/infer", jsonInfer(input(1, 1)), nil)); len(got) != 10 {
		t.Errorf("after the bad requests: %d outputs, want 10", len(got))
	}
}

// countingBody records whether a handler read the request body.
type countingBody struct {
	r    io.Reader
	read int
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}
func (c *countingBody) Close() error { return nil }

// TestBodyTooLarge: a Content-Length over the limit is refused with 413
// before the body is read; a chunked body is cut off at the limit.
func TestBodyTooLarge(t *testing.T) {
	s, ts := newTestServer(t, Config{MaxBodyBytes: 4096})
	body := &countingBody{r: bytes.NewReader(make([]byte, 1<<20))}
	req := httptest.NewRequest("POST", "/v2/models/inception-v1-d2l/infer", body)
	req.ContentLength = 1 << 20
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || body.read != 0 {
		t.Errorf("Content-Length 1 MiB: status %d after reading %d bytes, want 413 after none", rec.Code, body.read)
	}
	if msg := errorBody(t, response{rec.Code, rec.Header(), rec.Body.Bytes()}); !strings.Contains(msg, "at most 4096 bytes") {
		t.Errorf("error %q, want the limit", msg)
	}

	// Chunked (no Content-Length): read up to the limit, then 413.
	pr, pw := io.Pipe()
	go func() { pw.Write(make([]byte, 1<<16)); pw.Close() }()
	creq, _ := http.NewRequest("POST", ts.URL+"/v2/models/inception-v1-d2l/infer", pr)
	resp, err := http.DefaultClient.Do(creq)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 64 KiB: status %d, want 413 (%s)", resp.StatusCode, b)
	}
}

// TestInflightBytesBudget: a request whose body would pass the budget of
// bytes in flight is refused with 429.
func TestInflightBytesBudget(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxBodyBytes: 1 << 20, MaxInflightBytes: 1 << 20})
	if !s.bytes.take(1 << 19) { // another request holds half the budget
		t.Fatal("budget: could not take half")
	}
	body := jsonInfer(input(1, 1))
	padded := append(body, bytes.Repeat([]byte(" "), 600<<10)...)
	req := httptest.NewRequest("POST", "/v2/models/inception-v1-d2l/infer", bytes.NewReader(padded))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests {
		t.Errorf("status %d, want 429 (%s)", rec.Code, rec.Body)
	}
	s.bytes.give(1 << 19)
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/v2/models/inception-v1-d2l/infer", bytes.NewReader(padded)))
	if rec.Code != http.StatusOK {
		t.Errorf("after release: status %d, want 200 (%s)", rec.Code, rec.Body)
	}
	if s.bytes.used != 0 {
		t.Errorf("budget holds %d bytes after the requests, want 0", s.bytes.used)
	}
}
