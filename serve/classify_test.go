package serve

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inceptionzoo/inception/preprocess"
)

// TestClassify: an image body gets the model's own top-K with labels,
// the same as zoo's PredictImage.
func TestClassify(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	paths, err := filepath.Glob("../assets/fashion-mnist/*.png")
	if err != nil || len(paths) < 3 {
		t.Fatalf("bundled images: %v, %v", paths, err)
	}
	m := loadD2L(t).Model
	for _, p := range paths[:3] {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := preprocess.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.PredictImage(img, 3)
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, "POST", ts.URL+"/v1/classify?model=inception-v1-d2l&top=3", data, map[string]string{"Content-Type": "image/png"})
		if r.status != 200 {
			t.Fatalf("%s: status %d: %s", p, r.status, r.body)
		}
		var got ClassifyResponse
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Model != d2lName || got.Seeded || len(got.Predictions) != 3 {
			t.Fatalf("%s: %s", p, r.body)
		}
		for i, w := range want {
			g := got.Predictions[i]
			if g.Index != w.Index || g.Label != w.Label || g.Label == "" || abs32(g.Score-w.Score) > 1e-5 {
				t.Errorf("%s: prediction %d = %+v, want %+v", p, i, g, w)
			}
		}
	}
	// Without model= it uses the only model; bad inputs are 400s.
	data, _ := os.ReadFile(paths[0])
	if r := do(t, "POST", ts.URL+"/v1/classify", data, nil); r.status != 200 {
		t.Errorf("no model=: status %d: %s", r.status, r.body)
	}
	for _, tt := range []struct {
		url, body string
		status    int
		msg       string
	}{
		{"/v1/classify", "not an image", 400, "unsupported or corrupt image"},
		{"/v1/classify?top=11", string(data), 400, "want 1 to 10"},
		{"/v1/classify?model=nope", string(data), 404, "unknown model"},
		{"/v1/classify", "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 40), 400, "png"},
	} {
		r := do(t, "POST", ts.URL+tt.url, []byte(tt.body), nil)
		if r.status != tt.status {
			t.Errorf("%s %q: status %d, want %d (%s)", tt.url, tt.body[:min(8, len(tt.body))], r.status, tt.status, r.body)
			continue
		}
		if msg := errorBody(t, r); !strings.Contains(msg, tt.msg) {
			t.Errorf("%s: error %q, want %q", tt.url, msg, tt.msg)
		}
	}
}

func abs32(f float32) float32 {
	if f < 0 {
		return -f
	}
	return f
}

// TestMetricsEndpoint: /metrics exposes request counts by code, latency,
// batch sizes and queue depth, with the model label.
func TestMetricsEndpoint(t *testing.T) {
	_, ts := newTestServer(t, Config{})
	inferOutput(t, do(t, "POST", ts.URL+"/v2/models/inception-v1-d2l/infer", jsonInfer(input(1, 1)), nil))
	do(t, "POST", ts.URL+"/v2/models/inception-v1-d2l/infer", []byte("{"), nil)
	do(t, "POST", ts.URL+"/v2/models/some-unknown-name/infer", []byte("{}"), nil)
	r := do(t, "GET", ts.URL+"/metrics", nil, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`inception_requests_total{code="200",endpoint="infer",model="inception-v1-d2l",protocol="http"} 1`,
		`inception_requests_total{code="400",endpoint="infer",model="inception-v1-d2l",protocol="http"} 1`,
		`inception_requests_total{code="404",endpoint="infer",model="",protocol="http"} 1`,
		`inception_request_duration_seconds_count{endpoint="infer",model="inception-v1-d2l",protocol="http"} 2`,
		`inception_batch_size_sum{model="inception-v1-d2l"} 1`,
		`inception_queue_depth{model="inception-v1-d2l"} 0`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "some-unknown-name") {
		t.Error("/metrics has a label from an unknown model name: clients could grow the label set")
	}
}
