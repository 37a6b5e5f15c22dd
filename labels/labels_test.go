package labels

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKnownNames(t *testing.T) {
	in, in1001, fm := ImageNet(), ImageNet1001(), FashionMNIST()
	tests := []struct {
		list  []string
		index int
		want  string
	}{
		{in, 0, "tench"},
		{in, 1, "goldfish"},
		{in, 207, "golden retriever"},
		{in, 281, "tabby"},
		{in, 999, "toilet tissue"},
		{in1001, 0, "background"},
		{in1001, 1, "tench"},
		{in1001, 1000, "toilet tissue"},
		{fm, 0, "T-shirt/top"},
		{fm, 9, "Ankle boot"},
	}
	for _, tt := range tests {
		if got := tt.list[tt.index]; got != tt.want {
			t.Errorf("index %d of a %d-class list: got %q, want %q", tt.index, len(tt.list), got, tt.want)
		}
	}
	require.Len(t, in, 1000)
	require.Len(t, in1001, 1001)
	require.Len(t, fm, 10)
	for i, n := range in {
		if n == "" {
			t.Errorf("class %d has no name", i)
		}
	}
}

func TestFor(t *testing.T) {
	tests := []struct {
		classes int
		model   string
		want    int    // length, 0 for nil
		first   string // name of class 0
	}{
		{1000, "inception-v3", 1000, "tench"},
		{1001, "inception-v4", 1001, "background"},
		{10, "inception-v1-d2l", 10, "T-shirt/top"},
		{10, "Fashion-MNIST", 10, "T-shirt/top"},
		{10, "inception-v3", 0, ""},
		{50, "inception-v1", 0, ""},
		{0, "", 0, ""},
	}
	for _, tt := range tests {
		got := For(tt.classes, tt.model)
		if len(got) != tt.want || (len(got) > 0 && got[0] != tt.first) {
			t.Errorf("For(%d, %q): got %d names (first %q), want %d (first %q)", tt.classes, tt.model, len(got), first(got), tt.want, tt.first)
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestCopies(t *testing.T) {
	a := ImageNet()
	a[0] = "changed"
	if got := ImageNet()[0]; got != "tench" {
		t.Fatalf("a caller's edit leaked: got %q, want %q", got, "tench")
	}
}

// TestGeneratedUpToDate compares imagenet.go with the list in the
// installed torchvision, the source gen.go reads.
func TestGeneratedUpToDate(t *testing.T) {
	out, err := exec.Command("/usr/bin/python3", "-c",
		"import json; from torchvision.models._meta import _IMAGENET_CATEGORIES as c; print(json.dumps(list(c)))").Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("torchvision missing under CI (%v): apt-get install python3-torchvision", err)
		}
		t.Skipf("torchvision missing (%v): apt-get install python3-torchvision", err)
	}
	var want []string
	require.NoError(t, json.Unmarshal(out, &want))
	require.Equal(t, want, ImageNet(), "imagenet.go is stale: run go generate ./labels")
}
