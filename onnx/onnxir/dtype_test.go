package onnxir

import (
	"math"
	"testing"
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
