package metrics

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// ISOptions are torch-fidelity's Inception Score parameters.
type ISOptions struct {
	// Splits is the number of splits (isc_splits, 10).
	Splits int
	// Shuffle permutes the samples first with numpy's
	// RandomState(Seed).permutation (samples_shuffle, true).
	Shuffle bool
	// Seed is rng_seed (2020).
	Seed uint32
}

// DefaultISOptions returns torch-fidelity's defaults.
func DefaultISOptions() ISOptions { return ISOptions{Splits: 10, Shuffle: true, Seed: 2020} }

// ISResult is an Inception Score.
type ISResult struct {
	// Mean and Std (ddof 0) of the per-split scores.
	Mean, Std float64
	// Scores holds each split's exp(mean KL(p(y|x) || p(y))).
	Scores []float64
}

// InceptionScore is torch-fidelity's isc_features_to_metric on logits
// (one row per sample, one column per class): optionally shuffle the rows,
// take p = softmax and log p = log_softmax per row in float64, cut the rows
// into Splits consecutive chunks [i N/splits, (i+1) N/splits), and score
// each chunk as exp(mean_x sum_y p(y|x) (log p(y|x) - log q(y))) with q the
// chunk's mean p. It returns the mean and standard deviation of the
// scores. A non-finite score (classes whose probability underflows to 0 in
// a whole chunk; torch-fidelity returns NaN) is an error.
func InceptionScore(logits mat.Matrix, opt ISOptions) (*ISResult, error) {
	n, c := logits.Dims()
	if opt.Splits <= 0 {
		return nil, wrapf(ErrOption, "inception score: %d splits", opt.Splits)
	}
	if n < opt.Splits {
		return nil, wrapf(ErrSamples, "inception score: %d samples for %d splits", n, opt.Splits)
	}
	if c < 1 {
		return nil, wrapf(ErrShape, "inception score: logits have %d columns", c)
	}
	if err := finiteMat("inception score: logits", logits); err != nil {
		return nil, err
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if opt.Shuffle {
		order = NewRandomState(opt.Seed).Permutation(n)
	}
	// p and log p, row by row in the shuffled order.
	p := make([]float64, n*c)
	logp := make([]float64, n*c)
	row := make([]float64, c)
	for r, src := range order {
		gatherRow(row, logits, src)
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(v - mx)
		}
		lse := mx + math.Log(sum)
		for j, v := range row {
			logp[r*c+j] = v - lse
			p[r*c+j] = math.Exp(v-mx) / sum
		}
	}
	res := &ISResult{Scores: make([]float64, opt.Splits)}
	q := make([]float64, c)
	for s := range opt.Splits {
		lo, hi := s*n/opt.Splits, (s+1)*n/opt.Splits
		clear(q)
		for r := lo; r < hi; r++ {
			for j := range c {
				q[j] += p[r*c+j]
			}
		}
		m := float64(hi - lo)
		for j := range q {
			q[j] = math.Log(q[j] / m)
		}
		kl := 0.0
		for r := lo; r < hi; r++ {
			rowKL := 0.0
			for j := range c {
				rowKL += p[r*c+j] * (logp[r*c+j] - q[j])
			}
			kl += rowKL
		}
		score := math.Exp(kl / m)
		if math.IsNaN(score) || math.IsInf(score, 0) {
			return nil, wrapf(ErrNonFinite, "inception score: split %d (rows %d..%d) scores %v", s, lo, hi, score)
		}
		res.Scores[s] = score
	}
	res.Mean, res.Std = meanStd(res.Scores)
	return res, nil
}
