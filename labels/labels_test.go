package labels

import (
	"encoding/json"
	"errors"
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

func TestNames(t *testing.T) {
	tests := []struct {
		set     string
		want    int    // length, 0 for nil
		first   string // name of class 0
		wantErr error
	}{
		{SetImageNet, 1000, "tench", nil},
		{SetImageNet1001, 1001, "background", nil},
		{SetFashionMNIST, 10, "T-shirt/top", nil},
		{SetVGGFace2, 0, "", nil},
		{"", 0, "", nil},
		{"imagenet", 0, "", ErrUnknownSet},
	}
	for _, tt := range tests {
		got, err := Names(tt.set)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Names(%q) err = %v, want %v", tt.set, err, tt.wantErr)
		}
		if len(got) != tt.want || (len(got) > 0 && got[0] != tt.first) {
			t.Errorf("Names(%q): got %d names (first %q), want %d (first %q)", tt.set, len(got), first(got), tt.want, tt.first)
		}
		if n, err := Size(tt.set); err == nil && got != nil && n != len(got) {
			t.Errorf("Size(%q) = %d, Names has %d", tt.set, n, len(got))
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
