package serve

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/inceptionzoo/inception/preprocess"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/tensor"
)

// ClassifyResponse is the answer of POST /v1/classify.
type ClassifyResponse struct {
	Model string `json:"model"`
	// Seeded is true when the model runs seeded (untrained) weights: its
	// answers are not classifications.
	Seeded      bool         `json:"seeded,omitempty"`
	Predictions []Prediction `json:"predictions"`
}

// Prediction is one class of a top-K answer; Score is a probability.
type Prediction struct {
	Index int     `json:"index"`
	Label string  `json:"label,omitempty"`
	Score float32 `json:"score"`
}

// classify answers POST /v1/classify?model=NAME&top=K with an image body
// (JPEG, PNG, GIF or WebP): the image is preprocessed with the model's
// preset and joins the model's batches like any inference request.
func (s *Server) classify(c *call, w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	c.model = q.Get("model")
	if c.model == "" {
		if len(s.names) != 1 {
			return fmt.Errorf("%w: give the model: /v1/classify?model=NAME (served: %v)", ErrBadRequest, s.names)
		}
		c.model = s.names[0]
	}
	sv, err := s.lookup(c.model, "")
	if err != nil {
		return err
	}
	top := 5
	if t := q.Get("top"); t != "" {
		if top, err = strconv.Atoi(t); err != nil || top < 1 || top > sv.spec.classes {
			return fmt.Errorf("%w: top=%q: want 1 to %d", ErrBadRequest, t, sv.spec.classes)
		}
	}
	pre := sv.Model.Model.Preprocess()
	if got := pre.Shape(); !tensor.SameShape(got, sv.spec.sample) {
		return fmt.Errorf("%w: model %s has no image preprocessing for its input %v (its preset gives %v); send tensors to /v2/models/%s/infer", ErrBadRequest, sv.Name, sv.spec.sample, got, sv.Name)
	}
	res, done, err := s.admit(sv, r)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	x, err := s.decodeImage(ctx, body, pre, res)
	if err != nil {
		return err
	}
	y, err := sv.batcher.do(ctx, x, 1)
	if err != nil {
		return err
	}
	preds := sv.Model.Model.TopK(&tensor.Tensor{Shape: []int{1, sv.spec.classes}, Data: y}, top)[0]
	out := ClassifyResponse{Model: sv.Name, Seeded: sv.Model.Model.Seeded(), Predictions: make([]Prediction, len(preds))}
	for i, p := range preds {
		out.Predictions[i] = Prediction{Index: p.Index, Label: p.Label, Score: p.Score}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// decodeImage decodes and preprocesses an image body. At most
// GOMAXPROCS images are decoded at once: each may take up to
// preprocess.MaxPixels × 4 bytes.
func (s *Server) decodeImage(ctx context.Context, body []byte, pre spec.Preprocess, res *reservation) ([]float32, error) {
	select {
	case s.images <- struct{}{}:
		defer func() { <-s.images }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting to decode the image: %w", ErrUnavailable, context.Cause(ctx))
	}
	img, err := preprocess.Decode(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if err := res.take(4 * int64(pre.Shape().Numel())); err != nil {
		return nil, err
	}
	x, err := preprocess.Tensor(img, pre)
	if err != nil {
		return nil, fmt.Errorf("%w: preprocessing: %w", ErrBadRequest, err)
	}
	return x.Data, nil
}
