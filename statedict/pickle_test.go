package statedict

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inceptionzoo/inception/internal/testkit"
)

// unpickle runs the restricted unpickler on b with the torch hooks of
// the zip format.
func unpickle(b []byte, lim Limits) (any, error) {
	l := lim.withDefaults()
	t := newTorchReader(&l, TorchZip)
	return t.unpickler(newPickleSource(bytes.NewReader(b), 0, int64(len(b)), l.MaxPickleBytes), "test.pkl").load()
}

// canon renders a decoded value in testdata/pickles.py's canonical JSON
// form.
func canon(t *testing.T, v any) any {
	switch v := v.(type) {
	case nil, bool, string:
		return v
	case int64:
		return map[string]any{"int": strconv.FormatInt(v, 10)}
	case *big.Int:
		return map[string]any{"int": v.String()}
	case float64:
		return map[string]any{"float": pyFloatHex(v)}
	case []byte:
		return map[string]any{"bytes": hex.EncodeToString(v)}
	case *pyTuple:
		return map[string]any{"tuple": canonList(t, v.items)}
	case *pyList:
		return map[string]any{"list": canonList(t, v.items)}
	case *pyDict:
		items := []any{}
		for i, k := range v.keys {
			items = append(items, []any{canon(t, k), canon(t, v.vals[i])})
		}
		kind := "dict"
		if v.ordered {
			kind = "odict"
		}
		return map[string]any{kind: items}
	}
	t.Fatalf("canon: unexpected %T", v)
	return nil
}

func canonList(t *testing.T, items []any) []any {
	out := []any{}
	for _, it := range items {
		out = append(out, canon(t, it))
	}
	return out
}

// pyFloatHex formats f like Python's float.hex().
func pyFloatHex(f float64) string {
	switch {
	case f == 0 && math.Signbit(f):
		return "-0x0.0p+0"
	case f == 0:
		return "0x0.0p+0"
	}
	frac, exp := math.Frexp(math.Abs(f)) // f = frac * 2^exp, frac in [0.5, 1)
	bits := math.Float64bits(frac*2) & (1<<52 - 1)
	e := exp - 1
	lead := "1"
	if e < -1022 { // subnormal
		bits = math.Float64bits(math.Abs(f)) & (1<<52 - 1)
		lead, e = "0", -1022
	}
	m := strconv.FormatUint(bits|1<<52, 16)[1:] // 13 hex digits
	sign := ""
	if f < 0 {
		sign = "-"
	}
	es := strconv.Itoa(e)
	if e >= 0 {
		es = "+" + es
	}
	return sign + "0x" + lead + "." + m + "p" + es
}

// TestUnpicklePython decodes pickles of plain objects that Python's
// pickle module wrote with protocols 0 to 5 and compares them with
// Python's own rendering.
func TestUnpicklePython(t *testing.T) {
	if out, err := exec.Command(python, "-c", "import pickle").CombinedOutput(); err != nil {
		testkit.Missing(t, "oracle missing: %s: %v: %s (install Debian python3)", python, err, out)
	}
	path := filepath.Join(t.TempDir(), "pickles.json")
	out, err := exec.Command(python, "testdata/pickles.py", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var cases []struct {
		Name     string `json:"name"`
		Protocol int    `json:"protocol"`
		Pickle   string `json:"pickle"`
		Want     any    `json:"want"`
	}
	require.NoError(t, json.Unmarshal(b, &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(c.Name+"/p"+strconv.Itoa(c.Protocol), func(t *testing.T) {
			data, err := hex.DecodeString(c.Pickle)
			require.NoError(t, err)
			v, err := unpickle(data, Limits{})
			if c.Want == nil {
				require.ErrorIs(t, err, ErrUnsupported)
				return
			}
			require.NoError(t, err)
			got, err := json.Marshal(canon(t, v))
			require.NoError(t, err)
			want, err := json.Marshal(c.Want)
			require.NoError(t, err)
			assert.JSONEq(t, string(want), string(got))
		})
	}
}

func TestPyFloatHex(t *testing.T) {
	for f, want := range map[float64]string{1: "0x1.0000000000000p+0", 1.5: "0x1.8000000000000p+0", 0.1: "0x1.999999999999ap-4",
		-2: "-0x1.0000000000000p+1", 5e-324: "0x0.0000000000001p-1022", math.MaxFloat64: "0x1.fffffffffffffp+1023"} {
		assert.Equal(t, want, pyFloatHex(f), "%v", f)
	}
}

// TestUnpickleOpcodes covers opcodes and edge cases by hand-assembled
// pickles.
func TestUnpickleOpcodes(t *testing.T) {
	tests := []struct {
		name   string
		pickle string
		want   any // canonical form; nil with err set
		err    error
		substr string
	}{
		{"LONG1 of zero bytes is 0", "\x80\x02\x8a\x00.", map[string]any{"int": "0"}, nil, ""},
		{"LONG1 negative", "\x80\x02\x8a\x02\x00\xff.", map[string]any{"int": "-256"}, nil, ""},
		{"LONG1 9 bytes", "\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x80.", map[string]any{"int": "-2361183241434822606848"}, nil, ""},
		{"LONG4", "\x80\x02\x8b\x01\x00\x00\x00\x05.", map[string]any{"int": "5"}, nil, ""},
		{"INT bools", "(I01\nI00\nt.", map[string]any{"tuple": []any{true, false}}, nil, ""},
		{"LONG text with L", "L-12345678901234567890L\n.", map[string]any{"int": "-12345678901234567890"}, nil, ""},
		{"STRING quoted", "S'abc'\n.", "abc", nil, ""},
		{"STRING with escapes", "S'a\\nb'\n.", nil, ErrUnsupported, "STRING with escape sequences"},
		{"STRING unquoted", "Sabc\n.", nil, ErrFormat, "not quoted"},
		{"BINSTRING", "T\x02\x00\x00\x00hi.", "hi", nil, ""},
		{"BINSTRING negative", "T\xff\xff\xff\xffhi.", nil, ErrFormat, "negative length"},
		{"SHORT_BINSTRING", "U\x02hi.", "hi", nil, ""},
		{"BINBYTES8", "\x80\x04\x8e\x02\x00\x00\x00\x00\x00\x00\x00hi.", map[string]any{"bytes": "6869"}, nil, ""},
		{"BYTEARRAY8", "\x80\x05\x96\x01\x00\x00\x00\x00\x00\x00\x00z.", map[string]any{"bytes": "7a"}, nil, ""},
		{"BINUNICODE8", "\x80\x04\x8d\x01\x00\x00\x00\x00\x00\x00\x00z.", "z", nil, ""},
		{"POP on an empty frame pops the mark", "K\x01(0.", map[string]any{"int": "1"}, nil, ""},
		{"POP_MARK", "K\x01(K\x02K\x031.", map[string]any{"int": "1"}, nil, ""},
		{"DUP", "K\x07\x32\x86.", map[string]any{"tuple": []any{map[string]any{"int": "7"}, map[string]any{"int": "7"}}}, nil, ""},
		{"True and 1 are one dict key", "}(\x88K\x01K\x01K\x02u.", map[string]any{"dict": []any{[]any{true, map[string]any{"int": "2"}}}}, nil, ""},
		{"dict key of type tuple", "})K\x01s.", nil, ErrUnsupported, "dict key of type tuple"},
		{"dict key of type float", "}G\x3f\xf0\x00\x00\x00\x00\x00\x00K\x01s.", nil, ErrUnsupported, "dict key of type float"},
		{"python2 OrderedDict", "ccollections\nOrderedDict\n]((U\x01aK\x01lU\x01bK\x02\x86e\x85R.",
			nil, nil, ""}, // checked below
		{"OrderedDict of a str", "ccollections\nOrderedDict\nU\x01a\x85R.", nil, ErrFormat, "OrderedDict(str)"},
		{"OrderedDict item not a pair", "ccollections\nOrderedDict\n]K\x01a\x85R.", nil, ErrFormat, "not a pair"},
		{"PROTO 6", "\x80\x06N.", nil, ErrUnsupported, "pickle protocol 6"},
		{"PERSID text", "P0\n.", nil, ErrUnsupported, "opcode PERSID"},
		{"NEWOBJ", "\x80\x02N)\x81.", nil, ErrUnsupported, "opcode NEWOBJ"},
		{"INST", "(iQ\nR\n.", nil, ErrUnsupported, "opcode INST"},
		{"EMPTY_SET", "\x80\x04\x8f.", nil, ErrUnsupported, "opcode EMPTY_SET"},
		{"GET undefined", "g5\n.", nil, ErrFormat, "memo key 5 is not defined"},
		{"PUT bad index", "Np-1\n.", nil, ErrFormat, "memo index"},
		{"MEMOIZE and BINGET", "\x80\x04K\x09\x94h\x00\x86.", map[string]any{"tuple": []any{map[string]any{"int": "9"}, map[string]any{"int": "9"}}}, nil, ""},
		{"APPEND to a dict", "}K\x01a.", nil, ErrFormat, "append to dict"},
		{"SETITEM on a list", "]K\x01K\x02s.", nil, ErrFormat, "set item of list"},
		{"STOP with empty stack", ".", nil, ErrFormat, "stack underflow"},
		{"TUPLE3 underflow", "K\x01\x87.", nil, ErrFormat, "stack underflow"},
		{"no MARK", "t.", nil, ErrFormat, "no MARK"},
		{"integer of 65 digits", "I" + strings.Repeat("9", 65) + "\n.", nil, ErrUnsupported, "integer of 65 digits"},
		{"FLOAT garbage", "Fx\n.", nil, ErrFormat, "float"},
		{"STACK_GLOBAL of ints", "\x80\x04K\x01K\x02\x93.", nil, ErrFormat, "STACK_GLOBAL of int and int"},
		{"persistent id in a plain pickle", "K\x01Q.", nil, ErrFormat, "persistent id is a int"},
		{"REDUCE args not a tuple", "ccollections\nOrderedDict\nK\x01R.", nil, ErrFormat, "REDUCE arguments are a int"},
		{"BUILD on a plain dict", "}}b.", nil, ErrUnsupported, "BUILD of a dict"},
		{"BUILD state of an OrderedDict is a list", "ccollections\nOrderedDict\n)R]b.", nil, ErrFormat, "BUILD state of an OrderedDict is a list"},
		{"FRAME past the end", "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00N.", nil, ErrFormat, "frame of 16 bytes"},
		{"FRAME ignored", "\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N.", nil, nil, ""},
		{"rebuild_tensor of an int", "ctorch._utils\n_rebuild_tensor\n(K\x00K\x00))tR.", nil, ErrFormat, "not a storage"},
		{"rebuild_tensor_v2 with 5 args", "ctorch._utils\n_rebuild_tensor_v2\n(K\x00K\x00))\x89tR.", nil, ErrFormat, "with 5 arguments, want 6 or 7"},
		{"rebuild_parameter of an int", "ctorch._utils\n_rebuild_parameter\n(K\x00\x89}tR.", nil, ErrFormat, "_rebuild_parameter of a int"},
		{"global of an unknown torch function", "ctorch\nload\n.", nil, ErrForbidden, `global "torch.load" is not allowed in a state dict`},
		{"global of a module class", "ctorchvision.models.inception\nInception3\n.", nil, ErrForbidden, "save model.state_dict() instead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := unpickle([]byte(tt.pickle), Limits{})
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Contains(t, err.Error(), tt.substr)
				return
			}
			require.NoError(t, err)
			if tt.want != nil {
				got, _ := json.Marshal(canon(t, v))
				want, _ := json.Marshal(tt.want)
				assert.JSONEq(t, string(want), string(got))
			}
		})
	}
}

func TestUnpicklePython2OrderedDict(t *testing.T) {
	v, err := unpickle([]byte("ccollections\nOrderedDict\n]((U\x01aK\x01lU\x01bK\x02\x86e\x85R."), Limits{})
	require.NoError(t, err)
	d, ok := v.(*pyDict)
	require.True(t, ok, "%T", v)
	assert.True(t, d.ordered)
	assert.Equal(t, []any{"a", "b"}, d.keys)
	assert.Equal(t, []any{int64(1), int64(2)}, d.vals)
}

// TestUnpickleSelfReference: a list that contains itself must not make
// anything loop.
func TestUnpickleSelfReference(t *testing.T) {
	v, err := unpickle([]byte("\x80\x02]q\x00h\x00a."), Limits{})
	require.NoError(t, err)
	l := v.(*pyList)
	assert.Same(t, l, l.items[0])
	_, err = Read(bytes.NewReader(zipPickle([]byte("\x80\x02]q\x00h\x00a."))()), 0, Limits{})
	assert.Error(t, err)
}

func TestPickleErrorMessage(t *testing.T) {
	_, err := unpickle([]byte("\x80\x02cos\nsystem\n."), Limits{})
	var pe *PickleError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "test.pkl", pe.Pickle)
	assert.EqualValues(t, 2, pe.Offset)
	assert.Equal(t, "GLOBAL", pe.Op)
	var ge *GlobalError
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, "os", ge.Module)
	assert.Equal(t, "system", ge.Name)
	assert.Equal(t, `statedict: test.pkl at byte 2 (GLOBAL): global "os.system" is not allowed in a state dict`, err.Error())
}

func TestAllowedGlobals(t *testing.T) {
	assert.Equal(t, []string{
		"collections.OrderedDict",
		"torch.BFloat16Storage", "torch.BoolStorage", "torch.ByteStorage", "torch.CharStorage",
		"torch.DoubleStorage", "torch.FloatStorage", "torch.HalfStorage", "torch.IntStorage",
		"torch.LongStorage", "torch.ShortStorage",
		"torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
		"torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
	}, AllowedGlobals())
}
