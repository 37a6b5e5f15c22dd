package onnxir

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFloat16ToFloat32(t *testing.T) {
	tests := []struct {
		name string
		bits uint16
		want float32
	}{
		{"zero", 0x0000, 0},
		{"one", 0x3c00, 1},
		{"minus two", 0xc000, -2},
		{"max normal", 0x7bff, 65504},
		{"min normal", 0x0400, float32(math.Ldexp(1, -14))},
		{"min subnormal", 0x0001, float32(math.Ldexp(1, -24))},
		{"max subnormal", 0x03ff, float32(math.Ldexp(1023, -24))},
		{"negative subnormal", 0x8200, -float32(math.Ldexp(512, -24))},
		{"one third", 0x3555, 0.333251953125},
		{"+inf", 0x7c00, float32(math.Inf(1))},
		{"-inf", 0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Float16ToFloat32(tt.bits); got != tt.want {
				t.Errorf("Float16ToFloat32(%#04x): got %v, want %v", tt.bits, got, tt.want)
			}
		})
	}
	if got := Float16ToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("Float16ToFloat32(0x8000): got %v (signbit %v), want -0", got, math.Signbit(float64(got)))
	}
	for _, bits := range []uint16{0x7e00, 0x7c01, 0xfe00} {
		if got := Float16ToFloat32(bits); !math.IsNaN(float64(got)) {
			t.Errorf("Float16ToFloat32(%#04x): got %v, want NaN", bits, got)
		}
	}
	// Exhaustive: every finite half is exactly representable; check
	// against the defining formula.
	for b := 0; b < 1<<16; b++ {
		h := uint16(b)
		exp, mant := int(h>>10)&0x1f, float64(h&0x3ff)
		if exp == 0x1f {
			continue
		}
		var want float64
		if exp == 0 {
			want = math.Ldexp(mant, -24)
		} else {
			want = math.Ldexp(1+mant/1024, exp-15)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if got := Float16ToFloat32(h); float64(got) != want {
			t.Fatalf("Float16ToFloat32(%#04x): got %v, want %v", h, got, want)
		}
	}
}

func TestBFloat16ToFloat32(t *testing.T) {
	tests := []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0},
		{0x3f80, 1},
		{0xc000, -2},
		{0x4049, 3.140625},
		{0x0001, math.Float32frombits(0x00010000)}, // subnormal
		{0x7f80, float32(math.Inf(1))},
		{0xff80, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := BFloat16ToFloat32(tt.bits); got != tt.want {
			t.Errorf("BFloat16ToFloat32(%#04x): got %v, want %v", tt.bits, got, tt.want)
		}
	}
	if got := BFloat16ToFloat32(0x7fc0); !math.IsNaN(float64(got)) {
		t.Errorf("BFloat16ToFloat32(0x7fc0): got %v, want NaN", got)
	}
}

func TestDTypeString(t *testing.T) {
	for d, want := range map[DType]string{Float32: "FLOAT", Complex64: "COMPLEX64", 99: "DType(99)"} {
		if got := d.String(); got != want {
			t.Errorf("DType(%d).String(): got %q, want %q", int32(d), got, want)
		}
	}
}

// TestFloat32ToFloat16 checks the one float16 rounding of the module (the
// ONNX runner's Cast, train.Float16Initializers).
func TestFloat32ToFloat16(t *testing.T) {
	// Every finite half converts back to itself.
	for h := 0; h < 1<<16; h++ {
		f := Float16ToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		got, ok := Float32ToFloat16(f)
		if !ok || got != uint16(h) {
			t.Fatalf("Float32ToFloat16(%g) = %#04x, %v; want %#04x", f, got, ok, h)
		}
	}
	// Random floats round to the nearest half (ties checked by the
	// round trip above being exact on both neighbours).
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		f := float32((r.Float64()*2 - 1) * math.Pow(2, float64(r.IntN(40)-24)))
		h, ok := Float32ToFloat16(f)
		require.True(t, ok)
		got := float64(Float16ToFloat32(h))
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7c00 == 0x7c00 {
				continue
			}
			if d := math.Abs(float64(Float16ToFloat32(n)) - float64(f)); d < math.Abs(got-float64(f)) {
				t.Fatalf("Float32ToFloat16(%g) = %g, but %g is nearer", f, got, Float16ToFloat32(n))
			}
		}
	}
	if _, ok := Float32ToFloat16(70000); ok {
		t.Fatal("Float32ToFloat16(70000): want out of range")
	}
}

func TestFloat32ToBFloat16(t *testing.T) {
	for _, tt := range []struct {
		f    float32
		want uint16
	}{
		{1, 0x3f80}, {-2, 0xc000}, {0, 0},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie: to even (down)
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie: to even (up)
		{math.Float32frombits(0x3f808001), 0x3f81}, // above the tie
		{float32(math.Inf(1)), 0x7f80},
	} {
		if got := Float32ToBFloat16(tt.f); got != tt.want {
			t.Errorf("Float32ToBFloat16(%g): got %#04x, want %#04x", tt.f, got, tt.want)
		}
	}
	if got := BFloat16ToFloat32(Float32ToBFloat16(float32(math.NaN()))); got == got {
		t.Errorf("NaN: got %v", got)
	}
}
