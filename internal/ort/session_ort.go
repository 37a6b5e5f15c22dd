//go:build ort && cgo

package ort

import (
	"fmt"
	"sync"

	onnxruntime "github.com/yalue/onnxruntime_go"

	"github.com/inceptionzoo/inception/tensor"
)

// Built reports whether the real ONNX Runtime binding is compiled in (cgo
// and the ort build tag).
const Built = true

var (
	initMu   sync.Mutex
	initDone bool
	initErr  error
)

// Init loads the ONNX Runtime library from LibraryPath and creates the
// process-wide environment. It does the work once and then returns the same
// result, except that a missing library (ErrNoLibrary) is looked for again
// on the next call. The environment lives as long as the process.
func Init() error {
	initMu.Lock()
	defer initMu.Unlock()
	if initDone {
		return initErr
	}
	path := LibraryPath()
	if err := checkLibrary(path); err != nil {
		return err
	}
	onnxruntime.SetSharedLibraryPath(path)
	if err := onnxruntime.InitializeEnvironment(); err != nil {
		initErr = fmt.Errorf("ort: loading %s: %w (%s)", path, err, InstallHint)
	}
	initDone = true
	return initErr
}

// LibraryVersion returns the loaded library's version string ("1.30.0"),
// or "" before a successful Init.
func LibraryVersion() string {
	if !onnxruntime.IsInitialized() {
		return ""
	}
	return onnxruntime.GetVersion()
}

// Session is an ONNX Runtime inference session on the CPU. Its inputs and
// outputs are float32 tensors; dimensions the model leaves symbolic (a
// dynamic batch) take their size from each Run's inputs. Run may be called
// from several goroutines at once; Close waits for running calls.
type Session struct {
	mu      sync.RWMutex
	sess    *onnxruntime.DynamicAdvancedSession
	inputs  []string
	outputs []string
}

// NewSession loads the model at modelPath, discovering its inputs and
// outputs, with intraOpThreads intra-op threads (DefaultIntraOpThreads if
// intraOpThreads <= 0), one inter-op thread, sequential execution and
// ORT_ENABLE_ALL graph optimisations. It calls Init first. Models with a
// non-float32 or non-tensor input or output are rejected with
// ErrUnsupported.
func NewSession(modelPath string, intraOpThreads int) (*Session, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	if intraOpThreads <= 0 {
		intraOpThreads = DefaultIntraOpThreads
	}
	ins, outs, err := discover(modelPath)
	if err != nil {
		return nil, err
	}
	opts, err := sessionOptions(intraOpThreads, onnxruntime.GraphOptimizationLevelEnableAll)
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	sess, err := onnxruntime.NewDynamicAdvancedSession(modelPath, ins, outs, opts)
	if err != nil {
		return nil, fmt.Errorf("ort: loading %s: %w", modelPath, err)
	}
	return &Session{sess: sess, inputs: ins, outputs: outs}, nil
}

// sessionOptions returns options for a CPU session with the given intra-op
// thread count, one inter-op thread, sequential execution and the given
// optimisation level. The caller destroys them.
func sessionOptions(intraOpThreads int, level onnxruntime.GraphOptimizationLevel) (*onnxruntime.SessionOptions, error) {
	opts, err := onnxruntime.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	steps := []struct {
		what string
		set  func() error
	}{
		{"intra-op threads", func() error { return opts.SetIntraOpNumThreads(intraOpThreads) }},
		{"inter-op threads", func() error { return opts.SetInterOpNumThreads(1) }},
		{"execution mode", func() error { return opts.SetExecutionMode(onnxruntime.ExecutionModeSequential) }},
		{"graph optimization level", func() error { return opts.SetGraphOptimizationLevel(level) }},
	}
	for _, s := range steps {
		if err := s.set(); err != nil {
			opts.Destroy()
			return nil, fmt.Errorf("ort: setting %s: %w", s.what, err)
		}
	}
	return opts, nil
}

// discover returns the model's input and output names, checking that all
// are float32 tensors. It loads the model into a throw-away session without
// graph optimisations, which keeps the extra load cheap.
func discover(modelPath string) (ins, outs []string, err error) {
	opts, err := sessionOptions(1, onnxruntime.GraphOptimizationLevelDisableAll)
	if err != nil {
		return nil, nil, err
	}
	defer opts.Destroy()
	inInfo, outInfo, err := onnxruntime.GetInputOutputInfoWithOptions(modelPath, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("ort: loading %s: %w", modelPath, err)
	}
	names := func(kind string, infos []onnxruntime.InputOutputInfo) ([]string, error) {
		out := make([]string, 0, len(infos))
		for _, info := range infos {
			if info.OrtValueType != onnxruntime.ONNXTypeTensor || info.DataType != onnxruntime.TensorElementDataTypeFloat {
				return nil, fmt.Errorf("%w: %s: %s %s (only float32 tensors)", ErrUnsupported, modelPath, kind, info.String())
			}
			out = append(out, info.Name)
		}
		return out, nil
	}
	if ins, err = names("input", inInfo); err != nil {
		return nil, nil, err
	}
	if outs, err = names("output", outInfo); err != nil {
		return nil, nil, err
	}
	if len(ins) == 0 || len(outs) == 0 {
		return nil, nil, fmt.Errorf("%w: %s has %d inputs and %d outputs", ErrUnsupported, modelPath, len(ins), len(outs))
	}
	return ins, outs, nil
}

// InputNames returns the model's input names in the model's order.
func (s *Session) InputNames() []string { return append([]string(nil), s.inputs...) }

// OutputNames returns the model's output names in the model's order.
func (s *Session) OutputNames() []string { return append([]string(nil), s.outputs...) }

// Run runs the model. inputs must hold exactly the model's inputs, each a
// float32 tensor whose shape the model accepts; the result maps every
// output name to a new tensor. The input tensors are read, never written.
func (s *Session) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil {
		return nil, ErrClosed
	}
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("ort: got %d inputs, the model takes %d: %v", len(inputs), len(s.inputs), s.inputs)
	}
	in := make([]onnxruntime.Value, 0, len(s.inputs))
	defer func() {
		for _, v := range in {
			v.Destroy()
		}
	}()
	for _, name := range s.inputs {
		t, ok := inputs[name]
		if !ok {
			return nil, fmt.Errorf("ort: missing input %q (the model takes %v)", name, s.inputs)
		}
		v, err := ortTensor(name, t)
		if err != nil {
			return nil, err
		}
		in = append(in, v)
	}
	out := make([]onnxruntime.Value, len(s.outputs))
	defer func() {
		for _, v := range out {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err := s.sess.Run(in, out); err != nil {
		return nil, fmt.Errorf("ort: run: %w", err)
	}
	res := make(map[string]*tensor.Tensor, len(out))
	for i, v := range out {
		t, err := goTensor(s.outputs[i], v)
		if err != nil {
			return nil, err
		}
		res[s.outputs[i]] = t
	}
	return res, nil
}

// ortTensor wraps t's data (without copying) as an ONNX Runtime tensor.
func ortTensor(name string, t *tensor.Tensor) (*onnxruntime.Tensor[float32], error) {
	if t == nil {
		return nil, fmt.Errorf("ort: input %q is nil", name)
	}
	n, err := tensor.Numel(t.Shape)
	if err != nil {
		return nil, fmt.Errorf("ort: input %q: %w", name, err)
	}
	if n != len(t.Data) {
		return nil, fmt.Errorf("ort: input %q: shape %v needs %d elements, has %d", name, t.Shape, n, len(t.Data))
	}
	if n == 0 || len(t.Shape) == 0 {
		return nil, fmt.Errorf("%w: input %q: empty or rank-0 tensor (shape %v)", ErrUnsupported, name, t.Shape)
	}
	shape := make(onnxruntime.Shape, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = int64(d)
	}
	v, err := onnxruntime.NewTensor(shape, t.Data)
	if err != nil {
		return nil, fmt.Errorf("ort: input %q: %w", name, err)
	}
	return v, nil
}

// goTensor takes the data of an output ONNX Runtime allocated (the binding
// has already copied it into Go memory) as a tensor.Tensor.
func goTensor(name string, v onnxruntime.Value) (*tensor.Tensor, error) {
	ft, ok := v.(*onnxruntime.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("%w: output %q is %T, not a float32 tensor", ErrUnsupported, name, v)
	}
	shape := make([]int, len(ft.GetShape()))
	for i, d := range ft.GetShape() {
		if d < 0 {
			return nil, fmt.Errorf("ort: output %q has shape %v", name, ft.GetShape())
		}
		shape[i] = int(d)
	}
	t, err := tensor.FromData(ft.GetData(), shape...)
	if err != nil {
		return nil, fmt.Errorf("ort: output %q: %w", name, err)
	}
	return t, nil
}

// Close releases the session; it waits for running Run calls. Closing twice
// is a no-op.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if err != nil {
		return fmt.Errorf("ort: close: %w", err)
	}
	return nil
}
