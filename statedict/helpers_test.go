package statedict

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
)

// This file builds PyTorch and safetensors files byte by byte for the
// hostile corpus, the fuzz seeds and the benchmarks. Correctness against
// real files is the job of the oracle tests (files written by torch);
// these writers follow the layouts those files have.

func bytesReaderAt(b []byte) io.ReaderAt { return bytes.NewReader(b) }

// pk assembles a pickle.
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }
func (p *pk) proto(n byte) *pk { return p.op(0x80, n) }
func (p *pk) global(mod, name string) *pk {
	p.WriteByte('c')
	p.WriteString(mod + "\n" + name + "\n")
	return p
}
func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}
func (p *pk) int(v int64) *pk {
	switch {
	case v >= 0 && v < 256:
		return p.op('K', byte(v))
	case v >= 0 && v < 65536:
		return p.op('M', byte(v), byte(v>>8))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		p.WriteByte('J')
		binary.Write(p, binary.LittleEndian, int32(v))
		return p
	}
	p.op(0x8a, 8)
	binary.Write(p, binary.LittleEndian, v)
	return p
}
func (p *pk) ints(vs ...int64) *pk {
	p.mark()
	for _, v := range vs {
		p.int(v)
	}
	return p.tuple()
}
func (p *pk) mark() *pk       { return p.op('(') }
func (p *pk) tuple() *pk      { return p.op('t') }
func (p *pk) emptyTuple() *pk { return p.op(')') }
func (p *pk) reduce() *pk     { return p.op('R') }
func (p *pk) persid() *pk     { return p.op('Q') }
func (p *pk) setitems() *pk   { return p.op('u') }
func (p *pk) emptyDict() *pk  { return p.op('}') }
func (p *pk) none() *pk       { return p.op('N') }
func (p *pk) stop() []byte    { p.op('.'); return bytes.Clone(p.Bytes()) }
func (p *pk) orderedDict() *pk {
	return p.global("collections", "OrderedDict").emptyTuple().reduce()
}

// tt describes one tensor of a generated state dict.
type tt struct {
	name   string
	class  string // storage class, e.g. "FloatStorage"
	key    string
	numel  int64 // of the storage
	offset int64
	shape  []int64
	stride []int64 // nil: C-contiguous
}

func contiguousStride(shape []int64) []int64 {
	s := make([]int64, len(shape))
	n := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = n
		n *= shape[i]
	}
	return s
}

// storagePid appends a storage persistent id and BINPERSID.
func (p *pk) storagePid(class, key string, numel int64, legacy bool) *pk {
	p.mark().str("storage").global("torch", class).str(key).str("cpu").int(numel)
	if legacy {
		p.none()
	}
	return p.tuple().persid()
}

// tensor appends torch._utils._rebuild_tensor_v2(...) for t.
func (p *pk) tensor(t tt, legacy bool) *pk {
	stride := t.stride
	if stride == nil {
		stride = contiguousStride(t.shape)
	}
	p.global("torch._utils", "_rebuild_tensor_v2").mark()
	p.storagePid(t.class, t.key, t.numel, legacy)
	p.int(t.offset).ints(t.shape...).ints(stride...)
	return p.op(0x89).orderedDict().tuple().reduce()
}

// statePickle is the pickle of an OrderedDict of the tensors, as torch
// writes it with protocol 2 (without the memo).
func statePickle(ts []tt, legacy bool) []byte {
	var p pk
	p.proto(2).orderedDict().mark()
	for _, t := range ts {
		p.str(t.name).tensor(t, legacy)
	}
	return p.setitems().stop()
}

// zent is one zip entry; with raw set, its header is written as given
// (sizes and CRC may lie).
type zent struct {
	name   string
	data   []byte
	method uint16
	raw    *zip.FileHeader
}

func buildZip(ents []zent) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range ents {
		fh := e.raw
		data := e.data
		if fh == nil {
			fh = &zip.FileHeader{Name: e.name, Method: e.method, CRC32: crc32.ChecksumIEEE(e.data),
				UncompressedSize64: uint64(len(e.data))}
			if e.method == zip.Deflate {
				var c bytes.Buffer
				fw, _ := flate.NewWriter(&c, flate.BestCompression)
				fw.Write(e.data)
				fw.Close()
				data = c.Bytes()
			}
			fh.CompressedSize64 = uint64(len(data))
		}
		fw, err := w.CreateRaw(fh)
		if err != nil {
			panic(err)
		}
		fw.Write(data)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// storageBytes returns the little-endian bytes of a storage of t's class
// holding numel elements with values base, base+1, ... converted to the
// storage type.
func storageBytes(class string, numel int64, base float64) []byte {
	var b []byte
	for i := int64(0); i < numel; i++ {
		v := base + float64(i)
		switch class {
		case "FloatStorage":
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		case "DoubleStorage":
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case "HalfStorage": // small integers are exact in float16: sign, exponent, mantissa
			b = binary.LittleEndian.AppendUint16(b, f32ToF16Exact(float32(v)))
		case "BFloat16Storage":
			b = binary.LittleEndian.AppendUint16(b, uint16(math.Float32bits(float32(v))>>16))
		case "LongStorage":
			b = binary.LittleEndian.AppendUint64(b, uint64(int64(v)))
		default:
			panic("storageBytes: " + class)
		}
	}
	return b
}

// f32ToF16Exact converts a float32 that float16 represents exactly (and
// normal in float16) to its bits.
func f32ToF16Exact(f float32) uint16 {
	if f == 0 {
		return 0
	}
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	return sign | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

// uniqueStorages lists each storage of ts once, in first-use order.
func uniqueStorages(ts []tt) []tt {
	var out []tt
	seen := map[string]bool{}
	for _, t := range ts {
		if !seen[t.key] {
			seen[t.key] = true
			out = append(out, t)
		}
	}
	return out
}

// torchZip builds a torch zip checkpoint of ts, storage values starting
// at 1 for each storage.
func torchZip(ts []tt) []byte {
	ents := []zent{{name: "archive/data.pkl", data: statePickle(ts, false)}}
	for _, t := range uniqueStorages(ts) {
		ents = append(ents, zent{name: "archive/data/" + t.key, data: storageBytes(t.class, t.numel, 1)})
	}
	ents = append(ents, zent{name: "archive/version", data: []byte("3\n")})
	return buildZip(ents)
}

// legacyHeader is the magic number, protocol version and sys_info
// pickles of the legacy format.
func legacyHeader(version int64, littleEndian bool) []byte {
	var p pk
	p.proto(2).op(0x8a, 10).op(torchMagic...).op('.')
	p.proto(2).int(version).op('.')
	p.proto(2).emptyDict().mark().str("protocol_version").int(version).str("little_endian")
	if littleEndian {
		p.op(0x88)
	} else {
		p.op(0x89)
	}
	p.str("type_sizes").emptyDict().mark().str("short").int(2).str("int").int(4).str("long").int(4).setitems()
	p.setitems().op('.')
	return p.Bytes()
}

// keysPickle is the legacy format's sorted storage-key list.
func keysPickle(keys []string) []byte {
	var p pk
	p.proto(2).op(']').mark()
	for _, k := range keys {
		p.str(k)
	}
	return p.op('e').stop()
}

// torchLegacy builds a legacy checkpoint of ts.
func torchLegacy(ts []tt) []byte {
	b := legacyHeader(legacyProtocolVersion, true)
	b = append(b, statePickle(ts, true)...)
	st := uniqueStorages(ts)
	var keys []string
	for _, t := range st {
		keys = append(keys, t.key)
	}
	slices.Sort(keys)
	b = append(b, keysPickle(keys)...)
	for _, k := range keys {
		for _, t := range st {
			if t.key == k {
				b = binary.LittleEndian.AppendUint64(b, uint64(t.numel))
				b = append(b, storageBytes(t.class, t.numel, 1)...)
			}
		}
	}
	return b
}

// safetensorsFile builds a safetensors file from a header and data.
func safetensorsFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// stTensor is one tensor of a generated safetensors file.
type stTensor struct {
	name, dtype string
	shape       []int64
}

// safetensorsOf builds a valid safetensors file with the tensors in order,
// values 1, 2, ... in each (as F32/F16/BF16/F64/I64).
func safetensorsOf(ts []stTensor, meta string) []byte {
	var hdr bytes.Buffer
	var data []byte
	hdr.WriteString("{")
	if meta != "" {
		hdr.WriteString(`"__metadata__":` + meta + ",")
	}
	for i, t := range ts {
		n := int64(1)
		for _, s := range t.shape {
			n *= s
		}
		class := map[string]string{"F32": "FloatStorage", "F16": "HalfStorage", "BF16": "BFloat16Storage",
			"F64": "DoubleStorage", "I64": "LongStorage"}[t.dtype]
		begin := len(data)
		data = append(data, storageBytes(class, n, 1)...)
		shape := "["
		for j, s := range t.shape {
			if j > 0 {
				shape += ","
			}
			shape += fmt.Sprint(s)
		}
		shape += "]"
		if i > 0 {
			hdr.WriteString(",")
		}
		fmt.Fprintf(&hdr, `%q:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, t.name, t.dtype, shape, begin, len(data))
	}
	hdr.WriteString("}")
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	return safetensorsFile(hdr.String(), data)
}

// py2str appends a Python 2 str (SHORT_BINSTRING or BINSTRING).
func (p *pk) py2str(s string) *pk {
	if len(s) < 256 {
		p.op('U', byte(len(s)))
	} else {
		p.WriteByte('T')
		binary.Write(p, binary.LittleEndian, int32(len(s)))
	}
	p.WriteString(s)
	return p
}

// py2OrderedDict appends OrderedDict([[k, v], ...]) as Python 2 pickles
// it; items appends the pairs' keys and values.
func (p *pk) py2OrderedDict(items func(p *pk)) *pk {
	p.global("collections", "OrderedDict").op(']')
	if items != nil {
		p.mark()
		items(p)
		p.op('e')
	}
	return p.op(0x85).reduce()
}

// py2StatePickle is the object pickle of a legacy checkpoint written by
// Python 2 with torch 0.4: py2 str keys, OrderedDict built from a list of
// [key, value] lists, the _metadata attribute set by BUILD, tensors on
// "cuda:0".
func py2StatePickle(ts []tt) []byte {
	var p pk
	p.proto(2).py2OrderedDict(func(p *pk) {
		for _, t := range ts {
			stride := t.stride
			if stride == nil {
				stride = contiguousStride(t.shape)
			}
			p.mark().py2str(t.name)
			p.global("torch._utils", "_rebuild_tensor_v2").mark()
			p.mark().py2str("storage").global("torch", t.class).py2str(t.key).py2str("cuda:0").int(t.numel).none().tuple().persid()
			p.int(t.offset).ints(t.shape...).ints(stride...).op(0x89).py2OrderedDict(nil).tuple().reduce()
			p.op('l')
		}
	})
	p.emptyDict().py2str("_metadata").py2OrderedDict(func(p *pk) {
		p.mark().py2str("").emptyDict().py2str("version").int(1).op('s').op('l')
	}).op('s').op('b')
	return p.stop()
}

// torchLegacyPy2 is torchLegacy with the Python 2 object pickle, py2 str
// storage keys and Python 2's 8-byte long in sys_info.
func torchLegacyPy2(ts []tt) []byte {
	var p pk
	p.proto(2).op(0x8a, 10).op(torchMagic...).op('.')
	p.proto(2).int(legacyProtocolVersion).op('.')
	p.proto(2).emptyDict().mark().py2str("protocol_version").int(legacyProtocolVersion).py2str("little_endian").op(0x88)
	p.py2str("type_sizes").emptyDict().mark().py2str("short").int(2).py2str("int").int(4).py2str("long").int(8).setitems()
	p.setitems().op('.')
	b := append(p.Bytes(), py2StatePickle(ts)...)
	st := uniqueStorages(ts)
	var keys []string
	for _, t := range st {
		keys = append(keys, t.key)
	}
	slices.Sort(keys)
	var k pk
	k.proto(2).op(']').mark()
	for _, key := range keys {
		k.py2str(key)
	}
	b = append(b, k.op('e').stop()...)
	for _, key := range keys {
		for _, t := range st {
			if t.key == key {
				b = binary.LittleEndian.AppendUint64(b, uint64(t.numel))
				b = append(b, storageBytes(t.class, t.numel, 1)...)
			}
		}
	}
	return b
}
