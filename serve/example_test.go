package serve_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/inceptionzoo/inception/serve"
)

// Serve the shipped Fashion-MNIST model and ask for its metadata and an
// inference over the protocol's REST API (Serve would run the same
// handler, plus gRPC, until its context ends).
func Example() {
	ctx := context.Background()
	m, err := serve.LoadModel(ctx, "inception-v1-d2l=../assets/inception-v1-d2l-fmnist28.onnx", serve.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	s, err := serve.New(serve.Config{MaxBatch: 8, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, m)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/v2/models/inception-v1-d2l")
	if err != nil {
		log.Fatal(err)
	}
	md, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(md))

	zeros := "[" + strings.TrimSuffix(strings.Repeat("0,", 28*28), ",") + "]"
	req := `{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":` + zeros + `}]}`
	resp, err = http.Post(ts.URL+"/v2/models/inception-v1-d2l/infer", "application/json", strings.NewReader(req))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output:
	// 200 {"name":"inception-v1-d2l","versions":["1"],"platform":"inceptionzoo_go","inputs":[{"name":"input","datatype":"FP32","shape":[-1,1,28,28]}],"outputs":[{"name":"output","datatype":"FP32","shape":[-1,10]}],"properties":{"architecture":"inception-v1-d2l","max_batch_size":"8","output_kind":"logits","preprocess":"resize 28, crop 28, bilinear, custom","seeded":"false","weights":"inception-v1-d2l"}}
	// 200 application/json
}
