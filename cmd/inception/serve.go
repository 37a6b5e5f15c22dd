package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/assets"
	"github.com/inceptionzoo/inception/serve"
)

func init() { commands = append(commands, serveCmd) }

// serveFlags are the flags of `inception serve`.
type serveFlags struct {
	addr, grpcAddr      string
	allowSeeded         bool
	cache               string
	cfg                 serve.Config
	logLevel, logFormat string
}

func serveCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:         "serve [--addr HOST:PORT] [--grpc-addr HOST:PORT] MODEL[=WEIGHTS]...",
		Annotations: stopsOnSignal,
		Short:       "Serve models over the Open Inference Protocol (KServe v2 REST and gRPC, as Triton speaks it)",
		Long: `Serve models over the Open Inference Protocol (KServe v2): the REST API
on --addr and the gRPC service inference.GRPCInferenceService on
--grpc-addr, as NVIDIA Triton, KServe and Seldon MLServer speak them, so
their clients work unchanged.

MODEL is a registry name (see 'inception list'), with its weights:
  NAME=FILE         weights from FILE (ONNX, PyTorch checkpoint or
                    safetensors); the input size, classes and preprocessing
                    are the weights'
NAME may carry a tag (inception-v3.tv_in1k) and is the served name.
  NAME=pretrained   the published weights of NAME's tag (or its default
                    tag), from the weight cache (downloaded once); the
                    shipped inception-v1-d2l.fmnist96 and .fmnist28
                    work offline
  NAME              seeded (untrained) weights, only with --allow-seeded

REST: GET /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME,
/v2/models/NAME/ready; POST /v2/models/NAME/infer (JSON tensors or the
binary tensor data extension); POST /v1/classify?model=NAME&top=K with an
image body (top-K with labels); GET /metrics (Prometheus). Requests for a
model coalesce into batches of up to --max-batch samples within
--max-delay; past --queue requests in progress a model answers 429.
SIGTERM or SIGINT: readiness turns off, the listeners close, in-flight
requests finish (at most --drain-timeout), and the command exits 0.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("serve needs at least one MODEL[=WEIGHTS] argument (see 'inception list')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return runServe(ctx, cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", ":8000", "REST listen address (HOST:PORT; port 0 picks a free one)")
	fl.StringVar(&f.grpcAddr, "grpc-addr", ":8001", `gRPC listen address ("" disables gRPC)`)
	fl.BoolVar(&f.allowSeeded, "allow-seeded", false, "allow a bare NAME: serve seeded (untrained) weights")
	fl.StringVar(&f.cache, "cache", "", "weight cache for NAME=pretrained (default $INCEPTION_CACHE, else the user cache dir)")
	fl.IntVar(&f.cfg.MaxBatch, "max-batch", serve.DefaultMaxBatch, "largest batch of one forward pass, and of one request")
	fl.DurationVar(&f.cfg.MaxDelay, "max-delay", serve.DefaultMaxDelay, "how long a request waits for others to join its batch (0: no wait)")
	fl.IntVar(&f.cfg.QueueSize, "queue", serve.DefaultQueueSize, "requests in progress per model; more are refused with 429")
	fl.Int64Var(&f.cfg.MaxBodyBytes, "max-body", serve.DefaultMaxBodyBytes, "largest request body in bytes (413 beyond)")
	fl.Int64Var(&f.cfg.MaxInflightBytes, "max-inflight-bytes", serve.DefaultMaxInflightBytes, "request bytes held at once across models (429 beyond)")
	fl.DurationVar(&f.cfg.Timeout, "timeout", serve.DefaultTimeout, "deadline of each request")
	fl.DurationVar(&f.cfg.ReadHeaderTimeout, "read-header-timeout", serve.DefaultReadHeaderTimeout, "time a client has to send its request headers")
	fl.DurationVar(&f.cfg.ReadTimeout, "read-timeout", serve.DefaultReadTimeout, "time a client has to send a whole request")
	fl.DurationVar(&f.cfg.DrainTimeout, "drain-timeout", serve.DefaultDrainTimeout, "bound on the graceful shutdown")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug (one line per request), info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json")
	return cmd
}

func runServe(ctx context.Context, cmd *cobra.Command, f serveFlags, args []string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("serve: --log-level %q: want debug, info, warn or error", f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch f.logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), opts))
	case "json":
		log = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), opts))
	default:
		return fmt.Errorf("serve: --log-format %q: want text or json", f.logFormat)
	}
	f.cfg.Logger = log
	if f.cfg.MaxDelay == 0 {
		f.cfg.MaxDelay = -1 // serve.Config's "no wait" (its zero means the default)
	}

	var models []serve.Model
	for _, arg := range args {
		start := time.Now()
		m, err := serve.LoadModel(ctx, arg, serve.LoadOptions{AllowSeeded: f.allowSeeded, Cache: f.cache, Progress: cmd.ErrOrStderr(), Sources: []fs.FS{assets.FS}})
		if err != nil {
			return err
		}
		source := m.Model.Source()
		if source == "" {
			source = "seeded"
		}
		log.Info("model loaded", "model", m.Name, "weights", m.Model.Name(), "source", source, "seeded", m.Model.Seeded(),
			"input", m.Model.Input().String(), "classes", m.Model.Classes(), "preprocess", m.Model.Preprocess().String(),
			"duration", time.Since(start).Round(time.Millisecond))
		if m.Model.Seeded() {
			log.Warn("serving seeded (untrained) weights: the outputs are not predictions", "model", m.Name)
		}
		models = append(models, m)
	}
	s, err := serve.New(f.cfg, models...)
	if err != nil {
		return err
	}
	hl, err := net.Listen("tcp", f.addr)
	if err != nil {
		s.Close()
		return fmt.Errorf("serve: --addr: %w", err)
	}
	var gl net.Listener
	grpcAt := "off"
	if f.grpcAddr != "" {
		if gl, err = net.Listen("tcp", f.grpcAddr); err != nil {
			hl.Close()
			s.Close()
			return fmt.Errorf("serve: --grpc-addr: %w", err)
		}
		grpcAt = gl.Addr().String()
	}
	log.Info("listening", "http", hl.Addr().String(), "grpc", grpcAt, "models", strings.Join(s.Models(), ","),
		"max_batch", f.cfg.MaxBatch, "max_delay", f.cfg.MaxDelay, "queue", f.cfg.QueueSize)
	return s.Serve(ctx, hl, gl)
}
