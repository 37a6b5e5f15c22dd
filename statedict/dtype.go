package statedict

import (
	"encoding/binary"
	"math"
	"sync"
)

// dtype describes an element type of a storage or a safetensors tensor.
type dtype struct {
	name  string // torch spelling, reported in Tensor.DType
	size  int64  // bytes per element
	float bool   // converted to float32; otherwise the tensor is skipped
}

var (
	dtFloat32  = &dtype{"float32", 4, true}
	dtFloat16  = &dtype{"float16", 2, true}
	dtBFloat16 = &dtype{"bfloat16", 2, true}
	dtFloat64  = &dtype{"float64", 8, true}
	dtInt64    = &dtype{"int64", 8, false}
	dtInt32    = &dtype{"int32", 4, false}
	dtInt16    = &dtype{"int16", 2, false}
	dtInt8     = &dtype{"int8", 1, false}
	dtUint8    = &dtype{"uint8", 1, false}
	dtBool     = &dtype{"bool", 1, false}
	dtUint16   = &dtype{"uint16", 2, false}
	dtUint32   = &dtype{"uint32", 4, false}
	dtUint64   = &dtype{"uint64", 8, false}
)

// torchStorages maps the storage classes torch.save writes (as globals in
// the persistent ids) to their element types.
var torchStorages = map[string]*dtype{
	"FloatStorage":    dtFloat32,
	"HalfStorage":     dtFloat16,
	"BFloat16Storage": dtBFloat16,
	"DoubleStorage":   dtFloat64,
	"LongStorage":     dtInt64,
	"IntStorage":      dtInt32,
	"ShortStorage":    dtInt16,
	"CharStorage":     dtInt8,
	"ByteStorage":     dtUint8,
	"BoolStorage":     dtBool,
}

// torchUnsupportedStorages are storage classes torch writes that hold
// neither floats nor plain integers.
var torchUnsupportedStorages = map[string]string{
	"ComplexFloatStorage":  "complex64",
	"ComplexDoubleStorage": "complex128",
	"ComplexHalfStorage":   "complex32",
	"QInt8Storage":         "qint8",
	"QUInt8Storage":        "quint8",
	"QInt32Storage":        "qint32",
	"QUInt4x2Storage":      "quint4x2",
	"QUInt2x4Storage":      "quint2x4",
}

// safetensorsDTypes maps the safetensors dtype names to element types.
var safetensorsDTypes = map[string]*dtype{
	"F32":  dtFloat32,
	"F16":  dtFloat16,
	"BF16": dtBFloat16,
	"F64":  dtFloat64,
	"I64":  dtInt64,
	"I32":  dtInt32,
	"I16":  dtInt16,
	"I8":   dtInt8,
	"U8":   dtUint8,
	"BOOL": dtBool,
	"U16":  dtUint16,
	"U32":  dtUint32,
	"U64":  dtUint64,
}

// float16ToFloat32 converts IEEE 754 binary16 bits to float32 exactly
// (every binary16 value, subnormals included, is a float32). NaN payloads
// keep their top bits.
func float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal: rebias 15 -> 127
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal: man * 2^-24, normalised.
	e := uint32(113)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// half is the 256 KiB table of all float16 values, built on first use.
var half = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = float16ToFloat32(uint16(i))
	}
	return &t
})

// decodeFloats converts len(dst) little-endian elements of type dt from
// src (which holds exactly len(dst)*dt.size bytes) into dst. It returns
// the index of the first non-finite result, or -1.
func decodeFloats(dst []float32, src []byte, dt *dtype) int {
	le := binary.LittleEndian
	bad := -1
	switch dt {
	case dtFloat32:
		src = src[:4*len(dst)]
		for i := range dst {
			b := le.Uint32(src[4*i:])
			if b&0x7f800000 == 0x7f800000 && bad < 0 {
				bad = i
			}
			dst[i] = math.Float32frombits(b)
		}
	case dtFloat16:
		t := half()
		src = src[:2*len(dst)]
		for i := range dst {
			h := le.Uint16(src[2*i:])
			if h&0x7c00 == 0x7c00 && bad < 0 {
				bad = i
			}
			dst[i] = t[h]
		}
	case dtBFloat16:
		src = src[:2*len(dst)]
		for i := range dst {
			b := uint32(le.Uint16(src[2*i:])) << 16
			if b&0x7f800000 == 0x7f800000 && bad < 0 {
				bad = i
			}
			dst[i] = math.Float32frombits(b)
		}
	case dtFloat64:
		src = src[:8*len(dst)]
		for i := range dst {
			v := float32(math.Float64frombits(le.Uint64(src[8*i:])))
			if math.IsInf(float64(v), 0) || v != v {
				if bad < 0 {
					bad = i
				}
			}
			dst[i] = v
		}
	default:
		panic("statedict: decodeFloats on " + dt.name) // callers pass float dtypes only
	}
	return bad
}

// firstNonFinite returns the index of the first NaN or Inf in d, or -1.
func firstNonFinite(d []float32) int {
	for i, v := range d {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}
