package statedict

import (
	"archive/zip"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unsafe"
)

// storageRef is a storage named by a persistent id: its key, element
// type and element count. The container reader says where its bytes are.
type storageRef struct {
	key   string
	dt    *dtype
	numel int64
	file  *zip.File // zip format: the data/<key> entry
	off   int64     // legacy format: offset of the raw data in the file
}

// tensorRef is a tensor rebuilt by _rebuild_tensor(_v2): a strided view
// of a storage, in elements.
type tensorRef struct {
	st     *storageRef
	offset int64
	shape  []int64
	stride []int64
}

// torchReader holds what the pickle hooks share for one file.
type torchReader struct {
	lim      *Limits
	legacy   bool // persistent ids carry a sixth item (view metadata)
	storages map[string]*storageRef
	format   Format
}

func newTorchReader(lim *Limits, f Format) *torchReader {
	return &torchReader{lim: lim, legacy: f == TorchLegacy, storages: map[string]*storageRef{}, format: f}
}

func (t *torchReader) unpickler(src *pickleSource, name string) *unpickler {
	return &unpickler{src: src, lim: t.lim, name: name, persistentLoad: t.persistentLoad, call: t.call}
}

// persistentLoad resolves ('storage', storage_class, key, location, numel)
// (plus view_metadata, always None, in the legacy format) to a storageRef.
func (t *torchReader) persistentLoad(pid any) (any, error) {
	tup, ok := pid.(*pyTuple)
	if !ok || len(tup.items) == 0 {
		return nil, formatErr("persistent id is a %s, not a non-empty tuple", typeName(pid))
	}
	switch kind, _ := tup.items[0].(string); kind {
	case "storage":
	case "module":
		return nil, unsupportedErr("persistent id of a pickled nn.Module class (save model.state_dict() instead)")
	default:
		return nil, formatErr("persistent id of kind %s", typeName(tup.items[0]))
	}
	want := 5
	if t.legacy {
		want = 6
	}
	it := tup.items
	if len(it) != want {
		return nil, formatErr("storage persistent id has %d items, want %d", len(it), want)
	}
	g, ok := it[1].(*pyGlobal)
	if !ok || g.kind != gStorage {
		return nil, formatErr("storage class is a %s", typeName(it[1]))
	}
	key, ok1 := it[2].(string)
	_, ok2 := it[3].(string) // location ("cpu", "cuda:0"): the bytes are the same
	numel, ok3 := asInt(it[4])
	if !ok1 || !ok2 || !ok3 {
		return nil, formatErr("storage persistent id (%s, %s, %s), want (str, str, int)",
			typeName(it[2]), typeName(it[3]), typeName(it[4]))
	}
	if t.legacy && it[5] != nil {
		return nil, unsupportedErr("storage %q is a legacy storage view", key)
	}
	if key == "" || strings.ContainsAny(key, "/\\\x00") || key == "." || key == ".." {
		return nil, formatErr("storage key %q", key)
	}
	if numel < 0 {
		return nil, formatErr("storage %q has %d elements", key, numel)
	}
	if numel > t.lim.MaxTensorElements {
		return nil, limitErr("storage %q has %d elements, more than MaxTensorElements = %d", key, numel, t.lim.MaxTensorElements)
	}
	if st, ok := t.storages[key]; ok {
		if st.dt != g.dt || st.numel != numel {
			return nil, formatErr("storage %q is declared as %d %s and as %d %s", key, st.numel, st.dt.name, numel, g.dt.name)
		}
		return st, nil
	}
	if len(t.storages) >= t.lim.MaxTensors {
		return nil, limitErr("more than MaxTensors = %d storages", t.lim.MaxTensors)
	}
	st := &storageRef{key: key, dt: g.dt, numel: numel}
	t.storages[key] = st
	return st, nil
}

// call executes REDUCE of an allowed callable.
func (t *torchReader) call(g *pyGlobal, args []any) (any, error) {
	switch g.kind {
	case gOrderedDict:
		d := newDict()
		d.ordered = true
		switch len(args) {
		case 0:
			return d, nil
		case 1: // Python 2 pickles: OrderedDict([[k, v], ...])
			var items []any
			switch a := args[0].(type) {
			case *pyList:
				items = a.items
			case *pyTuple:
				items = a.items
			default:
				return nil, formatErr("OrderedDict(%s)", typeName(args[0]))
			}
			d.depth = max(d.depth, depthOf(args[0]))
			for _, kv := range items {
				var pair []any
				switch p := kv.(type) {
				case *pyList:
					pair = p.items
				case *pyTuple:
					pair = p.items
				}
				if len(pair) != 2 {
					return nil, formatErr("OrderedDict item is a %s, not a pair", typeName(kv))
				}
				if err := d.set(pair[0], pair[1]); err != nil {
					return nil, err
				}
			}
			return d, nil
		}
		return nil, formatErr("OrderedDict with %d arguments", len(args))
	case gRebuildTensor:
		if len(args) != 4 {
			return nil, formatErr("%s with %d arguments, want 4", g, len(args))
		}
		return t.rebuild(g, args)
	case gRebuildTensorV2:
		// (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
		if len(args) != 6 && len(args) != 7 {
			return nil, formatErr("%s with %d arguments, want 6 or 7", g, len(args))
		}
		if _, ok := args[4].(bool); !ok {
			return nil, formatErr("%s: requires_grad is a %s", g, typeName(args[4]))
		}
		if _, ok := args[5].(*pyDict); !ok {
			return nil, formatErr("%s: backward_hooks is a %s", g, typeName(args[5]))
		}
		if len(args) == 7 {
			if m, ok := args[6].(*pyDict); !ok || len(m.keys) > 0 {
				return nil, unsupportedErr("%s: tensor metadata %s", g, typeName(args[6]))
			}
		}
		return t.rebuild(g, args[:4])
	case gRebuildParameter, gRebuildParameterWithState:
		// (data, requires_grad, backward_hooks[, state])
		want := 3
		if g.kind == gRebuildParameterWithState {
			want = 4
		}
		if len(args) != want {
			return nil, formatErr("%s with %d arguments, want %d", g, len(args), want)
		}
		tr, ok := args[0].(*tensorRef)
		if !ok {
			return nil, formatErr("%s of a %s", g, typeName(args[0]))
		}
		if want == 4 {
			if s, ok := args[3].(*pyDict); args[3] != nil && (!ok || len(s.keys) > 0) {
				return nil, unsupportedErr("%s: parameter state %s", g, typeName(args[3]))
			}
		}
		return tr, nil
	}
	return nil, formatErr("%s is not callable", g)
}

// rebuild builds a tensorRef from (storage, storage_offset, size, stride).
// The view is checked against the storage when the state dict is
// extracted, where the error can name the key.
func (t *torchReader) rebuild(g *pyGlobal, args []any) (any, error) {
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, formatErr("%s of a %s, not a storage", g, typeName(args[0]))
	}
	off, ok := asInt(args[1])
	if !ok || off < 0 {
		return nil, formatErr("%s: storage offset %v", g, args[1])
	}
	shape, err := t.intTuple(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := t.intTuple(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(stride) != len(shape) {
		return nil, formatErr("%s: %d sizes and %d strides", g, len(shape), len(stride))
	}
	return &tensorRef{st: st, offset: off, shape: shape, stride: stride}, nil
}

func (t *torchReader) intTuple(v any, what string) ([]int64, error) {
	tup, ok := v.(*pyTuple)
	if !ok {
		return nil, formatErr("tensor %s is a %s, not a tuple", what, typeName(v))
	}
	if len(tup.items) > t.lim.MaxRank {
		return nil, limitErr("tensor rank %d exceeds MaxRank = %d", len(tup.items), t.lim.MaxRank)
	}
	out := make([]int64, len(tup.items))
	for i, it := range tup.items {
		n, ok := asInt(it)
		if !ok || n < 0 {
			return nil, formatErr("tensor %s[%d] = %v", what, i, it)
		}
		out[i] = n
	}
	return out, nil
}

// selectStateDict finds the state dict in a checkpoint's top-level
// object: the object itself when it is a dict of tensors, otherwise its
// "state_dict" or "model" entry (in that order) when that is one.
func selectStateDict(root any) (*pyDict, string, error) {
	d, ok := root.(*pyDict)
	if !ok {
		return nil, "", unsupportedErr("the file holds a %s, not a state dict", typeName(root))
	}
	bad := notStateDict(d)
	if bad == "" {
		return d, "", nil
	}
	for _, k := range []string{"state_dict", "model"} {
		if v, ok := d.get(k); ok {
			if sd, ok := v.(*pyDict); ok && notStateDict(sd) == "" {
				return sd, k, nil
			}
		}
	}
	return nil, "", unsupportedErr("the top-level dict is not a state dict (%s) and has no \"state_dict\" or \"model\" entry that is one", bad)
}

// notStateDict says why d is not a dict of str -> tensor ("" if it is).
func notStateDict(d *pyDict) string {
	for i, k := range d.keys {
		ks, ok := k.(string)
		if !ok {
			return fmt.Sprintf("key %v is a %s", k, typeName(k))
		}
		if _, ok := d.vals[i].(*tensorRef); !ok {
			return fmt.Sprintf("%q is a %s, not a tensor", ks, typeName(d.vals[i]))
		}
	}
	return ""
}

// view is a tensor of the result with the storage view it comes from.
type view struct {
	out *Tensor
	ref *tensorRef
}

// checkView validates a view against its storage and returns its element
// count.
func checkView(r *tensorRef, lim *Limits) (int64, error) {
	n := int64(1)
	for _, s := range r.shape {
		if s != 0 && n > lim.MaxTensorElements/s {
			return 0, limitErr("shape %v has more than MaxTensorElements = %d elements", r.shape, lim.MaxTensorElements)
		}
		n *= s
	}
	if n > lim.MaxTensorElements {
		return 0, limitErr("shape %v has %d elements, more than MaxTensorElements = %d", r.shape, n, lim.MaxTensorElements)
	}
	if n == 0 {
		if r.offset > r.st.numel {
			return 0, formatErr("storage offset %d past the end of storage %q (%d elements)", r.offset, r.st.key, r.st.numel)
		}
		return 0, nil
	}
	// The last element is offset + sum((size-1)*stride). Each term is
	// checked against the storage before it is added, so nothing
	// overflows.
	past := func() (int64, error) {
		return 0, formatErr("view (offset %d, size %v, stride %v) reaches past the end of storage %q (%d elements)",
			r.offset, r.shape, r.stride, r.st.key, r.st.numel)
	}
	last := r.offset
	if last >= r.st.numel {
		return past()
	}
	for i, s := range r.shape {
		if r.stride[i] > 0 && s-1 > (r.st.numel-1)/r.stride[i] {
			return past()
		}
		if last += (s - 1) * r.stride[i]; last >= r.st.numel {
			return past()
		}
	}
	return n, nil
}

// contiguous reports whether a view is C-contiguous (size-1 dimensions
// may have any stride, as in torch).
func (r *tensorRef) contiguous() bool {
	want := int64(1)
	for i := len(r.shape) - 1; i >= 0; i-- {
		if r.shape[i] != 1 && r.stride[i] != want {
			return false
		}
		want *= r.shape[i]
	}
	return true
}

// buildStateDict turns the selected dict into the result: float tensors
// get a Data slice to fill, integer ones are listed in Skipped. It returns
// the views grouped by storage, in order of first use.
func buildStateDict(d *pyDict, lim *Limits) (*StateDict, map[*storageRef][]view, []*storageRef, error) {
	if len(d.keys) > lim.MaxTensors {
		return nil, nil, nil, limitErr("state dict has %d entries, more than MaxTensors = %d", len(d.keys), lim.MaxTensors)
	}
	sd := &StateDict{}
	users := map[*storageRef][]view{}
	var order []*storageRef
	var total int64
	for i, k := range d.keys {
		name := k.(string) // checked by notStateDict
		r := d.vals[i].(*tensorRef)
		if !r.st.dt.float {
			sd.Skipped = append(sd.Skipped, name)
			continue
		}
		n, err := checkView(r, lim)
		if err != nil {
			return nil, nil, nil, &TensorError{Tensor: name, Err: err}
		}
		total += 4 * n
		if total > lim.MaxTotalBytes {
			return nil, nil, nil, &TensorError{Tensor: name, Err: limitErr("tensors take more than MaxTotalBytes = %d bytes as float32", lim.MaxTotalBytes)}
		}
		shape := make([]int, len(r.shape))
		for j, s := range r.shape {
			shape[j] = int(s)
		}
		t := &Tensor{Name: name, Shape: shape, DType: r.st.dt.name}
		sd.Tensors = append(sd.Tensors, t)
		if users[r.st] == nil {
			order = append(order, r.st)
		}
		users[r.st] = append(users[r.st], view{out: t, ref: r})
	}
	// Storages whose first full contiguous view cannot take the decoded
	// storage itself need a temporary buffer.
	for _, st := range order {
		if owner(users[st]) < 0 {
			total += 4 * st.numel
			if total > lim.MaxTotalBytes {
				return nil, nil, nil, &EntryError{Entry: "storage " + st.key, Err: limitErr("tensors and strided storages take more than MaxTotalBytes = %d bytes as float32", lim.MaxTotalBytes)}
			}
		}
	}
	return sd, users, order, nil
}

// owner returns the index of the first view that covers its whole
// storage contiguously from offset 0 (it receives the decoded storage
// without a copy), or -1.
func owner(vs []view) int {
	for i, v := range vs {
		if v.ref.offset == 0 && v.ref.contiguous() && numel(v.ref.shape) == v.ref.st.numel {
			return i
		}
	}
	return -1
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, s := range shape {
		n *= s
	}
	return n
}

// decodeStorages reads each storage once and fills the views of it.
// open returns a reader of exactly the storage's bytes and a function
// that verifies the end of the data (a zip entry's checksum).
func decodeStorages(users map[*storageRef][]view, order []*storageRef,
	open func(st *storageRef) (io.Reader, func() error, string, error)) error {
	buf := make([]byte, decodeChunk)
	for _, st := range order {
		vs := users[st]
		r, finish, where, err := open(st)
		if err != nil {
			return err
		}
		data := make([]float32, st.numel)
		o := owner(vs)
		if o >= 0 {
			vs[o].out.Data = data
		}
		bad, err := decodeStream(data, r, st.dt, buf)
		if err == nil {
			err = finish()
		}
		if err != nil {
			return &EntryError{Entry: where, Err: err}
		}
		if o >= 0 && bad >= 0 {
			return &TensorError{Tensor: vs[o].out.Name, Err: formatErr("element %d is %v", bad, data[bad])}
		}
		for i, v := range vs {
			if i == o {
				continue
			}
			n := numel(v.ref.shape)
			v.out.Data = make([]float32, n)
			gather(v.out.Data, data, v.ref.offset, v.ref.shape, v.ref.stride)
			if j := firstNonFinite(v.out.Data); j >= 0 {
				return &TensorError{Tensor: v.out.Name, Err: formatErr("element %d is %v", j, v.out.Data[j])}
			}
		}
	}
	return nil
}

// decodeChunk is the read size of decodeStream (a multiple of 8).
const decodeChunk = 256 << 10

// decodeStream fills dst from exactly len(dst)*dt.size bytes of r. It
// returns the index of the first non-finite element, or -1.
func decodeStream(dst []float32, r io.Reader, dt *dtype, buf []byte) (int, error) {
	if dt == dtFloat32 && littleEndianHost {
		return readFloat32Direct(dst, r)
	}
	return decodeChunked(dst, r, dt, buf)
}

// decodeChunked reads through buf and converts each chunk into dst.
func decodeChunked(dst []float32, r io.Reader, dt *dtype, buf []byte) (int, error) {
	per := len(buf) / int(dt.size)
	bad := -1
	for done := 0; done < len(dst); {
		n := min(per, len(dst)-done)
		if _, err := io.ReadFull(r, buf[:n*int(dt.size)]); err != nil {
			return -1, readErr(err, int64(done)*dt.size)
		}
		if b := decodeFloats(dst[done:done+n], buf, dt); b >= 0 && bad < 0 {
			bad = done + b
		}
		done += n
	}
	return bad, nil
}

// littleEndianHost reports whether float32 values in memory have the
// file's byte order.
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// readFloat32Direct reads little-endian float32 data straight into the
// memory of dst (on a little-endian host the bytes are the values), then
// checks them: one copy from the file instead of two.
func readFloat32Direct(dst []float32, r io.Reader) (int, error) {
	if len(dst) == 0 {
		return -1, nil
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst))
	if n, err := io.ReadFull(r, b); err != nil {
		return -1, readErr(err, int64(n))
	}
	return firstNonFinite(dst), nil
}

// readErr classifies an error of reading data: truncation, checksum and
// decompression failures are format errors; others (I/O) are returned
// as they are.
func readErr(err error, at int64) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return formatErr("truncated after %d bytes", at)
	case errors.Is(err, zip.ErrChecksum), errors.Is(err, zip.ErrFormat), errors.As(err, &corrupt):
		return formatErr("%v", err)
	case errors.Is(err, zip.ErrAlgorithm):
		return unsupportedErr("%v", err)
	case errors.Is(err, ErrFormat), errors.Is(err, ErrUnsupported):
		return err
	}
	return fmt.Errorf("statedict: reading data: %w", err)
}

// gather copies the strided view (offset, shape, stride) of src into the
// C-contiguous dst. The view was checked by checkView.
func gather(dst, src []float32, offset int64, shape, stride []int64) {
	rank := len(shape)
	if rank == 0 {
		dst[0] = src[offset]
		return
	}
	inner, step := shape[rank-1], stride[rank-1]
	idx := make([]int64, rank-1)
	base := offset
	for k := int64(0); k < int64(len(dst)); k += inner {
		row := dst[k : k+inner]
		if step == 1 {
			copy(row, src[base:base+inner])
		} else {
			p := base
			for j := range row {
				row[j] = src[p]
				p += step
			}
		}
		// Advance the odometer over the outer dimensions.
		for d := rank - 2; d >= 0; d-- {
			idx[d]++
			base += stride[d]
			if idx[d] < shape[d] {
				break
			}
			base -= idx[d] * stride[d]
			idx[d] = 0
		}
	}
}

// finishTorch selects the state dict, decodes the storages it uses and
// fills in the result.
func finishTorch(root any, lim *Limits, f Format,
	open func(st *storageRef) (io.Reader, func() error, string, error)) (*StateDict, error) {
	d, where, err := selectStateDict(root)
	if err != nil {
		return nil, err
	}
	sd, users, order, err := buildStateDict(d, lim)
	if err != nil {
		return nil, err
	}
	sd.Format, sd.Root = f, where
	if err := decodeStorages(users, order, open); err != nil {
		return nil, err
	}
	return sd, nil
}

// checkMagic verifies the first pickle of the legacy format.
func checkMagic(v any) error {
	want := new(big.Int).SetBytes([]byte{0x19, 0x50, 0xa8, 0x6a, 0x20, 0xf9, 0x46, 0x9c, 0xfc, 0x6c})
	if b, ok := v.(*big.Int); ok && b.Cmp(want) == 0 {
		return nil
	}
	return formatErr("magic number is %v, want 0x1950a86a20f9469cfc6c", v)
}
