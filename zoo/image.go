package zoo

import (
	"fmt"
	"image"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/tensor"
)

// imageChunk is how many images PredictImages runs through the network at
// once, which bounds the activation memory of a long list.
const imageChunk = 8

// Labels returns the class names of the model's outputs, index i naming
// class i: the label set of the loaded weights (their tag, their file's
// metadata, or the model's default head), or nil when the classes have no
// known names (another class count, face identities).
func (m *Model) Labels() []string {
	l, err := labels.Names(m.Spec.Labels)
	if err != nil || len(l) != m.Classes() {
		return nil
	}
	return l
}

// PredictImage classifies one image: it is preprocessed as the model's
// Preprocess says (see package preprocess), run, and the k most
// probable classes are returned, most probable first, with their labels.
// Scores are probabilities.
func (m *Model) PredictImage(img image.Image, k int) ([]Prediction, error) {
	p, err := m.PredictImages([]image.Image{img}, k)
	if err != nil {
		return nil, err
	}
	return p[0], nil
}

// PredictImages classifies each image as PredictImage does; the result
// has one top-k list per image, in order.
func (m *Model) PredictImages(imgs []image.Image, k int) ([][]Prediction, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("zoo: %s: no images", m.Spec.Name)
	}
	pre := m.Spec.Preprocess
	if got, want := pre.Shape(), m.Graph.InputShape(); !tensor.SameShape(got, want) {
		return nil, fmt.Errorf("zoo: %s: preprocessing preset gives %v, the model takes %v", m.Spec.Name, got, want)
	}
	names := m.Labels()
	out := make([][]Prediction, 0, len(imgs))
	for start := 0; start < len(imgs); start += imageChunk {
		chunk := imgs[start:min(start+imageChunk, len(imgs))]
		x := tensor.New(append([]int{len(chunk)}, m.Graph.InputShape()...)...)
		per := len(x.Data) / len(chunk)
		for i, img := range chunk {
			xi, err := preprocess.Tensor(img, pre)
			if err != nil {
				return nil, fmt.Errorf("zoo: %s: image %d: %w", m.Spec.Name, start+i, err)
			}
			copy(x.Data[i*per:(i+1)*per], xi.Data)
		}
		y, err := m.Forward(x)
		if err != nil {
			return nil, fmt.Errorf("zoo: %s: %w", m.Spec.Name, err)
		}
		for _, preds := range TopK(y, k, m.Spec.Output == spec.Logits) {
			for i := range preds {
				if preds[i].Index < len(names) {
					preds[i].Label = names[preds[i].Index]
				}
			}
			out = append(out, preds)
		}
	}
	return out, nil
}
