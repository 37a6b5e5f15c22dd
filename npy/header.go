package npy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// magic is the six bytes every .npy file starts with.
const magic = "\x93NUMPY"

// Layout constants of numpy's writer (numpy/lib/format.py): the whole
// preamble (magic, version, length field, header text) is padded with
// spaces to a multiple of arrayAlign bytes, and the header leaves room for
// growthDigits digits in the first axis so it can be rewritten in place
// when the row count changes (RowWriter relies on this).
const (
	arrayAlign   = 64
	growthDigits = 21
)

// DType is the element type of an array.
type DType uint8

// The element types this package reads and writes. Files may store them
// in either byte order; this package writes little-endian.
const (
	Float64 DType = iota + 1
	Float32
	Int64
	Int32
)

// String returns numpy's little-endian descr of d ("<f8", "<f4", "<i8",
// "<i4").
func (d DType) String() string {
	switch d {
	case Float64:
		return "<f8"
	case Float32:
		return "<f4"
	case Int64:
		return "<i8"
	case Int32:
		return "<i4"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size is the number of bytes of one element (0 for an invalid DType).
func (d DType) Size() int {
	switch d {
	case Float64, Int64:
		return 8
	case Float32, Int32:
		return 4
	}
	return 0
}

func (d DType) valid() bool { return d.Size() != 0 }

// Header describes an .npy array: what precedes the data.
type Header struct {
	// Shape is the array's shape; an empty shape is a scalar (one element).
	Shape []int
	// DType is the element type.
	DType DType
	// BigEndian reports that elements are stored most significant byte first.
	BigEndian bool
	// FortranOrder reports column-major data. Array.Data and RowReader
	// always present elements in row-major (C) order.
	FortranOrder bool
	// Major and Minor are the format version (1.0, 2.0 or 3.0).
	Major, Minor byte
}

// Len is the number of elements, the product of Shape.
func (h *Header) Len() int {
	n := 1
	for _, d := range h.Shape {
		n *= d
	}
	return n
}

// readHeader reads the preamble of an .npy file and validates it against
// lim. It returns the header and the number of bytes consumed.
func readHeader(r io.Reader, lim *Limits) (*Header, int64, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, 0, formatErr("reading magic and version: %v", eofErr(err))
	}
	if string(pre[:6]) != magic {
		return nil, 0, formatErr("bad magic %q, want %q", pre[:6], magic)
	}
	h := &Header{Major: pre[6], Minor: pre[7]}
	var hlen int64
	consumed := int64(8)
	switch {
	case h.Major == 1 && h.Minor == 0:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, 0, formatErr("reading header length: %v", eofErr(err))
		}
		hlen = int64(binary.LittleEndian.Uint16(pre[8:10]))
		consumed += 2
	case (h.Major == 2 || h.Major == 3) && h.Minor == 0:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, 0, formatErr("reading header length: %v", eofErr(err))
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
		consumed += 4
	default:
		return nil, 0, unsupportedErr("format version %d.%d (want 1.0, 2.0 or 3.0)", h.Major, h.Minor)
	}
	if hlen > int64(lim.MaxHeaderBytes) {
		return nil, 0, limitErr("header is %d bytes, limit %d", hlen, lim.MaxHeaderBytes)
	}
	text := make([]byte, hlen)
	if _, err := io.ReadFull(r, text); err != nil {
		return nil, 0, formatErr("reading %d-byte header: %v", hlen, eofErr(err))
	}
	consumed += hlen
	// Versions 1.0 and 2.0 are latin-1, 3.0 is UTF-8; the grammar accepts
	// only ASCII outside strings, and descr strings are ASCII.
	if h.Major == 3 && !utf8.Valid(text) {
		return nil, 0, formatErr("version 3.0 header is not UTF-8")
	}
	if err := parseHeaderText(h, text, lim); err != nil {
		return nil, 0, err
	}
	return h, consumed, nil
}

func eofErr(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseHeaderText parses the Python dict literal numpy writes, e.g.
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }, accepting
// the subset of Python literal syntax such a dict can use (single- or
// double-quoted strings without escapes, True/False, tuples of
// non-negative integers with an optional Python 2 "L" suffix).
func parseHeaderText(h *Header, text []byte, lim *Limits) error {
	p := &headerParser{s: text}
	p.space()
	if !p.eat('{') {
		return p.errf("header does not start with '{'")
	}
	seen := map[string]bool{}
	var descr string
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		if seen[key] {
			return p.errf("duplicate key %q", key)
		}
		seen[key] = true
		p.space()
		if !p.eat(':') {
			return p.errf("missing ':' after key %q", key)
		}
		p.space()
		switch key {
		case "descr":
			if p.peek() == '[' || p.peek() == '(' {
				return unsupportedErr("structured dtype descr in header %q", clip(text))
			}
			if descr, err = p.str(); err != nil {
				return err
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.FortranOrder = true
			case p.word("False"):
				h.FortranOrder = false
			default:
				return p.errf("fortran_order is not True or False")
			}
		case "shape":
			if h.Shape, err = p.shape(lim); err != nil {
				return err
			}
		default:
			return p.errf("unexpected key %q (want descr, fortran_order, shape)", key)
		}
		p.space()
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return p.errf("missing ',' or '}' after value of %q", key)
		}
	}
	p.space()
	if p.i != len(p.s) {
		return p.errf("trailing bytes after '}'")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return p.errf("missing key %q", k)
		}
	}
	var err error
	if h.DType, h.BigEndian, err = parseDescr(descr); err != nil {
		return err
	}
	// Element count and byte size, overflow-checked against the limits.
	n := int64(1)
	for _, d := range h.Shape {
		if d != 0 && n > lim.MaxElements/int64(d) {
			return limitErr("shape %v has more than %d elements", h.Shape, lim.MaxElements)
		}
		n *= int64(d)
	}
	if n > lim.MaxElements {
		return limitErr("shape %v has %d elements, limit %d", h.Shape, n, lim.MaxElements)
	}
	return nil
}

// parseDescr maps a numpy dtype string to a DType and byte order.
func parseDescr(s string) (DType, bool, error) {
	if len(s) < 2 {
		return 0, false, formatErr("dtype descr %q", s)
	}
	var big bool
	switch s[0] {
	case '<':
	case '>':
		big = true
	case '|', '=':
		return 0, false, unsupportedErr("dtype %q (want <f8, <f4, <i8, <i4 or their > forms)", s)
	default:
		return 0, false, unsupportedErr("dtype %q (want <f8, <f4, <i8, <i4 or their > forms)", s)
	}
	switch s[1:] {
	case "f8":
		return Float64, big, nil
	case "f4":
		return Float32, big, nil
	case "i8":
		return Int64, big, nil
	case "i4":
		return Int32, big, nil
	}
	return 0, false, unsupportedErr("dtype %q (want <f8, <f4, <i8, <i4 or their > forms)", s)
}

type headerParser struct {
	s []byte
	i int
}

func (p *headerParser) errf(format string, args ...any) error {
	return formatErr("header %q: %s at byte %d", clip(p.s), fmt.Sprintf(format, args...), p.i)
}

// clip shortens a header for error messages.
func clip(b []byte) string {
	const max = 120
	s := strings.TrimRight(string(b), " \n")
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func (p *headerParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *headerParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *headerParser) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

// word consumes w if it is next and not followed by an identifier byte.
func (p *headerParser) word(w string) bool {
	if !bytes.HasPrefix(p.s[p.i:], []byte(w)) {
		return false
	}
	if j := p.i + len(w); j < len(p.s) && isIdent(p.s[j]) {
		return false
	}
	p.i += len(w)
	return true
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p *headerParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", p.errf("expected a quoted string")
	}
	start := p.i + 1
	for j := start; j < len(p.s); j++ {
		switch p.s[j] {
		case q:
			p.i = j + 1
			return string(p.s[start:j]), nil
		case '\\', '\n':
			return "", p.errf("escape or newline in string")
		}
	}
	return "", p.errf("unterminated string")
}

// shape parses a tuple of non-negative integers. As in Python, "(3)" is an
// integer, not a tuple, and is rejected.
func (p *headerParser) shape(lim *Limits) ([]int, error) {
	if !p.eat('(') {
		return nil, p.errf("shape is not a tuple")
	}
	shape := []int{}
	comma := false
	for {
		p.space()
		if p.eat(')') {
			break
		}
		if len(shape) > 0 && !comma {
			return nil, p.errf("missing ',' in shape")
		}
		if len(shape) == lim.MaxDims {
			return nil, limitErr("shape has more than %d dimensions", lim.MaxDims)
		}
		d, err := p.int()
		if err != nil {
			return nil, err
		}
		if d > lim.MaxElements {
			return nil, limitErr("dimension %d exceeds the element limit %d", d, lim.MaxElements)
		}
		shape = append(shape, int(d))
		p.space()
		comma = p.eat(',')
	}
	if len(shape) == 1 && !comma {
		return nil, p.errf("shape (%d) is an integer, not a tuple", shape[0])
	}
	return shape, nil
}

func (p *headerParser) int() (int64, error) {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if p.i == start {
		return 0, p.errf("expected a non-negative integer")
	}
	digits := string(p.s[start:p.i])
	if len(digits) > 1 && digits[0] == '0' {
		return 0, p.errf("integer %q has a leading zero", digits)
	}
	p.eat('L') // Python 2 long suffix, as numpy's _filter_header drops it.
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, limitErr("dimension %s does not fit in 63 bits", digits)
	}
	return v, nil
}

// headerBytes is numpy's preamble for an array (write_array_header with
// version=None): magic, version, length, the dict with keys in sorted
// order, room for the first axis to grow to growthDigits digits, spaces to
// a multiple of arrayAlign bytes and a newline. Version 1.0 is used unless
// the header is longer than 65535 bytes.
func headerBytes(dt DType, shape []int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", dt, pyTuple(shape))
	if len(shape) > 0 {
		b.WriteString(strings.Repeat(" ", growthDigits-len(strconv.Itoa(shape[0]))))
	}
	text := b.String()
	hlen := len(text) + 1
	for _, v := range []struct {
		major  byte
		lenLen int
		max    int
	}{{1, 2, math.MaxUint16}, {2, 4, math.MaxUint32}} {
		pad := arrayAlign - (len(magic)+2+v.lenLen+hlen)%arrayAlign
		total := hlen + pad
		if total > v.max {
			continue
		}
		out := make([]byte, 0, len(magic)+2+v.lenLen+total)
		out = append(out, magic...)
		out = append(out, v.major, 0)
		if v.lenLen == 2 {
			out = binary.LittleEndian.AppendUint16(out, uint16(total))
		} else {
			out = binary.LittleEndian.AppendUint32(out, uint32(total))
		}
		out = append(out, text...)
		out = append(out, bytes.Repeat([]byte{' '}, pad)...)
		return append(out, '\n')
	}
	panic("npy: header longer than 4 GiB") // unreachable: shapes are bounded by MaxDims
}

// pyTuple formats shape as Python's repr of a tuple of ints.
func pyTuple(shape []int) string {
	switch len(shape) {
	case 0:
		return "()"
	case 1:
		return "(" + strconv.Itoa(shape[0]) + ",)"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
