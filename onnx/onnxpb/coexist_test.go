package onnxpb_test

import (
	"testing"

	onnxgo "github.com/owulveryck/onnx-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// TestCoexistWithOnnxGo links both onnxpb and github.com/owulveryck/onnx-go
// into one test binary. A duplicate registration in the global protobuf
// registry would have panicked during package initialisation, before this
// test runs; here we also check that both schemas are registered under
// distinct names.
func TestCoexistWithOnnxGo(t *testing.T) {
	_ = onnxgo.NewModel // keep the import: onnx-go registers proto package "onnx"

	for _, name := range []protoreflect.FullName{"onnx.ModelProto", "inceptionzoo.onnx.ModelProto"} {
		if _, err := protoregistry.GlobalTypes.FindMessageByName(name); err != nil {
			t.Errorf("FindMessageByName(%q): got %v, want registered", name, err)
		}
	}

	// The wire format is shared: bytes written by onnxpb decode in onnx-go.
	b, err := proto.Marshal(&onnxpb.ModelProto{
		IrVersion: proto.Int64(8),
		Graph:     &onnxpb.GraphProto{Name: proto.String("g")},
	})
	if err != nil {
		t.Fatal(err)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName("onnx.ModelProto")
	if err != nil {
		t.Fatal(err)
	}
	theirs := mt.New().Interface()
	if err := proto.Unmarshal(b, theirs); err != nil {
		t.Fatalf("onnx-go ModelProto Unmarshal: %v", err)
	}
	ir := theirs.ProtoReflect().Get(mt.Descriptor().Fields().ByName("ir_version")).Int()
	if got, want := ir, int64(8); got != want {
		t.Errorf("ir_version via onnx-go types: got %d, want %d", got, want)
	}
}
