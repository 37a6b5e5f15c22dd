// Package npy reads and writes NumPy's .npy arrays and .npz archives, the
// files numpy.save, numpy.savez and numpy.savez_compressed write and
// numpy.load reads (format spec: numpy/lib/format.py, "NEP 1"). It is how
// the project exchanges features and statistics with Python tools, e.g.
// pytorch-fid's mu/sigma .npz statistics.
//
// # Reading
//
// ReadNPY and ReadNPYFile decode one array: format versions 1.0, 2.0 and
// 3.0; element types float64, float32, int64 and int32 in either byte
// order; C or Fortran order. The result is an Array whose Data holds the
// elements as float64 in row-major order (int64 values beyond ±2^53 are
// refused rather than rounded). ReadNPZ and ReadNPZFile decode an .npz
// archive whose entries are stored or deflated .npy files, verifying each
// entry's size and CRC. RowReader streams a large C-order array row by row.
//
// Inputs are untrusted: the header length, the number of dimensions, the
// element count, the number of .npz entries, their declared sizes, total
// element count and compression ratio are checked against Limits before
// the memory they imply is allocated, and array data is read in chunks so
// that memory grows only with the bytes actually present. Errors wrap
// ErrFormat (malformed; ErrLimit for an exceeded limit is also an
// ErrFormat) or ErrUnsupported (well-formed but outside what is
// implemented); test them with errors.Is.
//
// # Writing
//
// WriteNPY writes float64, float32, int64 or int32 data in C order, byte
// for byte as numpy.save does (version 1.0 header padded to 64 bytes with
// room for the first axis to grow). WriteArray writes an Array in its
// DType. WriteNPZ writes an uncompressed archive like numpy.savez.
// RowWriter streams rows whose count is declared up front, or counted and
// patched into the header at Close (NewGrowingRowWriter, CreateRowFile).
// The *File functions write through internal/atomicfile, so a reader
// never sees a partial file.
package npy
