package onnxir

import (
	"fmt"
	"math"
)

// DType is an ONNX tensor element type; values match TensorProto.DataType.
type DType int32

// Element types. Only those with a case in Size are decodable; the others
// are listed so that errors can name them.
const (
	Undefined  DType = 0
	Float32    DType = 1
	Uint8      DType = 2
	Int8       DType = 3
	Uint16     DType = 4
	Int16      DType = 5
	Int32      DType = 6
	Int64      DType = 7
	String     DType = 8
	Bool       DType = 9
	Float16    DType = 10
	Float64    DType = 11
	Uint32     DType = 12
	Uint64     DType = 13
	Complex64  DType = 14
	Complex128 DType = 15
	BFloat16   DType = 16
)

var dtypeNames = map[DType]string{
	Undefined: "UNDEFINED", Float32: "FLOAT", Uint8: "UINT8", Int8: "INT8",
	Uint16: "UINT16", Int16: "INT16", Int32: "INT32", Int64: "INT64",
	String: "STRING", Bool: "BOOL", Float16: "FLOAT16", Float64: "DOUBLE",
	Uint32: "UINT32", Uint64: "UINT64", Complex64: "COMPLEX64",
	Complex128: "COMPLEX128", BFloat16: "BFLOAT16",
	17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
	20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1",
	24: "FLOAT8E8M0",
}

func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("DType(%d)", int32(d))
}

// Size is the width in bytes of one element in raw_data, or 0 for a type
// this package cannot decode.
func (d DType) Size() int64 {
	switch d {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16, BFloat16:
		return 2
	case Float32, Int32, Uint32:
		return 4
	case Float64, Int64, Uint64:
		return 8
	}
	return 0
}

// IsFloat reports whether tensors of type d decode into Tensor.Float.
func (d DType) IsFloat() bool {
	switch d {
	case Float32, Float16, BFloat16, Float64:
		return true
	}
	return false
}

// checkDType classifies a TensorProto.data_type value.
func checkDType(v int32) (DType, error) {
	d := DType(v)
	if d == Undefined {
		return d, formatErr("data_type is UNDEFINED")
	}
	if d.Size() == 0 {
		return d, unsupportedErr("data_type %v", d)
	}
	return d, nil
}

// intRange is the value range of an integer DType.
func intRange(d DType) (lo, hi int64) {
	switch d {
	case Bool:
		return 0, 1
	case Uint8:
		return 0, math.MaxUint8
	case Int8:
		return math.MinInt8, math.MaxInt8
	case Uint16, Float16, BFloat16: // bit patterns stored in int32_data
		return 0, math.MaxUint16
	case Int16:
		return math.MinInt16, math.MaxInt16
	case Int32:
		return math.MinInt32, math.MaxInt32
	case Uint32:
		return 0, math.MaxUint32
	}
	return math.MinInt64, math.MaxInt64
}

// Float16ToFloat32 converts IEEE 754 binary16 bits to float32, exactly
// (every binary16 value, subnormals included, is representable). NaN
// payloads are preserved in the high mantissa bits.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	}
	// Subnormal: value = mant × 2^-24; normalise.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	mant &= 0x3ff
	return math.Float32frombits(sign | e<<23 | mant<<13)
}

// BFloat16ToFloat32 converts bfloat16 bits (the high half of a float32) to
// float32, exactly.
func BFloat16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}

// Float32ToFloat16 rounds f to the nearest IEEE 754 binary16 (half to
// even), subnormals included: the one float16 rounding of the module (the
// ONNX runner's Cast, train.Float16Initializers). ok is false for a finite
// f beyond the float16 range, which rounds to ±Inf; NaN and ±Inf map to NaN
// and ±Inf.
func Float32ToFloat16(f float32) (h uint16, ok bool) {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00, true
		}
		return sign | 0x7c00, true
	case exp == 0 && man == 0:
		return sign, true
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00, false
	}
	if e <= 0 { // subnormal half (or zero)
		if e < -10 {
			return sign, true
		}
		m := man | 0x800000
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h), true
	}
	h16 := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h16&1 == 1) {
		h16++ // may carry into the exponent: still correct
	}
	if h16 >= 0x7c00 {
		return sign | 0x7c00, false
	}
	return sign | uint16(h16), true
}

// Float32ToBFloat16 rounds f to the nearest bfloat16 (ties to even); NaN
// stays NaN.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
