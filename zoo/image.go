package zoo

import (
	"errors"
	"fmt"
	"image"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/tensor"
)

// imageChunk is how many samples PredictSamples (and so PredictImages)
// runs through the network at once, which bounds the activation memory of
// a long list.
const imageChunk = 8

// ErrNonFinite reports a NaN or an infinity in a model's input or output:
// a prediction computed from it would be meaningless (softmax turns one
// infinite logit into NaN scores), so none is returned.
var ErrNonFinite = errors.New("zoo: non-finite value")

// Labels returns the class names of the model's outputs, index i naming
// class i: the label set of the loaded weights (their tag, their file's
// metadata, or the model's default head), or nil when the classes have no
// known names (another class count, face identities).
func (m *Model) Labels() []string {
	if m.names != nil {
		return append([]string(nil), m.names...)
	}
	l, err := labels.Names(m.Spec.Labels)
	if err != nil || len(l) != m.Classes() {
		return nil
	}
	return l
}

// ImageTensor preprocesses img as the model's Preprocess says (see package
// preprocess) into a [1, C, H, W] input tensor. A caller classifying many
// images can decode, preprocess and drop each image in turn and pass the
// small tensors to PredictSamples, so that only one decoded image is held
// at a time.
func (m *Model) ImageTensor(img image.Image) (*tensor.Tensor, error) {
	pre := m.Spec.Preprocess
	if got, want := pre.Shape(), m.Graph.InputShape(); !tensor.SameShape(got, want) {
		return nil, fmt.Errorf("zoo: %s: preprocessing preset gives %v, the model takes %v", m.Spec.Name, got, want)
	}
	return preprocess.Tensor(img, pre)
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
// has one top-k list per image, in order. The first image that cannot be
// preprocessed or whose output is not finite makes the whole call fail,
// naming it; PredictSamples reports per image instead.
func (m *Model) PredictImages(imgs []image.Image, k int) ([][]Prediction, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("zoo: %s: no images", m.Spec.Name)
	}
	if err := m.checkHead(); err != nil {
		return nil, err
	}
	xs := make([]*tensor.Tensor, len(imgs))
	for i, img := range imgs {
		x, err := m.ImageTensor(img)
		if err != nil {
			return nil, fmt.Errorf("zoo: %s: image %d: %w", m.Spec.Name, i, err)
		}
		xs[i] = x
	}
	res, err := m.PredictSamples(xs, k)
	if err != nil {
		return nil, err
	}
	out := make([][]Prediction, len(res))
	for i, r := range res {
		if r.Err != nil {
			return nil, fmt.Errorf("zoo: %s: image %d: %w", m.Spec.Name, i, r.Err)
		}
		out[i] = r.Top
	}
	return out, nil
}

// Result is one sample's answer from PredictSamples: its top-k classes, or
// the reason it has none.
type Result struct {
	Top []Prediction
	Err error // wraps ErrNonFinite
}

// PredictSamples runs the model on samples, each one input shaped
// [1, C, H, W] or [C, H, W] as Input says (ImageTensor makes them),
// imageChunk at a time, and returns the k most probable classes of each,
// with labels. Results are per sample: a sample with a NaN or infinite
// input value is not run, and one whose output has a non-finite value gets
// no top-k; both have an Err wrapping ErrNonFinite, and the other samples
// are unaffected (inference treats samples independently). The error
// return is for the whole call: a sample of the wrong shape, an engine
// failure.
func (m *Model) PredictSamples(samples []*tensor.Tensor, k int) ([]Result, error) {
	if err := m.checkHead(); err != nil {
		return nil, err
	}
	in := m.Graph.InputShape()
	per, err := tensor.Numel(in)
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w", m.Spec.Name, err)
	}
	for i, s := range samples {
		if s == nil || !(tensor.SameShape(s.Shape, in) || (len(s.Shape) == len(in)+1 && s.Shape[0] == 1 && tensor.SameShape(s.Shape[1:], in))) || len(s.Data) != per {
			var shape []int
			if s != nil {
				shape = s.Shape
			}
			return nil, fmt.Errorf("zoo: %s: sample %d has shape %v, the model takes %v", m.Spec.Name, i, shape, in)
		}
	}
	out := make([]Result, len(samples))
	var run []int // samples of the current chunk with finite inputs
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		x := tensor.New(append([]int{len(run)}, in...)...)
		for j, i := range run {
			copy(x.Data[j*per:(j+1)*per], samples[i].Data)
		}
		y, err := m.Forward(x)
		if err != nil {
			return fmt.Errorf("zoo: %s: %w", m.Spec.Name, err)
		}
		classes := y.Shape[1]
		for j, i := range run {
			if c := firstNonFinite(y.Data[j*classes : (j+1)*classes]); c >= 0 {
				out[i].Err = fmt.Errorf("%w: output %d is %v", ErrNonFinite, c, y.Data[j*classes+c])
				continue
			}
		}
		for j, top := range m.TopK(y, k) {
			i := run[j]
			if out[i].Err != nil {
				continue
			}
			out[i].Top = top
		}
		run = run[:0]
		return nil
	}
	for i, s := range samples {
		if at := firstNonFinite(s.Data); at >= 0 {
			out[i].Err = fmt.Errorf("%w: input value %d is %v", ErrNonFinite, at, s.Data[at])
			continue
		}
		run = append(run, i)
		if len(run) == imageChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// firstNonFinite returns the index of the first NaN or infinity in d, or
// -1. (v-v is 0 for every finite v and NaN otherwise.)
func firstNonFinite(d []float32) int {
	for i, v := range d {
		if v-v != 0 {
			return i
		}
	}
	return -1
}
