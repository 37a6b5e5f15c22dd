package inceptionv3_test

import (
	"testing"

	"github.com/inceptionzoo/inception/conformance"
	"github.com/inceptionzoo/inception/registry"
)

// The conformance suite (package conformance) on this package's models:
// metadata, forward at batch 1 and 2, the ONNX Runtime golden and the
// ONNX round trip.

func TestConformanceInceptionV3(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-v3", conformance.Options{})
}
