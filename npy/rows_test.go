package npy

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seekBuffer is an in-memory io.WriteSeeker.
type seekBuffer struct {
	b   []byte
	off int
}

func (s *seekBuffer) Write(p []byte) (int, error) {
	if need := s.off + len(p); need > len(s.b) {
		s.b = append(s.b, make([]byte, need-len(s.b))...)
	}
	copy(s.b[s.off:], p)
	s.off += len(p)
	return len(p), nil
}

func (s *seekBuffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		s.off = int(off)
	case io.SeekCurrent:
		s.off += int(off)
	case io.SeekEnd:
		s.off = len(s.b) + int(off)
	}
	return int64(s.off), nil
}

func rowsData(rows, cols int) []float32 {
	d := make([]float32, rows*cols)
	for i := range d {
		d[i] = float32(i)*0.5 - 7
	}
	return d
}

func TestRowWriterDeclared(t *testing.T) {
	data := rowsData(7, 5)
	var buf bytes.Buffer
	rw, err := NewRowWriter[float32](&buf, 7, 5)
	require.NoError(t, err)
	require.NoError(t, rw.Write(data[:10]))
	require.NoError(t, rw.Write(data[10:]))
	assert.Error(t, rw.Write(data[:5]), "an eighth row must be refused")
	assert.Error(t, rw.Write(data[:3]), "a partial row must be refused")
	require.NoError(t, rw.Close())

	var want bytes.Buffer
	require.NoError(t, WriteNPY(&want, []int{7, 5}, data))
	assert.Equal(t, want.Bytes(), buf.Bytes())

	rw, err = NewRowWriter[float32](io.Discard, 3, 5)
	require.NoError(t, err)
	require.NoError(t, rw.Write(data[:5]))
	assert.Error(t, rw.Close(), "1 of 3 declared rows")
}

func TestRowWriterGrowing(t *testing.T) {
	for _, rows := range []int{0, 1, 13, 1234} {
		data := rowsData(rows, 3*2)
		sb := &seekBuffer{b: []byte("prefix")}
		sb.off = len(sb.b)
		rw, err := NewGrowingRowWriter[float32](sb, 3, 2)
		require.NoError(t, err)
		for i := 0; i < rows; i++ {
			require.NoError(t, rw.Write(data[i*6:(i+1)*6]))
		}
		require.NoError(t, rw.Close())
		assert.Equal(t, rows, rw.Rows())

		var want bytes.Buffer
		want.WriteString("prefix")
		require.NoError(t, WriteNPY(&want, []int{rows, 3, 2}, data))
		assert.Equal(t, want.Bytes(), sb.b, "rows=%d", rows)
	}
}

func TestRowFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "features.npy")
	f, err := CreateRowFile[float32](path, 4)
	require.NoError(t, err)
	defer f.Abort()
	data := rowsData(9, 4)
	require.NoError(t, f.Write(data))
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err), "file must not appear before Close")
	require.NoError(t, f.Close())

	a, err := ReadNPYFile(path)
	require.NoError(t, err)
	assert.Equal(t, []int{9, 4}, a.Shape)
	assert.Equal(t, convert64(data), a.Data)

	// RowReader over the same file, in uneven chunks.
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	rr, err := NewRowReader(fh)
	require.NoError(t, err)
	assert.Equal(t, 9, rr.Rows())
	assert.Equal(t, 4, rr.Cols())
	var got []float64
	dst := make([]float64, 4*4+3)
	for {
		n, err := rr.Read(dst)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, dst[:n*4]...)
	}
	assert.Equal(t, a.Data, got)
}

func TestRowReaderErrors(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteNPY(&buf, []int{3, 2}, []float64{1, 2, 3, 4, 5, 6}))
	full := buf.Bytes()
	rr, err := NewRowReader(bytes.NewReader(full[:len(full)-4]))
	require.NoError(t, err)
	dst := make([]float64, 6)
	_, err = rr.Read(dst)
	assert.ErrorIs(t, err, ErrFormat)

	rr, err = NewRowReader(bytes.NewReader(full))
	require.NoError(t, err)
	_, err = rr.Read(dst[:1])
	assert.Error(t, err, "a destination smaller than a row")

	_, err = NewRowReader(bytes.NewReader(npyBytes("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1)}", f64bytes(1))))
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = NewRowReader(bytes.NewReader(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': ()}", f64bytes(1))))
	assert.ErrorIs(t, err, ErrUnsupported)
}
