package conformance

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

// Python is the interpreter with the Debian python3-torch,
// python3-torchvision and python3-onnx packages.
const Python = "/usr/bin/python3"

// TorchInstallHint says how to get the torch oracle.
const TorchInstallHint = "apt-get install python3-torch python3-torchvision python3-onnx (or scripts/setup.sh)"

// TorchCase is one export of a seeded torchvision model by
// scripts/torch_export.py (auxiliary heads off, no transform_input).
type TorchCase struct {
	Torch  string `json:"torch"` // torchvision model: "googlenet" or "inception_v3"
	Model  string `json:"model"` // its zoo twin
	Seed   int    `json:"seed"`
	Opset  int    `json:"opset"`
	FoldBN bool   `json:"fold_bn"` // BatchNorm folded into the convs by the exporter
}

func (c TorchCase) String() string {
	bn := "BN kept"
	if c.FoldBN {
		bn = "BN folded"
	}
	return fmt.Sprintf("%s seed %d opset %d %s", c.Torch, c.Seed, c.Opset, bn)
}

func (c TorchCase) dirName() string {
	return fmt.Sprintf("%s-s%d-o%d-fold%v", c.Torch, c.Seed, c.Opset, c.FoldBN)
}

// TorchCases are the torch twins: each torchvision model at two seeds
// and opsets 11 and 17, with BatchNorm folded by the exporter and kept.
var TorchCases = []TorchCase{
	{Torch: "googlenet", Model: "inception-v1-tv", Seed: 11, Opset: 11, FoldBN: true},
	{Torch: "googlenet", Model: "inception-v1-tv", Seed: 12, Opset: 17, FoldBN: false},
	{Torch: "inception_v3", Model: "inception-v3", Seed: 13, Opset: 11, FoldBN: false},
	{Torch: "inception_v3", Model: "inception-v3", Seed: 14, Opset: 17, FoldBN: true},
}

// TorchCasesFor returns the torch twin cases of a zoo model.
func TorchCasesFor(model string) []TorchCase {
	var out []TorchCase
	for _, c := range TorchCases {
		if c.Model == model {
			out = append(out, c)
		}
	}
	return out
}

// TorchEnv runs scripts/torch_export.py and caches its exports.
type TorchEnv struct {
	Python string // interpreter; "" means Python
	Script string // path of scripts/torch_export.py
	Dir    string // cache: one subdirectory per case

	mu   sync.Mutex
	done map[TorchCase]error
}

// NewTorchEnv returns an environment for the checkout at root caching in
// dir, after checking that the interpreter imports onnx, torch and
// torchvision and the script exists (errors wrap ErrOracle).
func NewTorchEnv(root, dir string) (*TorchEnv, error) {
	e := &TorchEnv{Python: Python, Script: filepath.Join(root, "scripts", "torch_export.py"), Dir: dir}
	if _, err := os.Stat(e.Script); err != nil {
		return nil, fmt.Errorf("%w: torch twins: %w", ErrOracle, err)
	}
	if out, err := exec.Command(e.Python, "-c", "import onnx, torch, torchvision").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: torch twins: %s cannot import onnx, torch, torchvision (%v: %s); install with: %s", ErrOracle, e.Python, err, lastLine(out), TorchInstallHint)
	}
	return e, nil
}

func lastLine(b []byte) string {
	lines := slices.DeleteFunc(strings.Split(string(b), "\n"), func(s string) bool { return strings.TrimSpace(s) == "" })
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// Export runs the script for c (once per TorchEnv) and returns the
// directory holding model.onnx, input_0.pb and output_0.pb.
func (e *TorchEnv) Export(c TorchCase) (string, error) {
	dir := filepath.Join(e.Dir, c.dirName())
	e.mu.Lock()
	if e.done == nil {
		e.done = map[TorchCase]error{}
	}
	err, ok := e.done[c]
	e.mu.Unlock()
	if ok {
		return dir, err
	}
	args := []string{e.Script, "--model", c.Torch, "--seed", fmt.Sprint(c.Seed), "--opset", fmt.Sprint(c.Opset), "--out", dir}
	if !c.FoldBN {
		args = append(args, "--no-fold-bn")
	}
	py := e.Python
	if py == "" {
		py = Python
	}
	if out, xerr := exec.Command(py, args...).CombinedOutput(); xerr != nil {
		err = fmt.Errorf("conformance: torch export %s: %w: %s", c, xerr, lastLine(out))
	}
	e.mu.Lock()
	e.done[c] = err
	e.mu.Unlock()
	return dir, err
}

// ExportAll exports cases, two at a time.
func (e *TorchEnv) ExportAll(cases []TorchCase) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cases))
	sem := make(chan struct{}, 2)
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = e.Export(c)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// TorchResult is the result of CheckTorchTwin.
type TorchResult struct {
	Case          TorchCase `json:"case"`
	Zoo           Diff      `json:"zoo"`    // the zoo twin with the file's weights vs torch
	Runner        Diff      `json:"runner"` // the onnx runner on the file vs torch
	NetworkSpread float64   `json:"network_spread"`
}

// CheckTorchTwin exports c (see TorchEnv.Export), loads the file into the
// zoo twin (zoo.WithWeights) and into the generic ONNX runner
// (onnx.Load), runs both on torch's input and compares each with torch's
// output within tol. Torch's logits minus the classifier bias must spread
// beyond MinSpreadFactor·atol (ErrInsensitive).
func CheckTorchTwin(env *TorchEnv, reg *registry.Registry, c TorchCase, tol Tolerance) (*TorchResult, error) {
	r := &TorchResult{Case: c}
	dir, err := env.Export(c)
	if err != nil {
		return r, err
	}
	model := filepath.Join(dir, "model.onnx")
	x, err := readAny(filepath.Join(dir, "input_0.pb"))
	if err != nil {
		return r, err
	}
	want, err := readAny(filepath.Join(dir, "output_0.pb"))
	if err != nil {
		return r, err
	}
	m, err := zoo.Load(c.Model, zoo.WithRegistry(reg), zoo.WithWeights(model))
	if err != nil {
		return r, fmt.Errorf("conformance: torch %s: %w", c, err)
	}
	got, err := m.Forward(x)
	if err != nil {
		return r, fmt.Errorf("%w: torch %s: %w", ErrForward, c, err)
	}
	ref := "torch " + c.String()
	if !slices.Equal(got.Shape, want.Shape) {
		return r, fmt.Errorf("%w: %s: zoo output %v, torch %v", ErrMismatch, ref, got.Shape, want.Shape)
	}
	if r.Zoo, err = compare(c.Model, "torch", ref+" (zoo twin is got)", want.Shape, got.Data, want.Data, tol); err != nil {
		return r, err
	}
	om, err := onnx.Load(model, onnx.LoadOptions{})
	if err != nil {
		return r, fmt.Errorf("conformance: torch %s: onnx.Load: %w", c, err)
	}
	out, err := om.Run(map[string]*tensor.Tensor{om.InputNames()[0]: x})
	if err != nil {
		return r, fmt.Errorf("conformance: torch %s: onnx runner: %w", c, err)
	}
	y := out[om.OutputNames()[0]]
	if y == nil || !slices.Equal(y.Shape, want.Shape) {
		return r, fmt.Errorf("%w: %s: onnx runner output %v, torch %v", ErrMismatch, ref, y, want.Shape)
	}
	if r.Runner, err = compare(c.Model, "torch", ref+" (onnx runner is got)", want.Shape, y.Data, want.Data, tol); err != nil {
		return r, err
	}
	r.NetworkSpread = NetworkSpread(m.Graph, m.Params, want)
	if r.NetworkSpread <= MinSpreadFactor*tol.ATol {
		return r, fmt.Errorf("%w: %s: torch logits minus classifier bias spread %.3g", ErrInsensitive, ref, r.NetworkSpread)
	}
	return r, nil
}

// readAny reads a float TensorProto file of any shape.
func readAny(path string) (*tensor.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	defer f.Close()
	t, err := onnxir.DecodeTensor(f, onnxir.Limits{})
	if err != nil {
		return nil, fmt.Errorf("conformance: %s: %w", path, err)
	}
	if t.Float == nil {
		return nil, fmt.Errorf("conformance: %s: %v tensor, want float", path, t.DType)
	}
	shape := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		shape[i] = int(d)
	}
	return &tensor.Tensor{Shape: shape, Data: t.Float}, nil
}
