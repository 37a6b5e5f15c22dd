package serve

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

type jsonResponse struct {
	ModelName    string       `json:"model_name"`
	ModelVersion string       `json:"model_version,omitempty"`
	ID           string       `json:"id,omitempty"`
	Outputs      []jsonTensor `json:"outputs"`
}

type jsonTensor struct {
	Name       string          `json:"name"`
	Datatype   string          `json:"datatype"`
	Shape      []int64         `json:"shape"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// encodeREST returns the body of an inference response holding y
// ([n, classes] FP32), and the length of its JSON part when the output is
// sent as binary data (-1 otherwise). A non-finite output is an
// ErrInternal: JSON cannot carry it, and no trained model produces it.
func encodeREST(spec *tensorSpec, model, version string, req *inferRequest, y []float32) ([]byte, int, error) {
	for i, v := range y {
		if v-v != 0 {
			return nil, 0, fmt.Errorf("%w: model %s produced %v at output element %d", ErrInternal, model, v, i)
		}
	}
	out := jsonTensor{Name: spec.output, Datatype: "FP32", Shape: []int64{int64(req.n), int64(spec.classes)}}
	if req.binaryOut {
		out.Parameters = map[string]any{paramBinarySize: 4 * len(y)}
	} else {
		b := make([]byte, 0, 16*len(y)+2)
		b = append(b, '[')
		for i, v := range y {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
		}
		out.Data = append(b, ']')
	}
	head, err := json.Marshal(jsonResponse{ModelName: model, ModelVersion: version, ID: req.id, Outputs: []jsonTensor{out}})
	if err != nil {
		return nil, 0, fmt.Errorf("%w: encoding the response: %w", ErrInternal, err)
	}
	if !req.binaryOut {
		return head, -1, nil
	}
	body := make([]byte, len(head), len(head)+4*len(y))
	copy(body, head)
	for _, v := range y {
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
	}
	return body, len(head), nil
}
