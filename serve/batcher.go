package serve

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inceptionzoo/inception/tensor"
)

// forwardFunc runs the model on a batch [n, sample...] and returns the
// output [n, classes].
type forwardFunc func(x *tensor.Tensor) (*tensor.Tensor, error)

// batcher is one model's dynamic batcher: requests are admitted up to the
// queue size (more are refused, never queued), wait in a FIFO, and one
// goroutine takes them in order, gathering up to maxBatch samples within
// maxDelay of the first request's arrival into one forward pass. A request
// never waits for more than maxDelay unless the model is busy, and then it
// joins the next batch with everything that arrived meanwhile.
type batcher struct {
	model    string
	spec     *tensorSpec
	forward  forwardFunc
	maxBatch int
	maxDelay time.Duration // < 0: take only what is already queued

	slots chan struct{} // admission: one token per admitted request
	queue chan *pending // capacity = cap(slots); a send never blocks
	stop  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // guards closed against submit
	closed bool

	buf []float32 // the batch input, reused (only the loop goroutine touches it)

	depth     prometheus.Gauge
	inflight  prometheus.Gauge
	batchSize prometheus.Observer
	batchTime prometheus.Observer
}

// pending is a request waiting for its batch.
type pending struct {
	ctx     context.Context
	x       []float32
	n       int
	arrived time.Time
	result  chan result // buffered: the loop never blocks on a client that left
}

type result struct {
	y   []float32
	err error
}

func newBatcher(model string, spec *tensorSpec, f forwardFunc, maxBatch int, maxDelay time.Duration, queue int, m *metrics) *batcher {
	b := &batcher{
		model: model, spec: spec, forward: f, maxBatch: maxBatch, maxDelay: maxDelay,
		slots: make(chan struct{}, queue), queue: make(chan *pending, queue),
		stop: make(chan struct{}), done: make(chan struct{}),
		buf:       make([]float32, 0),
		depth:     m.queueDepth.WithLabelValues(model),
		inflight:  m.inflight.WithLabelValues(model),
		batchSize: m.batchSize.WithLabelValues(model),
		batchTime: m.batchDuration.WithLabelValues(model),
	}
	go b.loop()
	return b
}

// admit takes a queue slot for a request about to be read, or reports
// false when the model's queue is full. A true admit must be followed by
// exactly one release.
func (b *batcher) admit() bool {
	select {
	case b.slots <- struct{}{}:
		b.inflight.Inc()
		return true
	default:
		return false
	}
}

func (b *batcher) release() {
	b.inflight.Dec()
	<-b.slots
}

// do runs an admitted request's n samples x and returns its rows of the
// output, or the context's error if ctx ends first.
func (b *batcher) do(ctx context.Context, x []float32, n int) ([]float32, error) {
	p := &pending{ctx: ctx, x: x, n: n, arrived: time.Now(), result: make(chan result, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, fmt.Errorf("%w: model %s is shutting down", ErrUnavailable, b.model)
	}
	b.depth.Inc() // before the send: the loop may take p at once
	select {
	case b.queue <- p:
		b.mu.RUnlock()
	default:
		b.depth.Dec()
		// Only when requests that gave up (deadline, client gone) still sit
		// in the queue: admitted ones never exceed its capacity.
		b.mu.RUnlock()
		return nil, fmt.Errorf("%w: model %s: the queue is full of abandoned requests; retry later", ErrOverloaded, b.model)
	}
	select {
	case r := <-p.result:
		return r.y, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: model %s: %w after %v in the queue", ErrUnavailable, b.model, context.Cause(ctx), time.Since(p.arrived).Round(time.Millisecond))
	}
}

// close stops the loop after the batch it is running; requests still
// queued are answered with ErrUnavailable. Callers stop sending first (the
// HTTP and gRPC servers have drained).
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
	}
	b.mu.Unlock()
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	var next *pending // a request that did not fit in the previous batch
	batch := make([]*pending, 0, b.maxBatch)
	for {
		first := next
		next = nil
		if first == nil {
			select {
			case first = <-b.queue:
				b.depth.Dec()
			case <-b.stop:
				b.failQueued()
				return
			}
		}
		batch = b.collect(batch[:0], first, &next)
		if len(batch) > 0 {
			b.run(batch)
		}
		clear(batch)
	}
}

// collect gathers requests after first until the batch holds maxBatch
// samples, or maxDelay has passed since first arrived, or a request does
// not fit (it is left in *next for the following batch). Requests whose
// context has ended are answered and dropped.
func (b *batcher) collect(batch []*pending, first *pending, next **pending) []*pending {
	n := 0
	add := func(p *pending) {
		if err := p.ctx.Err(); err != nil {
			p.result <- result{err: fmt.Errorf("%w: model %s: %w before it ran", ErrUnavailable, b.model, context.Cause(p.ctx))}
			return
		}
		if n+p.n > b.maxBatch {
			*next = p
			return
		}
		batch = append(batch, p)
		n += p.n
	}
	add(first)
	wait := b.maxDelay - time.Since(first.arrived)
	var timer *time.Timer
	if wait > 0 {
		timer = time.NewTimer(wait)
		defer timer.Stop()
	}
	for n < b.maxBatch && *next == nil {
		if timer == nil {
			select {
			case p := <-b.queue:
				b.depth.Dec()
				add(p)
				continue
			default:
				return batch
			}
		}
		select {
		case p := <-b.queue:
			b.depth.Dec()
			add(p)
		case <-timer.C:
			timer = nil // take what is already queued, then go
		case <-b.stop:
			return batch
		}
	}
	return batch
}

// run computes one batch and answers its requests.
func (b *batcher) run(batch []*pending) {
	n := 0
	for _, p := range batch {
		n += p.n
	}
	per := b.spec.sampleLen
	if cap(b.buf) < n*per {
		b.buf = make([]float32, b.maxBatch*per)
	}
	x := &tensor.Tensor{Shape: append([]int{n}, b.spec.sample...), Data: b.buf[:n*per]}
	off := 0
	for _, p := range batch {
		copy(x.Data[off:], p.x)
		off += len(p.x)
	}
	start := time.Now()
	y, err := b.safeForward(x)
	b.batchTime.Observe(time.Since(start).Seconds())
	b.batchSize.Observe(float64(n))
	if err == nil && (len(y.Shape) != 2 || y.Shape[0] != n || y.Shape[1] != b.spec.classes) {
		err = fmt.Errorf("%w: model %s returned shape %v for a batch of %d, want [%d %d]", ErrInternal, b.model, y.Shape, n, n, b.spec.classes)
	}
	row := 0
	for _, p := range batch {
		if err != nil {
			p.result <- result{err: err}
			continue
		}
		p.result <- result{y: y.Data[row*b.spec.classes : (row+p.n)*b.spec.classes : (row+p.n)*b.spec.classes]}
		row += p.n
	}
}

// safeForward runs the model, turning a panic into an error so that one
// bad batch cannot take the server down.
func (b *batcher) safeForward(x *tensor.Tensor) (y *tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			y, err = nil, fmt.Errorf("%w: model %s panicked: %v", ErrInternal, b.model, r)
		}
	}()
	y, err = b.forward(x)
	if err != nil {
		return nil, fmt.Errorf("%w: model %s: %w", ErrInternal, b.model, err)
	}
	return y, nil
}

// failQueued answers every request still in the queue after stop.
func (b *batcher) failQueued() {
	for {
		select {
		case p := <-b.queue:
			b.depth.Dec()
			p.result <- result{err: fmt.Errorf("%w: model %s is shutting down", ErrUnavailable, b.model)}
		default:
			return
		}
	}
}
