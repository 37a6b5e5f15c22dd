package statedict

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
)

func TestDetectONNX(t *testing.T) {
	models := map[string][]byte{
		"light_inception_v1.onnx": testkit.ReadShared(t, "onnx-light", "light_inception_v1.onnx"),
		"light_inception_v2.onnx": testkit.ReadShared(t, "onnx-light", "light_inception_v2.onnx"),
	}
	b, err := os.ReadFile("../assets/inception-v1-d2l-fmnist28.onnx")
	require.NoError(t, err)
	models["inception-v1-d2l-fmnist28.onnx"] = b
	for name, b := range models {
		assert.Equal(t, ONNX, Detect(b), name)
		assert.Equal(t, ONNX, Detect(b[:DetectSize]), name)
		_, err := Read(bytesReaderAt(b), int64(len(b)), Limits{})
		assert.ErrorIs(t, err, ErrUnsupported, name)
		assert.ErrorContains(t, err, "ONNX model", name)
	}
}

func TestDetect(t *testing.T) {
	le := func(n uint64) string {
		b := make([]byte, 8)
		for i := range b {
			b[i] = byte(n >> (8 * i))
		}
		return string(b)
	}
	tests := []struct {
		name string
		head string
		want Format
	}{
		{"empty", "", Unknown},
		{"zip", "PK\x03\x04\x14\x00", TorchZip},
		{"empty zip", "PK\x05\x06", Unknown},
		{"legacy p2", "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", TorchLegacy},
		{"legacy p4 framed", "\x80\x04\x95\x0d\x00\x00\x00\x00\x00\x00\x00\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", TorchLegacy},
		{"legacy p1", "L119547037146038801333356L\n.\x80", TorchLegacy},
		{"legacy cut", "\x80\x02\x8a\x0a\x6c\xfc", Unknown},
		{"other pickle", "\x80\x02}q\x00.", Unknown},
		{"wrong magic", "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x18.", Unknown},
		{"safetensors", le(16) + `{"a":{}}`, Safetensors},
		{"safetensors 2^63", le(1<<63) + "{", Safetensors},
		{"safetensors header length 1", le(1) + "{", Unknown},
		{"safetensors without brace", le(16) + "[", Unknown},
		{"onnx", "\x08\x07\x12\x07pytorch\x1a\x041.13:\xff\x01", ONNX},
		{"onnx wrong wire type", "\x0a\x07", Unknown},
		{"onnx ir_version 0", "\x08\x00\x12\x01a", Unknown},
		{"protobuf of another message", "\x48\x01", Unknown},
		{"text", "hello, world", Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Detect([]byte(tt.head)))
		})
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{Unknown: "unknown", ONNX: "onnx", TorchZip: "torch-zip",
		TorchLegacy: "torch-legacy", Safetensors: "safetensors", Format(99): "Format(?)", Format(-1): "Format(?)"} {
		assert.Equal(t, want, f.String())
	}
}
