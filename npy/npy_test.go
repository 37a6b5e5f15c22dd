package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// npyBytes builds a version 1.0 file with an arbitrary header text.
func npyBytes(header string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString(magic)
	b.Write([]byte{1, 0})
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func f64bytes(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func TestHeaderParse(t *testing.T) {
	three := f64bytes(1, 2, 3)
	tests := []struct {
		name   string
		header string
		data   []byte
		shape  []int
		err    error
	}{
		{"numpy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }          \n", three, []int{3}, nil},
		{"key order, double quotes", `{"shape": (1, 3), "descr": "<f8", "fortran_order": False}`, three, []int{1, 3}, nil},
		{"python2 long", "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }", three, []int{3}, nil},
		{"scalar", "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", three[:8], []int{}, nil},
		{"no trailing comma", "{'descr':'<f8','fortran_order':True,'shape':(3,)}", three, []int{3}, nil},
		{"int not tuple", "{'descr': '<f8', 'fortran_order': False, 'shape': (3), }", three, nil, ErrFormat},
		{"negative dim", "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }", three, nil, ErrFormat},
		{"missing key", "{'descr': '<f8', 'shape': (3,), }", three, nil, ErrFormat},
		{"extra key", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}", three, nil, ErrFormat},
		{"duplicate key", "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", three, nil, ErrFormat},
		{"bad bool", "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }", three, nil, ErrFormat},
		{"bool prefix", "{'descr': '<f8', 'fortran_order': Falsey, 'shape': (3,), }", three, nil, ErrFormat},
		{"unterminated", "{'descr': '<f8", three, nil, ErrFormat},
		{"not a dict", "[1, 2]", three, nil, ErrFormat},
		{"trailing", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} x", three, nil, ErrFormat},
		{"leading zero", "{'descr': '<f8', 'fortran_order': False, 'shape': (03,)}", three, nil, ErrFormat},
		{"huge dim", "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}", three, nil, ErrLimit},
		{"product overflow", "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}", three, nil, ErrLimit},
		{"too many elements", "{'descr': '<f8', 'fortran_order': False, 'shape': (268435457,)}", three, nil, ErrLimit},
		{"truncated data", "{'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", three, nil, ErrFormat},
		{"object", "{'descr': '|O', 'fortran_order': False, 'shape': (3,)}", three, nil, ErrUnsupported},
		{"structured", "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,)}", three, nil, ErrUnsupported},
		{"float16", "{'descr': '<f2', 'fortran_order': False, 'shape': (3,)}", three, nil, ErrUnsupported},
		{"escape", `{'descr': '<f\x38', 'fortran_order': False, 'shape': (3,)}`, three, nil, ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadNPY(bytes.NewReader(npyBytes(tc.header, tc.data)))
			if tc.err != nil {
				require.Error(t, err)
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.shape, a.Shape)
			assert.Equal(t, a.Len(), len(a.Data))
		})
	}
}

func TestTooManyDims(t *testing.T) {
	shape := "(" + strings.Repeat("1, ", 65) + ")"
	_, err := ReadNPY(bytes.NewReader(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': "+shape+"}", f64bytes(1))))
	assert.ErrorIs(t, err, ErrLimit)
}

func TestPreamble(t *testing.T) {
	good := npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", f64bytes(1))
	tests := []struct {
		name string
		data []byte
		err  error
	}{
		{"empty", nil, ErrFormat},
		{"bad magic", append([]byte("\x93NUMPZ"), good[6:]...), ErrFormat},
		{"version 4", append(append([]byte(magic), 4, 0), good[8:]...), ErrUnsupported},
		{"version 1.1", append(append([]byte(magic), 1, 1), good[8:]...), ErrUnsupported},
		{"short length", good[:9], ErrFormat},
		{"short header", good[:20], ErrFormat},
		{"header limit", append(append([]byte(magic), 2, 0, 0, 0, 0, 1), good[10:]...), ErrLimit},
		{"v3 not utf8", append(append([]byte(magic), 3, 0, 4, 0, 0, 0), 0xff, 0xfe, '{', '}'), ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadNPY(bytes.NewReader(tc.data))
			assert.ErrorIs(t, err, tc.err)
		})
	}
}

func TestIntegerBeyondFloat64(t *testing.T) {
	b := binary.LittleEndian.AppendUint64(nil, 1<<53+1)
	_, err := ReadNPY(bytes.NewReader(npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1,)}", b)))
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestRoundTrip(t *testing.T) {
	shapes := [][]int{{}, {0}, {5}, {3, 4}, {2, 0, 3}, {2, 3, 4}}
	for _, shape := range shapes {
		n, err := checkShape(shape)
		require.NoError(t, err)
		f64 := make([]float64, n)
		f32 := make([]float32, n)
		i64 := make([]int64, n)
		i32 := make([]int32, n)
		for i := range n {
			f64[i] = math.Sin(float64(i)) * 1e3
			f32[i] = float32(f64[i])
			i64[i] = int64(i*i) - 1<<40
			i32[i] = int32(i*7) - 1<<30
		}
		check := func(name string, dt DType, write func(io.Writer) error, want []float64) {
			var buf bytes.Buffer
			require.NoError(t, write(&buf), name)
			assert.Zero(t, len(headerBytes(dt, shape))%arrayAlign)
			a, err := ReadNPY(&buf)
			require.NoError(t, err, name)
			assert.Equal(t, shape, a.Shape, name)
			assert.Equal(t, dt, a.DType, name)
			assert.Equal(t, want, a.Data, name)
			assert.Zero(t, buf.Len(), "%s: unread bytes", name)
		}
		asF := func(v []float32) []float64 { return convert64(v) }
		check("f64", Float64, func(w io.Writer) error { return WriteNPY(w, shape, f64) }, f64)
		check("f32", Float32, func(w io.Writer) error { return WriteNPY(w, shape, f32) }, asF(f32))
		check("i64", Int64, func(w io.Writer) error { return WriteNPY(w, shape, i64) }, convert64(i64))
		check("i32", Int32, func(w io.Writer) error { return WriteNPY(w, shape, i32) }, convert64(i32))
		for _, dt := range []DType{Float64, Float32, Int64, Int32} {
			want := f64
			switch dt {
			case Float32:
				want = asF(f32)
			case Int64:
				want = convert64(i64)
			case Int32:
				want = convert64(i32)
			}
			check("array "+dt.String(), dt, func(w io.Writer) error {
				return WriteArray(w, &Array{Shape: shape, DType: dt, Data: want})
			}, want)
		}
	}
}

func convert64[T Number](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestWriteErrors(t *testing.T) {
	var buf bytes.Buffer
	assert.Error(t, WriteNPY(&buf, []int{2, 2}, []float64{1, 2, 3}))
	assert.Error(t, WriteNPY(&buf, []int{-1}, []float64{}))
	assert.Error(t, WriteArray(&buf, &Array{Shape: []int{1}, DType: Int32, Data: []float64{1.5}}))
	assert.Error(t, WriteArray(&buf, &Array{Shape: []int{1}, DType: Int32, Data: []float64{1 << 31}}))
	assert.Error(t, WriteArray(&buf, &Array{Shape: []int{1}, DType: Int64, Data: []float64{math.NaN()}}))
	assert.NoError(t, WriteArray(&buf, &Array{Shape: []int{1}, DType: Int32, Data: []float64{-1 << 31}}))
}

func TestFortranToC(t *testing.T) {
	// A 2x3x2 array with element (i,j,k) = 100i+10j+k, stored column-major.
	shape := []int{2, 3, 2}
	var fdata []float64
	for k := range 2 {
		for j := range 3 {
			for i := range 2 {
				fdata = append(fdata, float64(100*i+10*j+k))
			}
		}
	}
	got := fortranToC(fdata, shape)
	var want []float64
	for i := range 2 {
		for j := range 3 {
			for k := range 2 {
				want = append(want, float64(100*i+10*j+k))
			}
		}
	}
	assert.Equal(t, want, got)
}

// TestCommittedFixtures reads the files numpy_oracle.py fixtures wrote, so
// numpy-written input is covered without Python.
func TestCommittedFixtures(t *testing.T) {
	c, err := ReadNPYFile("testdata/f8_c.npy")
	require.NoError(t, err)
	assert.Equal(t, []int{3, 4}, c.Shape)
	f, err := ReadNPYFile("testdata/f4_fortran.npy")
	require.NoError(t, err)
	require.Equal(t, []int{3, 4}, f.Shape)
	assert.Equal(t, Float32, f.DType)
	for i, v := range c.Data {
		assert.Equal(t, float64(float32(v)), f.Data[i], "element %d", i)
	}
	v3, err := ReadNPYFile("testdata/f8_v3.npy")
	require.NoError(t, err)
	assert.Equal(t, c.Data[:8], v3.Data)
	assert.Equal(t, []int{2, 4}, v3.Shape)
	ib, err := ReadNPYFile("testdata/i8_big.npy")
	require.NoError(t, err)
	assert.Equal(t, []float64{-3, -2, -1, 0, 1, 2}, ib.Data)
	for _, name := range []string{"stored.npz", "deflated.npz"} {
		m, err := ReadNPZFile(filepath.Join("testdata", name))
		require.NoError(t, err, name)
		require.Len(t, m, 2)
		assert.Equal(t, c.Data[:4], m["mu"].Data, name)
		assert.Equal(t, []int{3, 3}, m["sigma"].Shape, name)
	}
}

func TestReadNPYFileMissing(t *testing.T) {
	_, err := ReadNPYFile(filepath.Join(t.TempDir(), "nope.npy"))
	assert.True(t, errors.Is(err, os.ErrNotExist), "got %v", err)
}
