package serve

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
)

// TestNoLeak: rounds of concurrent requests leave the live heap (after a
// GC) and the goroutine count where the first round left them.
func TestNoLeak(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("runs 480 requests; the race detector's own memory would blur the heap")
	}
	_, ts := newTestServer(t, Config{})
	body := jsonInfer(input(2, 1))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()
	round := func() (heap uint64, goroutines int) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 15 {
					r, err := client.Post(ts.URL+"/v2/models/inception-v1-d2l/infer", "application/json", bytes.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
			}()
		}
		wg.Wait()
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc, runtime.NumGoroutine()
	}
	heap0, g0 := round()
	for i := 1; i < 4; i++ { // 4 rounds of 8 clients × 15 requests
		heap, g := round()
		if heap > heap0+2<<20 || g > g0 {
			t.Errorf("round %d: live heap %.1f MiB, %d goroutines; after round 0: %.1f MiB, %d", i, float64(heap)/(1<<20), g, float64(heap0)/(1<<20), g0)
		}
	}
}
