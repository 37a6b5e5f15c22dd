package npy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/inceptionzoo/inception/internal/atomicfile"
)

// Limits bound what a decoder accepts from untrusted input; every check
// happens before the memory it guards is allocated. A zero field means
// the DefaultLimits value.
type Limits struct {
	// MaxHeaderBytes bounds the header text of one .npy array. numpy's
	// writer produces about 128 bytes; numpy's reader refuses more than
	// 10,000 characters unless allow_pickle is set.
	MaxHeaderBytes int
	// MaxDims bounds the number of dimensions (numpy 1.x allows 32, 2.x 64).
	MaxDims int
	// MaxElements bounds the element count of one array. The default,
	// 2^28, is 2 GiB as float64: 100,000 x 2048 features fit, a 2048 x
	// 2048 covariance is 2^22.
	MaxElements int64
	// MaxEntries bounds the number of entries in an .npz archive.
	MaxEntries int
	// MaxTotalElements bounds the elements of all arrays of one .npz.
	MaxTotalElements int64
	// MaxRatio bounds an .npz entry's declared uncompressed size against
	// its compressed size (entries under 1 MiB uncompressed are exempt).
	// Deflate cannot exceed about 1032:1, so a larger ratio is a lie
	// meant to pass the size checks; the actual output is bounded by the
	// declared size in any case.
	MaxRatio int64
}

// DefaultLimits are the limits of ReadNPY, ReadNPZ and the other
// package-level decoders.
var DefaultLimits = Limits{
	MaxHeaderBytes:   1 << 16,
	MaxDims:          64,
	MaxElements:      1 << 28,
	MaxEntries:       1 << 12,
	MaxTotalElements: 1 << 28,
	MaxRatio:         1100,
}

// ratioExempt is the uncompressed entry size below which MaxRatio is not
// applied.
const ratioExempt = 1 << 20

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxHeaderBytes > 0 {
		d.MaxHeaderBytes = l.MaxHeaderBytes
	}
	if l.MaxDims > 0 {
		d.MaxDims = l.MaxDims
	}
	if l.MaxElements > 0 {
		d.MaxElements = l.MaxElements
	}
	if l.MaxEntries > 0 {
		d.MaxEntries = l.MaxEntries
	}
	if l.MaxTotalElements > 0 {
		d.MaxTotalElements = l.MaxTotalElements
	}
	if l.MaxRatio > 0 {
		d.MaxRatio = l.MaxRatio
	}
	return d
}

// Array is an n-dimensional array with its elements as float64 in
// row-major (C) order, whatever the order and element type of the file.
type Array struct {
	// Shape is the array's shape; an empty shape is a scalar.
	Shape []int
	// DType is the element type the array was read with, and the one
	// WriteArray writes.
	DType DType
	// Data holds the product of Shape elements in row-major order.
	Data []float64
}

// Len is the number of elements, the product of Shape.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// ReadNPY decodes one .npy array from r with DefaultLimits. It reads
// exactly the header and the data, nothing after them.
func ReadNPY(r io.Reader) (*Array, error) { return DefaultLimits.ReadNPY(r) }

// ReadNPYFile reads an .npy file with DefaultLimits.
func ReadNPYFile(path string) (*Array, error) { return DefaultLimits.ReadNPYFile(path) }

// ReadNPYFile reads an .npy file with limits l.
func (l Limits) ReadNPYFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := l.ReadNPY(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// ReadNPY decodes one .npy array from r with limits l.
func (l Limits) ReadNPY(r io.Reader) (*Array, error) {
	lim := l.withDefaults()
	h, _, err := readHeader(r, &lim)
	if err != nil {
		return nil, err
	}
	n := h.Len()
	data, err := readElements(r, h, n)
	if err != nil {
		return nil, err
	}
	if h.FortranOrder && len(h.Shape) > 1 {
		data = fortranToC(data, h.Shape)
	}
	return &Array{Shape: h.Shape, DType: h.DType, Data: data}, nil
}

// readChunk is how many bytes readElements reads at a time. Memory grows
// with the data actually read, so a header that claims 2^28 elements in a
// short file costs no more than the file.
const readChunk = 1 << 16

// readElements reads n elements of h's type and converts them to float64.
// It reports the element index where the data ends early.
func readElements(r io.Reader, h *Header, n int) ([]float64, error) {
	size := h.DType.Size()
	data := make([]float64, 0, min(n, readChunk))
	buf := make([]byte, readChunk)
	for len(data) < n {
		k := min(n-len(data), readChunk/size)
		b := buf[:k*size]
		if got, err := io.ReadFull(r, b); err != nil {
			return nil, formatErr("data ends after %d of %d elements (%d bytes each): %v",
				len(data)+got/size, n, size, eofErr(err))
		}
		start := len(data)
		var err error
		if data, err = decode(data, b, h.DType, h.BigEndian); err != nil {
			return nil, fmt.Errorf("%w (element %d or after)", err, start)
		}
	}
	return data, nil
}

// maxExactInt is the largest integer magnitude every smaller integer of
// which float64 represents exactly.
const maxExactInt = 1 << 53

// decode appends the elements of b to dst.
func decode(dst []float64, b []byte, dt DType, big bool) ([]float64, error) {
	var bo binary.ByteOrder = binary.LittleEndian
	if big {
		bo = binary.BigEndian
	}
	switch dt {
	case Float64:
		for i := 0; i+8 <= len(b); i += 8 {
			dst = append(dst, math.Float64frombits(bo.Uint64(b[i:])))
		}
	case Float32:
		for i := 0; i+4 <= len(b); i += 4 {
			dst = append(dst, float64(math.Float32frombits(bo.Uint32(b[i:]))))
		}
	case Int64:
		for i := 0; i+8 <= len(b); i += 8 {
			v := int64(bo.Uint64(b[i:]))
			if v > maxExactInt || v < -maxExactInt {
				return nil, unsupportedErr("int64 value %d is not exactly representable as float64", v)
			}
			dst = append(dst, float64(v))
		}
	case Int32:
		for i := 0; i+4 <= len(b); i += 4 {
			dst = append(dst, float64(int32(bo.Uint32(b[i:]))))
		}
	}
	return dst, nil
}

// fortranToC reorders column-major data of the given shape to row-major.
func fortranToC(src []float64, shape []int) []float64 {
	dst := make([]float64, len(src))
	// cstride[k] is the row-major stride of axis k.
	cstride := make([]int, len(shape))
	s := 1
	for k := len(shape) - 1; k >= 0; k-- {
		cstride[k] = s
		s *= shape[k]
	}
	// Walk src in Fortran order (axis 0 fastest) with an odometer.
	idx := make([]int, len(shape))
	off := 0
	for _, v := range src {
		dst[off] = v
		for k := 0; k < len(shape); k++ {
			idx[k]++
			off += cstride[k]
			if idx[k] < shape[k] {
				break
			}
			off -= idx[k] * cstride[k]
			idx[k] = 0
		}
	}
	return dst
}

// Number is an element type WriteNPY writes.
type Number interface {
	float32 | float64 | int32 | int64
}

func dtypeOf[T Number]() DType {
	var z T
	switch any(z).(type) {
	case float64:
		return Float64
	case float32:
		return Float32
	case int64:
		return Int64
	default:
		return Int32
	}
}

// maxWriteDims bounds the shapes the writers accept (numpy 2.x's limit).
const maxWriteDims = 64

// checkShape validates a shape for writing and returns its element count.
func checkShape(shape []int) (int, error) {
	if len(shape) > maxWriteDims {
		return 0, fmt.Errorf("npy: shape has %d dimensions, at most %d", len(shape), maxWriteDims)
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("npy: shape %v overflows int", shape)
		}
		n *= d
	}
	return n, nil
}

// WriteNPY writes data as a little-endian, C-order .npy array of the given
// shape, byte for byte what numpy.save writes for the same array. The
// element type follows T.
func WriteNPY[T Number](w io.Writer, shape []int, data []T) error {
	n, err := checkShape(shape)
	if err != nil {
		return err
	}
	if n != len(data) {
		return fmt.Errorf("npy: shape %v has %d elements, data has %d", shape, n, len(data))
	}
	if _, err := w.Write(headerBytes(dtypeOf[T](), shape)); err != nil {
		return err
	}
	return writeElements(w, data)
}

// WriteNPYFile writes an .npy file through internal/atomicfile.
func WriteNPYFile[T Number](path string, shape []int, data []T) error {
	return atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := WriteNPY(bw, shape, data); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// writeElements writes data little-endian in chunks.
func writeElements[T Number](w io.Writer, data []T) error {
	size := dtypeOf[T]().Size()
	buf := make([]byte, 0, min(len(data)*size, readChunk))
	for len(data) > 0 {
		k := min(len(data), readChunk/size)
		buf = appendElements(buf[:0], data[:k])
		if _, err := w.Write(buf); err != nil {
			return err
		}
		data = data[k:]
	}
	return nil
}

func appendElements[T Number](b []byte, data []T) []byte {
	switch d := any(data).(type) {
	case []float64:
		for _, v := range d {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	case []float32:
		for _, v := range d {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	case []int64:
		for _, v := range d {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	case []int32:
		for _, v := range d {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	}
	return b
}

// WriteArray writes a as an .npy array of type a.DType (Float64 when
// unset). Float32 rounds each element to nearest; Int64 and Int32 require
// integral values in range and fail naming the first that is not.
func WriteArray(w io.Writer, a *Array) error {
	n, err := checkShape(a.Shape)
	if err != nil {
		return err
	}
	if n != len(a.Data) {
		return fmt.Errorf("npy: shape %v has %d elements, data has %d", a.Shape, n, len(a.Data))
	}
	switch a.DType {
	case Float64, 0:
		return WriteNPY(w, a.Shape, a.Data)
	case Float32:
		return WriteNPY(w, a.Shape, convert[float32](a.Data))
	case Int64:
		if err := checkIntegral(a.Data, math.MinInt64, math.MaxInt64); err != nil {
			return err
		}
		return WriteNPY(w, a.Shape, convert[int64](a.Data))
	case Int32:
		if err := checkIntegral(a.Data, math.MinInt32, math.MaxInt32); err != nil {
			return err
		}
		return WriteNPY(w, a.Shape, convert[int32](a.Data))
	}
	return fmt.Errorf("npy: cannot write %v", a.DType)
}

func convert[T Number](src []float64) []T {
	dst := make([]T, len(src))
	for i, v := range src {
		dst[i] = T(v)
	}
	return dst
}

func checkIntegral(data []float64, lo, hi float64) error {
	for i, v := range data {
		// hi+1 is exact for both ranges (2^31 and 2^63).
		if v != math.Trunc(v) || v < lo || v >= hi+1 {
			return fmt.Errorf("npy: element %d = %v is not an integer in [%v, %v]", i, v, lo, hi)
		}
	}
	return nil
}
