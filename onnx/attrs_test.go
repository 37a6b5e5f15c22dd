package onnx

import (
	"sort"
	"testing"
)

// TestOpAttrsCoverOpTable: every supported operator has its attribute
// list (an operator missing from opAttrs would reject all attributes).
func TestOpAttrsCoverOpTable(t *testing.T) {
	var missing, extra []string
	for op := range opTable {
		if _, ok := opAttrs[op]; !ok {
			missing = append(missing, op)
		}
	}
	for op := range opAttrs {
		if _, ok := opTable[op]; !ok {
			extra = append(extra, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("opAttrs lacks %v and lists unsupported %v", missing, extra)
	}
}
