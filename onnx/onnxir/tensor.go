package onnxir

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// Tensor is a decoded dense tensor. Floating-point types (FLOAT, FLOAT16,
// BFLOAT16, DOUBLE) are widened or narrowed to float32 in Float; integer
// and boolean types are widened to int64 in Int. Exactly one of Float and
// Int is non-nil, even for an empty tensor.
type Tensor struct {
	Name  string
	Dims  []int64
	DType DType
	Float []float32
	Int   []int64
}

// NumElements is the product of Dims (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// tensorDecoder decodes TensorProtos under one budget.
type tensorDecoder struct {
	limits         Limits
	baseDir        string // "" disables external data
	allowNonFinite bool
	bytes          int64 // decoded bytes so far (vs MaxInitializerBytes)
	external       int64 // external bytes read so far (vs MaxExternalDataBytes)
}

// numElements validates dims and returns their product, checking rank,
// negativity, int64 overflow and MaxTensorElements before any allocation.
func numElements(dims []int64, l Limits) (int64, error) {
	if len(dims) > l.MaxRank {
		return 0, limitErr("rank %d exceeds MaxRank %d", len(dims), l.MaxRank)
	}
	n := int64(1)
	for i, d := range dims {
		if d < 0 {
			return 0, formatErr("dims[%d] = %d is negative (dims %v)", i, d, dims)
		}
	}
	for _, d := range dims {
		if d == 0 {
			return 0, nil
		}
	}
	for _, d := range dims {
		if n > math.MaxInt64/d {
			return 0, limitErr("dims %v: element count overflows int64", dims)
		}
		n *= d
	}
	if n > l.MaxTensorElements {
		return 0, limitErr("dims %v: %d elements exceed MaxTensorElements %d", dims, n, l.MaxTensorElements)
	}
	return n, nil
}

// decode converts tp into a Tensor. Errors are not wrapped with the tensor
// name; callers wrap them in TensorError.
func (td *tensorDecoder) decode(tp *onnxpb.TensorProto) (*Tensor, error) {
	if tp.Segment != nil {
		return nil, unsupportedErr("segmented tensor")
	}
	dt, err := checkDType(tp.GetDataType())
	if err != nil {
		return nil, err
	}
	n, err := numElements(tp.GetDims(), td.limits)
	if err != nil {
		return nil, err
	}
	width := int64(8)
	if dt.IsFloat() {
		width = 4
	}
	need := n * width // n <= MaxTensorElements, no overflow for sane limits
	if need/width != n || td.bytes > td.limits.MaxInitializerBytes-need {
		return nil, limitErr("decoding %d %v elements (%d bytes) would bring tensor data to %d bytes, over MaxInitializerBytes %d",
			n, dt, need, td.bytes+need, td.limits.MaxInitializerBytes)
	}

	if stored := n * dt.Size(); stored/dt.Size() != n {
		return nil, limitErr("%d %v elements overflow int64 bytes", n, dt)
	}

	raw := tp.GetRawData()
	hasRaw := tp.RawData != nil
	switch tp.GetDataLocation() {
	case onnxpb.TensorProto_DEFAULT:
		if len(tp.GetExternalData()) > 0 {
			return nil, formatErr("external_data given but data_location is DEFAULT")
		}
	case onnxpb.TensorProto_EXTERNAL:
		if hasRaw || typedLen(tp) > 0 {
			return nil, formatErr("data_location is EXTERNAL but the tensor also carries inline data")
		}
		raw, err = td.readExternal(tp, n*dt.Size())
		if err != nil {
			return nil, err
		}
		hasRaw = true
	default:
		return nil, formatErr("invalid data_location %d", tp.GetDataLocation())
	}

	t := &Tensor{Name: tp.GetName(), Dims: append([]int64{}, tp.GetDims()...), DType: dt}
	if hasRaw {
		if typedLen(tp) > 0 {
			return nil, formatErr("both raw_data and a typed data field are set")
		}
		if want := n * dt.Size(); int64(len(raw)) != want {
			return nil, formatErr("raw_data has %d bytes, want %d (%d elements of %v, %d bytes each)",
				len(raw), want, n, dt, dt.Size())
		}
		decodeRaw(t, raw, n)
	} else if err := decodeTyped(t, tp, n); err != nil {
		return nil, err
	}
	if t.Float == nil && dt.IsFloat() {
		t.Float = []float32{}
	}
	if t.Int == nil && !dt.IsFloat() {
		t.Int = []int64{}
	}
	td.bytes += need
	if !td.allowNonFinite {
		for i, v := range t.Float {
			// NaN and ±Inf are the float32s whose exponent bits are all set.
			if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
				return nil, formatErr("non-finite value %v at element %d (set AllowNonFinite to accept)", v, i)
			}
		}
	}
	return t, nil
}

// typedLen counts the values in all typed data fields of tp.
func typedLen(tp *onnxpb.TensorProto) int {
	return len(tp.FloatData) + len(tp.Int32Data) + len(tp.StringData) +
		len(tp.Int64Data) + len(tp.DoubleData) + len(tp.Uint64Data)
}

func decodeRaw(t *Tensor, raw []byte, n int64) {
	le := binary.LittleEndian
	switch t.DType {
	case Float32:
		t.Float = make([]float32, n)
		for i := range t.Float {
			t.Float[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case Float64:
		t.Float = make([]float32, n)
		for i := range t.Float {
			t.Float[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	case Float16:
		t.Float = make([]float32, n)
		for i := range t.Float {
			t.Float[i] = Float16ToFloat32(le.Uint16(raw[2*i:]))
		}
	case BFloat16:
		t.Float = make([]float32, n)
		for i := range t.Float {
			t.Float[i] = BFloat16ToFloat32(le.Uint16(raw[2*i:]))
		}
	default:
		t.Int = make([]int64, n)
		for i := range t.Int {
			switch t.DType {
			case Uint8:
				t.Int[i] = int64(raw[i])
			case Bool:
				if raw[i] != 0 {
					t.Int[i] = 1
				}
			case Int8:
				t.Int[i] = int64(int8(raw[i]))
			case Uint16:
				t.Int[i] = int64(le.Uint16(raw[2*i:]))
			case Int16:
				t.Int[i] = int64(int16(le.Uint16(raw[2*i:])))
			case Int32:
				t.Int[i] = int64(int32(le.Uint32(raw[4*i:])))
			case Uint32:
				t.Int[i] = int64(le.Uint32(raw[4*i:]))
			case Int64, Uint64:
				// UINT64 values above MaxInt64 wrap; ONNX uses UINT64
				// for data, never for shapes or indices.
				t.Int[i] = int64(le.Uint64(raw[8*i:]))
			}
		}
	}
}

// decodeTyped reads the typed field that ONNX assigns to t.DType.
func decodeTyped(t *Tensor, tp *onnxpb.TensorProto, n int64) error {
	var field string
	var got int
	switch t.DType {
	case Float32:
		field, got = "float_data", len(tp.FloatData)
	case Float64:
		field, got = "double_data", len(tp.DoubleData)
	case Int64:
		field, got = "int64_data", len(tp.Int64Data)
	case Uint32, Uint64:
		field, got = "uint64_data", len(tp.Uint64Data)
	default:
		field, got = "int32_data", len(tp.Int32Data)
	}
	if other := typedLen(tp) - got; other != 0 {
		return formatErr("%v tensor carries %d values outside %s", t.DType, other, field)
	}
	if int64(got) != n {
		return formatErr("%s has %d values, want %d (dims %v)", field, got, n, t.Dims)
	}
	switch t.DType {
	case Float32:
		t.Float = append([]float32{}, tp.FloatData...)
	case Float64:
		t.Float = make([]float32, n)
		for i, v := range tp.DoubleData {
			t.Float[i] = float32(v)
		}
	case Float16, BFloat16:
		t.Float = make([]float32, n)
		for i, v := range tp.Int32Data {
			if v < 0 || v > math.MaxUint16 {
				return formatErr("int32_data[%d] = %d is not a 16-bit pattern", i, v)
			}
			if t.DType == Float16 {
				t.Float[i] = Float16ToFloat32(uint16(v))
			} else {
				t.Float[i] = BFloat16ToFloat32(uint16(v))
			}
		}
	case Int64:
		t.Int = append([]int64{}, tp.Int64Data...)
	case Uint32, Uint64:
		_, hi := intRange(t.DType)
		t.Int = make([]int64, n)
		for i, v := range tp.Uint64Data {
			if v > uint64(hi) {
				return formatErr("uint64_data[%d] = %d out of range for %v", i, v, t.DType)
			}
			t.Int[i] = int64(v)
		}
	default:
		lo, hi := intRange(t.DType)
		t.Int = make([]int64, n)
		for i, v := range tp.Int32Data {
			if int64(v) < lo || int64(v) > hi {
				return formatErr("int32_data[%d] = %d out of range for %v", i, v, t.DType)
			}
			t.Int[i] = int64(v)
		}
	}
	return nil
}

// readExternal reads want bytes of external data for tp, enforcing the path
// and size rules documented on DecodeOptions.
func (td *tensorDecoder) readExternal(tp *onnxpb.TensorProto, want int64) ([]byte, error) {
	if td.baseDir == "" {
		return nil, unsupportedErr("external data is disabled (DecodeOptions.BaseDir is empty)")
	}
	var location string
	offset, length := int64(0), int64(-1)
	seen := map[string]bool{}
	for _, kv := range tp.GetExternalData() {
		k, v := kv.GetKey(), kv.GetValue()
		if seen[k] {
			return nil, formatErr("external_data key %q repeated", k)
		}
		seen[k] = true
		switch k {
		case "location":
			location = v
		case "offset", "length":
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return nil, formatErr("external_data %s = %q is not a non-negative integer", k, v)
			}
			if k == "offset" {
				offset = x
			} else {
				length = x
			}
		}
	}
	if location == "" {
		return nil, formatErr("external_data has no location")
	}
	if length >= 0 && length != want {
		return nil, formatErr("external_data length %d, want %d bytes", length, want)
	}
	if want > td.limits.MaxExternalDataBytes-td.external {
		return nil, limitErr("external data would total %d bytes, over MaxExternalDataBytes %d",
			td.external+want, td.limits.MaxExternalDataBytes)
	}
	f, err := openInside(td.baseDir, location)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, formatErr("external data %q: %v", location, err)
	}
	if !st.Mode().IsRegular() {
		return nil, formatErr("external data %q is not a regular file", location)
	}
	if offset > st.Size() || want > st.Size()-offset {
		return nil, formatErr("external data %q: offset %d + length %d exceeds file size %d",
			location, offset, want, st.Size())
	}
	buf := make([]byte, want)
	if _, err := f.ReadAt(buf, offset); err != nil && !(errors.Is(err, io.EOF) && want == 0) {
		return nil, formatErr("external data %q: read %d bytes at %d: %v", location, want, offset, err)
	}
	td.external += want
	return buf, nil
}

// openInside opens location relative to baseDir, refusing absolute paths,
// ".." components and symlinks that resolve outside baseDir. The final open
// goes through os.Root, which also blocks escapes raced in after the check.
func openInside(baseDir, location string) (*os.File, error) {
	if strings.ContainsRune(location, 0) {
		return nil, unsafePathErr("location %q contains NUL", location)
	}
	if filepath.IsAbs(location) || strings.HasPrefix(location, "/") || strings.HasPrefix(location, `\`) ||
		filepath.VolumeName(location) != "" {
		return nil, unsafePathErr("location %q is absolute", location)
	}
	for _, part := range strings.FieldsFunc(location, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return nil, unsafePathErr("location %q contains ..", location)
		}
	}
	base, err := filepath.Abs(baseDir)
	if err != nil {
		return nil, formatErr("base dir %q: %v", baseDir, err)
	}
	joined := filepath.Join(base, filepath.FromSlash(location))
	if !within(base, joined) {
		return nil, unsafePathErr("location %q leaves the base directory", location)
	}
	realBase, err := filepath.EvalSymlinks(base)
	if err != nil {
		return nil, formatErr("base dir %q: %v", baseDir, err)
	}
	realPath, err := filepath.EvalSymlinks(joined)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, formatErr("external data %q does not exist", location)
		}
		return nil, formatErr("external data %q: %v", location, err)
	}
	if !within(realBase, realPath) {
		return nil, unsafePathErr("location %q resolves outside the base directory", location)
	}
	root, err := os.OpenRoot(realBase)
	if err != nil {
		return nil, formatErr("base dir %q: %v", baseDir, err)
	}
	defer root.Close()
	rel, err := filepath.Rel(realBase, realPath)
	if err != nil {
		return nil, unsafePathErr("location %q: %v", location, err)
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, unsafePathErr("location %q: %v", location, err)
	}
	return f, nil
}

// within reports whether path is base or lies under it (both cleaned, absolute).
func within(base, path string) bool {
	rel, err := filepath.Rel(base, path)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}

// DecodeTensor reads one serialized TensorProto, as stored in the
// input_*.pb / output_*.pb files of the ONNX test-data convention. Input
// beyond limits.MaxModelBytes is rejected; external data is not allowed.
// Non-finite values are accepted: test data legitimately carries NaN/Inf.
func DecodeTensor(r io.Reader, limits Limits) (*Tensor, error) {
	limits = limits.WithDefaults()
	b, err := readLimited(r, limits.MaxModelBytes)
	if err != nil {
		return nil, err
	}
	var tp onnxpb.TensorProto
	if err := scanTensor(b, limits, tp.ProtoReflect().Descriptor()); err != nil {
		return nil, err
	}
	if err := unmarshalOpts.Unmarshal(b, &tp); err != nil {
		return nil, formatErr("TensorProto: %v", err)
	}
	td := &tensorDecoder{limits: limits, allowNonFinite: true}
	t, err := td.decode(&tp)
	if err != nil {
		return nil, &TensorError{Tensor: tp.GetName(), Err: err}
	}
	return t, nil
}

// EncodeTensor writes a FLOAT TensorProto (raw_data, little-endian) in the
// format read by DecodeTensor. len(data) must equal the product of dims.
func EncodeTensor(w io.Writer, name string, dims []int64, data []float32) error {
	n, err := numElements(dims, Limits{MaxRank: math.MaxInt, MaxTensorElements: math.MaxInt64})
	if err != nil {
		return &TensorError{Tensor: name, Err: err}
	}
	if int64(len(data)) != n {
		return &TensorError{Tensor: name, Err: formatErr("%d values for dims %v, want %d", len(data), dims, n)}
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b, err := proto.Marshal(&onnxpb.TensorProto{
		Name:     proto.String(name),
		Dims:     append([]int64{}, dims...),
		DataType: proto.Int32(int32(Float32)),
		RawData:  raw,
	})
	if err != nil {
		return fmt.Errorf("onnx: encode tensor %q: %w", name, err)
	}
	_, err = w.Write(b)
	return err
}

// readLimited reads all of r, failing with ErrLimit beyond max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	lr := io.LimitReader(r, max+1)
	var b []byte
	var err error
	// An input of known size (a regular file, a bytes.Reader) is read into
	// one buffer of that size; io.ReadAll's growth would allocate (and
	// zero) several times the input.
	size := int64(-1)
	switch v := r.(type) {
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, serr := v.Stat(); serr == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	case interface{ Len() int }:
		size = int64(v.Len())
	}
	if size > 0 && size <= max {
		b = make([]byte, size+1) // one more byte sees an input that grew
		var n int
		n, err = io.ReadFull(lr, b)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			b, err = b[:n], nil
		case err == nil: // the input grew: read the rest
			var rest []byte
			rest, err = io.ReadAll(lr)
			b = append(b, rest...)
		}
	}
	if b == nil && err == nil {
		b, err = io.ReadAll(lr)
	}
	if err != nil {
		return nil, fmt.Errorf("onnx: read: %w", err)
	}
	if int64(len(b)) > max {
		return nil, limitErr("input exceeds MaxModelBytes %d", max)
	}
	return b, nil
}
