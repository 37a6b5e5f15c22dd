package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Endpoint labels of the request metrics.
const (
	epHealth   = "health"
	epServer   = "server_metadata"
	epMetadata = "model_metadata"
	epReady    = "model_ready"
	epInfer    = "infer"
	epClassify = "classify"
	epMetrics  = "metrics"
	epOther    = "other"
)

// Handler returns the REST API:
//
//	GET  /v2/health/live                     {"live": true}
//	GET  /v2/health/ready                    {"ready": true}, or 503 {"ready": false} while shutting down
//	GET  /v2                                 server metadata
//	GET  /v2/models/{name}[/versions/1]      model metadata
//	GET  /v2/models/{name}[/versions/1]/ready
//	POST /v2/models/{name}[/versions/1]/infer
//	POST /v1/classify?model=NAME&top=K       an image body; top-K classes with labels
//	GET  /metrics                            Prometheus metrics
//
// Errors are {"error": "..."} with 400 (bad request), 404 (unknown model
// or path), 405 (method), 413 (too large), 429 (queue or byte budget
// full), 503 (shutting down, or the deadline passed before the request
// ran) or 500.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v2/health/live", s.route(epHealth, http.MethodGet, s.live))
	mux.Handle("/v2/health/ready", s.route(epHealth, http.MethodGet, s.readyz))
	mux.Handle("/v2", s.route(epServer, http.MethodGet, s.serverMetadata))
	for _, v := range []string{"", "/versions/{version}"} {
		mux.Handle("/v2/models/{name}"+v, s.route(epMetadata, http.MethodGet, s.modelMetadata))
		mux.Handle("/v2/models/{name}"+v+"/ready", s.route(epReady, http.MethodGet, s.modelReady))
		mux.Handle("/v2/models/{name}"+v+"/infer", s.route(epInfer, http.MethodPost, s.infer))
	}
	mux.Handle("/v1/classify", s.route(epClassify, http.MethodPost, s.classify))
	metrics := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	mux.Handle("/metrics", s.route(epMetrics, http.MethodGet, func(c *call, w http.ResponseWriter, r *http.Request) error {
		metrics.ServeHTTP(w, r)
		return nil
	}))
	mux.Handle("/", s.route(epOther, "", func(c *call, w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("%w: no endpoint %s %s", errNoRoute, r.Method, r.URL.Path)
	}))
	return mux
}

var (
	errNoRoute  = errors.New("not found")
	errNoMethod = errors.New("method not allowed")
)

// call is one REST request being answered.
type call struct {
	endpoint, model string
	start           time.Time
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// route wraps a handler: method check, error bodies, metrics and logs.
func (s *Server) route(endpoint, method string, h func(*call, http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c := &call{endpoint: endpoint, start: time.Now()}
		w := &statusWriter{ResponseWriter: rw}
		var err error
		if method != "" && r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			err = fmt.Errorf("%w: %s %s; use %s", errNoMethod, r.Method, r.URL.Path, method)
		} else {
			err = h(c, w, r)
		}
		if err != nil {
			status := httpStatus(err)
			switch {
			case errors.Is(err, errNoRoute):
				status = http.StatusNotFound
			case errors.Is(err, errNoMethod):
				status = http.StatusMethodNotAllowed
			}
			if w.status == 0 {
				writeJSON(w, status, map[string]string{"error": err.Error()})
			}
		}
		s.record(c, "http", strconv.Itoa(w.status), w.status, err, r)
	})
}

// record counts and logs an answered request.
func (s *Server) record(c *call, protocol, code string, status int, err error, r *http.Request) {
	model := s.metricModel(c.model)
	s.metrics.requests.WithLabelValues(protocol, c.endpoint, model, code).Inc()
	d := time.Since(c.start)
	if c.endpoint == epInfer || c.endpoint == epClassify {
		s.metrics.latency.WithLabelValues(protocol, c.endpoint, model).Observe(d.Seconds())
	}
	level := slog.LevelDebug
	switch {
	case status >= 500 && status != http.StatusServiceUnavailable:
		level = slog.LevelError
	case status >= 400 && status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable:
		level = slog.LevelInfo
	}
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{slog.String("protocol", protocol), slog.String("endpoint", c.endpoint), slog.String("code", code), slog.Duration("duration", d)}
	if c.model != "" {
		attrs = append(attrs, slog.String("model", c.model))
	}
	if r != nil {
		attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr))
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	s.log.LogAttrs(context.Background(), level, "request", attrs...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error: encoding the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) live(c *call, w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	return nil
}

func (s *Server) readyz(c *call, w http.ResponseWriter, r *http.Request) error {
	status := http.StatusOK
	if !s.Ready() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]bool{"ready": s.Ready()})
	return nil
}

type serverMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

func (s *Server) serverMetadata(c *call, w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, serverMetadata{ServerName, s.cfg.Version, []string{ExtensionBinaryData}})
	return nil
}

type tensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

type modelMetadata struct {
	Name       string            `json:"name"`
	Versions   []string          `json:"versions"`
	Platform   string            `json:"platform"`
	Inputs     []tensorMetadata  `json:"inputs"`
	Outputs    []tensorMetadata  `json:"outputs"`
	Properties map[string]string `json:"properties,omitempty"`
}

// metadata is the model's metadata: shapes with -1 for the batch.
func (sv *served) metadata() modelMetadata {
	in := []int64{-1}
	for _, d := range sv.spec.sample {
		in = append(in, int64(d))
	}
	return modelMetadata{
		Name: sv.Name, Versions: []string{ModelVersion}, Platform: Platform,
		Inputs:     []tensorMetadata{{sv.spec.input, "FP32", in}},
		Outputs:    []tensorMetadata{{sv.spec.output, "FP32", []int64{-1, int64(sv.spec.classes)}}},
		Properties: sv.properties(),
	}
}

func (s *Server) modelFromPath(c *call, r *http.Request) (*served, error) {
	c.model = r.PathValue("name")
	return s.lookup(c.model, r.PathValue("version"))
}

func (s *Server) modelMetadata(c *call, w http.ResponseWriter, r *http.Request) error {
	sv, err := s.modelFromPath(c, r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sv.metadata())
	return nil
}

func (s *Server) modelReady(c *call, w http.ResponseWriter, r *http.Request) error {
	sv, err := s.modelFromPath(c, r)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !s.Ready() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"name": sv.Name, "ready": s.Ready()})
	return nil
}

// admit checks a request's declared size, takes a queue slot and reserves
// its body bytes, before anything is read. The returned func releases
// both.
func (s *Server) admit(sv *served, r *http.Request) (*reservation, func(), error) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, nil, fmt.Errorf("%w: Content-Length %d, this server takes at most %d bytes", ErrTooLarge, r.ContentLength, s.cfg.MaxBodyBytes)
	}
	if !sv.batcher.admit() {
		return nil, nil, fmt.Errorf("%w: model %s has %d requests in progress, its queue limit; retry later", ErrOverloaded, sv.Name, s.cfg.QueueSize)
	}
	res := &reservation{b: &s.bytes}
	size := r.ContentLength
	if size < 0 {
		size = s.cfg.MaxBodyBytes // chunked: reserve the most it may be
	}
	if err := res.take(size); err != nil {
		sv.batcher.release()
		return nil, nil, err
	}
	return res, func() { res.release(); sv.batcher.release() }, nil
}

// readBody reads the body (at most MaxBodyBytes, else ErrTooLarge).
// Compressed bodies are refused: they would be read as JSON or image
// bytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, fmt.Errorf("%w: Content-Encoding %q is not supported; send the body uncompressed", ErrBadRequest, ce)
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	var b []byte
	var err error
	if r.ContentLength >= 0 {
		b = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, b)
	} else {
		b, err = io.ReadAll(body)
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("%w: body over %d bytes", ErrTooLarge, s.cfg.MaxBodyBytes)
		}
		return nil, fmt.Errorf("%w: reading the body: %w", ErrBadRequest, err)
	}
	return b, nil
}

func (s *Server) infer(c *call, w http.ResponseWriter, r *http.Request) error {
	sv, err := s.modelFromPath(c, r)
	if err != nil {
		return err
	}
	res, done, err := s.admit(sv, r)
	if err != nil {
		return err
	}
	defer done()
	jsonLen := int64(-1)
	if h := r.Header.Get(HeaderJSONLength); h != "" {
		if jsonLen, err = strconv.ParseInt(h, 10, 64); err != nil || jsonLen < 0 {
			return fmt.Errorf("%w: %s %q is not a byte count", ErrBadRequest, HeaderJSONLength, h)
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, err := decodeREST(&sv.spec, body, jsonLen, res.alloc)
	if err != nil {
		return err
	}
	body = nil
	y, err := sv.batcher.do(ctx, req.x, req.n)
	if err != nil {
		return err
	}
	out, headLen, err := encodeREST(&sv.spec, sv.Name, ModelVersion, req, y)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	if headLen >= 0 {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set(HeaderJSONLength, strconv.Itoa(headLen))
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	return nil
}
