package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/serve"
	pb "github.com/inceptionzoo/inception/serve/inferencepb"
)

func init() { commands = append(commands, loadtestCmd) }

// loadtestFlags are the flags of `inception loadtest`.
type loadtestFlags struct {
	url, grpcAddr, model, protocol string
	concurrency                    string
	duration, warmup               time.Duration
	batch, pid                     int
	seed                           uint64
	asJSON                         bool
}

// loadResult is one row of the loadtest table.
type loadResult struct {
	Model       string         `json:"model"`
	Protocol    string         `json:"protocol"`
	Concurrency int            `json:"concurrency"`
	Batch       int            `json:"batch"`
	Seconds     float64        `json:"seconds"`
	Requests    int            `json:"requests"`
	Errors      map[string]int `json:"errors,omitempty"` // by HTTP status or gRPC code
	ImagesPerS  float64        `json:"images_per_s"`
	P50Ms       float64        `json:"p50_ms"`
	P99Ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	// Server RSS (MiB, /proc/PID/status VmRSS) at the start and end of the
	// measured window and its peak over it, with --pid.
	RSSStartMiB float64 `json:"rss_start_mib,omitempty"`
	RSSEndMiB   float64 `json:"rss_end_mib,omitempty"`
	RSSPeakMiB  float64 `json:"rss_peak_mib,omitempty"`
	// RSSSamplesMiB are the once-a-second samples of the window, to see
	// whether the resident set settles (a soak).
	RSSSamplesMiB []float64 `json:"rss_samples_mib,omitempty"`
}

func loadtestCmd() *cobra.Command {
	var f loadtestFlags
	cmd := &cobra.Command{
		Use:         "loadtest --model NAME [--url URL | --grpc-addr HOST:PORT] [--concurrency 1,8,32] [--duration 30s]",
		Annotations: stopsOnSignal,
		Short:       "Drive an inference server at fixed concurrencies; report throughput and p50/p99 latency",
		Long: `Drive an Open Inference Protocol server (inception serve, Triton, KServe)
with closed-loop clients: at each concurrency, that many clients send one
inference request after another (after --warmup, unmeasured) for
--duration, and the table gives the requests answered, the errors by
status, the throughput in images/s and the p50, p99 and maximum latency of
the successful requests. Each request carries --batch deterministic
samples of the model's input shape (from its metadata), as FP32 binary
data (--protocol binary, the binary tensor data extension, with a binary
output), JSON (--protocol json) or gRPC raw_input_contents (--protocol
grpc, to --grpc-addr). With --pid, the server process's resident set is
sampled every second: at the start and end of each window, and its peak
(a soak: one concurrency and a long --duration).

The load generator runs on the same machine as the server when both are
local: its CPU time is part of the measurement.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLoadtest(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "http://127.0.0.1:8000", "server REST base URL")
	fl.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:8001", "server gRPC address (--protocol grpc)")
	fl.StringVar(&f.model, "model", "", "model name on the server (required)")
	fl.StringVar(&f.protocol, "protocol", "binary", "binary (REST, binary tensor data), json (REST) or grpc")
	fl.StringVar(&f.concurrency, "concurrency", "1,8,32", "comma-separated client counts")
	fl.DurationVar(&f.duration, "duration", 30*time.Second, "measured time per concurrency")
	fl.DurationVar(&f.warmup, "warmup", 3*time.Second, "unmeasured time before each window")
	fl.IntVar(&f.batch, "batch", 1, "samples per request")
	fl.IntVar(&f.pid, "pid", 0, "server process id: report its RSS (Linux)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the input")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON")
	return cmd
}

// errLoadtest reports bad loadtest flags or a server that cannot be
// tested.
var errLoadtest = errors.New("loadtest")

func runLoadtest(cmd *cobra.Command, f loadtestFlags) error {
	if f.model == "" {
		return fmt.Errorf("%w: --model NAME is required", errLoadtest)
	}
	if f.batch < 1 || f.duration <= 0 || f.warmup < 0 {
		return fmt.Errorf("%w: --batch %d, --duration %v, --warmup %v: want positive values", errLoadtest, f.batch, f.duration, f.warmup)
	}
	var concs []int
	for _, s := range strings.Split(f.concurrency, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 || c > 4096 {
			return fmt.Errorf("%w: --concurrency %q: want counts from 1 to 4096", errLoadtest, f.concurrency)
		}
		concs = append(concs, c)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4096, MaxConnsPerHost: 0, DisableCompression: true}, Timeout: 5 * time.Minute}
	var send func(ctx context.Context) (string, error) // returns "" on success, else the status
	var closeConn func()
	switch f.protocol {
	case "binary", "json":
		shape, classes, err := restMetadata(ctx, client, f.url, f.model)
		if err != nil {
			return err
		}
		send = restSender(client, f, shape, classes)
	case "grpc":
		conn, err := grpc.NewClient(f.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30), grpc.MaxCallSendMsgSize(1<<30)))
		if err != nil {
			return fmt.Errorf("%w: %w", errLoadtest, err)
		}
		closeConn = func() { conn.Close() }
		c := pb.NewGRPCInferenceServiceClient(conn)
		md, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: f.model})
		if err != nil {
			return fmt.Errorf("%w: model metadata: %w", errLoadtest, err)
		}
		if len(md.GetInputs()) != 1 || len(md.GetOutputs()) != 1 || len(md.GetOutputs()[0].GetShape()) != 2 {
			return fmt.Errorf("%w: model %s: want one input and one [N, classes] output", errLoadtest, f.model)
		}
		shape, err := sampleShape(md.GetInputs()[0].GetShape())
		if err != nil {
			return err
		}
		send = grpcSender(c, f, md.GetInputs()[0].GetName(), shape, int(md.GetOutputs()[0].GetShape()[1]))
	default:
		return fmt.Errorf("%w: --protocol %q: want binary, json or grpc", errLoadtest, f.protocol)
	}
	if closeConn != nil {
		defer closeConn()
	}
	var rows []loadResult
	w := cmd.OutOrStdout()
	for _, c := range concs {
		r := measure(ctx, send, c, f)
		rows = append(rows, r)
		if !f.asJSON {
			fmt.Fprintf(cmd.ErrOrStderr(), "concurrency %d: %d requests, %.1f images/s, p50 %.1f ms, p99 %.1f ms\n", c, r.Requests, r.ImagesPerS, r.P50Ms, r.P99Ms)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if f.asJSON {
		return writeJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tPROTOCOL\tCONC\tBATCH\tREQUESTS\tERRORS\tIMAGES/S\tP50 MS\tP99 MS\tMAX MS\tRSS MIB START/END/PEAK\t")
	for _, r := range rows {
		errs := "0"
		if len(r.Errors) > 0 {
			var parts []string
			for k, v := range r.Errors {
				parts = append(parts, fmt.Sprintf("%d×%s", v, k))
			}
			sort.Strings(parts)
			errs = strings.Join(parts, ",")
		}
		rss := "-"
		if f.pid > 0 {
			rss = fmt.Sprintf("%.0f/%.0f/%.0f", r.RSSStartMiB, r.RSSEndMiB, r.RSSPeakMiB)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n", r.Model, r.Protocol, r.Concurrency, r.Batch, r.Requests, errs, r.ImagesPerS, r.P50Ms, r.P99Ms, r.MaxMs, rss)
	}
	return tw.Flush()
}

// measure runs c closed-loop clients for the warm-up and then the
// measured window.
func measure(ctx context.Context, send func(context.Context) (string, error), c int, f loadtestFlags) loadResult {
	res := loadResult{Model: f.model, Protocol: f.protocol, Concurrency: c, Batch: f.batch, Errors: map[string]int{}}
	var mu sync.Mutex
	var lat []time.Duration
	var measuring, stopping bool
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t := time.Now()
				code, err := send(ctx)
				d := time.Since(t)
				mu.Lock()
				if stopping {
					mu.Unlock()
					return
				}
				if measuring {
					switch {
					case err != nil && ctx.Err() != nil:
					case err != nil:
						res.Errors["transport"]++
					case code != "":
						res.Errors[code]++
					default:
						lat = append(lat, d)
					}
				}
				mu.Unlock()
			}
		}()
	}
	sleep(ctx, f.warmup)
	var rssStop chan struct{}
	var rssDone chan struct{}
	if f.pid > 0 {
		res.RSSStartMiB = rssMiB(f.pid)
		res.RSSPeakMiB = res.RSSStartMiB
		rssStop, rssDone = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(rssDone)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-rssStop:
					return
				case <-tick.C:
					if v := rssMiB(f.pid); v > 0 {
						mu.Lock()
						res.RSSPeakMiB = max(res.RSSPeakMiB, v)
						res.RSSSamplesMiB = append(res.RSSSamplesMiB, v)
						mu.Unlock()
					}
				}
			}
		}()
	}
	mu.Lock()
	measuring = true
	start := time.Now()
	mu.Unlock()
	sleep(ctx, f.duration)
	mu.Lock()
	stopping = true
	res.Seconds = time.Since(start).Seconds()
	mu.Unlock()
	if rssStop != nil {
		close(rssStop)
		<-rssDone
		res.RSSEndMiB = rssMiB(f.pid)
		res.RSSPeakMiB = max(res.RSSPeakMiB, res.RSSEndMiB)
	}
	cancel()
	wg.Wait()
	res.Requests = len(lat)
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		q := func(p float64) float64 {
			i := int(math.Ceil(p*float64(len(lat)))) - 1
			return float64(lat[max(i, 0)]) / 1e6
		}
		res.P50Ms, res.P99Ms, res.MaxMs = q(0.50), q(0.99), float64(lat[len(lat)-1])/1e6
		res.ImagesPerS = float64(len(lat)*f.batch) / res.Seconds
	}
	return res
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// rssMiB reads VmRSS of process pid (0 if unavailable).
func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// sampleShape turns a metadata input shape [-1, C, H, W] into [C, H, W].
func sampleShape(shape []int64) (nn.Shape, error) {
	if len(shape) < 2 || shape[0] != -1 {
		return nil, fmt.Errorf("%w: input shape %v: want a variable batch dimension first", errLoadtest, shape)
	}
	var s nn.Shape
	for _, d := range shape[1:] {
		if d < 1 || d > 1<<16 {
			return nil, fmt.Errorf("%w: input shape %v is not concrete", errLoadtest, shape)
		}
		s = append(s, int(d))
	}
	return s, nil
}

// restMetadata reads a model's input sample shape and class count.
func restMetadata(ctx context.Context, client *http.Client, url, model string) (nn.Shape, int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(url, "/")+"/v2/models/"+model, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errLoadtest, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: model metadata: %w", errLoadtest, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%w: model metadata: %s: %s", errLoadtest, resp.Status, body)
	}
	var md struct {
		Inputs, Outputs []struct {
			Name  string  `json:"name"`
			Shape []int64 `json:"shape"`
		}
	}
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, 0, fmt.Errorf("%w: model metadata: %w", errLoadtest, err)
	}
	if len(md.Inputs) != 1 || len(md.Outputs) != 1 || len(md.Outputs[0].Shape) != 2 {
		return nil, 0, fmt.Errorf("%w: model %s: want one input and one [N, classes] output", errLoadtest, model)
	}
	shape, err := sampleShape(md.Inputs[0].Shape)
	return shape, int(md.Outputs[0].Shape[1]), err
}

// restSender prepares one request body and returns a func sending it.
func restSender(client *http.Client, f loadtestFlags, shape nn.Shape, classes int) func(context.Context) (string, error) {
	x := DeterministicInput(shape, f.batch, f.seed)
	dims := append([]int{f.batch}, shape...)
	var body []byte
	headers := map[string]string{}
	wantOut := 4 * f.batch * classes
	if f.protocol == "binary" {
		head, _ := json.Marshal(map[string]any{
			"inputs":  []any{map[string]any{"name": serve.InputName, "shape": dims, "datatype": "FP32", "parameters": map[string]any{"binary_data_size": 4 * len(x.Data)}}},
			"outputs": []any{map[string]any{"name": serve.OutputName, "parameters": map[string]any{"binary_data": true}}},
		})
		body = head
		for _, v := range x.Data {
			body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
		}
		headers[serve.HeaderJSONLength] = strconv.Itoa(len(head))
		headers["Content-Type"] = "application/octet-stream"
	} else {
		body, _ = json.Marshal(map[string]any{"inputs": []any{map[string]any{"name": serve.InputName, "shape": dims, "datatype": "FP32", "data": x.Data}}})
		headers["Content-Type"] = "application/json"
		wantOut = 0
	}
	url := strings.TrimSuffix(f.url, "/") + "/v2/models/" + f.model + "/infer"
	return func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return strconv.Itoa(resp.StatusCode), nil
		}
		if wantOut > 0 {
			hl, _ := strconv.Atoi(resp.Header.Get(serve.HeaderJSONLength))
			if len(b)-hl != wantOut {
				return "bad-response", nil
			}
		} else if !bytes.Contains(b, []byte(`"outputs"`)) {
			return "bad-response", nil
		}
		return "", nil
	}
}

// grpcSender returns a func sending one ModelInfer with raw input.
func grpcSender(c pb.GRPCInferenceServiceClient, f loadtestFlags, input string, shape nn.Shape, classes int) func(context.Context) (string, error) {
	x := DeterministicInput(shape, f.batch, f.seed)
	raw := make([]byte, 0, 4*len(x.Data))
	for _, v := range x.Data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	dims := []int64{int64(f.batch)}
	for _, d := range shape {
		dims = append(dims, int64(d))
	}
	req := &pb.ModelInferRequest{ModelName: f.model,
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: input, Datatype: "FP32", Shape: dims}},
		RawInputContents: [][]byte{raw}}
	return func(ctx context.Context) (string, error) {
		r, err := c.ModelInfer(ctx, req)
		if err != nil {
			if s, ok := status.FromError(err); ok && ctx.Err() == nil {
				return s.Code().String(), nil
			}
			return "", err
		}
		if len(r.GetRawOutputContents()) != 1 || len(r.GetRawOutputContents()[0]) != 4*f.batch*classes {
			return "bad-response", nil
		}
		return "", nil
	}
}
