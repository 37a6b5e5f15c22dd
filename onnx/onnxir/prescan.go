package onnxir

import (
	"reflect"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// The pre-scan walks the wire format of a ModelProto or TensorProto with
// the schema, before proto.Unmarshal builds anything, and estimates what
// unmarshalling will allocate: every message struct, every slice slot and
// string header, every number widened from its varint. Protobuf expands
// some inputs far beyond their size — an empty NodeProto is 2 bytes on the
// wire and over 200 bytes in memory, a 1-byte varint of a packed int64
// field 8 bytes — so MaxModelBytes alone does not bound memory. The scan
// also counts the main graph's nodes, so MaxNodes is enforced before the
// nodes exist, and bounds nesting like the unmarshaller's RecursionLimit.

// maxNesting matches unmarshalOpts.RecursionLimit.
const maxNesting = 64

// sliceGrowth accounts for append's reallocations when a repeated field
// is unmarshalled element by element: a large slice grows by about 1.25x
// at a time (rounded up to size classes), so it has allocated 5 to 6 times
// its final size in all.
const sliceGrowth = 6

var structSizes sync.Map // protoreflect.FullName → int64

// structSize is the size of the generated Go struct of message md (0 if
// the type is not registered, which cannot happen for onnxpb messages).
func structSize(md protoreflect.MessageDescriptor) int64 {
	if v, ok := structSizes.Load(md.FullName()); ok {
		return v.(int64)
	}
	var size int64
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName()); err == nil {
		size = allocSize(int64(reflect.TypeOf(mt.New().Interface()).Elem().Size()))
	}
	structSizes.Store(md.FullName(), size)
	return size
}

// sizeClasses are the Go allocator's small size classes up to 1 KiB.
var sizeClasses = []int64{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024}

// allocSize rounds n up to the size the allocator hands out for it.
func allocSize(n int64) int64 {
	for _, c := range sizeClasses {
		if n <= c {
			return c
		}
	}
	return (n + 127) &^ 127
}

// scalarSize is the in-memory size of one element of a scalar field.
func scalarSize(k protoreflect.Kind) int64 {
	switch k {
	case protoreflect.BoolKind:
		return 1
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Uint32Kind, protoreflect.EnumKind,
		protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return 4
	}
	return 8
}

// prescan is the state of one pre-scan.
type prescan struct {
	root   string // "ModelProto" or "TensorProto", for errors
	limits Limits
	mem    int64 // estimated bytes unmarshalling allocates
	nodes  int   // NodeProtos of the main graph
}

// scanModel checks b, a serialized ModelProto, against MaxNodes and
// MaxParseBytes before it is unmarshalled.
func scanModel(b []byte, l Limits, md protoreflect.MessageDescriptor) error {
	s := &prescan{root: "ModelProto", limits: l}
	return s.run(b, md)
}

// scanTensor checks b, a serialized TensorProto, against MaxParseBytes.
func scanTensor(b []byte, l Limits, md protoreflect.MessageDescriptor) error {
	s := &prescan{root: "TensorProto", limits: l}
	return s.run(b, md)
}

func (s *prescan) run(b []byte, md protoreflect.MessageDescriptor) error {
	if err := s.message(b, md, 0, false); err != nil {
		return err
	}
	if s.nodes > s.limits.MaxNodes {
		return limitErr("graph has %d nodes, over MaxNodes %d", s.nodes, s.limits.MaxNodes)
	}
	return s.checkMem(int64(len(b)))
}

// checkMem fails when the estimate exceeds the input size by more than
// MaxParseBytes.
func (s *prescan) checkMem(in int64) error {
	if s.mem-in > s.limits.MaxParseBytes {
		return limitErr("%s: unmarshalling %d bytes would allocate about %d bytes, %d more than the input, over MaxParseBytes %d",
			s.root, in, s.mem, s.mem-in, s.limits.MaxParseBytes)
	}
	return nil
}

// message scans the fields of one message of type md; mainGraph is set
// for the GraphProto of ModelProto.graph.
func (s *prescan) message(b []byte, md protoreflect.MessageDescriptor, depth int, mainGraph bool) error {
	if depth > maxNesting {
		return formatErr("%s: messages nested deeper than %d", s.root, maxNesting)
	}
	s.mem += structSize(md)
	fields := md.Fields()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return formatErr("%s: %v", s.root, protowire.ParseError(n))
		}
		b = b[n:]
		fd := fields.ByNumber(num)
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType || fd == nil {
			// Unknown fields (and groups, which ONNX never uses) are kept
			// as raw bytes: a copy of the input.
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return formatErr("%s: %v", s.root, protowire.ParseError(m))
			}
			s.mem += int64(m + n)
			b = b[m:]
			continue
		}
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return formatErr("%s: %v", s.root, protowire.ParseError(m))
			}
			b = b[m:]
			if err := s.bytesField(v, fd, depth, mainGraph); err != nil {
				return err
			}
		case protowire.VarintType, protowire.Fixed32Type, protowire.Fixed64Type:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return formatErr("%s: %v", s.root, protowire.ParseError(m))
			}
			b = b[m:]
			// An unpacked repeated element, or a proto2 optional scalar
			// (a pointer to a separate allocation).
			if fd.IsList() {
				s.mem += sliceGrowth * scalarSize(fd.Kind())
			} else {
				s.mem += 8 + scalarSize(fd.Kind())
			}
		default:
			return formatErr("%s: field %d has invalid wire type %d", s.root, num, typ)
		}
	}
	return nil
}

// bytesField accounts for one length-delimited field: a message, a string
// or bytes value, or a packed run of numbers.
func (s *prescan) bytesField(v []byte, fd protoreflect.FieldDescriptor, depth int, mainGraph bool) error {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.IsList() {
			s.mem += sliceGrowth * 8 // the pointer slot
		}
		if mainGraph && fd.Name() == "node" {
			s.nodes++
		}
		isMain := depth == 0 && s.root == "ModelProto" && fd.Name() == "graph"
		return s.message(v, fd.Message(), depth+1, isMain)
	case protoreflect.StringKind, protoreflect.BytesKind:
		hdr := int64(16) // string header
		if fd.Kind() == protoreflect.BytesKind {
			hdr = 24 // slice header
		}
		if fd.IsList() {
			hdr *= sliceGrowth
		} else {
			hdr += 8 // proto2 optional strings are pointers
		}
		s.mem += hdr + int64(len(v))
		return nil
	}
	// A packed run of scalars: count the elements.
	if !fd.IsList() {
		return formatErr("%s: field %s is not repeated but is length-delimited", s.root, fd.Name())
	}
	var count int64
	switch fd.Kind() {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		count = int64(len(v) / 4)
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		count = int64(len(v) / 8)
	default:
		for _, c := range v {
			if c < 0x80 {
				count++
			}
		}
	}
	s.mem += count * scalarSize(fd.Kind())
	return nil
}
