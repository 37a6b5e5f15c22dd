// Package serve puts zoo models behind the Open Inference Protocol (KServe
// v2), the HTTP/REST and gRPC API of NVIDIA Triton, KServe and Seldon
// MLServer, so that their clients, and a KServe / Kubernetes deployment
// that scales the server out, work unchanged. `inception serve` is its
// command-line front end.
//
//	m, _ := serve.LoadModel(ctx, "inception-v1-d2l=assets/inception-v1-d2l-fmnist28.onnx", serve.LoadOptions{})
//	s, _ := serve.New(serve.Config{MaxBatch: 8}, m)
//	err := s.Serve(ctx, httpListener, grpcListener) // until ctx ends, then drains
//
// REST (Handler): GET /v2/health/live, /v2/health/ready, /v2 (server
// metadata), /v2/models/{name} (model metadata: input "input" FP32
// [-1, C, H, W], output "output" FP32 [-1, classes], as in the zoo's ONNX
// exports), /v2/models/{name}/ready, and POST /v2/models/{name}/infer with
// the protocol's JSON tensors (row-major "data", flat or nested) or the
// binary tensor data extension (Triton's extension_binary_data.md: a
// binary_data_size parameter, the Inference-Header-Content-Length header,
// raw little-endian bytes after the JSON; binary_data / binary_data_output
// ask for a binary output). The /versions/1 forms are accepted: every
// model has the one version "1". FP32 is the models' type; FP16, BF16,
// FP64, INT8-64 and UINT8-64 inputs are converted (integers must be in
// range, every value finite as FP32), BOOL and BYTES are refused. Errors
// are {"error": "..."} with 400, 404, 405, 413, 429, 503 or 500 (see the
// Err variables). POST /v1/classify?model=NAME&top=K takes an image body
// and answers the top-K classes with labels, preprocessed with the
// model's preset. GET /metrics serves the Prometheus metrics.
//
// gRPC (RegisterGRPC): inference.GRPCInferenceService from
// serve/inferencepb; ModelInfer takes typed contents or
// raw_input_contents, and answers in the same form
// (raw_output_contents for raw input).
//
// Production behaviour: each model has a dynamic batcher that coalesces
// requests up to Config.MaxBatch samples within Config.MaxDelay into one
// forward pass, behind a bounded queue (Config.QueueSize requests per
// model, then 429 / RESOURCE_EXHAUSTED, never an unbounded backlog).
// Every request has a deadline (Config.Timeout). Bodies are checked
// against Config.MaxBodyBytes before they are read, and the bytes held by
// all requests at once against Config.MaxInflightBytes. The HTTP server
// cuts off slow clients (ReadHeaderTimeout, ReadTimeout). Hostile input
// (wrong shapes, NaN, huge claimed shapes, truncated JSON) is a 400 with
// a message saying what and where; nothing is allocated in proportion to
// a claim before the claim is checked against the model, and the request
// decoders are fuzzed (FuzzDecodeREST, FuzzDecodeGRPC). Serve shuts down
// gracefully: it turns readiness off, stops accepting, lets in-flight
// requests finish and stops the batchers.
//
// Metrics: inception_requests_total{protocol,endpoint,model,code},
// inception_request_duration_seconds, inception_batch_size,
// inception_batch_duration_seconds, inception_queue_depth and
// inception_inflight_requests, plus the Go
// and process collectors. Logs are structured (log/slog): one record per
// request (debug for successes and 429/503, info for other client errors,
// error for server errors).
package serve
