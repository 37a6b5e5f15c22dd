package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/inceptionzoo/inception/zoo"
)

// Names the server reports.
const (
	// ServerName is the server's name in the server metadata.
	ServerName = "inception"
	// Platform is every model's platform in the model metadata: the zoo's
	// pure-Go engine.
	Platform = "inceptionzoo_go"
	// ModelVersion is the one version of every served model (the version
	// directory of a Triton repository written by package triton).
	ModelVersion = "1"
	// InputName and OutputName are the tensor names, as in the zoo's ONNX
	// exports (and so in a Triton repository's model.onnx).
	InputName  = "input"
	OutputName = "output"
	// ExtensionBinaryData is the binary tensor data extension's name in
	// the server metadata.
	ExtensionBinaryData = "binary_tensor_data"
)

// Defaults of Config's zero fields.
const (
	DefaultMaxBatch          = 8
	DefaultMaxDelay          = 5 * time.Millisecond
	DefaultQueueSize         = 64
	DefaultMaxBodyBytes      = 64 << 20
	DefaultMaxInflightBytes  = 1 << 30
	DefaultTimeout           = 30 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultDrainTimeout      = 25 * time.Second
)

// Config sets the server's limits and batching. Zero fields take the
// Default values.
type Config struct {
	// MaxBatch is the largest forward pass the dynamic batcher forms, and
	// the largest batch one request may carry (as Triton's max_batch_size).
	MaxBatch int
	// MaxDelay is how long the first request of a batch waits for others
	// to join it; negative means no waiting (a batch takes what is already
	// queued).
	MaxDelay time.Duration
	// QueueSize bounds, per model, the requests admitted at once (being
	// read, queued or running); more are refused with 429 /
	// RESOURCE_EXHAUSTED instead of queued.
	QueueSize int
	// MaxBodyBytes bounds a request body (REST, checked against
	// Content-Length before reading, and while reading) and a gRPC message.
	MaxBodyBytes int64
	// MaxInflightBytes bounds the request bodies and decoded inputs held
	// at once across all models; a request that would pass it is refused
	// with 429 / RESOURCE_EXHAUSTED.
	MaxInflightBytes int64
	// Timeout is each request's deadline, from arrival to answer (gRPC
	// clients may set an earlier one).
	Timeout time.Duration
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout are the HTTP server's
	// (slow clients are cut off); WriteTimeout is Timeout plus
	// ReadTimeout. ReadHeaderTimeout also bounds a gRPC connection's
	// handshake.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout time.Duration
	// DrainTimeout bounds the graceful shutdown of Serve.
	DrainTimeout time.Duration
	// Logger receives structured logs (default: slog.Default()).
	Logger *slog.Logger
	// Version is the server version in the server metadata (default: the
	// module version from the build information).
	Version string

	// wrapForward, set by tests, wraps each model's forward function.
	wrapForward func(model string, f forwardFunc) forwardFunc
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxInflightBytes == 0 {
		c.MaxInflightBytes = DefaultMaxInflightBytes
	}
	def(&c.MaxDelay, DefaultMaxDelay)
	def(&c.Timeout, DefaultTimeout)
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.DrainTimeout, DefaultDrainTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Version == "" {
		c.Version = buildVersion()
	}
	switch {
	case c.MaxBatch < 1 || c.MaxBatch > 4096:
		return c, fmt.Errorf("serve: MaxBatch %d: want 1 to 4096", c.MaxBatch)
	case c.QueueSize < 1:
		return c, fmt.Errorf("serve: QueueSize %d: want at least 1", c.QueueSize)
	case c.MaxBodyBytes < 1 || c.MaxBodyBytes > 1<<31-1:
		return c, fmt.Errorf("serve: MaxBodyBytes %d: want 1 to 2 GiB", c.MaxBodyBytes)
	case c.MaxInflightBytes < c.MaxBodyBytes:
		return c, fmt.Errorf("serve: MaxInflightBytes %d is below MaxBodyBytes %d", c.MaxInflightBytes, c.MaxBodyBytes)
	case c.Timeout < 0 || c.ReadHeaderTimeout < 0 || c.ReadTimeout < 0 || c.IdleTimeout < 0 || c.DrainTimeout < 0:
		return c, errors.New("serve: timeouts must not be negative")
	}
	return c, nil
}

// Model is one model to serve.
type Model struct {
	// Name is the model's name in URLs and requests.
	Name string
	// Model is the loaded model, [N, C, H, W] in and [N, classes] out. A
	// model with seeded (untrained) weights is served as given (LoadModel
	// refuses it unless LoadOptions.AllowSeeded); the model metadata says
	// so in its "seeded" property, and /v1/classify in its answers.
	Model *zoo.Model
}

// served is a model with its batcher and signature.
type served struct {
	Model
	spec    tensorSpec
	batcher *batcher
}

// Server serves models over the Open Inference Protocol (REST and gRPC)
// with dynamic batching. It is safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	models   map[string]*served
	names    []string
	metrics  *metrics
	draining atomic.Bool
	bytes    budget
	images   chan struct{} // image decodes in flight (each up to preprocess.MaxPixels)
	closeMu  sync.Mutex
	closed   bool
}

// New starts a server's batchers for models (at least one, distinct
// names). Serve runs it; or mount Handler and RegisterGRPC in servers of
// your own, and call Close after they have shut down.
func New(cfg Config, models ...Model) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(models) == 0 {
		return nil, errors.New("serve: no models")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, models: map[string]*served{}, metrics: newMetrics(cfg.MaxBatch),
		bytes: budget{max: cfg.MaxInflightBytes}, images: make(chan struct{}, runtime.GOMAXPROCS(0))}
	for _, m := range models {
		if m.Name == "" || m.Model == nil {
			return nil, fmt.Errorf("serve: model %q: a name and a loaded model are required", m.Name)
		}
		if _, dup := s.models[m.Name]; dup {
			return nil, fmt.Errorf("serve: model name %q given twice", m.Name)
		}
		in, out := m.Model.Graph.InputShape(), m.Model.Graph.OutputShape()
		if len(out) != 1 {
			return nil, fmt.Errorf("serve: model %q: output shape %v, want [classes]", m.Name, out)
		}
		sv := &served{Model: m, spec: tensorSpec{input: InputName, output: OutputName,
			sample: append([]int(nil), in...), sampleLen: in.Numel(), classes: out[0], maxBatch: cfg.MaxBatch}}
		s.models[m.Name] = sv
		s.names = append(s.names, m.Name)
	}
	sort.Strings(s.names)
	for _, name := range s.names {
		sv := s.models[name]
		f := forwardFunc(sv.Model.Model.Forward)
		if cfg.wrapForward != nil {
			f = cfg.wrapForward(name, f)
		}
		sv.batcher = newBatcher(name, &sv.spec, f, cfg.MaxBatch, cfg.MaxDelay, cfg.QueueSize, s.metrics)
	}
	return s, nil
}

// Models returns the served model names, sorted.
func (s *Server) Models() []string { return append([]string(nil), s.names...) }

// lookup returns the served model name at version ("" or ModelVersion).
func (s *Server) lookup(name, version string) (*served, error) {
	sv, ok := s.models[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (served: %v)", ErrUnknownModel, name, s.names)
	}
	if version != "" && version != ModelVersion {
		return nil, fmt.Errorf("%w: %q has no version %q (versions: %s)", ErrUnknownModel, name, version, ModelVersion)
	}
	return sv, nil
}

// metricModel is the model label of a request for name: name if served,
// "" otherwise (clients must not grow the label set).
func (s *Server) metricModel(name string) string {
	if _, ok := s.models[name]; ok {
		return name
	}
	return ""
}

// Ready reports whether the server takes inference requests: its models
// are loaded (New) and it is not shutting down.
func (s *Server) Ready() bool { return !s.draining.Load() }

// HTTPServer returns an http.Server for Handler with the configured
// timeouts against slow clients.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.ReadTimeout + s.cfg.Timeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// Serve answers REST requests on httpL and, if grpcL is not nil, gRPC on
// grpcL, until ctx is done or a listener fails. Then it shuts down
// gracefully: readiness turns false, the listeners close, in-flight
// requests finish (for at most DrainTimeout), and the batchers stop. It
// returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, httpL, grpcL net.Listener) error {
	hs := s.HTTPServer()
	errc := make(chan error, 2)
	go func() { errc <- fmt.Errorf("http: %w", hs.Serve(httpL)) }()
	var gs *grpc.Server
	if grpcL != nil {
		gs = s.GRPCServer()
		go func() { errc <- fmt.Errorf("grpc: %w", gs.Serve(grpcL)) }()
	}
	var failed error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down: draining in-flight requests", "cause", context.Cause(ctx).Error(), "timeout", s.cfg.DrainTimeout)
	case failed = <-errc:
		s.log.Error("listener failed; shutting down", "err", failed)
	}
	s.draining.Store(true)
	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	gdone := make(chan struct{})
	go func() {
		defer close(gdone)
		if gs == nil {
			return
		}
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-dctx.Done():
			gs.Stop()
		}
	}()
	herr := hs.Shutdown(dctx)
	<-gdone
	s.Close()
	switch {
	case failed != nil:
		return failed
	case herr != nil:
		return fmt.Errorf("serve: drain: %w", herr)
	case dctx.Err() != nil:
		return fmt.Errorf("serve: drain: in-flight requests still running after %v", s.cfg.DrainTimeout)
	}
	s.log.Info("drained; stopped")
	return nil
}

// Close stops the batchers; requests still queued are answered with 503 /
// UNAVAILABLE. Call it after the servers using Handler and RegisterGRPC
// have shut down. Serve calls it.
func (s *Server) Close() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.draining.Store(true)
	for _, name := range s.names {
		s.models[name].batcher.close()
	}
}

// budget is a count of bytes in flight with a ceiling.
type budget struct {
	mu        sync.Mutex
	used, max int64
}

// take reserves n bytes, or reports false if that would pass the ceiling.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 || b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// reservation accumulates one request's share of the budget.
type reservation struct {
	b *budget
	n int64
}

func (r *reservation) take(n int64) error {
	if !r.b.take(n) {
		return fmt.Errorf("%w: the server holds its limit of request bytes in flight; retry later", ErrOverloaded)
	}
	r.n += n
	return nil
}

func (r *reservation) release() { r.b.give(r.n); r.n = 0 }

// alloc is an allocFunc that reserves the bytes first.
func (r *reservation) alloc(n int) ([]float32, error) {
	if err := r.take(4 * int64(n)); err != nil {
		return nil, err
	}
	return make([]float32, n), nil
}

// buildVersion is the module version in the binary's build information.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	const mod = "github.com/inceptionzoo/inception"
	if bi.Main.Path == mod && bi.Main.Version != "" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == mod {
			return d.Version
		}
	}
	return "unknown"
}

// properties are a model's extra metadata (gRPC ModelMetadataResponse
// properties; "properties" in the REST metadata).
func (sv *served) properties() map[string]string {
	m := sv.Model.Model
	return map[string]string{
		"architecture":   m.Spec.Name,
		"weights":        m.Name(),
		"seeded":         fmt.Sprint(m.Seeded()),
		"preprocess":     m.Preprocess().String(),
		"max_batch_size": fmt.Sprint(sv.spec.maxBatch),
		"output_kind":    string(m.Spec.Output),
	}
}
