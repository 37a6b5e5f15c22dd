package inceptionv3_test

import (
	"testing"

	"github.com/inceptionzoo/inception/conformance"
	"github.com/inceptionzoo/inception/registry"
	inceptionv3 "github.com/inceptionzoo/inception/variants/v3"
)

// TestConformance runs the conformance suite (package conformance) on every
// model this package defines: metadata, forward at batch 1 and 2, the ONNX
// Runtime golden and the ONNX round trip. It loops over Specs, so a new
// spec cannot go unchecked.
func TestConformance(t *testing.T) {
	for _, s := range inceptionv3.Specs() {
		t.Run(s.Name, func(t *testing.T) {
			conformance.Run(t, registry.Default, s.Name, conformance.Options{})
		})
	}
}
