package inceptionv1_test

import (
	"testing"

	"github.com/inceptionzoo/inception/conformance"
	"github.com/inceptionzoo/inception/registry"
)

// The conformance suite (package conformance) on this package's models:
// metadata, forward at batch 1 and 2, the ONNX Runtime golden and the
// ONNX round trip.

func TestConformanceInceptionV1(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-v1", conformance.Options{})
}

func TestConformanceInceptionV1Tv(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-v1-tv", conformance.Options{})
}

func TestConformanceInceptionV1D2l(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-v1-d2l", conformance.Options{})
}

func TestConformanceInceptionV1Caffe2(t *testing.T) {
	conformance.Run(t, registry.Default, "inception-v1-caffe2", conformance.Options{})
}
