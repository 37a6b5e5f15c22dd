package npy

import (
	"bufio"
	"fmt"
	"io"

	"github.com/inceptionzoo/inception/internal/atomicfile"
)

// RowWriter streams a C-order .npy array row by row, so that N x D
// features never need to sit in memory at once. A row is one index of the
// first axis: rowShape elements. With NewRowWriter the row count is
// declared up front and Close checks it; with NewGrowingRowWriter it is
// counted and patched into the header by Close, which numpy's header
// layout allows in place (it reserves room for a 21-digit first axis).
//
// The file is byte for byte what numpy.save writes for the same array.
// A RowWriter is not safe for concurrent use.
type RowWriter[T Number] struct {
	bw       *bufio.Writer
	seeker   io.WriteSeeker // non-nil for a growing writer
	start    int64          // header offset in seeker
	rowShape []int
	cols     int
	rows     int // declared rows, or -1 for a growing writer
	written  int
	hlen     int
	err      error // sticky
	closed   bool
}

// NewRowWriter writes the header of a rows x rowShape array to w; Close
// fails unless exactly rows rows were written.
func NewRowWriter[T Number](w io.Writer, rows int, rowShape ...int) (*RowWriter[T], error) {
	if rows < 0 {
		return nil, fmt.Errorf("npy: negative row count %d", rows)
	}
	return newRowWriter[T](w, nil, rows, rowShape)
}

// NewGrowingRowWriter writes a header with zero rows at w's current
// offset; Close seeks back, writes the final row count and seeks to the
// end.
func NewGrowingRowWriter[T Number](w io.WriteSeeker, rowShape ...int) (*RowWriter[T], error) {
	return newRowWriter[T](w, w, -1, rowShape)
}

func newRowWriter[T Number](w io.Writer, ws io.WriteSeeker, rows int, rowShape []int) (*RowWriter[T], error) {
	shape := append([]int{max(rows, 0)}, rowShape...)
	cols, err := checkShape(shape[1:])
	if err != nil {
		return nil, err
	}
	if _, err := checkShape(shape); err != nil {
		return nil, err
	}
	rw := &RowWriter[T]{seeker: ws, rowShape: append([]int(nil), rowShape...), cols: cols, rows: rows}
	if ws != nil {
		if rw.start, err = ws.Seek(0, io.SeekCurrent); err != nil {
			return nil, fmt.Errorf("npy: growing writer: %w", err)
		}
	}
	hdr := headerBytes(dtypeOf[T](), shape)
	rw.hlen = len(hdr)
	rw.bw = bufio.NewWriterSize(w, 1<<16)
	if _, err := rw.bw.Write(hdr); err != nil {
		return nil, err
	}
	return rw, nil
}

// Cols is the number of elements per row.
func (rw *RowWriter[T]) Cols() int { return rw.cols }

// Rows is the number of rows written so far.
func (rw *RowWriter[T]) Rows() int { return rw.written }

// Write appends whole rows: len(rows) must be a multiple of Cols.
func (rw *RowWriter[T]) Write(rows []T) error {
	if rw.err != nil {
		return rw.err
	}
	if rw.closed {
		return fmt.Errorf("npy: write after Close")
	}
	if rw.cols == 0 {
		if len(rows) != 0 {
			return fmt.Errorf("npy: rows of shape %v have no elements, got %d values", rw.rowShape, len(rows))
		}
		return nil
	}
	if len(rows)%rw.cols != 0 {
		return fmt.Errorf("npy: %d values are not whole rows of %d", len(rows), rw.cols)
	}
	k := len(rows) / rw.cols
	if rw.rows >= 0 && rw.written+k > rw.rows {
		return fmt.Errorf("npy: writing %d rows after %d exceeds the declared %d", k, rw.written, rw.rows)
	}
	if err := writeElements(rw.bw, rows); err != nil {
		rw.err = err
		return err
	}
	rw.written += k
	return nil
}

// WriteEmptyRows records n rows of a zero-element row shape (e.g. shape
// (N, 0)); a no-op count for Close.
func (rw *RowWriter[T]) WriteEmptyRows(n int) error {
	if rw.cols != 0 {
		return fmt.Errorf("npy: rows have %d elements, not 0", rw.cols)
	}
	if n < 0 || rw.rows >= 0 && rw.written+n > rw.rows {
		return fmt.Errorf("npy: cannot add %d empty rows after %d of %d", n, rw.written, rw.rows)
	}
	rw.written += n
	return nil
}

// Close flushes the data and finishes the header: it checks the declared
// row count, or patches the counted one in. It does not close the
// underlying writer.
func (rw *RowWriter[T]) Close() error {
	if rw.closed {
		return rw.err
	}
	rw.closed = true
	if rw.err != nil {
		return rw.err
	}
	if err := rw.bw.Flush(); err != nil {
		rw.err = err
		return err
	}
	if rw.rows >= 0 {
		if rw.written != rw.rows {
			rw.err = fmt.Errorf("npy: wrote %d rows, declared %d", rw.written, rw.rows)
		}
		return rw.err
	}
	shape := append([]int{rw.written}, rw.rowShape...)
	if _, err := checkShape(shape); err != nil {
		rw.err = err
		return err
	}
	hdr := headerBytes(dtypeOf[T](), shape)
	if len(hdr) != rw.hlen {
		// Unreachable: numpy's growth padding keeps the length for up to
		// 21 digits, and an int has at most 19.
		rw.err = fmt.Errorf("npy: header grew from %d to %d bytes", rw.hlen, len(hdr))
		return rw.err
	}
	if _, err := rw.seeker.Seek(rw.start, io.SeekStart); err != nil {
		rw.err = err
		return err
	}
	if _, err := rw.seeker.Write(hdr); err != nil {
		rw.err = err
		return err
	}
	if _, err := rw.seeker.Seek(0, io.SeekEnd); err != nil {
		rw.err = err
	}
	return rw.err
}

// RowFile is a RowWriter to a file written through internal/atomicfile:
// the file appears, complete, at Close and not before.
type RowFile[T Number] struct {
	*RowWriter[T]
	f *atomicfile.File
}

// CreateRowFile starts a growing .npy file of rows of rowShape at path.
// Call Close to finish it, or Abort to discard it (Abort after Close is a
// no-op, so `defer f.Abort()` is safe).
func CreateRowFile[T Number](path string, rowShape ...int) (*RowFile[T], error) {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return nil, err
	}
	rw, err := NewGrowingRowWriter[T](f, rowShape...)
	if err != nil {
		f.Abort()
		return nil, err
	}
	return &RowFile[T]{RowWriter: rw, f: f}, nil
}

// Close finishes the header and commits the file.
func (f *RowFile[T]) Close() error {
	if err := f.RowWriter.Close(); err != nil {
		f.f.Abort()
		return err
	}
	return f.f.Commit()
}

// Abort discards the file.
func (f *RowFile[T]) Abort() { f.f.Abort() }

// RowReader reads a C-order .npy array row by row as float64, so that a
// large feature file need not sit in memory at once.
type RowReader struct {
	h    *Header
	r    io.Reader
	rows int
	cols int
	read int
}

// NewRowReader reads the header from r with DefaultLimits.
func NewRowReader(r io.Reader) (*RowReader, error) { return DefaultLimits.NewRowReader(r) }

// NewRowReader reads the header from r with limits l. The array must have
// at least one dimension and be in C order (or have one dimension).
func (l Limits) NewRowReader(r io.Reader) (*RowReader, error) {
	lim := l.withDefaults()
	h, _, err := readHeader(r, &lim)
	if err != nil {
		return nil, err
	}
	if len(h.Shape) == 0 {
		return nil, unsupportedErr("row reader: a 0-d array has no rows")
	}
	if h.FortranOrder && len(h.Shape) > 1 {
		return nil, unsupportedErr("row reader: Fortran-order array of shape %v", h.Shape)
	}
	cols := 1
	for _, d := range h.Shape[1:] {
		cols *= d
	}
	return &RowReader{h: h, r: r, rows: h.Shape[0], cols: cols}, nil
}

// Header returns the array's header.
func (rr *RowReader) Header() Header {
	h := *rr.h
	h.Shape = append([]int(nil), h.Shape...)
	return h
}

// Rows is the row count (the first dimension).
func (rr *RowReader) Rows() int { return rr.rows }

// Cols is the number of elements per row.
func (rr *RowReader) Cols() int { return rr.cols }

// Read fills dst with as many whole rows as fit (len(dst)/Cols, at least
// one) and returns how many it read. After the last row it returns 0 and
// io.EOF; data that ends early is an ErrFormat error.
func (rr *RowReader) Read(dst []float64) (int, error) {
	if rr.read == rr.rows {
		return 0, io.EOF
	}
	if rr.cols == 0 {
		n := rr.rows - rr.read
		rr.read = rr.rows
		return n, nil
	}
	k := min(len(dst)/rr.cols, rr.rows-rr.read)
	if k == 0 {
		return 0, fmt.Errorf("npy: row reader: destination of %d values holds no row of %d", len(dst), rr.cols)
	}
	size := rr.h.DType.Size()
	buf := make([]byte, min(k*rr.cols*size, readChunk))
	out := dst[:0]
	need := k * rr.cols
	for len(out) < need {
		b := buf[:min(need-len(out), len(buf)/size)*size]
		if _, err := io.ReadFull(rr.r, b); err != nil {
			return 0, formatErr("data ends in row %d of %d: %v", rr.read+len(out)/rr.cols, rr.rows, eofErr(err))
		}
		var err error
		if out, err = decode(out, b, rr.h.DType, rr.h.BigEndian); err != nil {
			return 0, fmt.Errorf("%w (row %d)", err, rr.read+len(out)/rr.cols)
		}
	}
	rr.read += k
	return k, nil
}
