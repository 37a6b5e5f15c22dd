package liveness

import (
	"math/rand/v2"
	"testing"
)

func TestAssignExamples(t *testing.T) {
	tests := []struct {
		name    string
		vals    []Value
		buffers int
		total   int64
	}{
		{"chain reuses", []Value{{4, 0, 1}, {4, 1, 2}, {4, 2, 3}, {4, 3, 3}}, 2, 8},
		{"fan-out keeps the input alive", []Value{{4, 0, 3}, {4, 1, 2}, {4, 2, 3}, {4, 3, 3}}, 3, 12},
		// x = f(X); z = g(x, x); y1 = h(z); y2 = k(z): z and y1 are both live
		// at step 3, where y2 is written.
		{"repeated input", []Value{{8, 0, 1}, {8, 1, 3}, {8, 2, 4}, {8, 3, 4}, {16, 4, 4}}, 3, 32},
		{"unread values", []Value{{3, 0, 0}, {5, 0, 0}, {2, 1, 1}}, 2, 8},
		{"grows the largest free buffer", []Value{{2, 0, 0}, {6, 0, 0}, {9, 1, 1}}, 2, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Assign(tt.vals)
			if err := p.Check(tt.vals); err != nil {
				t.Fatal(err)
			}
			if len(p.Sizes) != tt.buffers || p.Total() != tt.total {
				t.Errorf("got %d buffers, %d elements (%v); want %d, %d", len(p.Sizes), p.Total(), p.Sizes, tt.buffers, tt.total)
			}
		})
	}
}

// TestAssignProperty checks random lifetimes: every plan is valid, needs
// at least the peak of simultaneously live sizes, and is deterministic.
func TestAssignProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 2000; trial++ {
		n := 1 + r.IntN(40)
		steps := 1 + r.IntN(30)
		vals := make([]Value, n)
		for i := range vals {
			d := r.IntN(steps)
			vals[i] = Value{Size: r.IntN(100), Def: d, Last: d + r.IntN(steps-d)}
		}
		p := Assign(vals)
		if err := p.Check(vals); err != nil {
			t.Fatalf("trial %d: %v\nvalues %v\nplan %v", trial, err, vals, p)
		}
		var peak int64
		for s := 0; s < steps; s++ {
			var live int64
			for _, v := range vals {
				if v.Def <= s && s <= v.Last {
					live += int64(v.Size)
				}
			}
			peak = max(peak, live)
		}
		if p.Total() < peak {
			t.Fatalf("trial %d: total %d below the live peak %d: an overlap went unnoticed", trial, p.Total(), peak)
		}
		q := Assign(vals)
		for i := range p.Buffer {
			if p.Buffer[i] != q.Buffer[i] {
				t.Fatalf("trial %d: two runs differ at value %d", trial, i)
			}
		}
	}
}

func TestCheckRejects(t *testing.T) {
	vals := []Value{{4, 0, 2}, {4, 1, 3}}
	for _, p := range []Plan{
		{Buffer: []int{0, 0}, Sizes: []int{4}},    // overlap
		{Buffer: []int{0, 1}, Sizes: []int{4, 3}}, // too small
		{Buffer: []int{0}, Sizes: []int{4}},       // a value missing
		{Buffer: []int{0, 2}, Sizes: []int{4, 4}}, // no such buffer
	} {
		if err := p.Check(vals); err == nil {
			t.Errorf("Check(%v): got nil, want an error", p)
		}
	}
}

func TestAssignPanicsOnBadLifetime(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Assign with Last < Def did not panic")
		}
	}()
	Assign([]Value{{1, 3, 2}})
}
