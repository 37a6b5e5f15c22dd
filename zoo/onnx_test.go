package zoo_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/onnx"
	"github.com/inceptionzoo/inception/onnx/convert"
	"github.com/inceptionzoo/inception/onnx/onnxir"
	"github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/tensor"
	bninception "github.com/inceptionzoo/inception/variants/bn"
	inceptionv1 "github.com/inceptionzoo/inception/variants/v1"
	"github.com/inceptionzoo/inception/zoo"
)

const python = "/usr/bin/python3"

// needPython skips (or, with CI=true, fails) when /usr/bin/python3 cannot
// import modules.
func needPython(t *testing.T, modules, pkgs string) {
	t.Helper()
	if err := exec.Command(python, "-c", "import "+modules).Run(); err != nil {
		msg := fmt.Sprintf("%s cannot import %s (%v); install with: apt-get install %s", python, modules, err, pkgs)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// lightFile returns the path of a light graph of the shared folder, or
// skips (fails under CI=true) when it is missing.
func lightFile(t *testing.T, name string) string {
	t.Helper()
	return testkit.SharedFile(t, "onnx-light", name)
}

func sameBits(t *testing.T, got, want nn.Params) {
	t.Helper()
	require.Len(t, got, len(want))
	for k, w := range want {
		g := got[k]
		require.NotNil(t, g, "parameter %s missing", k)
		require.Equal(t, w.Shape, g.Shape, k)
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Fatalf("%s[%d] = %v, want %v", k, i, g.Data[i], w.Data[i])
			}
		}
	}
}

func exportTo(t *testing.T, m *zoo.Model, opts convert.ExportOptions) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), m.Spec.Name+".onnx")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, m.ExportONNX(f, opts))
	require.NoError(t, f.Close())
	return path
}

// TestWithWeightsRoundTrip exports models and loads them back with
// WithWeights: bit-identical parameters, identical outputs, metadata.
func TestWithWeightsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		opts []zoo.Option
	}{
		{"inception-v1-d2l", nil},
		{"inception-v2", nil},
		{"inception-v1-tv", []zoo.Option{zoo.WithAux(), zoo.WithTransformInput()}},
		{"inception-v1", []zoo.Option{zoo.WithClasses(10)}},
	}
	if raceEnabled {
		tests = tests[:1] // full-size models take minutes under -race
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := zoo.Load(tt.name, append(tt.opts, zoo.WithSeed(42))...)
			require.NoError(t, err)
			path := exportTo(t, m, convert.ExportOptions{})
			m2, err := zoo.Load(tt.name, append(tt.opts, zoo.WithWeights(path))...)
			require.NoError(t, err)
			sameBits(t, m2.Params, m.Params)

			f, err := onnxir.DecodeFile(path, onnxir.DecodeOptions{})
			require.NoError(t, err)
			require.Equal(t, m.Spec.Name, f.Metadata[convert.MetaModel])
			require.Equal(t, fmt.Sprint(m.Graph.OutputShape()[0]), f.Metadata[zoo.MetaClasses])
			require.Equal(t, string(m.Spec.Output), f.Metadata[zoo.MetaOutput])
			var pre spec.Preprocess
			require.NoError(t, json.Unmarshal([]byte(f.Metadata[zoo.MetaPreprocess]), &pre))
			require.Equal(t, m.Spec.Preprocess, pre)

			if raceEnabled {
				return
			}
			x := input(m.Spec.Input, 1, 3)
			y1, err := m.ForwardAll(x)
			require.NoError(t, err)
			y2, err := m2.ForwardAll(x)
			require.NoError(t, err)
			require.Equal(t, y1, y2)
		})
	}
}

func TestWithWeightsErrors(t *testing.T) {
	if raceEnabled {
		t.Skip("error paths are single-threaded; TestWithWeightsRoundTrip covers -race")
	}
	small, err := zoo.Load("inception-v1-d2l")
	require.NoError(t, err)
	path := exportTo(t, small, convert.ExportOptions{})

	_, err = zoo.Load("inception-v1-d2l", zoo.WithWeights(filepath.Join(t.TempDir(), "missing.onnx")))
	require.Error(t, err)

	// A different class count than the file records: both are named.
	_, err = zoo.Load("inception-v1-d2l", zoo.WithClasses(7), zoo.WithWeights(path))
	require.ErrorIs(t, err, zoo.ErrMismatch)
	require.ErrorContains(t, err, "WithClasses(7)")
	require.ErrorContains(t, err, "have 10 classes")

	// Another model's export, by its metadata: both names are given.
	_, err = zoo.Load("inception-v1", zoo.WithWeights(path))
	require.ErrorIs(t, err, zoo.ErrMismatch)
	require.ErrorContains(t, err, `exported from model "inception-v1-d2l", not "inception-v1"`)

	// Another architecture's weights in a file without our metadata: the
	// structural import names the first layer and both shapes.
	anon := exportTo(t, small, convert.ExportOptions{ModelName: "anonymous"})
	_, err = zoo.Load("inception-v1-d2l", zoo.WithClasses(7), zoo.WithWeights(stripMeta(t, anon)))
	require.ErrorIs(t, err, convert.ErrImport)
	require.Contains(t, err.Error(), "5.weight")
	require.Contains(t, err.Error(), "[10 1024]")
	require.Contains(t, err.Error(), "[7 1024]")

	// A file made at another input size than asked for.
	_, err = zoo.Load("inception-v1-d2l", zoo.WithInputSize(64, 64), zoo.WithWeights(path))
	require.ErrorIs(t, err, zoo.ErrMismatch)
	require.ErrorContains(t, err, "WithInputSize(64, 64), the weights")
	require.ErrorContains(t, err, "96x96")

	// Not an ONNX file.
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	require.NoError(t, os.WriteFile(bad, []byte("not a model"), 0o644))
	_, err = zoo.Load("inception-v1-d2l", zoo.WithWeights(bad))
	require.ErrorIs(t, err, onnx.ErrFormat)
}

// stripMeta writes a copy of the ONNX file at path without metadata_props
// and returns its path.
func stripMeta(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m onnxpb.ModelProto
	require.NoError(t, proto.Unmarshal(b, &m))
	m.MetadataProps = nil
	b, err = proto.Marshal(&m)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "stripped.onnx")
	require.NoError(t, os.WriteFile(out, b, 0o644))
	return out
}

// TestFoldedBNIdentity checks the folded-BatchNorm rule of the structural
// import: with gamma 1, mean 0 and var FoldedBNVar(eps), the engine's
// float64 scale 1/√(var+eps) maps every float32 weight to itself.
func TestFoldedBNIdentity(t *testing.T) {
	for _, eps := range []float32{1e-3, 1e-5} {
		v := convert.FoldedBNVar(eps)
		s := 1 / math.Sqrt(float64(v)+float64(eps))
		if d := math.Abs(s - 1); d >= 1.0/(1<<25) {
			t.Errorf("eps %g: scale 1%+g, want within 2^-25 of 1", eps, s-1)
		}
		r := nn.NewRand(1, "w")
		for i := 0; i < 1_000_000; i++ {
			w := r.Uniform(-3, 3)
			if got := float32(float64(w) * s); got != w {
				t.Fatalf("eps %g: weight %v scaled to %v", eps, w, got)
			}
		}
	}
}

// ---- ONNX Model Zoo (Caffe2 names), through the ONNX test suite's light graphs ----

// lightGraphs names the shared light graph of each Model Zoo model.
var lightGraphs = map[string]string{
	"inception-v1": "light_inception_v1.onnx",
	"inception-v2": "light_inception_v2.onnx",
}

// randomizeConstantWeights rewrites a model: every ConstantOfShape node
// whose shape is a constant becomes a FLOAT initializer of that shape with
// values from nn.NewRand(seed, output name). The shape initializers it
// used are dropped when nothing else reads them.
func randomizeConstantWeights(t *testing.T, src, dst string, seed uint64) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	var m onnxpb.ModelProto
	require.NoError(t, proto.Unmarshal(b, &m))
	g := m.GetGraph()
	shapes := map[string]*onnxpb.TensorProto{}
	for _, init := range g.GetInitializer() {
		shapes[init.GetName()] = init
	}
	uses := map[string]int{}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			uses[in]++
		}
	}
	var nodes []*onnxpb.NodeProto
	dropped := map[string]bool{}
	for _, n := range g.GetNode() {
		shape, ok := shapes[n.GetInput()[0]]
		if n.GetOpType() != "ConstantOfShape" || !ok {
			nodes = append(nodes, n)
			continue
		}
		dims := shape.GetInt64Data()
		if len(dims) == 0 && len(shape.GetRawData()) > 0 {
			for i := 0; i+8 <= len(shape.GetRawData()); i += 8 {
				dims = append(dims, int64(binary.LittleEndian.Uint64(shape.GetRawData()[i:])))
			}
		}
		numel := int64(1)
		for _, d := range dims {
			numel *= d
		}
		r := nn.NewRand(seed, n.GetOutput()[0])
		raw := make([]byte, 4*numel)
		for i := int64(0); i < numel; i++ {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(r.Uniform(-1, 1)))
		}
		g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String(n.GetOutput()[0]), Dims: dims,
			DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: raw})
		if uses[n.GetInput()[0]]--; uses[n.GetInput()[0]] == 0 {
			dropped[n.GetInput()[0]] = true
		}
	}
	g.Node = nodes
	var inits []*onnxpb.TensorProto
	for _, init := range g.GetInitializer() {
		if !dropped[init.GetName()] {
			inits = append(inits, init)
		}
	}
	g.Initializer = inits
	out, err := proto.Marshal(&m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, out, 0o644))
}

// TestModelZooLight imports the light inception_v1 and inception_v2
// graphs (weights as ConstantOfShape nodes, Caffe2 names) into
// inception-v1 and inception-v2: every parameter is assigned with its
// shape from the file's value. Then the randomized copy (each weight a
// seeded random initializer) proves each tensor lands on the right path,
// by value.
func TestModelZooLight(t *testing.T) {
	if raceEnabled {
		t.Skip("full-size models under -race take minutes; the import is single-threaded")
	}
	for name, file := range lightGraphs {
		t.Run(name, func(t *testing.T) {
			light := lightFile(t, file)
			m, err := zoo.Load(name, zoo.WithWeights(light))
			require.NoError(t, err)
			f, err := onnxir.DecodeFile(light, onnxir.DecodeOptions{})
			require.NoError(t, err)
			fill := 0
			for _, s := range m.Graph.Params() {
				got := m.Params[s.Path]
				require.Equal(t, s.Shape, got.Shape, s.Path)
				if init, ok := f.Initializers[onnxName(name, s.Path)]; ok {
					require.Equal(t, init.Float, got.Data, s.Path)
					continue
				}
				fill++
				for i, v := range got.Data {
					if v != 0.02 {
						t.Fatalf("%s[%d] = %v, want the ConstantOfShape value 0.02", s.Path, i, v)
					}
				}
			}
			require.Positive(t, fill, "some weights come from ConstantOfShape")

			rnd := filepath.Join(t.TempDir(), "random.onnx")
			randomizeConstantWeights(t, light, rnd, 11)
			m, err = zoo.Load(name, zoo.WithWeights(rnd))
			require.NoError(t, err)
			f, err = onnxir.DecodeFile(rnd, onnxir.DecodeOptions{})
			require.NoError(t, err)
			require.Zero(t, f.OpCounts()["ConstantOfShape"])
			for _, s := range m.Graph.Params() {
				want := f.Initializers[onnxName(name, s.Path)]
				require.NotNil(t, want, s.Path)
				require.Equal(t, want.Float, m.Params[s.Path].Data, s.Path)
			}
		})
	}
}

func onnxName(model, path string) string {
	if model == "inception-v1" {
		return inceptionv1.Caffe2Name(path)
	}
	return bninception.ONNXName(path)
}

// ---- torchvision twins ----

func readTensor(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	x, err := onnxir.DecodeTensor(bytes.NewReader(b), onnxir.Limits{})
	require.NoError(t, err)
	shape := make([]int, len(x.Dims))
	for i, d := range x.Dims {
		shape[i] = int(d)
	}
	return &tensor.Tensor{Shape: shape, Data: x.Float}
}

// TestTorchTwins exports seeded torchvision models with
// scripts/torch_export.py (BatchNorm folded and not, opsets 11 and 17,
// with and without transform_input; about 8 s per case), loads them into the zoo twins with
// WithWeights, runs our engine on torch's input and compares with torch's
// output (rtol 1e-3, atol 1e-4). The logits must spread far beyond the
// tolerance, so that a wrong mapping cannot pass.
func TestTorchTwins(t *testing.T) {
	if raceEnabled {
		t.Skip("full-size models under -race take minutes")
	}
	needPython(t, "onnx, torch, torchvision", "python3-onnx python3-torch python3-torchvision")
	tests := []struct {
		model, zoo string
		opset      int
		fold, tin  bool
	}{
		{"googlenet", "inception-v1-tv", 17, true, false},
		{"googlenet", "inception-v1-tv", 17, false, false},
		{"googlenet", "inception-v1-tv", 11, true, true},
		{"googlenet", "inception-v1-tv", 11, false, true},
		{"inception_v3", "inception-v3", 17, true, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/opset%d/fold=%v/transform=%v", tt.model, tt.opset, tt.fold, tt.tin), func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"../scripts/torch_export.py", "--model", tt.model, "--seed", "3", "--opset", fmt.Sprint(tt.opset), "--out", dir}
			if !tt.fold {
				args = append(args, "--no-fold-bn")
			}
			if tt.tin {
				args = append(args, "--transform-input")
			}
			out, err := exec.Command(python, args...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			model := filepath.Join(dir, "model.onnx")
			f, err := onnxir.DecodeFile(model, onnxir.DecodeOptions{})
			require.NoError(t, err)
			if tt.fold {
				require.Zero(t, f.OpCounts()["BatchNormalization"], "BN folded")
			} else {
				require.Positive(t, f.OpCounts()["BatchNormalization"], "BN kept")
			}
			opts := []zoo.Option{zoo.WithWeights(model)}
			if tt.tin {
				// Without the option the import refuses, saying why.
				_, err := zoo.Load(tt.zoo, opts...)
				require.ErrorIs(t, err, convert.ErrTransformInput)
				opts = append(opts, zoo.WithTransformInput())
			}
			m, err := zoo.Load(tt.zoo, opts...)
			require.NoError(t, err)
			if tt.model == "googlenet" && tt.fold && !tt.tin {
				// The Caffe GoogLeNet differs from torchvision's in the
				// "5x5" branch (pytorch/vision#906): the structural import
				// names the first layer that does not fit, with both shapes.
				_, err := zoo.Load("inception-v1", zoo.WithWeights(model))
				require.ErrorIs(t, err, convert.ErrImport)
				require.Contains(t, err.Error(), "layer inception_3a.5x5 (Conv)")
				require.Contains(t, err.Error(), "[32 16 3 3]")
				require.Contains(t, err.Error(), "[32 16 5 5]")
			}
			x := readTensor(t, filepath.Join(dir, "input_0.pb"))
			want := readTensor(t, filepath.Join(dir, "output_0.pb"))
			got, err := m.Forward(x)
			require.NoError(t, err)
			closeToTorch(t, got, want)
		})
	}
}
