package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/tensor"
)

// d2lFile is the shipped Fashion-MNIST model: inception-v1-d2l at 1×28×28,
// 10 classes.
const (
	d2lFile = "../assets/inception-v1-d2l-fmnist28.onnx"
	d2lArg  = "inception-v1-d2l=" + d2lFile
	d2lName = "inception-v1-d2l"
)

var (
	d2lOnce  sync.Once
	d2lModel Model
	d2lErr   error
)

// loadD2L loads the shipped model once for all tests (a zoo model is safe
// for concurrent use).
func loadD2L(t testing.TB) Model {
	t.Helper()
	d2lOnce.Do(func() { d2lModel, d2lErr = LoadModel(context.Background(), d2lArg, LoadOptions{}) })
	if d2lErr != nil {
		t.Fatalf("LoadModel(%q): %v", d2lArg, d2lErr)
	}
	return d2lModel
}

// newTestServer starts a server for the shipped model behind httptest.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(cfg, loadD2L(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

// input returns n deterministic samples of the d2l input.
func input(n int, seed uint64) *tensor.Tensor {
	return testkit.RandomInput(seed, n, 1, 28, 28)
}

// forward runs the model directly: the reference for the server's answers.
func forward(t *testing.T, x *tensor.Tensor) []float32 {
	t.Helper()
	y, err := loadD2L(t).Model.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	return y.Data
}

// jsonInfer is a JSON inference request for x as FP32.
func jsonInfer(x *tensor.Tensor) []byte {
	shape := make([]int64, len(x.Shape))
	for i, d := range x.Shape {
		shape[i] = int64(d)
	}
	b, _ := json.Marshal(map[string]any{
		"id":     "req-1",
		"inputs": []map[string]any{{"name": "input", "shape": shape, "datatype": "FP32", "data": x.Data}},
	})
	return b
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// inferOutput decodes a JSON inference response's one output.
func inferOutput(t *testing.T, r response) (jsonResponse, []float32) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	var out struct {
		jsonResponse
		Outputs []struct {
			Name     string    `json:"name"`
			Datatype string    `json:"datatype"`
			Shape    []int64   `json:"shape"`
			Data     []float32 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("response %s: %v", r.body, err)
	}
	if len(out.Outputs) != 1 {
		t.Fatalf("%d outputs, want 1: %s", len(out.Outputs), r.body)
	}
	o := out.Outputs[0]
	out.jsonResponse.Outputs = []jsonTensor{{Name: o.Name, Datatype: o.Datatype, Shape: o.Shape}}
	return out.jsonResponse, o.Data
}

// errorBody checks a JSON error body and returns its message.
func errorBody(t *testing.T, r response) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("error body %q: want {\"error\": \"...\"} (%v)", r.body, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	return e.Error
}

// closeTo checks got against want elementwise (rtol 1e-5, atol 1e-6: the
// same engine and weights, only the batch composition differs).
func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		d := float64(got[i] - want[i])
		if d < 0 {
			d = -d
		}
		w := float64(want[i])
		if w < 0 {
			w = -w
		}
		if d > 1e-6+1e-5*w {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
