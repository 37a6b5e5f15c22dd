package statedict

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/hostile and testdata/seed from the generators in this file")

const (
	hostileDir = "testdata/hostile"
	seedDir    = "testdata/seed"
)

// baseTensors is the valid state dict the seeds hold and the hostile
// files start from: float32, float16, bfloat16 and float64 storages, an
// int64 scalar, and two strided views sharing one storage.
var baseTensors = []tt{
	{name: "conv.weight", class: "FloatStorage", key: "0", numel: 24, shape: []int64{2, 3, 2, 2}},
	{name: "conv.bias", class: "HalfStorage", key: "1", numel: 2, shape: []int64{2}},
	{name: "bn.running_mean", class: "BFloat16Storage", key: "2", numel: 2, shape: []int64{2}},
	{name: "bn.running_var", class: "DoubleStorage", key: "3", numel: 2, shape: []int64{2}},
	{name: "bn.num_batches_tracked", class: "LongStorage", key: "4", numel: 1, shape: []int64{}},
	{name: "fc.weight_t", class: "FloatStorage", key: "5", numel: 6, shape: []int64{3, 2}, stride: []int64{1, 3}},
	{name: "fc.weight_part", class: "FloatStorage", key: "5", numel: 6, offset: 1, shape: []int64{2}, stride: []int64{2}},
}

var baseSafetensors = []stTensor{
	{"conv.weight", "F32", []int64{2, 3, 2, 2}},
	{"conv.bias", "F16", []int64{2}},
	{"bn.running_mean", "BF16", []int64{2}},
	{"bn.running_var", "F64", []int64{2}},
	{"bn.num_batches_tracked", "I64", []int64{}},
}

// seeds are valid files: the fuzz targets' starting points and the
// sources of the truncated hostile files.
func seeds() map[string][]byte {
	return map[string][]byte{
		"valid_zip.pt":        torchZip(baseTensors),
		"valid_legacy.pt":     torchLegacy(baseTensors),
		"valid_legacy_py2.pt": torchLegacyPy2(baseTensors),
		"valid.safetensors":   safetensorsOf(baseSafetensors, `{"format":"pt"}`),
	}
}

// hostileCase is one file of the hostile corpus: its generator, the
// limits to read it with (zero: defaults), and the expected sentinel and
// message substring.
type hostileCase struct {
	file   string
	gen    func() []byte
	limits Limits
	want   error
	substr string
}

func cut(b []byte, frac float64) func() []byte {
	return func() []byte { return b[:int(float64(len(b))*frac)] }
}

// zipPickle wraps a data.pkl (and extra entries) in a torch zip.
func zipPickle(pkl []byte, extra ...zent) func() []byte {
	return func() []byte {
		return buildZip(append([]zent{{name: "archive/data.pkl", data: pkl}}, extra...))
	}
}

// onePickle is a data.pkl of {"w": tensor} for one tensor description.
func onePickle(t tt) []byte { return statePickle([]tt{t}, false) }

func f32(n int64) []byte { return storageBytes("FloatStorage", n, 1) }

func repeat(b []byte, n int) []byte { return bytes.Repeat(b, n) }

func legacyWith(main []byte, keys []string, tail []byte) func() []byte {
	return func() []byte {
		b := legacyHeader(legacyProtocolVersion, true)
		b = append(b, main...)
		b = append(b, keysPickle(keys)...)
		return append(b, tail...)
	}
}

func countAnd(n uint64, data []byte) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), data...)
}

func st(header string, data []byte) func() []byte {
	return func() []byte { return safetensorsFile(header, data) }
}

func hostileCases() []hostileCase {
	s := seeds()
	w4 := tt{name: "w", class: "FloatStorage", key: "0", numel: 4, shape: []int64{2, 2}}
	data0 := zent{name: "archive/data/0", data: f32(4)}
	with := func(f func(*tt)) tt { t := w4; f(&t); return t }
	var p pk
	osSystem := p.proto(2).global("os", "system").mark().str("echo pwned").tuple().reduce().stop()
	p.Reset()
	builtinsEval := p.proto(4).op(0x8c, 8).op([]byte("builtins")...).op(0x8c, 4).op([]byte("eval")...).op(0x93).
		mark().str("1").tuple().reduce().stop()
	p.Reset()
	reduceStr := p.proto(2).str("not a function").emptyTuple().reduce().stop()
	p.Reset()
	reduceStorage := p.proto(2).global("torch", "FloatStorage").emptyTuple().reduce().stop()
	p.Reset()
	memoGetHuge := p.proto(2).op('j', 0xff, 0xff, 0xff, 0xff).stop()
	p.Reset()
	p.proto(2).none()
	for i := range 2000 {
		p.op('r').op(binary.LittleEndian.AppendUint32(nil, uint32(i)*7919)...)
	}
	memoBomb := p.stop()
	p.Reset()
	opsBomb := p.proto(2).op(repeat([]byte("N0"), 10_000)...).none().stop()
	p.Reset()
	markBomb := p.proto(2).op(repeat([]byte("("), 1000)...).stop()
	p.Reset()
	listBomb := p.proto(2).op(repeat([]byte("]"), 1000)...).op(repeat([]byte("a"), 999)...).stop()
	p.Reset()
	tupleBomb := p.proto(2).none().op(repeat([]byte{0x85}, 1000)...).stop()
	p.Reset()
	frameHuge := p.proto(4).op(0x95).op(binary.LittleEndian.AppendUint64(nil, 1<<62)...).none().stop()
	p.Reset()
	bytes8Huge := p.proto(4).op(0x8e).op(binary.LittleEndian.AppendUint64(nil, 1<<63-1)...).stop()
	p.Reset()
	unicode4G := p.proto(2).op('X', 0xff, 0xff, 0xff, 0xff).op([]byte("short")...).stop()
	p.Reset()
	long4Huge := p.proto(2).op(0x8b, 0xff, 0xff, 0xff, 0x7f).stop()
	p.Reset()
	dictOdd := p.proto(2).mark().int(1).op('d').stop()
	p.Reset()
	unknownOp := p.proto(2).op(0xff).stop()
	p.Reset()
	ext1 := p.proto(2).op(0x82, 1).stop()
	p.Reset()
	underflow := p.proto(2).reduce().stop()
	p.Reset()
	noStop := p.proto(2).orderedDict().Bytes()
	p.Reset()
	persidStr := p.proto(2).orderedDict().mark().str("w").str("storage").persid().setitems().stop()
	p.Reset()
	complexStorage := p.proto(2).global("torch", "ComplexFloatStorage").stop()
	p.Reset()
	buildList := p.proto(2).op(']').emptyDict().op('b').stop()
	p.Reset()
	metadata7 := p.proto(2).orderedDict().mark().str("w").global("torch._utils", "_rebuild_tensor_v2").mark().
		storagePid("FloatStorage", "0", 4, false).int(0).ints(4).ints(1).op(0x89).orderedDict().
		emptyDict().str("neg").op(0x88).op('s').tuple().reduce().setitems().stop()
	p.Reset()
	redeclared := p.proto(2).orderedDict().mark().
		str("a").tensor(tt{class: "FloatStorage", key: "0", numel: 4, shape: []int64{4}}, false).
		str("b").tensor(tt{class: "FloatStorage", key: "0", numel: 8, shape: []int64{4}}, false).
		setitems().stop()
	p.Reset()
	modulePid := p.proto(2).orderedDict().mark().str("m").mark().str("module").none().none().none().tuple().persid().setitems().stop()
	p.Reset()
	legacyView := p.proto(2).orderedDict().mark().str("w").global("torch._utils", "_rebuild_tensor_v2").mark().
		mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(4).
		mark().str("0").int(0).int(4).tuple().tuple().persid().
		int(0).ints(4).ints(1).op(0x89).orderedDict().tuple().reduce().setitems().stop()

	lyingCRC := zent{raw: &zip.FileHeader{Name: "archive/data/0", Method: zip.Store, CRC32: 0xdeadbeef,
		CompressedSize64: 16, UncompressedSize64: 16}, data: f32(4)}
	shortEntry := zent{raw: &zip.FileHeader{Name: "archive/data/0", Method: zip.Store, CRC32: crc32.ChecksumIEEE(f32(4)),
		CompressedSize64: 16, UncompressedSize64: 16}, data: f32(2)}
	hugeEntry := zent{raw: &zip.FileHeader{Name: "archive/data/0", Method: zip.Store, CRC32: crc32.ChecksumIEEE(f32(4)),
		CompressedSize64: 1 << 40, UncompressedSize64: 1 << 40}, data: f32(4)}
	var bomb bytes.Buffer
	{
		ents := zent{name: "archive/data/0", data: make([]byte, 1<<20), method: zip.Deflate}
		z := buildZip([]zent{ents})
		zr, _ := zip.NewReader(bytes.NewReader(z), int64(len(z)))
		rc, _ := zr.File[0].OpenRaw()
		bomb.ReadFrom(rc)
	}
	deflateBomb := zent{raw: &zip.FileHeader{Name: "archive/data/0", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(f32(4)),
		CompressedSize64: uint64(bomb.Len()), UncompressedSize64: 16}, data: bomb.Bytes()}
	pklBomb := zent{raw: &zip.FileHeader{Name: "archive/data.pkl", Method: zip.Deflate, CRC32: 0,
		CompressedSize64: uint64(bomb.Len()), UncompressedSize64: 100}, data: bomb.Bytes()}
	bzip2 := zent{raw: &zip.FileHeader{Name: "archive/data/0", Method: 12, CRC32: crc32.ChecksumIEEE(f32(4)),
		CompressedSize64: 16, UncompressedSize64: 16}, data: f32(4)}

	onePkl := onePickle(w4)
	oneLegacy := statePickle([]tt{w4}, true)
	sd := func(tag, name, dtype, shape string, begin, end int) string {
		return `{` + tag + `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":[` +
			itoa(begin) + "," + itoa(end) + `]}}`
	}
	two := func(b1, e1, b2, e2 int) string {
		return `{"a":{"dtype":"F32","shape":[4],"data_offsets":[` + itoa(b1) + "," + itoa(e1) + `]},` +
			`"b":{"dtype":"F32","shape":[4],"data_offsets":[` + itoa(b2) + "," + itoa(e2) + `]}}`
	}
	nan := binary.LittleEndian.AppendUint32(f32(1), 0x7fc00000)
	return []hostileCase{
		// Not a state-dict file at all.
		{file: "empty.bin", gen: func() []byte { return nil }, want: ErrFormat, substr: "empty file"},
		{file: "garbage.bin", gen: garbage, want: ErrFormat, substr: "not a PyTorch checkpoint, safetensors or ONNX file"},
		// Truncated valid files.
		{file: "zip_truncated_10.pt", gen: cut(s["valid_zip.pt"], 0.1), want: ErrFormat, substr: "zip:"},
		{file: "zip_truncated_50.pt", gen: cut(s["valid_zip.pt"], 0.5), want: ErrFormat, substr: "zip:"},
		{file: "zip_truncated_last_byte.pt", gen: cut(s["valid_zip.pt"], 0.999), want: ErrFormat, substr: "zip:"},
		{file: "legacy_truncated_in_header.pt", gen: cut(s["valid_legacy.pt"], 0.05), want: ErrFormat, substr: "truncated"},
		{file: "legacy_truncated_in_pickle.pt", gen: cut(s["valid_legacy.pt"], 0.5), want: ErrFormat, substr: "legacy pickle 4 (object)"},
		{file: "legacy_truncated_in_data.pt", gen: cut(s["valid_legacy.pt"], 0.98), want: ErrFormat, substr: "truncated"},
		{file: "st_truncated_9.safetensors", gen: func() []byte { return s["valid.safetensors"][:9] }, want: ErrFormat, substr: "exceeds the 1 bytes after it"},
		{file: "st_truncated_header.safetensors", gen: cut(s["valid.safetensors"], 0.3), want: ErrFormat, substr: "exceeds the"},
		{file: "st_truncated_data.safetensors", gen: cut(s["valid.safetensors"], 0.95), want: ErrFormat, substr: "past the end of the data"},

		// Globals and callables.
		{file: "global_os_system.pt", gen: zipPickle(osSystem), want: ErrForbidden,
			substr: `archive/data.pkl at byte 2 (GLOBAL): global "os.system" is not allowed in a state dict`},
		{file: "stack_global_builtins_eval.pt", gen: zipPickle(builtinsEval), want: ErrForbidden,
			substr: `(STACK_GLOBAL): global "builtins.eval" is not allowed`},
		{file: "legacy_global_os_system.pt", gen: legacyWith(osSystem, nil, nil), want: ErrForbidden,
			substr: `legacy pickle 4 (object) at byte 123 (GLOBAL): global "os.system"`},
		{file: "reduce_of_string.pt", gen: zipPickle(reduceStr), want: ErrFormat, substr: "(REDUCE): malformed file: REDUCE of a str, which is not callable"},
		{file: "reduce_of_storage_class.pt", gen: zipPickle(reduceStorage), want: ErrFormat, substr: "REDUCE of storage class torch.FloatStorage"},
		{file: "complex_storage.pt", gen: zipPickle(complexStorage), want: ErrUnsupported, substr: "storage class torch.ComplexFloatStorage (complex64 tensors)"},
		{file: "build_on_list.pt", gen: zipPickle(buildList), want: ErrUnsupported, substr: "BUILD of a list"},
		{file: "tensor_metadata.pt", gen: zipPickle(metadata7, data0), want: ErrUnsupported, substr: "tensor metadata"},

		// Resource bombs.
		{file: "memo_get_undefined.pt", gen: zipPickle(memoGetHuge), want: ErrFormat, substr: "(LONG_BINGET): malformed file: memo key 4294967295 is not defined"},
		{file: "memo_bomb.pt", gen: zipPickle(memoBomb), limits: Limits{MaxPickleMemo: 1000}, want: ErrLimit,
			substr: "(LONG_BINPUT): malformed file: limit exceeded: more than MaxPickleMemo = 1000 memo entries"},
		{file: "ops_bomb.pt", gen: zipPickle(opsBomb), limits: Limits{MaxPickleOps: 5000}, want: ErrLimit, substr: "more than MaxPickleOps = 5000 opcodes"},
		{file: "mark_bomb.pt", gen: zipPickle(markBomb), want: ErrLimit, substr: "(MARK): malformed file: limit exceeded: MARKs nested deeper than MaxPickleDepth = 64"},
		{file: "list_nesting_bomb.pt", gen: zipPickle(listBomb), want: ErrLimit, substr: "(APPEND): malformed file: limit exceeded: containers nested deeper than MaxPickleDepth"},
		{file: "tuple_nesting_bomb.pt", gen: zipPickle(tupleBomb), want: ErrLimit, substr: "(TUPLE1): malformed file: limit exceeded: containers nested deeper"},
		{file: "frame_2pow62.pt", gen: zipPickle(frameHuge), want: ErrFormat, substr: "(FRAME): malformed file: frame of 4611686018427387904 bytes"},
		{file: "binbytes8_2pow63.pt", gen: zipPickle(bytes8Huge), want: ErrFormat, substr: "(BINBYTES8): malformed file: truncated: 9223372036854775807 bytes needed"},
		{file: "binunicode_4gib.pt", gen: zipPickle(unicode4G), want: ErrFormat, substr: "(BINUNICODE): malformed file: truncated: 4294967295 bytes needed"},
		{file: "long4_2gib.pt", gen: zipPickle(long4Huge), want: ErrUnsupported, substr: "integer of 2147483647 bytes"},
		{file: "pickle_over_limit.pt", gen: zipPickle(onePkl, data0), limits: Limits{MaxPickleBytes: 64}, want: ErrLimit, substr: "archive/data.pkl: malformed file: limit exceeded: entry of"},
		{file: "legacy_pickle_over_limit.pt", gen: legacyWith(oneLegacy, []string{"0"}, countAnd(4, f32(4))), limits: Limits{MaxPickleBytes: 150},
			want: ErrLimit, substr: "legacy pickle 4 (object) at byte"},

		// Malformed pickles.
		{file: "dict_odd_items.pt", gen: zipPickle(dictOdd), want: ErrFormat, substr: "(DICT): malformed file: odd number of items (1) for a dict"},
		{file: "unknown_opcode.pt", gen: zipPickle(unknownOp), want: ErrFormat, substr: "(0xff): malformed file: unknown opcode 0xff"},
		{file: "opcode_ext1.pt", gen: zipPickle(ext1), want: ErrUnsupported, substr: "opcode EXT1 is not used by state dicts"},
		{file: "stack_underflow.pt", gen: zipPickle(underflow), want: ErrFormat, substr: "(REDUCE): malformed file: stack underflow"},
		{file: "no_stop.pt", gen: zipPickle(noStop), want: ErrFormat, substr: "truncated"},
		{file: "persistent_id_string.pt", gen: zipPickle(persidStr), want: ErrFormat, substr: "(BINPERSID): malformed file: persistent id is a str"},
		{file: "persistent_id_module.pt", gen: zipPickle(modulePid), want: ErrUnsupported, substr: "pickled nn.Module class"},

		// Storages and views.
		{file: "storage_key_traversal.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.key = "../../etc/passwd" }))),
			want: ErrFormat, substr: `storage key "../../etc/passwd"`},
		{file: "storage_numel_2pow40.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.numel = 1 << 40 }))),
			want: ErrLimit, substr: `storage "0" has 1099511627776 elements, more than MaxTensorElements`},
		{file: "storage_negative_numel.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.numel = -4 }))),
			want: ErrFormat, substr: `storage "0" has -4 elements`},
		{file: "storage_larger_than_entry.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.numel = 100; t.shape = []int64{100} })), data0),
			want: ErrFormat, substr: "archive/data/0: malformed file: entry holds 16 bytes, storage of 100 float32 needs 400"},
		{file: "storage_redeclared.pt", gen: zipPickle(redeclared, data0), want: ErrFormat, substr: `storage "0" is declared as 4 float32 and as 8 float32`},
		{file: "storage_entry_missing.pt", gen: zipPickle(onePkl), want: ErrFormat, substr: `storage "0" has no zip entry`},
		{file: "view_offset_past_storage.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.offset = 2 })), data0),
			want: ErrFormat, substr: `tensor "w": malformed file: view (offset 2, size [2 2], stride [2 1]) reaches past the end of storage "0" (4 elements)`},
		{file: "view_stride_past_storage.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.stride = []int64{3, 1} })), data0),
			want: ErrFormat, substr: `tensor "w": malformed file: view (offset 0, size [2 2], stride [3 1]) reaches past the end`},
		{file: "view_stride_2pow62.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.stride = []int64{1 << 62, 1} })), data0),
			want: ErrFormat, substr: `tensor "w": malformed file: view (offset 0, size [2 2], stride [4611686018427387904 1]) reaches past`},
		{file: "view_offset_2pow62.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.offset = 1 << 62 })), data0),
			want: ErrFormat, substr: "reaches past the end"},
		{file: "view_empty_offset_past.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.shape = []int64{0, 2}; t.offset = 9 })), data0),
			want: ErrFormat, substr: `tensor "w": malformed file: storage offset 9 past the end of storage "0"`},
		{file: "view_elements_2pow60.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.shape = []int64{1 << 30, 1 << 30}; t.stride = []int64{0, 0} })), data0),
			want: ErrLimit, substr: `tensor "w": malformed file: limit exceeded: shape [1073741824 1073741824] has more than MaxTensorElements`},
		{file: "view_rank_100.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.shape = make([]int64, 100) })), data0),
			want: ErrLimit, substr: "tensor rank 100 exceeds MaxRank = 8"},
		{file: "view_negative_size.pt", gen: zipPickle(onePickle(with(func(t *tt) { t.shape = []int64{-1, 2} })), data0),
			want: ErrFormat, substr: "tensor size[0] = -1"},
		{file: "total_bytes_over_limit.pt", gen: zipPickle(onePkl, data0), limits: Limits{MaxTotalBytes: 8}, want: ErrLimit, substr: `tensor "w": malformed file: limit exceeded: tensors take more than MaxTotalBytes = 8`},

		// Zip containers that lie.
		{file: "zip_crc_mismatch.pt", gen: zipPickle(onePkl, lyingCRC), want: ErrFormat, substr: "archive/data/0: malformed file: zip: checksum error"},
		{file: "zip_entry_shorter_than_declared.pt", gen: zipPickle(onePkl, shortEntry), want: ErrFormat, substr: "archive/data/0: malformed file:"},
		{file: "zip_entry_size_2pow40.pt", gen: zipPickle(onePkl, hugeEntry), want: ErrFormat, substr: "entry holds 1099511627776 bytes, storage of 4 float32 needs 16"},
		{file: "zip_deflate_bomb.pt", gen: zipPickle(onePkl, deflateBomb), want: ErrFormat, substr: "archive/data/0: malformed file: zip: not a valid zip file"},
		{file: "zip_data_pkl_deflate_bomb.pt", gen: func() []byte { return buildZip([]zent{pklBomb, data0}) }, want: ErrFormat, substr: "archive/data.pkl: malformed file: zip: not a valid zip file"},
		{file: "zip_bzip2_entry.pt", gen: zipPickle(onePkl, bzip2), want: ErrUnsupported, substr: "archive/data/0: unsupported file: zip compression method 12"},
		{file: "zip_duplicate_entry.pt", gen: zipPickle(onePkl, data0, data0), want: ErrFormat, substr: "archive/data/0: malformed file: duplicate zip entry"},
		{file: "zip_without_data_pkl.pt", gen: func() []byte { return buildZip([]zent{data0}) }, want: ErrFormat, substr: "zip has 0 <archive>/data.pkl entries"},
		{file: "zip_two_data_pkl.pt", gen: zipPickle(onePkl, zent{name: "other/data.pkl", data: onePkl}), want: ErrFormat, substr: "zip has 2 <archive>/data.pkl entries"},
		{file: "torchscript.pt", gen: zipPickle(onePkl, zent{name: "archive/constants.pkl", data: []byte("\x80\x02).")}), want: ErrUnsupported, substr: "TorchScript archive"},
		{file: "zip_big_endian.pt", gen: zipPickle(onePkl, data0, zent{name: "archive/byteorder", data: []byte("big")}), want: ErrUnsupported, substr: `byte order "big"`},
		{file: "zip_too_many_entries.pt", gen: zipPickle(onePkl, data0), limits: Limits{MaxZipEntries: 1}, want: ErrLimit, substr: "zip has 2 entries, more than MaxZipEntries = 1"},

		// Legacy format.
		{file: "legacy_protocol_999.pt", gen: func() []byte { return legacyHeader(999, true) }, want: ErrUnsupported, substr: "legacy protocol version 999, want 1001"},
		{file: "legacy_big_endian.pt", gen: func() []byte { return legacyHeader(legacyProtocolVersion, false) }, want: ErrUnsupported, substr: "not little-endian"},
		{file: "legacy_count_mismatch.pt", gen: legacyWith(oneLegacy, []string{"0"}, countAnd(5, f32(4))), want: ErrFormat,
			substr: "storage 0: malformed file: element count 5 at byte"},
		{file: "legacy_data_missing.pt", gen: legacyWith(statePickle([]tt{with(func(t *tt) { t.numel = 1 << 27; t.shape = []int64{1 << 27} })}, true),
			[]string{"0"}, countAnd(1<<27, f32(4))), want: ErrFormat, substr: "storage 0: malformed file: truncated: 536870912 bytes of float32"},
		{file: "legacy_trailing_bytes.pt", gen: legacyWith(oneLegacy, []string{"0"}, append(countAnd(4, f32(4)), "tail"...)), want: ErrFormat,
			substr: "4 bytes after the last legacy storage"},
		{file: "legacy_key_list_short.pt", gen: legacyWith(oneLegacy, nil, countAnd(4, f32(4))), want: ErrFormat, substr: "legacy file lists 0 storages, its object uses 1"},
		{file: "legacy_key_unknown.pt", gen: legacyWith(oneLegacy, []string{"7"}, countAnd(4, f32(4))), want: ErrFormat, substr: "legacy storage key 7 is not a distinct key"},
		{file: "legacy_storage_view.pt", gen: legacyWith(legacyView, []string{"0"}, countAnd(4, f32(4))), want: ErrUnsupported, substr: "legacy storage view"},
		{file: "legacy_zip_style_pid.pt", gen: legacyWith(onePkl, []string{"0"}, countAnd(4, f32(4))), want: ErrFormat, substr: "storage persistent id has 5 items, want 6"},

		// safetensors.
		{file: "st_header_2pow63.safetensors", gen: func() []byte {
			b := safetensorsFile(`{}`, nil)
			binary.LittleEndian.PutUint64(b, 1<<63)
			return b
		}, want: ErrFormat, substr: "safetensors header: malformed file: header length 9223372036854775808 exceeds the 2 bytes after it"},
		{file: "st_header_past_eof.safetensors", gen: func() []byte {
			b := safetensorsFile(`{}`, nil)
			binary.LittleEndian.PutUint64(b, 1000)
			return b
		}, want: ErrFormat, substr: "safetensors header: malformed file: header length 1000 exceeds the 2 bytes after it"},
		{file: "st_header_over_limit.safetensors", gen: st(`{"__metadata__":{"a":"`+strings.Repeat("x", 200)+`"}}`, nil),
			limits: Limits{MaxHeaderBytes: 100}, want: ErrLimit, substr: "header length 225 exceeds MaxHeaderBytes = 100"},
		{file: "st_overlap.safetensors", gen: st(two(0, 16, 8, 24), f32(6)), want: ErrFormat, substr: `tensor "b": malformed file: data_offsets [8, 24] overlap tensor "a"`},
		{file: "st_same_offsets.safetensors", gen: st(two(0, 16, 0, 16), f32(4)), want: ErrFormat, substr: `data_offsets [0, 16] overlap tensor "a"`},
		{file: "st_gap.safetensors", gen: st(two(0, 16, 20, 36), f32(9)), want: ErrFormat, substr: `tensor "b": malformed file: data_offsets [20, 36] leave a gap of 4 bytes`},
		{file: "st_out_of_range.safetensors", gen: st(sd("", "w", "F32", "[100]", 0, 400), f32(4)), want: ErrFormat,
			substr: `tensor "w": malformed file: data_offsets [0, 400] past the end of the data (16 bytes)`},
		{file: "st_offsets_reversed.safetensors", gen: st(sd("", "w", "F32", "[0]", 16, 0), f32(4)), want: ErrFormat, substr: "data_offsets [16, 0]"},
		{file: "st_offsets_2pow64.safetensors", gen: st(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551616]}}`, f32(4)),
			want: ErrFormat, substr: `tensor "w": malformed file: header entry: json: cannot unmarshal number 18446744073709551616`},
		{file: "st_size_mismatch.safetensors", gen: st(sd("", "w", "F32", "[4]", 0, 12), f32(3)), want: ErrFormat,
			substr: "data_offsets [0, 12] hold 12 bytes, shape [4] of float32 needs 16"},
		{file: "st_unknown_dtype.safetensors", gen: st(sd("", "w", "F128", "[1]", 0, 16), f32(4)), want: ErrUnsupported, substr: `tensor "w": unsupported file: dtype "F128"`},
		{file: "st_f8_dtype.safetensors", gen: st(sd("", "w", "F8_E4M3", "[4]", 0, 4), f32(1)), want: ErrUnsupported, substr: `dtype "F8_E4M3"`},
		{file: "st_duplicate_name.safetensors", gen: st(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)),
			want: ErrFormat, substr: `duplicate key "w"`},
		{file: "st_missing_offsets.safetensors", gen: st(`{"w":{"dtype":"F32","shape":[1]}}`, f32(1)), want: ErrFormat, substr: "needs dtype, shape and data_offsets"},
		{file: "st_negative_shape.safetensors", gen: st(sd("", "w", "F32", "[-1]", 0, 4), f32(1)), want: ErrFormat, substr: "cannot unmarshal number -1"},
		{file: "st_shape_overflow.safetensors", gen: st(sd("", "w", "F32", "[4294967296,4294967296,4294967296]", 0, 4), f32(1)), want: ErrLimit,
			substr: "has more than MaxTensorElements"},
		{file: "st_rank_100.safetensors", gen: st(sd("", "w", "F32", "["+strings.Repeat("1,", 99)+"1]", 0, 4), f32(1)), want: ErrLimit, substr: "rank 100 exceeds MaxRank = 8"},
		{file: "st_not_json.safetensors", gen: st(`{garbage`, nil), want: ErrFormat, substr: "safetensors header: malformed file: JSON:"},
		{file: "st_entry_not_object.safetensors", gen: st(`{"a":1}`, nil), want: ErrFormat, substr: `tensor "a": malformed file: header entry: json: cannot unmarshal number`},
		{file: "st_data_after_object.safetensors", gen: st(`{}{}`, nil), want: ErrFormat, substr: "data after the header object"},
		{file: "st_trailing_data.safetensors", gen: st(sd("", "w", "F32", "[1]", 0, 4), f32(2)), want: ErrFormat, substr: "the tensors cover 4 bytes of data, the file has 8"},
		{file: "st_metadata_not_strings.safetensors", gen: st(`{"__metadata__":{"a":1}}`, nil), want: ErrFormat, substr: "__metadata__ is not an object of strings"},
		{file: "st_invalid_utf8.safetensors", gen: st("{\"\xff\":{}}", nil), want: ErrFormat, substr: "not valid UTF-8"},
		{file: "st_nan.safetensors", gen: st(sd("", "w", "F32", "[2]", 0, 8), nan), want: ErrFormat, substr: `tensor "w": malformed file: element 1 is NaN`},
		{file: "st_too_many_tensors.safetensors", gen: st(two(0, 16, 16, 32), f32(8)), limits: Limits{MaxTensors: 1}, want: ErrLimit, substr: "more than MaxTensors = 1 tensors"},
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func garbage() []byte {
	r := rand.New(rand.NewSource(1))
	b := make([]byte, 512)
	r.Read(b)
	b[0] = 0xff
	return b
}

func TestHostileCorpus(t *testing.T) {
	cases := hostileCases()
	if *update {
		require.NoError(t, os.MkdirAll(hostileDir, 0o755))
		require.NoError(t, os.MkdirAll(seedDir, 0o755))
		for _, c := range cases {
			require.NoError(t, os.WriteFile(filepath.Join(hostileDir, c.file), c.gen(), 0o644))
		}
		for name, b := range seeds() {
			require.NoError(t, os.WriteFile(filepath.Join(seedDir, name), b, 0o644))
		}
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			require.False(t, seen[c.file], "duplicate corpus file %s", c.file)
			seen[c.file] = true
			data, err := os.ReadFile(filepath.Join(hostileDir, c.file))
			require.NoError(t, err, "run: go test ./statedict -run TestHostileCorpus -update")
			assert.True(t, bytes.Equal(data, c.gen()), "%s differs from its generator (run: go test ./statedict -run TestHostileCorpus -update)", c.file)
			sd, err := Read(bytes.NewReader(data), int64(len(data)), c.limits)
			require.Error(t, err, "Read: got %d tensors, want error %v", lenTensors(sd), c.want)
			assert.ErrorIs(t, err, c.want)
			assert.Contains(t, err.Error(), c.substr)
			assert.True(t, errors.Is(err, ErrFormat) != errors.Is(err, ErrUnsupported),
				"error %q must wrap exactly one of ErrFormat and ErrUnsupported", err)
		})
	}
	entries, err := os.ReadDir(hostileDir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.True(t, seen[e.Name()], "%s in %s has no entry in hostileCases", e.Name(), hostileDir)
	}
}

func lenTensors(sd *StateDict) int {
	if sd == nil {
		return 0
	}
	return len(sd.Tensors)
}

// TestSeeds reads the generated valid files back.
func TestSeeds(t *testing.T) {
	for name, b := range seeds() {
		t.Run(name, func(t *testing.T) {
			committed, err := os.ReadFile(filepath.Join(seedDir, name))
			require.NoError(t, err, "run: go test ./statedict -run TestHostileCorpus -update")
			assert.True(t, bytes.Equal(committed, b), "%s differs from its generator", name)
			sd, err := Read(bytes.NewReader(b), int64(len(b)), Limits{})
			require.NoError(t, err)
			assert.Equal(t, []string{"bn.num_batches_tracked"}, sd.Skipped)
			want := map[string][]float32{
				"conv.weight":     seq(24),
				"conv.bias":       {1, 2},
				"bn.running_mean": {1, 2},
				"bn.running_var":  {1, 2},
			}
			if sd.Format != Safetensors {
				want["fc.weight_t"] = []float32{1, 4, 2, 5, 3, 6}
				want["fc.weight_part"] = []float32{2, 4}
				assert.Equal(t, []int{3, 2}, sd.Tensor("fc.weight_t").Shape)
			}
			require.Len(t, sd.Tensors, len(want))
			for name, w := range want {
				require.NotNil(t, sd.Tensor(name), name)
				assert.Equal(t, w, sd.Tensor(name).Data, name)
			}
			assert.Equal(t, []int{2, 3, 2, 2}, sd.Tensor("conv.weight").Shape)
		})
	}
}

func seq(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i + 1)
	}
	return out
}
