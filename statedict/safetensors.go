package statedict

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"unicode/utf8"
)

// stInfo is one tensor of a safetensors header.
type stInfo struct {
	name       string
	dt         *dtype
	shape      []int64
	begin, end int64 // data_offsets, relative to the end of the header
}

// stHeaderEntry is the JSON of one tensor; unknown fields are ignored,
// as by the Rust reference.
type stHeaderEntry struct {
	DType       *string   `json:"dtype"`
	Shape       *[]uint64 `json:"shape"`
	DataOffsets *[]uint64 `json:"data_offsets"`
}

const stHeader = "safetensors header"

// readSafetensors reads a safetensors file: a u64 little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin,
// end]}, "__metadata__": {str: str}}, then the tensor data, each tensor
// at [begin, end) after the header. Like the Rust reference it requires
// the tensors to tile the data exactly (no gaps, no overlaps).
func readSafetensors(r io.ReaderAt, size int64, lim *Limits) (*StateDict, error) {
	if size < 8 {
		return nil, &EntryError{Entry: stHeader, Err: formatErr("truncated: %d bytes, the header length takes 8", size)}
	}
	var hb [8]byte
	if err := readFullAt(r, hb[:], 0); err != nil {
		return nil, &EntryError{Entry: stHeader, Err: err}
	}
	n := binary.LittleEndian.Uint64(hb[:])
	if n > uint64(size-8) {
		return nil, &EntryError{Entry: stHeader, Err: formatErr("header length %d exceeds the %d bytes after it", n, size-8)}
	}
	if int64(n) > lim.MaxHeaderBytes {
		return nil, &EntryError{Entry: stHeader, Err: limitErr("header length %d exceeds MaxHeaderBytes = %d", n, lim.MaxHeaderBytes)}
	}
	hdr := make([]byte, n)
	if err := readFullAt(r, hdr, 8); err != nil {
		return nil, &EntryError{Entry: stHeader, Err: err}
	}
	infos, meta, err := parseSafetensorsHeader(hdr, lim)
	if err != nil {
		return nil, err
	}
	dataStart := 8 + int64(n)
	dataLen := size - dataStart
	if err := checkSafetensorsLayout(infos, dataLen); err != nil {
		return nil, err
	}
	sd := &StateDict{Format: Safetensors, Metadata: meta}
	var total int64
	for _, in := range infos {
		if !in.dt.float {
			sd.Skipped = append(sd.Skipped, in.name)
			continue
		}
		cnt := (in.end - in.begin) / in.dt.size
		if total += 4 * cnt; total > lim.MaxTotalBytes {
			return nil, &TensorError{Tensor: in.name, Err: limitErr("tensors take more than MaxTotalBytes = %d bytes as float32", lim.MaxTotalBytes)}
		}
		shape := make([]int, len(in.shape))
		for i, s := range in.shape {
			shape[i] = int(s)
		}
		sd.Tensors = append(sd.Tensors, &Tensor{Name: in.name, Shape: shape, DType: in.dt.name})
	}
	buf := make([]byte, decodeChunk)
	i := 0
	for _, in := range infos {
		if !in.dt.float {
			continue
		}
		t := sd.Tensors[i]
		i++
		t.Data = make([]float32, (in.end-in.begin)/in.dt.size)
		bad, err := decodeStream(t.Data, io.NewSectionReader(r, dataStart+in.begin, in.end-in.begin), in.dt, buf)
		if err != nil {
			return nil, &TensorError{Tensor: t.Name, Err: err}
		}
		if bad >= 0 {
			return nil, &TensorError{Tensor: t.Name, Err: formatErr("element %d is %v", bad, t.Data[bad])}
		}
	}
	return sd, nil
}

// parseSafetensorsHeader decodes the JSON header, rejecting duplicate
// names, missing fields, unknown dtypes and over-limit shapes. The result
// is sorted by data offsets.
func parseSafetensorsHeader(hdr []byte, lim *Limits) ([]stInfo, map[string]string, error) {
	bad := func(err error) error { return &EntryError{Entry: stHeader, Err: err} }
	if !utf8.Valid(hdr) {
		return nil, nil, bad(formatErr("header is not valid UTF-8"))
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, bad(formatErr("header is not a JSON object"))
	}
	var infos []stInfo
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, bad(formatErr("JSON: %v", err))
		}
		name := tok.(string) // object keys are strings
		if seen[name] {
			return nil, nil, bad(formatErr("duplicate key %q", name))
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, bad(formatErr("__metadata__ is not an object of strings: %v", err))
			}
			continue
		}
		if len(infos) >= lim.MaxTensors {
			return nil, nil, bad(limitErr("more than MaxTensors = %d tensors", lim.MaxTensors))
		}
		var e stHeaderEntry
		if err := dec.Decode(&e); err != nil {
			return nil, nil, &TensorError{Tensor: name, Err: formatErr("header entry: %v", err)}
		}
		in, err := checkSafetensorsEntry(name, &e, lim)
		if err != nil {
			return nil, nil, &TensorError{Tensor: name, Err: err}
		}
		infos = append(infos, in)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, bad(formatErr("header object is not closed"))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, bad(formatErr("data after the header object"))
	}
	slices.SortStableFunc(infos, func(a, b stInfo) int {
		if a.begin != b.begin {
			return cmpInt(a.begin, b.begin)
		}
		return cmpInt(a.end, b.end)
	})
	return infos, meta, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func checkSafetensorsEntry(name string, e *stHeaderEntry, lim *Limits) (stInfo, error) {
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return stInfo{}, formatErr("header entry needs dtype, shape and data_offsets")
	}
	dt, ok := safetensorsDTypes[*e.DType]
	if !ok {
		return stInfo{}, unsupportedErr("dtype %.32q", *e.DType)
	}
	if len(*e.Shape) > lim.MaxRank {
		return stInfo{}, limitErr("rank %d exceeds MaxRank = %d", len(*e.Shape), lim.MaxRank)
	}
	shape := make([]int64, len(*e.Shape))
	n := uint64(1)
	for i, s := range *e.Shape {
		if s != 0 && n > uint64(lim.MaxTensorElements)/s {
			return stInfo{}, limitErr("shape %v has more than MaxTensorElements = %d elements", *e.Shape, lim.MaxTensorElements)
		}
		n *= s
		shape[i] = int64(s)
	}
	off := *e.DataOffsets
	if len(off) != 2 {
		return stInfo{}, formatErr("data_offsets has %d values, want 2", len(off))
	}
	if off[0] > off[1] || off[1] > 1<<62 {
		return stInfo{}, formatErr("data_offsets [%d, %d]", off[0], off[1])
	}
	if want := n * uint64(dt.size); off[1]-off[0] != want {
		return stInfo{}, formatErr("data_offsets [%d, %d] hold %d bytes, shape %v of %s needs %d",
			off[0], off[1], off[1]-off[0], *e.Shape, dt.name, want)
	}
	return stInfo{name: name, dt: dt, shape: shape, begin: int64(off[0]), end: int64(off[1])}, nil
}

// checkSafetensorsLayout requires the sorted tensors to tile [0, dataLen).
func checkSafetensorsLayout(infos []stInfo, dataLen int64) error {
	pos := int64(0)
	prev := ""
	for _, in := range infos {
		switch {
		case in.end > dataLen:
			return &TensorError{Tensor: in.name, Err: formatErr("data_offsets [%d, %d] past the end of the data (%d bytes)", in.begin, in.end, dataLen)}
		case in.begin < pos:
			return &TensorError{Tensor: in.name, Err: formatErr("data_offsets [%d, %d] overlap tensor %q", in.begin, in.end, prev)}
		case in.begin > pos:
			return &TensorError{Tensor: in.name, Err: formatErr("data_offsets [%d, %d] leave a gap of %d bytes before it", in.begin, in.end, in.begin-pos)}
		}
		pos, prev = in.end, in.name
	}
	if pos != dataLen {
		return &EntryError{Entry: stHeader, Err: formatErr("the tensors cover %d bytes of data, the file has %d", pos, dataLen)}
	}
	return nil
}
