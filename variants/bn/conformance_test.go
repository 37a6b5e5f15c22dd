package bninception_test

import (
	"testing"

	"github.com/inceptionzoo/inception/conformance"
	"github.com/inceptionzoo/inception/registry"
)

// The conformance suite (package conformance) on this package's models:
// metadata, forward at batch 1 and 2, the ONNX Runtime golden and the
// ONNX round trip.

func TestConformanceInceptionBn(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-bn", conformance.Options{})
}

func TestConformanceInceptionV2(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-v2", conformance.Options{})
}
