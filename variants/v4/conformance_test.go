package inceptionv4_test

import (
	"testing"

	"github.com/inceptionzoo/inception/conformance"
	"github.com/inceptionzoo/inception/registry"
)

// The conformance suite (package conformance) on this package's models:
// metadata, forward at batch 1 and 2, the ONNX Runtime golden and the
// ONNX round trip.

func TestConformanceInceptionV4(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-v4", conformance.Options{})
}

func TestConformanceInceptionResnetV2(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-resnet-v2", conformance.Options{})
}

func TestConformanceInceptionResnetV1(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-resnet-v1", conformance.Options{})
}
