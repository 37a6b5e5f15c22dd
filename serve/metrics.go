package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (served at /metrics). The model label only takes the names of served
// models ("" for requests naming another), so a client cannot grow the
// label set.
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	batchSize     *prometheus.HistogramVec
	batchDuration *prometheus.HistogramVec
	queueDepth    *prometheus.GaugeVec
	inflight      *prometheus.GaugeVec
}

// Metric names, for dashboards and tests.
const (
	MetricRequests      = "inception_requests_total"
	MetricLatency       = "inception_request_duration_seconds"
	MetricBatchSize     = "inception_batch_size"
	MetricBatchDuration = "inception_batch_duration_seconds"
	MetricQueueDepth    = "inception_queue_depth"
	MetricInflight      = "inception_inflight_requests"
)

func newMetrics(maxBatch int) *metrics {
	sizes := make([]float64, maxBatch)
	for i := range sizes {
		sizes[i] = float64(i + 1)
	}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRequests,
			Help: "Requests answered, by protocol (http, grpc), endpoint, model and status code (HTTP status or gRPC code name).",
		}, []string{"protocol", "endpoint", "model", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricLatency,
			Help:    "Time from the start of an inference or classify request to its answer, by protocol, endpoint and model.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16), // 1 ms .. 33 s
		}, []string{"protocol", "endpoint", "model"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricBatchSize,
			Help:    "Samples per forward pass of the dynamic batcher, by model.",
			Buckets: sizes,
		}, []string{"model"}),
		batchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricBatchDuration,
			Help:    "Time of one forward pass of the dynamic batcher, by model.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"model"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricQueueDepth,
			Help: "Requests waiting for the dynamic batcher, by model.",
		}, []string{"model"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricInflight,
			Help: "Inference and classify requests admitted and not yet answered (being read, queued or running), by model.",
		}, []string{"model"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.batchSize, m.batchDuration, m.queueDepth, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
