package onnxir

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
)

// allocated returns the bytes f allocates.
func allocated(f func()) int64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return int64(b.TotalAlloc - a.TotalAlloc)
}

// expansionModels are inputs that protobuf expands far beyond their size.
func expansionModels(n int) map[string][]byte {
	m := map[string][]byte{}
	// A graph of n empty nodes: 2 bytes each.
	var g []byte
	for range n {
		g = protowire.AppendTag(g, 1, protowire.BytesType)
		g = protowire.AppendBytes(g, nil)
	}
	var b []byte
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	b = protowire.AppendBytes(b, g)
	m["empty nodes"] = b
	// One node with n empty attributes.
	var nd []byte
	for range n {
		nd = protowire.AppendTag(nd, 5, protowire.BytesType)
		nd = protowire.AppendBytes(nd, nil)
	}
	g = protowire.AppendTag(nil, 1, protowire.BytesType)
	g = protowire.AppendBytes(g, nd)
	b = protowire.AppendTag(nil, 7, protowire.BytesType)
	m["empty attributes"] = protowire.AppendBytes(b, g)
	// One node with n empty input names.
	nd = nil
	for range n {
		nd = protowire.AppendTag(nd, 1, protowire.BytesType)
		nd = protowire.AppendBytes(nd, nil)
	}
	g = protowire.AppendTag(nil, 1, protowire.BytesType)
	g = protowire.AppendBytes(g, nd)
	b = protowire.AppendTag(nil, 7, protowire.BytesType)
	m["empty strings"] = protowire.AppendBytes(b, g)
	// An initializer with n packed 1-byte dims.
	var dims []byte
	for range n {
		dims = protowire.AppendVarint(dims, 1)
	}
	t := protowire.AppendTag(nil, 1, protowire.BytesType)
	t = protowire.AppendBytes(t, dims)
	g = protowire.AppendTag(nil, 5, protowire.BytesType)
	g = protowire.AppendBytes(g, t)
	b = protowire.AppendTag(nil, 7, protowire.BytesType)
	m["packed dims"] = protowire.AppendBytes(b, g)
	return m
}

// TestPrescanEstimate checks the pre-scan's estimate against what
// proto.Unmarshal really allocates, on inputs that expand 8 to 100 times:
// the estimate must not fall short (it bounds memory) nor exceed 3 times
// the truth (it must not reject honest files).
func TestPrescanEstimate(t *testing.T) {
	md := (&pb.ModelProto{}).ProtoReflect().Descriptor()
	for name, b := range expansionModels(200_000) {
		t.Run(name, func(t *testing.T) {
			s := &prescan{root: "ModelProto", limits: DefaultLimits}
			if err := s.message(b, md, 0, false); err != nil {
				t.Fatal(err)
			}
			var m pb.ModelProto
			got := allocated(func() {
				if err := proto.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("%d input bytes: unmarshalling allocated %d, estimated %d (%.1f bytes per input byte)", len(b), got, s.mem, float64(got)/float64(len(b)))
			if s.mem < got*9/10 || s.mem > 3*got {
				t.Errorf("estimate %d, allocated %d: want within [0.9x, 3x]", s.mem, got)
			}
		})
	}
}

// TestExpansionRejectedBeforeUnmarshal decodes 16 MiB inputs that
// protobuf would expand 100-fold (issue #18 item 14: 1.79 GB for 16 MiB of
// empty nodes). Decode and DecodeTensor must fail with ErrLimit having
// allocated little more than the input they read.
func TestExpansionRejectedBeforeUnmarshal(t *testing.T) {
	const n = 8 << 20 // elements of 2 bytes: 16 MiB
	var nodes []byte
	for range n {
		nodes = protowire.AppendTag(nodes, 1, protowire.BytesType)
		nodes = protowire.AppendBytes(nodes, nil)
	}
	model := protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), nodes)
	var strs []byte
	for range n {
		strs = protowire.AppendTag(strs, 6, protowire.BytesType) // TensorProto.string_data
		strs = protowire.AppendBytes(strs, nil)
	}
	for _, tt := range []struct {
		name   string
		data   []byte
		decode func(r *bytes.Reader) error
		substr string
	}{
		{"ModelProto of empty nodes", model, func(r *bytes.Reader) error {
			_, err := Decode(r, DecodeOptions{})
			return err
		}, "graph has 8388608 nodes, over MaxNodes 100000"},
		{"TensorProto of empty strings", strs, func(r *bytes.Reader) error {
			_, err := DecodeTensor(r, DefaultLimits)
			return err
		}, "over MaxParseBytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			got := allocated(func() { err = tt.decode(bytes.NewReader(tt.data)) })
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("got %v, want ErrLimit containing %q", err, tt.substr)
			}
			// Reading the input (io.ReadAll doubles its buffer) is the
			// only large allocation.
			if limit := 4*int64(len(tt.data)) + 1<<20; got > limit {
				t.Errorf("%d input bytes: allocated %d, want at most %d", len(tt.data), got, limit)
			}
			t.Logf("%d input bytes: allocated %d before failing", len(tt.data), got)
		})
	}
}

// TestPrescanHonestModels checks that real models stay far below
// MaxParseBytes: the light Inception graphs cost at most a few MiB more
// than their size.
func TestPrescanHonestModels(t *testing.T) {
	md := (&pb.ModelProto{}).ProtoReflect().Descriptor()
	for _, name := range []string{"light_inception_v1.onnx", "light_inception_v2.onnx"} {
		b, err := os.ReadFile(sharedFile(t, name))
		if err != nil {
			t.Fatal(err)
		}
		s := &prescan{root: "ModelProto", limits: DefaultLimits}
		if err := s.message(b, md, 0, false); err != nil {
			t.Fatal(err)
		}
		over := s.mem - int64(len(b))
		t.Logf("%s: %d bytes, estimated %d (%d over)", name, len(b), s.mem, over)
		if over > 8<<20 {
			t.Errorf("%s: %d bytes over its size, want under 8 MiB", name, over)
		}
	}
}
