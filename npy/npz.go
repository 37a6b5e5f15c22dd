package npy

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/inceptionzoo/inception/internal/atomicfile"
)

// ReadNPZ decodes an .npz archive (numpy.savez or numpy.savez_compressed)
// of size bytes with DefaultLimits. The keys of the result are the entry
// names without ".npy", as numpy.load presents them.
func ReadNPZ(r io.ReaderAt, size int64) (map[string]*Array, error) {
	return DefaultLimits.ReadNPZ(r, size)
}

// ReadNPZFile reads an .npz file with DefaultLimits.
func ReadNPZFile(path string) (map[string]*Array, error) { return DefaultLimits.ReadNPZFile(path) }

// ReadNPZFile reads an .npz file with limits l.
func (l Limits) ReadNPZFile(path string) (map[string]*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("npy: %s is not a regular file", path)
	}
	m, err := l.ReadNPZ(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ReadNPZ decodes an .npz archive with limits l. Entries must be stored or
// deflated .npy files; every entry's CRC and size are verified, and an
// entry with bytes after its array's data is an error.
func (l Limits) ReadNPZ(r io.ReaderAt, size int64) (map[string]*Array, error) {
	lim := l.withDefaults()
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// ErrInsecurePath only flags names that would be unsafe to
		// extract; an entry name here is just a key.
		return nil, formatErr("npz: %v", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, limitErr("npz: %d entries, limit %d", len(zr.File), lim.MaxEntries)
	}
	// Everything an entry can legitimately hold: a header and MaxElements
	// elements of at most 8 bytes, plus the 12-byte preamble.
	maxEntry := uint64(lim.MaxElements)*8 + uint64(lim.MaxHeaderBytes) + 12
	out := make(map[string]*Array, len(zr.File))
	remaining := lim.MaxTotalElements
	for _, f := range zr.File {
		key, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok {
			return nil, unsupportedErr("npz: entry %q is not an .npy file", f.Name)
		}
		if _, dup := out[key]; dup {
			return nil, formatErr("npz: duplicate entry %q", f.Name)
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return nil, unsupportedErr("npz: entry %q uses compression method %d (want stored or deflate)", f.Name, f.Method)
		}
		if f.UncompressedSize64 > maxEntry {
			return nil, limitErr("npz: entry %q declares %d bytes, limit %d", f.Name, f.UncompressedSize64, maxEntry)
		}
		if f.UncompressedSize64 > ratioExempt && f.UncompressedSize64/uint64(lim.MaxRatio) > f.CompressedSize64 {
			return nil, limitErr("npz: entry %q declares %d bytes from %d compressed, ratio limit %d",
				f.Name, f.UncompressedSize64, f.CompressedSize64, lim.MaxRatio)
		}
		elim := lim
		elim.MaxElements = min(lim.MaxElements, remaining)
		a, err := readEntry(f, &elim)
		if err != nil {
			return nil, fmt.Errorf("npz entry %q: %w", f.Name, err)
		}
		remaining -= int64(len(a.Data))
		out[key] = a
	}
	return out, nil
}

func readEntry(f *zip.File, lim *Limits) (*Array, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, zipErr(err)
	}
	defer rc.Close()
	// The zip reader stops at the declared size and verifies size and CRC
	// when it reaches the end; the trailing read below gets it there.
	br := bufio.NewReaderSize(rc, 1<<16)
	a, err := lim.ReadNPY(br)
	if err != nil {
		return nil, zipErr(err)
	}
	var extra [1]byte
	switch n, err := io.ReadFull(br, extra[:]); {
	case n > 0:
		return nil, formatErr("bytes after the array's data")
	case err != io.EOF:
		return nil, zipErr(err)
	}
	return a, nil
}

// zipErr maps archive/zip and flate errors to ErrFormat, leaving this
// package's errors alone.
func zipErr(err error) error {
	if errors.Is(err, ErrFormat) || errors.Is(err, ErrUnsupported) {
		return err
	}
	return formatErr("%v", err)
}

// zipEpoch is the modification time written for every .npz entry, so
// that equal arrays give equal files.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteNPZ writes arrays as an uncompressed .npz archive (numpy.savez's
// format), one "<key>.npy" entry per array in sorted key order.
func WriteNPZ(w io.Writer, arrays map[string]*Array) error {
	keys := make([]string, 0, len(arrays))
	for k := range arrays {
		if k == "" {
			return fmt.Errorf("npy: empty npz key")
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	zw := zip.NewWriter(w)
	for _, k := range keys {
		a := arrays[k]
		if a == nil {
			return fmt.Errorf("npy: npz key %q has a nil array", k)
		}
		var buf bytes.Buffer
		if err := WriteArray(&buf, a); err != nil {
			return fmt.Errorf("npz key %q: %w", k, err)
		}
		fh := &zip.FileHeader{
			Name:               k + ".npy",
			Method:             zip.Store,
			Modified:           zipEpoch,
			CRC32:              crc32.ChecksumIEEE(buf.Bytes()),
			CompressedSize64:   uint64(buf.Len()),
			UncompressedSize64: uint64(buf.Len()),
		}
		ew, err := zw.CreateRaw(fh)
		if err != nil {
			return err
		}
		if _, err := ew.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return zw.Close()
}

// WriteNPZFile writes an uncompressed .npz file through
// internal/atomicfile.
func WriteNPZFile(path string, arrays map[string]*Array) error {
	return atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := WriteNPZ(bw, arrays); err != nil {
			return err
		}
		return bw.Flush()
	})
}
