package statedict

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// This file is a restricted pickle virtual machine. It executes the
// opcodes of protocols 0 to 5 that state dicts use, builds only inert Go
// values (nil, bool, int64, *big.Int, float64, string, []byte, *pyTuple,
// *pyList, *pyDict, *pyGlobal, and whatever the persistent-load and call
// hooks return), and resolves GLOBAL only against an allowlist. It never
// imports or calls anything. Every length is checked against the bytes
// that remain before it is allocated, and the opcode count, memo size and
// nesting depth are bounded by Limits.

// pyTuple, pyList and pyDict are the containers a pickle can build. depth
// is the nesting depth as built (1 + the deepest item when it was
// inserted); it bounds any later traversal.
type pyTuple struct {
	items []any
	depth int
}

type pyList struct {
	items []any
	depth int
}

type pyDict struct {
	keys    []any       // in insertion order
	vals    []any       // vals[i] belongs to keys[i]
	index   map[any]int // hash key -> position
	depth   int
	ordered bool // built by collections.OrderedDict
}

// noneKey is the hash key of None.
type noneKey struct{}

// hashKey returns the Go map key for a pickle dict key. Like Python,
// True and 1 (and False and 0) are the same key.
func hashKey(k any) (any, error) {
	switch k := k.(type) {
	case string, int64:
		return k, nil
	case bool:
		if k {
			return int64(1), nil
		}
		return int64(0), nil
	case nil:
		return noneKey{}, nil
	}
	return nil, unsupportedErr("dict key of type %s", typeName(k))
}

func newDict() *pyDict { return &pyDict{index: map[any]int{}, depth: 1} }

// set inserts or replaces k (replacing keeps the first position, as in
// Python).
func (d *pyDict) set(k, v any) error {
	h, err := hashKey(k)
	if err != nil {
		return err
	}
	if i, ok := d.index[h]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[h] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// globalKind says what an allowed global is.
type globalKind int

const (
	gOrderedDict globalKind = iota + 1
	gRebuildTensor
	gRebuildTensorV2
	gRebuildParameter
	gRebuildParameterWithState
	gStorage // a torch.*Storage class; dt says which
)

// pyGlobal is an allowed global: inert, identified by kind.
type pyGlobal struct {
	module, name string
	kind         globalKind
	dt           *dtype // for gStorage
}

func (g *pyGlobal) String() string { return g.module + "." + g.name }

// allowedCallables are the functions and classes (besides the storage
// classes in torchStorages) that a state dict may name.
var allowedCallables = map[string]globalKind{
	"collections.OrderedDict":                    gOrderedDict,
	"torch._utils._rebuild_tensor":               gRebuildTensor,
	"torch._utils._rebuild_tensor_v2":            gRebuildTensorV2,
	"torch._utils._rebuild_parameter":            gRebuildParameter,
	"torch._utils._rebuild_parameter_with_state": gRebuildParameterWithState,
}

// AllowedGlobals returns the Python globals the unpickler accepts, as
// "module.name", sorted. Any other global fails with a *GlobalError.
func AllowedGlobals() []string {
	var out []string
	for k := range allowedCallables {
		out = append(out, k)
	}
	for k := range torchStorages {
		out = append(out, "torch."+k)
	}
	slices.Sort(out)
	return out
}

// lookupGlobal resolves a GLOBAL against the allowlist.
func lookupGlobal(module, name string) (any, error) {
	full := module + "." + name
	if k, ok := allowedCallables[full]; ok {
		return &pyGlobal{module: module, name: name, kind: k}, nil
	}
	if module == "torch" {
		if dt, ok := torchStorages[name]; ok {
			return &pyGlobal{module: module, name: name, kind: gStorage, dt: dt}, nil
		}
		if dt, ok := torchUnsupportedStorages[name]; ok {
			return nil, unsupportedErr("storage class torch.%s (%s tensors)", name, dt)
		}
	}
	return nil, &GlobalError{Module: module, Name: name}
}

// typeName names the pickle type of a value in error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		if v.ordered {
			return "OrderedDict"
		}
		return "dict"
	case *pyGlobal:
		return v.String()
	case *storageRef:
		return "storage"
	case *tensorRef:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

// depthOf is the nesting depth of a value (0 for scalars).
func depthOf(v any) int {
	switch v := v.(type) {
	case *pyTuple:
		return v.depth
	case *pyList:
		return v.depth
	case *pyDict:
		return v.depth
	}
	return 0
}

// pickleSource reads a pickle stream from an io.ReaderAt through a small
// window. pos is the absolute offset of the next byte; the stream may not
// read at or past limit (the MaxPickleBytes budget) nor size (the end of
// the data).
type pickleSource struct {
	r           io.ReaderAt
	pos         int64
	limit, size int64
	win         []byte
	winOff      int64
}

const pickleWindow = 4096

func newPickleSource(r io.ReaderAt, start, size, maxBytes int64) *pickleSource {
	limit := size
	if maxBytes < size-start {
		limit = start + maxBytes
	}
	return &pickleSource{r: r, pos: start, limit: limit, size: size, winOff: start}
}

// need checks that n more bytes exist and are within the budget.
func (s *pickleSource) need(n int64) error {
	switch {
	case n < 0 || n > s.size-s.pos:
		return formatErr("truncated: %d bytes needed at byte %d, %d left", n, s.pos, s.size-s.pos)
	case n > s.limit-s.pos:
		return limitErr("pickle longer than MaxPickleBytes")
	}
	return nil
}

func (s *pickleSource) readByte() (byte, error) {
	if err := s.need(1); err != nil {
		return 0, err
	}
	if s.pos < s.winOff || s.pos >= s.winOff+int64(len(s.win)) {
		n := min(int64(pickleWindow), s.limit-s.pos)
		if cap(s.win) < pickleWindow {
			s.win = make([]byte, pickleWindow)
		}
		s.win = s.win[:n]
		if err := readFullAt(s.r, s.win, s.pos); err != nil {
			s.win = s.win[:0]
			return 0, err
		}
		s.winOff = s.pos
	}
	b := s.win[s.pos-s.winOff]
	s.pos++
	return b, nil
}

// read returns the next n bytes in a new slice.
func (s *pickleSource) read(n int64) ([]byte, error) {
	if err := s.need(n); err != nil {
		return nil, err
	}
	out := make([]byte, n)
	done := 0
	if s.pos >= s.winOff && s.pos < s.winOff+int64(len(s.win)) {
		done = copy(out, s.win[s.pos-s.winOff:])
	}
	if err := readFullAt(s.r, out[done:], s.pos+int64(done)); err != nil {
		return nil, err
	}
	s.pos += n
	return out, nil
}

// line returns the bytes up to (excluding) the next '\n'.
func (s *pickleSource) line() ([]byte, error) {
	var out []byte
	for {
		b, err := s.readByte()
		if err != nil {
			return nil, err
		}
		if b == '\n' {
			return out, nil
		}
		out = append(out, b)
	}
}

// readFullAt reads len(p) bytes at off; a short read is a truncated file.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return formatErr("truncated: %d bytes at byte %d, got %d", len(p), off, n)
	}
	return err
}

// unpickler is the restricted virtual machine for one pickle stream.
type unpickler struct {
	src   *pickleSource
	lim   *Limits
	name  string // for errors: "archive/data.pkl", "legacy pickle 4 (state)"
	stack []any
	marks []int // stack heights at each MARK
	memo  map[uint32]any
	ops   int
	// persistentLoad resolves BINPERSID; nil refuses persistent ids.
	persistentLoad func(pid any) (any, error)
	// call executes REDUCE of an allowed callable.
	call func(g *pyGlobal, args []any) (any, error)
}

// opNames names the opcodes for error messages.
var opNames = map[byte]string{
	'(': "MARK", '.': "STOP", '0': "POP", '1': "POP_MARK", '2': "DUP", 'F': "FLOAT", 'I': "INT",
	'J': "BININT", 'K': "BININT1", 'L': "LONG", 'M': "BININT2", 'N': "NONE", 'P': "PERSID",
	'Q': "BINPERSID", 'R': "REDUCE", 'S': "STRING", 'T': "BINSTRING", 'U': "SHORT_BINSTRING",
	'V': "UNICODE", 'X': "BINUNICODE", 'a': "APPEND", 'b': "BUILD", 'c': "GLOBAL", 'd': "DICT",
	'}': "EMPTY_DICT", 'e': "APPENDS", 'g': "GET", 'h': "BINGET", 'i': "INST", 'j': "LONG_BINGET",
	'l': "LIST", ']': "EMPTY_LIST", 'o': "OBJ", 'p': "PUT", 'q': "BINPUT", 'r': "LONG_BINPUT",
	's': "SETITEM", 't': "TUPLE", ')': "EMPTY_TUPLE", 'u': "SETITEMS", 'G': "BINFLOAT",
	0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
	0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4",
	'B': "BINBYTES", 'C': "SHORT_BINBYTES", 0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8",
	0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
	0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
	0x98: "READONLY_BUFFER",
}

// load runs the stream to its STOP opcode and returns the result; the
// source is left just after STOP.
func (u *unpickler) load() (any, error) {
	u.memo = map[uint32]any{}
	for {
		at := u.src.pos
		op, err := u.src.readByte()
		if err != nil {
			return nil, &PickleError{Pickle: u.name, Offset: at, Err: err}
		}
		u.ops++
		if u.ops > u.lim.MaxPickleOps {
			return nil, &PickleError{Pickle: u.name, Offset: at, Op: opNames[op],
				Err: limitErr("more than MaxPickleOps = %d opcodes", u.lim.MaxPickleOps)}
		}
		v, stop, err := u.step(op)
		if err != nil {
			name, ok := opNames[op]
			if !ok {
				name = fmt.Sprintf("0x%02x", op)
			}
			return nil, &PickleError{Pickle: u.name, Offset: at, Op: name, Err: err}
		}
		if stop {
			return v, nil
		}
	}
}

// frame returns the number of stack items above the innermost mark.
func (u *unpickler) frame() int {
	if len(u.marks) == 0 {
		return len(u.stack)
	}
	return len(u.stack) - u.marks[len(u.marks)-1]
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if u.frame() == 0 {
		return nil, formatErr("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack[len(u.stack)-1] = nil
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if u.frame() == 0 {
		return nil, formatErr("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark removes and returns the items above the innermost mark, and
// the mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, formatErr("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := make([]any, len(u.stack)-m)
	copy(items, u.stack[m:])
	clear(u.stack[m:])
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) checkDepth(d int) error {
	if d > u.lim.MaxPickleDepth {
		return limitErr("containers nested deeper than MaxPickleDepth = %d", u.lim.MaxPickleDepth)
	}
	return nil
}

func (u *unpickler) newTuple(items []any) (*pyTuple, error) {
	d := 1
	for _, it := range items {
		d = max(d, depthOf(it)+1)
	}
	if err := u.checkDepth(d); err != nil {
		return nil, err
	}
	return &pyTuple{items: items, depth: d}, nil
}

func (u *unpickler) memoPut(i uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := u.memo[i]; !ok && len(u.memo) >= u.lim.MaxPickleMemo {
		return limitErr("more than MaxPickleMemo = %d memo entries", u.lim.MaxPickleMemo)
	}
	u.memo[i] = v
	return nil
}

func (u *unpickler) memoGet(i uint32) error {
	v, ok := u.memo[i]
	if !ok {
		return formatErr("memo key %d is not defined", i)
	}
	u.push(v)
	return nil
}

// memoIndex parses the decimal argument of PUT and GET.
func memoIndex(line []byte) (uint32, error) {
	i, err := strconv.ParseUint(string(line), 10, 32)
	if err != nil {
		return 0, formatErr("memo index %.20q", line)
	}
	return uint32(i), nil
}

func (u *unpickler) u32() (uint32, error) {
	b, err := u.src.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (u *unpickler) u64() (uint64, error) {
	b, err := u.src.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// counted reads a byte string whose length n was just decoded.
func (u *unpickler) counted(n uint64) ([]byte, error) {
	if n > math.MaxInt64 {
		return nil, formatErr("length %d", n)
	}
	return u.src.read(int64(n))
}

// maxTextInt bounds the digits of a protocol-0 integer: big.Int parsing
// is superlinear, and state dicts hold no integer near this size.
const maxTextInt = 64

// maxLongBytes bounds LONG1/LONG4 integers (torch's magic number takes 10).
const maxLongBytes = 32

// step executes one opcode. It returns the pickle's value and true at STOP.
func (u *unpickler) step(op byte) (any, bool, error) {
	s := u.src
	switch op {
	case 0x80: // PROTO
		p, err := s.readByte()
		if err != nil {
			return nil, false, err
		}
		if p > 5 {
			return nil, false, unsupportedErr("pickle protocol %d", p)
		}
	case 0x95: // FRAME: a hint for buffering; the bytes follow inline.
		n, err := u.u64()
		if err != nil {
			return nil, false, err
		}
		if n > uint64(s.size-s.pos) {
			return nil, false, formatErr("frame of %d bytes, %d left", n, s.size-s.pos)
		}
	case '.': // STOP
		v, err := u.pop()
		return v, err == nil, err
	case '(': // MARK
		if len(u.marks) >= u.lim.MaxPickleDepth {
			return nil, false, limitErr("MARKs nested deeper than MaxPickleDepth = %d", u.lim.MaxPickleDepth)
		}
		u.marks = append(u.marks, len(u.stack))
	case '0': // POP
		if u.frame() == 0 {
			_, err := u.popMark()
			return nil, false, err
		}
		_, err := u.pop()
		return nil, false, err
	case '1': // POP_MARK
		_, err := u.popMark()
		return nil, false, err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return nil, false, err
		}
		u.push(v)
	case 'N':
		u.push(nil)
	case 0x88:
		u.push(true)
	case 0x89:
		u.push(false)
	case 'I': // INT: decimal, or 00/01 for False/True
		l, err := s.line()
		if err != nil {
			return nil, false, err
		}
		switch string(l) {
		case "00":
			u.push(false)
		case "01":
			u.push(true)
		default:
			v, err := parseTextInt(l)
			if err != nil {
				return nil, false, err
			}
			u.push(v)
		}
	case 'L': // LONG: decimal with an optional L
		l, err := s.line()
		if err != nil {
			return nil, false, err
		}
		v, err := parseTextInt([]byte(strings.TrimSuffix(string(l), "L")))
		if err != nil {
			return nil, false, err
		}
		u.push(v)
	case 'J': // BININT
		v, err := u.u32()
		if err != nil {
			return nil, false, err
		}
		u.push(int64(int32(v)))
	case 'K': // BININT1
		b, err := s.readByte()
		if err != nil {
			return nil, false, err
		}
		u.push(int64(b))
	case 'M': // BININT2
		b, err := s.read(2)
		if err != nil {
			return nil, false, err
		}
		u.push(int64(binary.LittleEndian.Uint16(b)))
	case 0x8a, 0x8b: // LONG1, LONG4: little-endian two's complement
		var n uint64
		if op == 0x8a {
			b, err := s.readByte()
			if err != nil {
				return nil, false, err
			}
			n = uint64(b)
		} else {
			v, err := u.u32()
			if err != nil {
				return nil, false, err
			}
			if int32(v) < 0 {
				return nil, false, formatErr("LONG4 with negative length %d", int32(v))
			}
			n = uint64(v)
		}
		if n > maxLongBytes {
			return nil, false, unsupportedErr("integer of %d bytes", n)
		}
		b, err := u.counted(n)
		if err != nil {
			return nil, false, err
		}
		u.push(decodeLong(b))
	case 'F': // FLOAT
		l, err := s.line()
		if err != nil {
			return nil, false, err
		}
		f, err := strconv.ParseFloat(string(l), 64)
		if err != nil {
			return nil, false, formatErr("float %.20q", l)
		}
		u.push(f)
	case 'G': // BINFLOAT, big-endian
		b, err := s.read(8)
		if err != nil {
			return nil, false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'S': // STRING: a quoted Python 2 str repr
		l, err := s.line()
		if err != nil {
			return nil, false, err
		}
		if len(l) < 2 || l[0] != l[len(l)-1] || (l[0] != '\'' && l[0] != '"') {
			return nil, false, formatErr("STRING argument is not quoted")
		}
		l = l[1 : len(l)-1]
		if strings.IndexByte(string(l), '\\') >= 0 {
			return nil, false, unsupportedErr("STRING with escape sequences")
		}
		u.push(string(l))
	case 'V': // UNICODE: raw-unicode-escape
		l, err := s.line()
		if err != nil {
			return nil, false, err
		}
		if strings.IndexByte(string(l), '\\') >= 0 {
			return nil, false, unsupportedErr("UNICODE with escape sequences")
		}
		u.push(string(l))
	case 'T', 'X', 'B': // BINSTRING (signed), BINUNICODE, BINBYTES
		n, err := u.u32()
		if err != nil {
			return nil, false, err
		}
		if op == 'T' && int32(n) < 0 {
			return nil, false, formatErr("BINSTRING with negative length %d", int32(n))
		}
		b, err := u.counted(uint64(n))
		if err != nil {
			return nil, false, err
		}
		if op == 'B' {
			u.push(b)
		} else {
			u.push(string(b))
		}
	case 'U', 'C', 0x8c: // SHORT_BINSTRING, SHORT_BINBYTES, SHORT_BINUNICODE
		n, err := s.readByte()
		if err != nil {
			return nil, false, err
		}
		b, err := u.counted(uint64(n))
		if err != nil {
			return nil, false, err
		}
		if op == 'C' {
			u.push(b)
		} else {
			u.push(string(b))
		}
	case 0x8d, 0x8e, 0x96: // BINUNICODE8, BINBYTES8, BYTEARRAY8
		n, err := u.u64()
		if err != nil {
			return nil, false, err
		}
		b, err := u.counted(n)
		if err != nil {
			return nil, false, err
		}
		if op == 0x8d {
			u.push(string(b))
		} else {
			u.push(b)
		}
	case ')':
		u.push(&pyTuple{depth: 1})
	case 't', 0x85, 0x86, 0x87: // TUPLE, TUPLE1, TUPLE2, TUPLE3
		var items []any
		if op == 't' {
			var err error
			if items, err = u.popMark(); err != nil {
				return nil, false, err
			}
		} else {
			n := int(op - 0x84)
			if u.frame() < n {
				return nil, false, formatErr("stack underflow")
			}
			items = make([]any, n)
			copy(items, u.stack[len(u.stack)-n:])
			clear(u.stack[len(u.stack)-n:])
			u.stack = u.stack[:len(u.stack)-n]
		}
		t, err := u.newTuple(items)
		if err != nil {
			return nil, false, err
		}
		u.push(t)
	case ']':
		u.push(&pyList{depth: 1})
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return nil, false, err
		}
		t, err := u.newTuple(items) // for the depth check
		if err != nil {
			return nil, false, err
		}
		u.push(&pyList{items: t.items, depth: t.depth})
	case 'a', 'e': // APPEND, APPENDS
		var items []any
		if op == 'a' {
			v, err := u.pop()
			if err != nil {
				return nil, false, err
			}
			items = []any{v}
		} else {
			var err error
			if items, err = u.popMark(); err != nil {
				return nil, false, err
			}
		}
		t, err := u.top()
		if err != nil {
			return nil, false, err
		}
		l, ok := t.(*pyList)
		if !ok {
			return nil, false, formatErr("append to %s", typeName(t))
		}
		for _, it := range items {
			if d := depthOf(it) + 1; d > l.depth {
				if err := u.checkDepth(d); err != nil {
					return nil, false, err
				}
				l.depth = d
			}
		}
		l.items = append(l.items, items...)
	case '}':
		u.push(newDict())
	case 'd', 's', 'u': // DICT, SETITEM, SETITEMS
		var items []any
		if op == 's' {
			if u.frame() < 2 {
				return nil, false, formatErr("stack underflow")
			}
			items = []any{u.stack[len(u.stack)-2], u.stack[len(u.stack)-1]}
			clear(u.stack[len(u.stack)-2:])
			u.stack = u.stack[:len(u.stack)-2]
		} else {
			var err error
			if items, err = u.popMark(); err != nil {
				return nil, false, err
			}
		}
		if len(items)%2 != 0 {
			return nil, false, formatErr("odd number of items (%d) for a dict", len(items))
		}
		var d *pyDict
		if op == 'd' {
			d = newDict()
			u.push(d)
		} else {
			t, err := u.top()
			if err != nil {
				return nil, false, err
			}
			var ok bool
			if d, ok = t.(*pyDict); !ok {
				return nil, false, formatErr("set item of %s", typeName(t))
			}
		}
		for i := 0; i < len(items); i += 2 {
			if dd := depthOf(items[i+1]) + 1; dd > d.depth {
				if err := u.checkDepth(dd); err != nil {
					return nil, false, err
				}
				d.depth = dd
			}
			if err := d.set(items[i], items[i+1]); err != nil {
				return nil, false, err
			}
		}
	case 'p': // PUT
		l, err := s.line()
		if err != nil {
			return nil, false, err
		}
		i, err := memoIndex(l)
		if err != nil {
			return nil, false, err
		}
		return nil, false, u.memoPut(i)
	case 'q': // BINPUT
		b, err := s.readByte()
		if err != nil {
			return nil, false, err
		}
		return nil, false, u.memoPut(uint32(b))
	case 'r': // LONG_BINPUT
		i, err := u.u32()
		if err != nil {
			return nil, false, err
		}
		return nil, false, u.memoPut(i)
	case 0x94: // MEMOIZE
		if len(u.memo) >= math.MaxUint32 {
			return nil, false, limitErr("memo full")
		}
		return nil, false, u.memoPut(uint32(len(u.memo)))
	case 'g': // GET
		l, err := s.line()
		if err != nil {
			return nil, false, err
		}
		i, err := memoIndex(l)
		if err != nil {
			return nil, false, err
		}
		return nil, false, u.memoGet(i)
	case 'h': // BINGET
		b, err := s.readByte()
		if err != nil {
			return nil, false, err
		}
		return nil, false, u.memoGet(uint32(b))
	case 'j': // LONG_BINGET
		i, err := u.u32()
		if err != nil {
			return nil, false, err
		}
		return nil, false, u.memoGet(i)
	case 'c': // GLOBAL: "module\nname\n"
		mod, err := s.line()
		if err != nil {
			return nil, false, err
		}
		name, err := s.line()
		if err != nil {
			return nil, false, err
		}
		g, err := lookupGlobal(string(mod), string(name))
		if err != nil {
			return nil, false, err
		}
		u.push(g)
	case 0x93: // STACK_GLOBAL
		name, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		mod, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return nil, false, formatErr("STACK_GLOBAL of %s and %s, want two str", typeName(mod), typeName(name))
		}
		g, err := lookupGlobal(ms, ns)
		if err != nil {
			return nil, false, err
		}
		u.push(g)
	case 'R': // REDUCE
		args, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		fn, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		t, ok := args.(*pyTuple)
		if !ok {
			return nil, false, formatErr("REDUCE arguments are a %s, not a tuple", typeName(args))
		}
		g, ok := fn.(*pyGlobal)
		if !ok {
			return nil, false, formatErr("REDUCE of a %s, which is not callable", typeName(fn))
		}
		if g.kind == gStorage {
			return nil, false, formatErr("REDUCE of storage class %s", g)
		}
		v, err := u.call(g, t.items)
		if err != nil {
			return nil, false, err
		}
		u.push(v)
	case 'b': // BUILD: only the attributes torch sets on an OrderedDict
		state, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		inst, err := u.top()
		if err != nil {
			return nil, false, err
		}
		d, ok := inst.(*pyDict)
		if !ok || !d.ordered {
			return nil, false, unsupportedErr("BUILD of a %s", typeName(inst))
		}
		if _, ok := state.(*pyDict); !ok && state != nil {
			return nil, false, formatErr("BUILD state of an OrderedDict is a %s", typeName(state))
		}
		// The state is the OrderedDict's __dict__, e.g. torch's
		// _metadata (module versions); it is ignored.
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		if u.persistentLoad == nil {
			return nil, false, formatErr("persistent id in a pickle that may not have any")
		}
		v, err := u.persistentLoad(pid)
		if err != nil {
			return nil, false, err
		}
		u.push(v)
	default:
		if name, ok := opNames[op]; ok {
			return nil, false, unsupportedErr("opcode %s is not used by state dicts", name)
		}
		return nil, false, formatErr("unknown opcode 0x%02x", op)
	}
	return nil, false, nil
}

// parseTextInt parses a protocol-0 decimal integer.
func parseTextInt(l []byte) (any, error) {
	if len(l) > maxTextInt {
		return nil, unsupportedErr("integer of %d digits", len(l))
	}
	if v, err := strconv.ParseInt(string(l), 10, 64); err == nil {
		return v, nil
	}
	b, ok := new(big.Int).SetString(string(l), 10)
	if !ok {
		return nil, formatErr("integer %.20q", l)
	}
	return b, nil
}

// decodeLong decodes a little-endian two's-complement integer: an int64
// when it fits, otherwise a *big.Int. Zero bytes encode 0.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if shift := 64 - 8*uint(len(b)); shift > 0 {
			return int64(v<<shift) >> shift // sign-extend
		}
		return int64(v)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

// asInt returns v as an int64 if it is a pickle int (bools excluded).
func asInt(v any) (int64, bool) {
	i, ok := v.(int64)
	return i, ok
}
