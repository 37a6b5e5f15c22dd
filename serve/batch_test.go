package serve

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/inceptionzoo/inception/tensor"
)

// gate is a forward wrapper that records batch sizes and holds each batch
// until released.
type gate struct {
	mu      sync.Mutex
	sizes   []int
	started chan int      // batch size, sent when a batch starts
	release chan struct{} // one receive per batch
}

func newGate() *gate {
	return &gate{started: make(chan int, 100), release: make(chan struct{}, 100)}
}

func (g *gate) wrap(_ string, f forwardFunc) forwardFunc {
	return func(x *tensor.Tensor) (*tensor.Tensor, error) {
		g.mu.Lock()
		g.sizes = append(g.sizes, x.Shape[0])
		g.mu.Unlock()
		g.started <- x.Shape[0]
		<-g.release
		return f(x)
	}
}

func (g *gate) batchSizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.sizes...)
}

// postInfer sends an FP32 JSON request in a goroutine and delivers the
// response status.
func postInfer(t *testing.T, url string, n int, seed uint64) <-chan response {
	c := make(chan response, 1)
	body := jsonInfer(input(n, seed))
	go func() {
		resp, err := http.Post(url+"/v2/models/inception-v1-d2l/infer", "application/json", strings.NewReader(string(body)))
		if err != nil {
			c <- response{status: -1, body: []byte(err.Error())}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c <- response{status: resp.StatusCode, header: resp.Header, body: b}
	}()
	return c
}

// TestDynamicBatchingCoalesces: requests that arrive while the model is
// busy run together in the next forward pass, up to MaxBatch samples; the
// batch-size metric shows it.
func TestDynamicBatchingCoalesces(t *testing.T) {
	g := newGate()
	s, ts := newTestServer(t, Config{MaxBatch: 8, MaxDelay: -1, wrapForward: g.wrap})
	first := postInfer(t, ts.URL, 1, 1)
	if n := <-g.started; n != 1 {
		t.Fatalf("first batch has %d samples, want 1", n)
	}
	// While the first batch runs, 10 samples queue up: 6 requests of 1
	// and 2 of 2. The next batch takes 8 of them in arrival order.
	var rest []<-chan response
	for i := 0; i < 8; i++ {
		n := 1
		if i == 3 || i == 6 {
			n = 2
		}
		rest = append(rest, postInfer(t, ts.URL, n, uint64(10+i)))
	}
	waitFor(t, "8 queued requests", func() bool { return testutil.ToFloat64(s.metrics.queueDepth.WithLabelValues(d2lName)) == 8 })
	for range 3 {
		g.release <- struct{}{}
	}
	if r := <-first; r.status != 200 {
		t.Fatalf("first: status %d: %s", r.status, r.body)
	}
	for i, c := range rest {
		if r := <-c; r.status != 200 {
			t.Fatalf("request %d: status %d: %s", i, r.status, r.body)
		}
	}
	sizes := g.batchSizes()
	if len(sizes) != 3 || sizes[0] != 1 || sizes[1]+sizes[2] != 10 || sizes[1] < 7 || sizes[1] > 8 {
		t.Errorf("batch sizes %v, want [1, 7 or 8, the rest]: the queued requests coalesce up to MaxBatch 8", sizes)
	}
	// The metric agrees: 3 batches, 11 samples.
	if got := testutil.CollectAndCount(s.metrics.batchSize); got != 1 {
		t.Errorf("batch size histogram series %d, want 1", got)
	}
	h := histogram(t, s, MetricBatchSize)
	if h.count != 3 || h.sum != 11 {
		t.Errorf("%s: count %d, sum %v; want 3 batches of 11 samples in all", MetricBatchSize, h.count, h.sum)
	}
}

// TestMaxDelayWaitsForCompany: with an idle model, the first request waits
// up to MaxDelay for others to join its batch.
func TestMaxDelayWaitsForCompany(t *testing.T) {
	g := newGate()
	_, ts := newTestServer(t, Config{MaxBatch: 4, MaxDelay: 10 * time.Second, wrapForward: g.wrap})
	var cs []<-chan response
	for i := 0; i < 4; i++ {
		cs = append(cs, postInfer(t, ts.URL, 1, uint64(i)))
	}
	select {
	case n := <-g.started:
		if n != 4 {
			t.Errorf("batch of %d, want the 4 requests together", n)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("no batch within 8 s: a full batch must run at once, not after MaxDelay")
	}
	g.release <- struct{}{}
	for _, c := range cs {
		if r := <-c; r.status != 200 {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	}
}

// TestQueueFull: past QueueSize requests in progress a model refuses with
// 429 at once, without queueing; the admitted ones complete.
func TestQueueFull(t *testing.T) {
	g := newGate()
	_, ts := newTestServer(t, Config{MaxBatch: 1, MaxDelay: -1, QueueSize: 2, wrapForward: g.wrap})
	a := postInfer(t, ts.URL, 1, 1)
	<-g.started // a runs
	b := postInfer(t, ts.URL, 1, 2)
	time.Sleep(50 * time.Millisecond) // b is admitted and queued
	start := time.Now()
	r := <-postInfer(t, ts.URL, 1, 3)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429 (%s)", r.status, r.body)
	}
	if msg := errorBody(t, r); !strings.Contains(msg, "queue limit") {
		t.Errorf("error %q, want the queue limit named", msg)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("429 after %v: it must not wait for the queue", d)
	}
	g.release <- struct{}{}
	g.release <- struct{}{}
	for _, c := range []<-chan response{a, b} {
		if r := <-c; r.status != 200 {
			t.Errorf("admitted request: status %d: %s", r.status, r.body)
		}
	}
}

// TestDeadline: a request whose deadline passes while it waits gets 503,
// and the batcher skips it.
func TestDeadline(t *testing.T) {
	g := newGate()
	_, ts := newTestServer(t, Config{MaxBatch: 1, MaxDelay: -1, Timeout: 300 * time.Millisecond, wrapForward: g.wrap})
	a := postInfer(t, ts.URL, 1, 1)
	<-g.started
	r := <-postInfer(t, ts.URL, 1, 2) // waits behind a, past its deadline
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 (%s)", r.status, r.body)
	}
	if msg := errorBody(t, r); !strings.Contains(msg, "deadline exceeded") {
		t.Errorf("error %q, want a deadline", msg)
	}
	g.release <- struct{}{}
	if r := <-a; r.status != http.StatusServiceUnavailable { // a's own deadline passed while it ran
		t.Errorf("first request: status %d, want 503 (%s)", r.status, r.body)
	}
	time.Sleep(100 * time.Millisecond)
	if sizes := g.batchSizes(); len(sizes) != 1 {
		t.Errorf("batches %v: the expired request must not run", sizes)
	}
}

// TestSlowClient: a client that never finishes its headers is cut off
// after ReadHeaderTimeout, one that stalls in its body after ReadTimeout,
// while other clients are served.
func TestSlowClient(t *testing.T) {
	s, err := New(Config{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, loadD2L(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l, nil) }()
	defer func() { cancel(); <-served }()
	url := "http://" + l.Addr().String()

	for _, tt := range []struct {
		name, partial string
	}{
		{"headers", "POST /v2/models/inception-v1-d2l/infer HTTP/1.1\r\nHost: x\r\nContent-Le"},
		{"body", "POST /v2/models/inception-v1-d2l/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"inputs\""},
	} {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(tt.partial)); err != nil {
			t.Fatal(err)
		}
		// Meanwhile a normal client is served.
		if r := do(t, "GET", url+"/v2/health/ready", nil, nil); r.status != 200 {
			t.Errorf("%s: ready: status %d", tt.name, r.status)
		}
		start := time.Now()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		rest, err := io.ReadAll(bufio.NewReader(conn))
		conn.Close()
		if err != nil {
			t.Errorf("slow %s: the server did not close the connection: %v", tt.name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("slow %s: connection closed after %v", tt.name, d)
		}
		if tt.name == "body" && !strings.Contains(string(rest), "400") {
			t.Errorf("slow body: got %q, want a 400 answer", rest)
		}
	}
}

// TestGracefulShutdown: cancelling Serve's context turns readiness off,
// stops accepting, lets the in-flight request finish with 200 and
// returns nil.
func TestGracefulShutdown(t *testing.T) {
	g := newGate()
	s, err := New(Config{MaxDelay: -1, wrapForward: g.wrap, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, loadD2L(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l, nil) }()
	url := "http://" + l.Addr().String()
	inflight := postInfer(t, url, 1, 1)
	<-g.started
	cancel()
	waitFor(t, "readiness off", func() bool { return !s.Ready() })
	if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		// The listener may close a moment after readiness turns off.
		waitFor(t, "listener closed", func() bool {
			c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second)
			if c != nil {
				c.Close()
			}
			return err != nil
		})
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	g.release <- struct{}{}
	if r := <-inflight; r.status != 200 {
		t.Errorf("in-flight request: status %d (%s), want 200", r.status, r.body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v, want nil after a clean drain", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10 s of the drain")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

type hist struct {
	count uint64
	sum   float64
}

// histogram returns the count and sum of a one-series histogram.
func histogram(t *testing.T, s *Server, name string) hist {
	t.Helper()
	mfs, err := s.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			return hist{h.GetSampleCount(), h.GetSampleSum()}
		}
	}
	t.Fatalf("no single-series histogram %s", name)
	return hist{}
}
