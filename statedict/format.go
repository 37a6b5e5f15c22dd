package statedict

import (
	"bytes"
	"encoding/binary"

	"google.golang.org/protobuf/encoding/protowire"
)

// Format is the container format of a weight file, detected by content.
type Format int

// The formats Detect recognises.
const (
	Unknown     Format = iota
	ONNX               // an ONNX ModelProto (read it with package onnx)
	TorchZip           // torch.save since PyTorch 1.6: a zip with data.pkl and data/<key>
	TorchLegacy        // torch.save(..., _use_new_zipfile_serialization=False)
	Safetensors        // u64 header length, JSON header, raw tensor data
)

var formatNames = [...]string{
	Unknown:     "unknown",
	ONNX:        "onnx",
	TorchZip:    "torch-zip",
	TorchLegacy: "torch-legacy",
	Safetensors: "safetensors",
}

func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return "Format(?)"
	}
	return formatNames[f]
}

// DetectSize is the number of leading bytes Detect needs to recognise
// every format. Detect works on fewer bytes where the format allows it.
const DetectSize = 32

// torchMagic is torch's legacy magic number 0x1950a86a20f9469cfc6c as the
// little-endian bytes of a pickle LONG1.
var torchMagic = []byte{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// Detect identifies the format of a file from its first bytes (at most
// DetectSize are looked at), never from its name:
//   - TorchZip: a zip local file header "PK\x03\x04" (Read then insists
//     on a data.pkl entry);
//   - TorchLegacy: a pickle (any protocol, framed or not) whose first
//     object is torch's magic number 0x1950a86a20f9469cfc6c;
//   - Safetensors: an 8-byte little-endian header length followed by '{';
//   - ONNX: protobuf fields that are ModelProto's, with matching wire
//     types, as far as the head reaches.
func Detect(head []byte) Format {
	if len(head) > DetectSize {
		head = head[:DetectSize]
	}
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return TorchZip
	case isLegacyTorch(head):
		return TorchLegacy
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) >= 2:
		return Safetensors
	case isONNX(head):
		return ONNX
	}
	return Unknown
}

// torchMagicText is the magic number as protocol 0 and 1 write it (LONG).
const torchMagicText = "L119547037146038801333356L\n."

func isLegacyTorch(h []byte) bool {
	if bytes.HasPrefix(h, []byte(torchMagicText)) {
		return true
	}
	if len(h) < 2 || h[0] != 0x80 || h[1] < 2 || h[1] > 5 {
		return false
	}
	h = h[2:]
	if len(h) > 0 && h[0] == 0x95 { // FRAME (protocol 4+) with an 8-byte length
		if len(h) < 9 {
			return false
		}
		h = h[9:]
	}
	return len(h) >= 2+len(torchMagic) && h[0] == 0x8a && h[1] == byte(len(torchMagic)) &&
		bytes.Equal(h[2:2+len(torchMagic)], torchMagic)
}

// modelProtoFields maps ModelProto's field numbers to their wire types.
var modelProtoFields = map[protowire.Number]protowire.Type{
	1:  protowire.VarintType, // ir_version
	2:  protowire.BytesType,  // producer_name
	3:  protowire.BytesType,  // producer_version
	4:  protowire.BytesType,  // domain
	5:  protowire.VarintType, // model_version
	6:  protowire.BytesType,  // doc_string
	7:  protowire.BytesType,  // graph
	8:  protowire.BytesType,  // opset_import
	14: protowire.BytesType,  // metadata_props
	20: protowire.BytesType,  // training_info
	25: protowire.BytesType,  // functions
	26: protowire.BytesType,  // configuration
}

// isONNX reports whether head parses as a sequence of ModelProto fields,
// the last of which may run past the head.
func isONNX(head []byte) bool {
	fields := 0
	for len(head) > 0 {
		num, typ, n := protowire.ConsumeTag(head)
		if n < 0 {
			return false
		}
		if want, ok := modelProtoFields[num]; !ok || want != typ {
			return false
		}
		head = head[n:]
		fields++
		switch typ {
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(head)
			if m < 0 {
				return len(head) < 10 && fields > 1 // cut off by the head
			}
			if num == 1 && (v == 0 || v > 100) {
				return false
			}
			head = head[m:]
		case protowire.BytesType:
			l, m := protowire.ConsumeVarint(head)
			if m < 0 {
				return len(head) < 10 && fields > 1
			}
			if l >= uint64(len(head)-m) {
				return true // the field runs past the head
			}
			head = head[m+int(l):]
		}
	}
	return fields > 0
}
