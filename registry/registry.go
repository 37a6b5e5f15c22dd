// Package registry maps model names to their specs (package spec): the
// architecture (paper, input shape, classes, reference counts, quirks, the
// builder of the block tree) and its pretrained weight tags.
//
// Names resolve like timm's: Resolve("inception-v3.tf_in1k") gives the
// inception-v3 entry and its tf_in1k tag; a bare name or alias gives the
// entry alone.
//
// A Registry is a value; Default holds every model this module ships, built
// from the variant packages' Specs tables. A program or a third-party package
// can register its own variants, either in Default (Register, or
// MustRegister from an init function) or in a Registry of its own (New). A
// Registry is safe for concurrent use. Register never overwrites: a name or
// alias that is already taken is an error.
package registry

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/inceptionzoo/inception/spec"
	bninception "github.com/inceptionzoo/inception/variants/bn"
	inceptionv1 "github.com/inceptionzoo/inception/variants/v1"
	inceptionv3 "github.com/inceptionzoo/inception/variants/v3"
	inceptionv4 "github.com/inceptionzoo/inception/variants/v4"
)

// Entry is one registered model.
type Entry = spec.Model

// Errors returned by Register and Lookup.
var (
	ErrDuplicate = errors.New("registry: name already registered")
	ErrNotFound  = errors.New("registry: unknown model")
	ErrInvalid   = errors.New("registry: invalid entry")
)

// Registry is a set of entries addressed by name or alias.
type Registry struct {
	mu      sync.RWMutex
	entries map[string]*Entry // canonical name → entry
	names   map[string]string // name or alias → canonical name
}

// New returns a registry holding entries, or an error for the first invalid
// or duplicate entry.
func New(entries ...Entry) (*Registry, error) {
	r := &Registry{entries: map[string]*Entry{}, names: map[string]string{}}
	for _, e := range entries {
		if err := r.Register(e); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Builtin returns the specs of every model this module ships.
func Builtin() []Entry {
	var all []Entry
	for _, f := range []func() []spec.Model{inceptionv1.Specs, bninception.Specs, inceptionv3.Specs, inceptionv4.Specs} {
		all = append(all, f()...)
	}
	return all
}

// Default holds Builtin. It panics at init only if the builtin tables are
// inconsistent, which a test rules out.
var Default = mustNew(Builtin()...)

func mustNew(entries ...Entry) *Registry {
	r, err := New(entries...)
	if err != nil {
		panic(err)
	}
	return r
}

// Register adds e. It returns an error wrapping ErrDuplicate if its name or
// an alias is taken, and ErrInvalid if spec.Model.Validate finds it
// incomplete (no name, builder, input shape or class count; a name with a
// dot; tags without download facts, licence or a valid preset).
func (r *Registry) Register(e Entry) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := append([]string{e.Name}, e.Aliases...)
	for i, k := range keys {
		if k == "" {
			return fmt.Errorf("%w: %q has an empty alias", ErrInvalid, e.Name)
		}
		if old, ok := r.names[k]; ok {
			return fmt.Errorf("%w: %q (registered by %q)", ErrDuplicate, k, old)
		}
		for _, prev := range keys[:i] {
			if prev == k {
				return fmt.Errorf("%w: %q repeats alias %q", ErrInvalid, e.Name, k)
			}
		}
	}
	ec := e
	r.entries[e.Name] = &ec
	for _, k := range keys {
		r.names[k] = e.Name
	}
	return nil
}

// MustRegister is Register that panics; for a package's init function.
func (r *Registry) MustRegister(e Entry) {
	if err := r.Register(e); err != nil {
		panic(err)
	}
}

// Lookup returns the entry for a name or alias. An unknown name gives an
// error wrapping ErrNotFound that lists the known names and suggests the
// closest ones.
func (r *Registry) Lookup(name string) (Entry, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if c, ok := r.names[name]; ok {
		return *r.entries[c], nil
	}
	known := r.namesLocked()
	msg := fmt.Sprintf("%q (known: %s)", name, strings.Join(known, ", "))
	if s := suggest(name, r.names); len(s) > 0 {
		msg = fmt.Sprintf("%q; did you mean %s? (known: %s)", name, strings.Join(s, " or "), strings.Join(known, ", "))
	}
	return Entry{}, fmt.Errorf("%w %s", ErrNotFound, msg)
}

// Resolve returns the entry and tag a reference "name.tag" names; a bare
// name or alias gives the entry and a nil tag. An unknown tag is an error
// wrapping spec.ErrTag that lists the model's tags.
func (r *Registry) Resolve(ref string) (Entry, *spec.Tag, error) {
	name, tag := spec.Split(ref)
	e, err := r.Lookup(name)
	if err != nil || tag == "" {
		return e, nil, err
	}
	t, err := e.Tag(tag)
	if err != nil {
		return Entry{}, nil, err
	}
	return e, t, nil
}

// Names returns the canonical names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	out := make([]string, 0, len(r.entries))
	for n := range r.entries {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Entries returns every entry, sorted by name.
func (r *Registry) Entries() []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Entry, 0, len(r.entries))
	for _, n := range r.namesLocked() {
		out = append(out, *r.entries[n])
	}
	return out
}

// Register adds e to Default.
func Register(e Entry) error { return Default.Register(e) }

// MustRegister adds e to Default and panics on error.
func MustRegister(e Entry) { Default.MustRegister(e) }

// Lookup looks name up in Default.
func Lookup(name string) (Entry, error) { return Default.Lookup(name) }

// Resolve resolves ref in Default.
func Resolve(ref string) (Entry, *spec.Tag, error) { return Default.Resolve(ref) }

// Names returns Default's names.
func Names() []string { return Default.Names() }

// suggest returns the registered names within edit distance 3 of name, or
// containing it, closest first (at most 3).
func suggest(name string, names map[string]string) []string {
	type cand struct {
		s string
		d int
	}
	best := map[string]int{} // canonical name → smallest distance of its name or aliases
	for k, canon := range names {
		d := levenshtein(strings.ToLower(name), strings.ToLower(k))
		if strings.Contains(k, name) && len(name) >= 3 {
			d = 1
		}
		if old, ok := best[canon]; d <= 3 && (!ok || d < old) {
			best[canon] = d
		}
	}
	var cs []cand
	for canon, d := range best {
		cs = append(cs, cand{canon, d})
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].s < cs[j].s
	})
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, fmt.Sprintf("%q", cs[i].s))
	}
	return out
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
