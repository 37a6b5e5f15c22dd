//go:build ort && cgo

package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

func init() {
	ortPrepare = prepareORT
	ortRSSChild = ortChild
}

// prepareORT exports m (its seeded weights) to a temporary ONNX file, opens
// it in ONNX Runtime with ortThreads intra-op threads and checks that
// ONNX Runtime's output for x agrees with ours (want). The runner's peak
// RSS comes from a child process running the same file.
func prepareORT(m *zoo.Model, x, want *tensor.Tensor, cfg benchConfig) (o *ortRunner, err error) {
	dir, err := os.MkdirTemp("", "inception-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	path := filepath.Join(dir, m.Spec.Name+".onnx")
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	err = m.ExportONNX(f, convert.ExportOptions{})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	s, err := ort.NewSession(path, ortThreads)
	if err != nil {
		return nil, err
	}
	in := map[string]*tensor.Tensor{s.InputNames()[0]: x}
	res, err := s.Run(in)
	if err != nil {
		s.Close()
		return nil, err
	}
	diff, err := agree(res[s.OutputNames()[0]], want)
	if err != nil {
		s.Close()
		return nil, err
	}
	batch := x.Shape[0]
	return &ortRunner{
		run: func() error {
			_, err := s.Run(in)
			return err
		},
		peakRSS: func() (int64, error) { return childPeakRSS("ort", m.Spec.Name, batch, cfg, path) },
		close: func() {
			s.Close()
			os.RemoveAll(dir)
		},
		maxDiff: diff,
	}, nil
}

// agree returns max |got − want| and an error unless every element is
// within 1e-4 + 1e-3·max|want| of ours (the outputs are logits whose scale
// depends on the model; a benchmark of a wrong computation means nothing).
func agree(got, want *tensor.Tensor) (float64, error) {
	if got == nil || len(got.Data) != len(want.Data) {
		return 0, fmt.Errorf("ONNX Runtime output has the wrong size, want shape %v", want.Shape)
	}
	var scale, diff float64
	for i, w := range want.Data {
		scale = math.Max(scale, math.Abs(float64(w)))
		diff = math.Max(diff, math.Abs(float64(got.Data[i])-float64(w)))
	}
	if tol := 1e-4 + 1e-3*scale; !(diff <= tol) {
		return diff, fmt.Errorf("ONNX Runtime and our outputs differ by up to %g (tolerance %g)", diff, tol)
	}
	return diff, nil
}

// ortChild is the body of an "ort" peak-RSS child: it runs the ONNX file
// in ONNX Runtime on x, cfg.Warmup+1 times.
func ortChild(onnxPath string, x *tensor.Tensor, cfg benchConfig) error {
	s, err := ort.NewSession(onnxPath, ortThreads)
	if err != nil {
		return err
	}
	defer s.Close()
	in := map[string]*tensor.Tensor{s.InputNames()[0]: x}
	for i := 0; i <= cfg.Warmup; i++ {
		if _, err := s.Run(in); err != nil {
			return err
		}
	}
	return nil
}
