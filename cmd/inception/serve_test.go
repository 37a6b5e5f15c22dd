package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/serve"
	pb "github.com/inceptionzoo/inception/serve/inferencepb"
	"github.com/inceptionzoo/inception/triton/modelconfigpb"
)

const shippedFile = "../../assets/inception-v1-d2l-fmnist28.onnx"

// buildCLI builds this command into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "inception")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// servedProcess is a running `inception serve`.
type servedProcess struct {
	cmd        *exec.Cmd
	http, grpc string
	stderr     *syncBuffer
	exited     chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listening = regexp.MustCompile(`msg=listening http=(\S+) grpc=(\S+)`)

// startServe runs `bin serve args...` and waits for its listening line.
func startServe(t *testing.T, bin string, args ...string) *servedProcess {
	t.Helper()
	p := &servedProcess{cmd: exec.Command(bin, append([]string{"serve"}, args...)...), stderr: &syncBuffer{}, exited: make(chan error, 1)}
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
		}
	})
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				found <- m
			}
		}
	}()
	select {
	case m := <-found:
		p.http, p.grpc = "http://"+m[1], m[2]
	case err := <-p.exited:
		t.Fatalf("serve exited before listening: %v\n%s", err, p.stderr)
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve did not listen within 2 minutes\n%s", p.stderr)
	}
	return p
}

func httpDo(t *testing.T, method, url string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestServeAcceptance is the acceptance run of the built binary:
// `inception serve --addr 127.0.0.1:PORT inception-v1-d2l=assets/...onnx`
// answers the REST endpoints and gRPC; an FP32 infer equals `inception run
// --model` on the same file and input; a malformed request gets 400; 64
// requests from 32 concurrent clients all succeed; SIGTERM with requests
// in flight lets them finish and exits 0 within 10 s.
func TestServeAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a server")
	}
	bin := buildCLI(t)
	p := startServe(t, bin, "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "inception-v1-d2l="+shippedFile)

	for _, path := range []string{"/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/inception-v1-d2l", "/v2/models/inception-v1-d2l/ready"} {
		if code, body := httpDo(t, "GET", p.http+path, nil); code != 200 {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}

	// The reference: `inception run --model FILE --input in.pb`, ONNX
	// runner, on a deterministic input.
	dir := t.TempDir()
	x := testkit.RandomInput(7, 1, 1, 28, 28)
	in := filepath.Join(dir, "input_0.pb")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := onnxir.EncodeTensor(f, "input", []int64{1, 1, 28, 28}, x.Data); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := exec.Command(bin, "run", "--model", shippedFile, "--input", in, "--output-dir", dir, "--repeat", "1").CombinedOutput(); err != nil {
		t.Fatalf("inception run --model: %v\n%s", err, out)
	}
	of, err := os.Open(filepath.Join(dir, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := onnxir.DecodeTensor(of, onnxir.DefaultLimits)
	of.Close()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(map[string]any{"inputs": []any{map[string]any{"name": "input", "shape": []int{1, 1, 28, 28}, "datatype": "FP32", "data": x.Data}}})
	code, body := httpDo(t, "POST", p.http+"/v2/models/inception-v1-d2l/infer", req)
	if code != 200 {
		t.Fatalf("infer: %d %s", code, body)
	}
	var resp struct {
		Outputs []struct {
			Shape []int64   `json:"shape"`
			Data  []float32 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.Outputs) != 1 {
		t.Fatalf("infer response %s: %v", body, err)
	}
	got := resp.Outputs[0].Data
	if len(got) != len(want.Float) || len(got) != 10 {
		t.Fatalf("infer: %d values, inception run: %d; want 10", len(got), len(want.Float))
	}
	lo, hi := want.Float[0], want.Float[0]
	for i := range got {
		if d := math.Abs(float64(got[i] - want.Float[i])); d > 1e-4+1e-3*math.Abs(float64(want.Float[i])) {
			t.Errorf("output[%d]: serve %v, inception run %v", i, got[i], want.Float[i])
		}
		lo, hi = min(lo, want.Float[i]), max(hi, want.Float[i])
	}
	if hi-lo < 1 {
		t.Errorf("the reference logits span %v: too flat to tell models apart", hi-lo)
	}

	if code, body := httpDo(t, "POST", p.http+"/v2/models/inception-v1-d2l/infer", []byte(`{"inputs": [{"name": "input", "shape": [1,1,28,28], "datatype": "FP32", "data": [1,2`)); code != 400 || !bytes.Contains(body, []byte(`"error"`)) {
		t.Errorf("malformed request: %d %s, want 400 with an error body", code, body)
	}

	// gRPC over loopback with a real client.
	conn, err := grpc.NewClient(p.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	gc := pb.NewGRPCInferenceServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gr, err := gc.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "inception-v1-d2l",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 1, 28, 28}, Contents: &pb.InferTensorContents{Fp32Contents: x.Data}}}})
	if err != nil {
		t.Fatalf("gRPC ModelInfer: %v", err)
	}
	for i, v := range gr.GetOutputs()[0].GetContents().GetFp32Contents() {
		if v != got[i] {
			t.Errorf("gRPC output[%d] %v, REST %v", i, v, got[i])
		}
	}
	conn.Close()

	// 64 requests from 32 concurrent clients.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for c := 0; c < 32; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				resp, err := http.Post(p.http+"/v2/models/inception-v1-d2l/infer", "application/json", bytes.NewReader(req))
				if err != nil {
					errs <- err
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode, b)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent request: %v", err)
	}

	// SIGTERM with requests in flight: 32 connections each send a request;
	// once the server has taken all 32 (answered or in progress, by its
	// metrics), SIGTERM.
	base := metricValue(t, p.http, `inception_requests_total{code="200",endpoint="infer",model="inception-v1-d2l",protocol="http"}`)
	addr := strings.TrimPrefix(p.http, "http://")
	type answer struct {
		status int
		err    error
	}
	answers := make(chan answer, 32)
	var conns []net.Conn
	for range 32 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /v2/models/inception-v1-d2l/infer HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(req))
		c.Write(req)
	}
	for _, c := range conns {
		go func(c net.Conn) {
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(time.Minute))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			io.Copy(io.Discard, resp.Body)
			answers <- answer{status: resp.StatusCode}
		}(c)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
		done := metricValue(t, p.http, `inception_requests_total{code="200",endpoint="infer",model="inception-v1-d2l",protocol="http"}`) - base
		inflight := metricValue(t, p.http, `inception_inflight_requests{model="inception-v1-d2l"}`)
		if done+inflight >= 32 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server took %v+%v of the 32 requests within a minute", done, inflight)
		}
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var all []answer
	for range 32 {
		all = append(all, <-answers)
	}
	for i, a := range all {
		if a.err != nil || a.status != 200 {
			t.Errorf("in-flight request %d: status %d, %v; want 200", i, a.status, a.err)
		}
	}
	select {
	case err := <-p.exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Errorf("serve exited with %v after SIGTERM, want status 0\n%s", err, p.stderr)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("serve exited %v after SIGTERM, want within 10 s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve still running 10 s after SIGTERM\n%s", p.stderr)
	}
	if s := p.stderr.String(); !strings.Contains(s, "drained; stopped") {
		t.Errorf("log lacks the drain record:\n%s", s)
	}
}

// metricValue reads one sample from the server's /metrics (0 if absent).
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	code, body := httpDo(t, "GET", base+"/metrics", nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

func TestServeRefusesSeeded(t *testing.T) {
	_, err := run(t, "serve", "--addr", "127.0.0.1:0", "--grpc-addr", "", "inception-v1-d2l")
	if !errors.Is(err, serve.ErrSeeded) || !strings.Contains(err.Error(), "--allow-seeded") {
		t.Errorf("serve NAME without --allow-seeded: %v, want ErrSeeded naming --allow-seeded", err)
	}
	for _, args := range [][]string{{"serve"}, {"serve", "nope=x.onnx"}, {"serve", "inception-v1-d2l="}, {"serve", "--log-level", "loud", "inception-v1-d2l=" + shippedFile}} {
		if _, err := run(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestLoadtest drives an in-process server with `inception loadtest` over
// REST (binary and JSON) and gRPC.
func TestLoadtest(t *testing.T) {
	m, err := serve.LoadModel(context.Background(), "inception-v1-d2l="+shippedFile, serve.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(serve.Config{Logger: discardLogger()}, m)
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, hl, gl) }()
	defer func() { cancel(); <-done }()
	for _, proto := range []string{"binary", "json", "grpc"} {
		out, err := run(t, "loadtest", "--url", "http://"+hl.Addr().String(), "--grpc-addr", gl.Addr().String(), "--protocol", proto,
			"--model", "inception-v1-d2l", "--concurrency", "1,4", "--duration", "400ms", "--warmup", "100ms", "--batch", "2",
			"--pid", fmt.Sprint(os.Getpid()), "--json")
		if err != nil {
			t.Fatalf("%s: %v\n%s", proto, err, out)
		}
		var rows []loadResult
		if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &rows); err != nil {
			t.Fatalf("%s: %v\n%s", proto, err, out)
		}
		if len(rows) != 2 || rows[0].Concurrency != 1 || rows[1].Concurrency != 4 {
			t.Fatalf("%s: rows %+v", proto, rows)
		}
		for _, r := range rows {
			if r.Requests == 0 || len(r.Errors) > 0 || r.ImagesPerS <= 0 || r.P50Ms <= 0 || r.P99Ms < r.P50Ms || r.RSSStartMiB <= 0 || r.Batch != 2 {
				t.Errorf("%s: row %+v: want requests, no errors, p99 >= p50 > 0, an RSS", proto, r)
			}
		}
	}
	if _, err := run(t, "loadtest", "--url", "http://"+hl.Addr().String(), "--model", "nope", "--duration", "100ms"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown model: %v, want the 404 named", err)
	}
}

func TestExportTriton(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, "export", "inception-v1-d2l", "--triton", dir, "--max-batch", "4", "--weights", shippedFile)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "inception-v1-d2l", "config.pbtxt"))
	if err != nil {
		t.Fatal(err)
	}
	var c modelconfigpb.ModelConfig
	if err := prototext.Unmarshal(b, &c); err != nil {
		t.Fatalf("config.pbtxt: %v\n%s", err, b)
	}
	if c.GetName() != "inception-v1-d2l" || c.GetPlatform() != "onnxruntime_onnx" || c.GetMaxBatchSize() != 4 ||
		c.GetInput()[0].GetDataType() != modelconfigpb.DataType_TYPE_FP32 || !slices.Equal(c.GetInput()[0].GetDims(), []int64{1, 28, 28}) ||
		c.GetOutput()[0].GetDims()[0] != 10 {
		t.Errorf("config: %v", &c)
	}
	if _, err := onnx.Load(filepath.Join(dir, "inception-v1-d2l", "1", "model.onnx"), onnx.LoadOptions{}); err != nil {
		t.Errorf("1/model.onnx: %v", err)
	}
	if _, err := run(t, "export", "inception-v1-d2l", "--triton", dir, "-o", filepath.Join(dir, "x.onnx")); err == nil {
		t.Error("-o and --triton together: no error")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
