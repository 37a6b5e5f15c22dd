package serve

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/inceptionzoo/inception/assets"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/tensor"
)

func TestLoadModel(t *testing.T) {
	ctx := context.Background()
	// A bare name is seeded: refused unless allowed.
	if _, err := LoadModel(ctx, "inception-v1-d2l", LoadOptions{}); !errors.Is(err, ErrSeeded) {
		t.Errorf("bare name: %v, want ErrSeeded", err)
	}
	m, err := LoadModel(ctx, "inception-v1-d2l", LoadOptions{AllowSeeded: true})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Model.Seeded() || m.Name != "inception-v1-d2l" {
		t.Errorf("bare name with AllowSeeded: seeded %v, name %q", m.Model.Seeded(), m.Name)
	}

	// A file of seeded weights (its metadata says so) is refused too.
	seeded := filepath.Join(t.TempDir(), "seeded.onnx")
	f, err := os.Create(seeded)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Model.ExportONNX(f, convert.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := LoadModel(ctx, "inception-v1-d2l="+seeded, LoadOptions{}); !errors.Is(err, ErrSeeded) {
		t.Errorf("seeded export: %v, want ErrSeeded", err)
	}

	// A trained file: its input size and classes.
	d := loadD2L(t)
	if d.Model.Seeded() || !tensor.SameShape(d.Model.Input(), []int{1, 28, 28}) || d.Model.Classes() != 10 {
		t.Errorf("%s: seeded %v, input %v, classes %d; want trained, 1x28x28, 10", d2lArg, d.Model.Seeded(), d.Model.Input(), d.Model.Classes())
	}

	// NAME=pretrained, from a read-only source (the shipped file), offline.
	p, err := LoadModel(ctx, "inception-v1-d2l.fmnist28=pretrained", LoadOptions{Cache: t.TempDir(), Sources: []fs.FS{assets.FS}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "inception-v1-d2l.fmnist28" || p.Model.Seeded() || p.Model.Name() != "inception-v1-d2l.fmnist28" {
		t.Errorf("pretrained: name %q, weights %q, seeded %v", p.Name, p.Model.Name(), p.Model.Seeded())
	}

	for _, arg := range []string{"", "=x.onnx", "inception-v1-d2l=", "nope=x.onnx", "inception-v1-d2l=/no/such/file.onnx"} {
		if _, err := LoadModel(ctx, arg, LoadOptions{AllowSeeded: true}); err == nil {
			t.Errorf("LoadModel(%q): no error", arg)
		}
	}
}
