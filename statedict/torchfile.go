package statedict

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
)

// readTorchZip reads the zip format of torch.save (PyTorch >= 1.6):
// <archive>/data.pkl, the pickled object whose persistent ids name
// storages, and <archive>/data/<key>, each storage's raw little-endian
// bytes.
func readTorchZip(r io.ReaderAt, size int64, lim *Limits) (*StateDict, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // entry names never reach the file system
		if errors.Is(err, zip.ErrFormat) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zip.ErrAlgorithm) {
			return nil, formatErr("zip: %v", err)
		}
		return nil, err
	}
	if len(zr.File) > lim.MaxZipEntries {
		return nil, limitErr("zip has %d entries, more than MaxZipEntries = %d", len(zr.File), lim.MaxZipEntries)
	}
	entries := make(map[string]*zip.File, len(zr.File))
	var pkl []string
	for _, f := range zr.File {
		if _, dup := entries[f.Name]; dup {
			return nil, &EntryError{Entry: f.Name, Err: formatErr("duplicate zip entry")}
		}
		entries[f.Name] = f
		if dir, ok := strings.CutSuffix(f.Name, "/data.pkl"); ok && dir != "" && !strings.Contains(dir, "/") {
			pkl = append(pkl, f.Name)
		}
	}
	if len(pkl) != 1 {
		return nil, formatErr("zip has %d <archive>/data.pkl entries, want 1 (not a torch.save file?)", len(pkl))
	}
	prefix := strings.TrimSuffix(pkl[0], "data.pkl")
	if _, ok := entries[prefix+"constants.pkl"]; ok {
		return nil, unsupportedErr("a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save")
	}
	if f, ok := entries[prefix+"byteorder"]; ok {
		b, err := readEntry(f, 16)
		if err != nil {
			return nil, err
		}
		if string(b) != "little" {
			return nil, &EntryError{Entry: f.Name, Err: unsupportedErr("byte order %.16q", b)}
		}
	}
	data, err := readEntry(entries[pkl[0]], lim.MaxPickleBytes)
	if err != nil {
		return nil, err
	}
	t := newTorchReader(lim, TorchZip)
	src := newPickleSource(bytes.NewReader(data), 0, int64(len(data)), lim.MaxPickleBytes)
	root, err := t.unpickler(src, pkl[0]).load()
	if err != nil {
		return nil, err
	}
	return finishTorch(root, lim, TorchZip, func(st *storageRef) (io.Reader, func() error, string, error) {
		name := prefix + "data/" + st.key
		f, ok := entries[name]
		if !ok {
			return nil, nil, name, &EntryError{Entry: name, Err: formatErr("storage %q has no zip entry", st.key)}
		}
		nbytes := st.numel * st.dt.size // numel <= MaxTensorElements: no overflow
		if f.UncompressedSize64 != uint64(nbytes) {
			return nil, nil, name, &EntryError{Entry: name, Err: formatErr("entry holds %d bytes, storage of %d %s needs %d",
				f.UncompressedSize64, st.numel, st.dt.name, nbytes)}
		}
		if err := checkMethod(f); err != nil {
			return nil, nil, name, err
		}
		rc, err := f.Open()
		if err != nil {
			return nil, nil, name, &EntryError{Entry: name, Err: readErr(err, 0)}
		}
		// Reading to EOF makes archive/zip verify the size and CRC-32.
		finish := func() error {
			defer rc.Close()
			var one [1]byte
			if n, err := rc.Read(one[:]); n > 0 || err != io.EOF {
				if err == nil || err == io.EOF {
					return formatErr("entry longer than its storage")
				}
				return readErr(err, nbytes)
			}
			return nil
		}
		return rc, finish, name, nil
	})
}

// checkMethod accepts stored and deflated entries; the decompressed size
// is bounded by archive/zip against the declared size.
func checkMethod(f *zip.File) error {
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return &EntryError{Entry: f.Name, Err: unsupportedErr("zip compression method %d", f.Method)}
	}
	if f.Method == zip.Store && f.CompressedSize64 != f.UncompressedSize64 {
		return &EntryError{Entry: f.Name, Err: formatErr("stored entry with compressed size %d and size %d", f.CompressedSize64, f.UncompressedSize64)}
	}
	return nil
}

// readEntry reads a whole zip entry of at most max bytes, verifying its
// size and CRC-32.
func readEntry(f *zip.File, max int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, &EntryError{Entry: f.Name, Err: limitErr("entry of %d bytes, limit %d", f.UncompressedSize64, max)}
	}
	if err := checkMethod(f); err != nil {
		return nil, err
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &EntryError{Entry: f.Name, Err: readErr(err, 0)}
	}
	defer rc.Close()
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, &EntryError{Entry: f.Name, Err: readErr(err, 0)}
	}
	var one [1]byte
	if n, err := rc.Read(one[:]); n > 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			err = formatErr("entry longer than declared")
		}
		return nil, &EntryError{Entry: f.Name, Err: readErr(err, int64(len(b)))}
	}
	return b, nil
}

// legacyProtocolVersion is the second pickle of the legacy format.
const legacyProtocolVersion = 1001

// readTorchLegacy reads the format of torch.save(...,
// _use_new_zipfile_serialization=False): five pickles (magic number,
// protocol version, sys_info, the object, the sorted storage keys), then
// for each key an 8-byte little-endian element count and the raw bytes.
func readTorchLegacy(r io.ReaderAt, size int64, lim *Limits) (*StateDict, error) {
	t := newTorchReader(lim, TorchLegacy)
	pos := int64(0)
	next := func(name string, persistent bool) (any, error) {
		src := newPickleSource(r, pos, size, lim.MaxPickleBytes)
		u := t.unpickler(src, name)
		if !persistent {
			u.persistentLoad = nil
		}
		v, err := u.load()
		pos = src.pos
		return v, err
	}
	v, err := next("legacy pickle 1 (magic number)", false)
	if err != nil {
		return nil, err
	}
	if err := checkMagic(v); err != nil {
		return nil, err
	}
	if v, err = next("legacy pickle 2 (protocol version)", false); err != nil {
		return nil, err
	}
	if n, ok := asInt(v); !ok || n != legacyProtocolVersion {
		return nil, unsupportedErr("legacy protocol version %v, want %d", v, legacyProtocolVersion)
	}
	if v, err = next("legacy pickle 3 (sys_info)", false); err != nil {
		return nil, err
	}
	info, ok := v.(*pyDict)
	if !ok {
		return nil, formatErr("legacy sys_info is a %s, not a dict", typeName(v))
	}
	if le, ok := info.get("little_endian"); !ok || le != true {
		return nil, unsupportedErr("legacy file is not little-endian (sys_info little_endian = %v)", le)
	}
	root, err := next("legacy pickle 4 (object)", true)
	if err != nil {
		return nil, err
	}
	if v, err = next("legacy pickle 5 (storage keys)", false); err != nil {
		return nil, err
	}
	keys, ok := v.(*pyList)
	if !ok {
		return nil, formatErr("legacy storage keys are a %s, not a list", typeName(v))
	}
	if len(keys.items) != len(t.storages) {
		return nil, formatErr("legacy file lists %d storages, its object uses %d", len(keys.items), len(t.storages))
	}
	// Lay the storages out in the order of the key list.
	seen := make(map[string]bool, len(keys.items))
	for _, k := range keys.items {
		key, ok := k.(string)
		st := t.storages[key]
		if !ok || st == nil || seen[key] {
			return nil, formatErr("legacy storage key %v is not a distinct key the object uses", k)
		}
		seen[key] = true
		where := "storage " + key
		var hdr [8]byte
		if size-pos < 8 {
			return nil, &EntryError{Entry: where, Err: formatErr("truncated: element count at byte %d past the end (%d bytes)", pos, size)}
		}
		if err := readFullAt(r, hdr[:], pos); err != nil {
			return nil, &EntryError{Entry: where, Err: err}
		}
		if n := int64(binary.LittleEndian.Uint64(hdr[:])); n != st.numel {
			return nil, &EntryError{Entry: where, Err: formatErr("element count %d at byte %d, its persistent id says %d", n, pos, st.numel)}
		}
		nbytes := st.numel * st.dt.size
		if nbytes > size-pos-8 {
			return nil, &EntryError{Entry: where, Err: formatErr("truncated: %d bytes of %s at byte %d, the file has %d", nbytes, st.dt.name, pos+8, size)}
		}
		st.off = pos + 8
		pos += 8 + nbytes
	}
	if pos != size {
		return nil, formatErr("%d bytes after the last legacy storage", size-pos)
	}
	return finishTorch(root, lim, TorchLegacy, func(st *storageRef) (io.Reader, func() error, string, error) {
		return io.NewSectionReader(r, st.off, st.numel*st.dt.size), func() error { return nil }, "storage " + st.key, nil
	})
}
