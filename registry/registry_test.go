package registry_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the README model table from the registry")

func tiny() registry.Entry {
	return registry.Entry{
		Name: "tiny", Aliases: []string{"tiny-net"}, Input: nn.Shape{1, 4, 4}, Classes: 2,
		Build: func(o nn.Options) (nn.Block, error) {
			return nn.Seq(nn.Flatten{}, nn.Linear{Name: "fc", Out: 2}), nil
		},
	}
}

func TestRegister(t *testing.T) {
	r, err := registry.New(tiny())
	require.NoError(t, err)
	tests := []struct {
		name string
		e    func() registry.Entry
		want error
	}{
		{"duplicate name", tiny, registry.ErrDuplicate},
		{"duplicate alias", func() registry.Entry { e := tiny(); e.Name = "other"; return e }, registry.ErrDuplicate},
		{"alias equals a name", func() registry.Entry { e := tiny(); e.Name, e.Aliases = "x", []string{"tiny"}; return e }, registry.ErrDuplicate},
		{"repeated alias", func() registry.Entry { e := tiny(); e.Name, e.Aliases = "y", []string{"z", "z"}; return e }, registry.ErrInvalid},
		{"no name", func() registry.Entry { e := tiny(); e.Name = ""; return e }, registry.ErrInvalid},
		{"no builder", func() registry.Entry { e := tiny(); e.Name, e.Aliases, e.Build = "b", nil, nil; return e }, registry.ErrInvalid},
		{"no classes", func() registry.Entry { e := tiny(); e.Name, e.Aliases, e.Classes = "c", nil, 0; return e }, registry.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.Register(tt.e()); !errors.Is(err, tt.want) {
				t.Errorf("Register err = %v, want %v", err, tt.want)
			}
		})
	}
	if got, want := r.Names(), []string{"tiny"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Names() = %v, want %v (a failed Register must not add anything)", got, want)
	}
}

func TestLookup(t *testing.T) {
	e, err := registry.Lookup("googlenet")
	require.NoError(t, err)
	if e.Name != "inception-v1" {
		t.Errorf("Lookup(googlenet).Name = %q, want inception-v1", e.Name)
	}
	_, err = registry.Lookup("inception-v9")
	if !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("Lookup(inception-v9) err = %v, want ErrNotFound", err)
	}
	for _, n := range registry.Names() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %q", err, n)
		}
	}
	_, err = registry.Lookup("inceptoin-v3")
	if err == nil || !strings.Contains(err.Error(), `did you mean "inception-v3"`) {
		t.Errorf("Lookup(inceptoin-v3) err = %v, want a suggestion of inception-v3", err)
	}
}

func TestNamesSorted(t *testing.T) {
	names := registry.Names()
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("Names() not sorted: %q before %q", names[i-1], names[i])
		}
	}
	want := []string{"inception-bn", "inception-resnet-v1", "inception-resnet-v2", "inception-v1", "inception-v1-caffe2", "inception-v1-d2l", "inception-v1-tv", "inception-v2", "inception-v3", "inception-v3-fid", "inception-v4"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("Names() = %v, want %v", names, want)
	}
}

// TestBuiltinMetadata builds every registered model and checks its
// metadata against what the builder produces.
func TestBuiltinMetadata(t *testing.T) {
	for _, e := range registry.Default.Entries() {
		t.Run(e.Name, func(t *testing.T) {
			b, err := e.Build(nn.Options{})
			require.NoError(t, err)
			g, err := nn.Lower(b, e.Input)
			require.NoError(t, err)
			params, _, macs := g.Totals()
			if params != e.RefParams {
				t.Errorf("params = %d, RefParams %d", params, e.RefParams)
			}
			if macs != e.RefMACs {
				t.Errorf("MACs = %d, RefMACs %d", macs, e.RefMACs)
			}
			if out := g.OutputShape(); len(out) != 1 || out[0] != e.Classes {
				t.Errorf("output %v, Classes %d", out, e.Classes)
			}
			if e.Paper == "" || e.Family == "" || e.Description == "" || e.Preprocess.Validate() != nil || e.Preprocess.Channels() != e.Input[0] {
				t.Errorf("incomplete metadata: %+v", e)
			}
			if n, err := labels.Size(e.Labels); e.Labels != "" && (err != nil || n != e.Classes) {
				t.Errorf("label set %q: %d names, %v; the model has %d classes", e.Labels, n, err, e.Classes)
			}
			if e.Preprocess.Crop != e.Input[1] || e.Preprocess.Crop != e.Input[2] {
				t.Errorf("crop %d does not match input %v", e.Preprocess.Crop, e.Input)
			}
			if e.HasAux {
				b, err := e.Build(nn.Options{Aux: true})
				require.NoError(t, err)
				g, err := nn.Lower(b, e.Input)
				require.NoError(t, err)
				if p, _, _ := g.Totals(); p != e.RefParamsAux {
					t.Errorf("params with aux = %d, RefParamsAux %d", p, e.RefParamsAux)
				}
				if len(g.Aux) == 0 {
					t.Error("HasAux but no aux outputs")
				}
			}
			b, err = e.Build(nn.Options{Classes: 7})
			require.NoError(t, err)
			g, err = nn.Lower(b, e.Input)
			require.NoError(t, err)
			if out := g.OutputShape(); out[0] != 7 {
				t.Errorf("Classes: 7 gives output %v", out)
			}
		})
	}
}

// TestTags builds every weight tag's configuration (its input size and
// class count) and checks the facts a download and a user rely on: a
// unique cache file name, an https URL, a label set of the right size.
func TestTags(t *testing.T) {
	files := map[string]string{}
	for _, e := range registry.Default.Entries() {
		for i := range e.Tags {
			tag := &e.Tags[i]
			t.Run(e.Ref(tag), func(t *testing.T) {
				if prev, dup := files[tag.File.Name]; dup {
					t.Errorf("cache file %s is also %s's", tag.File.Name, prev)
				}
				files[tag.File.Name] = e.Ref(tag)
				if !strings.HasPrefix(tag.File.URL, "https://") {
					// Only a publisher without https (Cadene's host) may
					// serve plain http, and the entry must say what that
					// means for integrity.
					require.Contains(t, tag.Notes, "plain HTTP", "URL %s", tag.File.URL)
				}
				classes, set := e.ClassesOf(tag)
				if n, err := labels.Size(set); set != "" && (err != nil || n != classes) {
					t.Errorf("label set %q: %d names, %v; the tag has %d classes", set, n, err, classes)
				}
				b, err := e.Build(nn.Options{Classes: classes, TransformInput: tag.TransformInput})
				require.NoError(t, err)
				g, err := nn.Lower(b, e.InputOf(tag))
				require.NoError(t, err)
				require.Equal(t, nn.Shape{classes}, g.OutputShape())
				got, gotTag, err := registry.Resolve(e.Ref(tag))
				require.NoError(t, err)
				require.Equal(t, e.Name, got.Name)
				require.Same(t, &got.Tags[i], gotTag)
			})
		}
	}
}

func TestResolve(t *testing.T) {
	e, tag, err := registry.Resolve("googlenet")
	require.NoError(t, err)
	require.Equal(t, "inception-v1", e.Name)
	require.Nil(t, tag)
	_, _, err = registry.Resolve("inception-v1.no_such_tag")
	require.ErrorIs(t, err, spec.ErrTag)
	require.ErrorContains(t, err, "bvlc_in1k")
	_, _, err = registry.Resolve("inception-v9.bvlc_in1k")
	require.ErrorIs(t, err, registry.ErrNotFound)
	r, err := registry.New(registry.Entry{Name: "a.b", Input: nn.Shape{1, 1, 1}, Classes: 1,
		Build: func(nn.Options) (nn.Block, error) { return nil, nil }})
	require.ErrorIs(t, err, registry.ErrInvalid, "a name with a dot cannot be told from name.tag")
	require.Nil(t, r)
}

const readmePath = "../README.md"

// ReadmeTable renders the README's model table from the registry.
func readmeTable() string {
	var b strings.Builder
	b.WriteString("| name | aliases | input | classes | params | MACs | pretrained weights (`name.tag`) |\n|---|---|---|---|---|---|---|\n")
	for _, e := range registry.Default.Entries() {
		aliases := strings.Join(e.Aliases, ", ")
		params := fmt.Sprintf("%d", e.RefParams)
		if e.RefParamsAux > 0 {
			params += fmt.Sprintf(" (%d with aux)", e.RefParamsAux)
		}
		var tags []string
		for i := range e.Tags {
			t := &e.Tags[i]
			c, _ := e.ClassesOf(t)
			in := e.InputOf(t)
			tags = append(tags, fmt.Sprintf("`%s` (%s, %d classes, %dx%d)", t.Name, t.Format, c, in[1], in[2]))
		}
		if len(tags) == 0 {
			tags = []string{"none: `--weights FILE`"}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %d | %s | %d | %s |\n", e.Name, aliases, e.Input, e.Classes, params, e.RefMACs, strings.Join(tags, ", "))
	}
	return b.String()
}

var tableRE = regexp.MustCompile(`(?s)<!-- models:begin -->\n(.*?)<!-- models:end -->`)

// TestREADMETable checks that the README model table agrees with the
// registry. Regenerate it with: go test ./registry -run TestREADMETable -update
func TestREADMETable(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	m := tableRE.FindSubmatchIndex(data)
	require.NotNil(t, m, "README has no <!-- models:begin --> … <!-- models:end --> section")
	want := readmeTable()
	if *update {
		out := string(data[:m[2]]) + want + string(data[m[3]:])
		require.NoError(t, os.WriteFile(readmePath, []byte(out), 0o644))
		return
	}
	if got := string(data[m[2]:m[3]]); got != want {
		t.Errorf("README model table is stale; run: go test ./registry -run TestREADMETable -update\ngot:\n%s\nwant:\n%s", got, want)
	}
}
