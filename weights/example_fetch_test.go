package weights_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/inceptionzoo/inception/weights"
)

// ExampleCache_Fetch downloads a file into a cache once, checks its
// SHA-256 and size, and serves it from the cache afterwards. A local test
// server stands in for the weights' host here; in a program the
// File usually comes from a model tag (spec.Tag.File).
func ExampleCache_Fetch() {
	content := bytes.Repeat([]byte("weights "), 1000)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(w, r, "model.onnx", time.Time{}, bytes.NewReader(content))
	}))
	defer srv.Close()
	sum := sha256.Sum256(content)
	f := weights.File{Name: "example-model.onnx", URL: srv.URL + "/model.onnx",
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}

	dir, err := os.MkdirTemp("", "weights-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cache := &weights.Cache{Dir: dir}
	for i := 0; i < 2; i++ {
		p, err := cache.Fetch(context.Background(), f)
		if err != nil {
			panic(err)
		}
		fmt.Println(filepath.Base(p), "requests:", requests.Load())
	}

	// A file whose digest does not match is refused.
	f.Name, f.SHA256 = "tampered", hex.EncodeToString(make([]byte, 32))
	_, err = cache.Fetch(context.Background(), f)
	fmt.Println(errors.Is(err, weights.ErrChecksum))
	// Output:
	// example-model.onnx requests: 1
	// example-model.onnx requests: 1
	// true
}

// ExampleCache_Verify hashes a cached file again, whatever its
// verification record says, and removes it if it no longer matches.
func ExampleCache_Verify() {
	content := []byte("weights")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "w.bin", time.Time{}, bytes.NewReader(content))
	}))
	defer srv.Close()
	sum := sha256.Sum256(content)
	f := weights.File{Name: "w.bin", URL: srv.URL + "/w.bin", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}
	dir, err := os.MkdirTemp("", "weights-verify")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cache := &weights.Cache{Dir: dir}
	p, err := cache.Fetch(context.Background(), f)
	if err != nil {
		panic(err)
	}
	r, _ := cache.Verify(f)
	fmt.Println(r.Status)
	if err := os.WriteFile(p, []byte("WEIGHTS"), 0o644); err != nil { // same size, other bytes
		panic(err)
	}
	r, _ = cache.Verify(f)
	fmt.Println(r.Status, errors.Is(r.Problem, weights.ErrChecksum))
	// Output:
	// ok
	// removed true
}
