package train

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/onnx/onnxpb"
)

// ErrFloat16 reports a model Float16Initializers cannot rewrite.
var ErrFloat16 = errors.New("train: float16 rewrite")

// Float16Initializers rewrites a serialized ONNX model so that every FLOAT
// initializer is stored as FLOAT16 (half the bytes), keeping its name,
// and is read through a Cast(to=FLOAT) node whose output "<name>.f32"
// replaces the initializer wherever a node used it. The graph computes in
// float32 as before; only the weights are rounded to the nearest float16
// (round half to even; magnitudes beyond 65504 are an error). Readers that
// take weights by initializer name — onnxir.Decode (which decodes FLOAT16 to
// float32), convert.Import and zoo.WithWeights — see the rounded weights
// under the same names; the onnx runner folds the Casts at load.
func Float16Initializers(model []byte) ([]byte, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFloat16, err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("%w: model has no graph", ErrFloat16)
	}
	rename := map[string]string{}
	var casts []*onnxpb.NodeProto
	for _, t := range g.Initializer {
		if t.GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
			continue
		}
		if len(t.ExternalData) > 0 || t.Segment != nil {
			return nil, fmt.Errorf("%w: initializer %q uses external data or segments", ErrFloat16, t.GetName())
		}
		vals := t.FloatData
		if len(t.RawData) > 0 {
			if len(t.RawData)%4 != 0 {
				return nil, fmt.Errorf("%w: initializer %q: raw data of %d bytes", ErrFloat16, t.GetName(), len(t.RawData))
			}
			vals = make([]float32, len(t.RawData)/4)
			for i := range vals {
				vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.RawData[4*i:]))
			}
		}
		raw := make([]byte, 2*len(vals))
		for i, v := range vals {
			h, ok := onnxir.Float32ToFloat16(v)
			if !ok {
				return nil, fmt.Errorf("%w: initializer %q[%d] = %g does not fit float16", ErrFloat16, t.GetName(), i, v)
			}
			binary.LittleEndian.PutUint16(raw[2*i:], h)
		}
		t.FloatData, t.RawData = nil, raw
		t.DataType = proto.Int32(int32(onnxpb.TensorProto_FLOAT16))
		name := t.GetName()
		out := name + ".f32"
		rename[name] = out
		casts = append(casts, &onnxpb.NodeProto{
			Name: proto.String(name + ".cast"), OpType: proto.String("Cast"),
			Input: []string{name}, Output: []string{out},
			Attribute: []*onnxpb.AttributeProto{{Name: proto.String("to"), Type: onnxpb.AttributeProto_INT.Enum(),
				I: proto.Int64(int64(onnxpb.TensorProto_FLOAT))}},
		})
	}
	for _, n := range g.Node {
		for i, in := range n.Input {
			if r, ok := rename[in]; ok {
				n.Input[i] = r
			}
		}
	}
	for _, o := range g.Output {
		if _, ok := rename[o.GetName()]; ok {
			return nil, fmt.Errorf("%w: initializer %q is a graph output", ErrFloat16, o.GetName())
		}
	}
	for _, in := range g.Input { // IR < 4 lists initializers as inputs too
		if _, ok := rename[in.GetName()]; ok {
			if tt := in.GetType().GetTensorType(); tt != nil {
				tt.ElemType = proto.Int32(int32(onnxpb.TensorProto_FLOAT16))
			}
		}
	}
	g.Node = append(casts, g.Node...)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFloat16, err)
	}
	return b, nil
}
