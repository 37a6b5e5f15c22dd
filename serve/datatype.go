package serve

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/inceptionzoo/inception/onnx/onnxir"
)

// datatype is a tensor element type of the protocol (its "datatype"
// string) that the server converts to the models' FP32. BOOL and BYTES
// are not numbers and are refused.
type datatype struct {
	name string
	size int // bytes per element in the binary and raw forms
	// integer types: the range of valid values; floats: lo > hi.
	lo, hi float64
	// fromBytes decodes one little-endian element.
	fromBytes func(b []byte) float64
}

func (d datatype) integer() bool { return d.lo <= d.hi }

var datatypes = map[string]datatype{
	"UINT8":  {"UINT8", 1, 0, math.MaxUint8, func(b []byte) float64 { return float64(b[0]) }},
	"UINT16": {"UINT16", 2, 0, math.MaxUint16, func(b []byte) float64 { return float64(binary.LittleEndian.Uint16(b)) }},
	"UINT32": {"UINT32", 4, 0, math.MaxUint32, func(b []byte) float64 { return float64(binary.LittleEndian.Uint32(b)) }},
	"UINT64": {"UINT64", 8, 0, math.MaxUint64, func(b []byte) float64 { return float64(binary.LittleEndian.Uint64(b)) }},
	"INT8":   {"INT8", 1, math.MinInt8, math.MaxInt8, func(b []byte) float64 { return float64(int8(b[0])) }},
	"INT16":  {"INT16", 2, math.MinInt16, math.MaxInt16, func(b []byte) float64 { return float64(int16(binary.LittleEndian.Uint16(b))) }},
	"INT32":  {"INT32", 4, math.MinInt32, math.MaxInt32, func(b []byte) float64 { return float64(int32(binary.LittleEndian.Uint32(b))) }},
	"INT64":  {"INT64", 8, math.MinInt64, math.MaxInt64, func(b []byte) float64 { return float64(int64(binary.LittleEndian.Uint64(b))) }},
	"FP16":   {"FP16", 2, 1, 0, func(b []byte) float64 { return float64(onnxir.Float16ToFloat32(binary.LittleEndian.Uint16(b))) }},
	"BF16":   {"BF16", 2, 1, 0, func(b []byte) float64 { return float64(onnxir.BFloat16ToFloat32(binary.LittleEndian.Uint16(b))) }},
	"FP32":   {"FP32", 4, 1, 0, func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) }},
	"FP64":   {"FP64", 8, 1, 0, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) }},
}

// lookupDatatype returns the datatype called name, or an error naming
// the types the server converts.
func lookupDatatype(name string) (datatype, error) {
	if d, ok := datatypes[name]; ok {
		return d, nil
	}
	switch name {
	case "BOOL", "BYTES":
		return datatype{}, fmt.Errorf("datatype %s is not numeric; send FP32 (or another numeric type: FP16, BF16, FP64, INT8-64, UINT8-64)", name)
	}
	return datatype{}, fmt.Errorf("unknown datatype %q; send FP32 (or FP16, BF16, FP64, INT8-64, UINT8-64)", name)
}

// convert, fromRaw and parseJSONData return errors without a sentinel;
// callers wrap them with ErrBadRequest and the tensor's name.

// convert turns element i's value v into the FP32 the model takes,
// refusing integers out of the datatype's range or with a fraction, and
// values that are not finite as FP32 (NaN, ±Inf, or a float beyond
// FP32's range).
func (d datatype) convert(v float64, i int) (float32, error) {
	if d.integer() {
		if v != math.Trunc(v) || v < d.lo || v > d.hi {
			return 0, fmt.Errorf("element %d (%s) is not a %s value", i, strconv.FormatFloat(v, 'g', -1, 64), d.name)
		}
		return float32(v), nil
	}
	f := float32(v)
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return 0, fmt.Errorf("element %d is %s; inputs must be finite FP32 values", i, strconv.FormatFloat(v, 'g', -1, 64))
	}
	return f, nil
}

// fromRaw converts len(dst) little-endian elements of type d from b, which
// must hold exactly len(dst)*d.size bytes.
func (d datatype) fromRaw(dst []float32, b []byte) error {
	if want := len(dst) * d.size; len(b) != want {
		return fmt.Errorf("%d bytes of %s data, the shape needs %d", len(b), d.name, want)
	}
	if d.name == "FP32" { // the common case, without the float64 round trip
		for i := range dst {
			f := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			if f-f != 0 { // NaN or ±Inf
				return fmt.Errorf("element %d is %v; inputs must be finite FP32 values", i, f)
			}
			dst[i] = f
		}
		return nil
	}
	for i := range dst {
		f, err := d.convert(d.fromBytes(b[i*d.size:]), i)
		if err != nil {
			return err
		}
		dst[i] = f
	}
	return nil
}
