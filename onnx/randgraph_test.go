package onnx

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/inceptionzoo/inception/onnx/onnxir"
	pb "github.com/inceptionzoo/inception/onnx/onnxpb"
	"github.com/inceptionzoo/inception/tensor"
)

// chooser draws the decisions of genGraph: from a seeded generator in the
// property test, from the fuzzer's bytes in FuzzPlan.
type chooser interface{ IntN(n int) int }

// byteChooser turns fuzz input into decisions: one byte per decision, 0
// once the input is used up (so every input makes a finite graph).
type byteChooser struct {
	b []byte
	i int
}

func (c *byteChooser) IntN(n int) int {
	if c.i >= len(c.b) {
		return 0
	}
	v := int(c.b[c.i])
	c.i++
	return v % n
}

// refOp computes one node in float64 from the values it reads.
type refOp func(in [][]float64) []float64

// randGraph is a generated model with its float64 reference.
type randGraph struct {
	model   *pb.ModelProto
	shape   []int    // input shape [1, C, H, W]
	ops     []refOp  // per node
	ins     [][]int  // per node: value indices read
	outs    []int    // graph outputs: value indices
	names   []string // value names; value 0 is the input X
	shapes  [][]int  // value shapes
	batch   int      // batch size of the run being checked (eval)
	emitted []int    // the values the nodes of ops produce
}

// genGraph builds a random DAG on X [1, C, 3, 3]: Relu, Add, Sub, Mul and
// Sum of two values of one shape (often the same value twice), Mul and Add
// by per-channel constants, Concat on channels (inputs may repeat), Conv
// (1x1, 3x3 padded, constant weights), BatchNormalization, MaxPool and
// AveragePool (3x3, stride 1, padded), Identity, Clip, and a classifier head
// (GlobalAveragePool, Flatten, Gemm, Softmax). Values fan out freely and
// any of them may be a graph output as well as read further.
func genGraph(c chooser) *randGraph {
	g := &randGraph{shape: []int{1, 1 + c.IntN(4), 3, 3}}
	g.names = []string{"X"}
	g.shapes = [][]int{g.shape}
	gp := &pb.GraphProto{Name: proto.String("rand")}
	const H, W = 3, 3
	wcount := 0
	constant := func(dims []int64, lo, hi float32) (string, []float64) {
		name := fmt.Sprintf("w%d", wcount)
		wcount++
		n := 1
		for _, d := range dims {
			n *= int(d)
		}
		r := rand.New(rand.NewPCG(uint64(wcount), uint64(n)))
		v := make([]float32, n)
		v64 := make([]float64, n)
		for i := range v {
			v[i] = lo + (hi-lo)*r.Float32()
			v64[i] = float64(v[i])
		}
		gp.Initializer = append(gp.Initializer, floatTensor(name, dims, v...))
		return name, v64
	}
	var maps []int // indices of values of rank 4
	maps = append(maps, 0)
	addValue := func(shape []int) int {
		g.names = append(g.names, fmt.Sprintf("v%d", len(g.names)))
		g.shapes = append(g.shapes, shape)
		return len(g.names) - 1
	}
	pickSame := func(x int) int {
		var cand []int
		for _, j := range maps {
			if fmt.Sprint(g.shapes[j]) == fmt.Sprint(g.shapes[x]) {
				cand = append(cand, j)
			}
		}
		return cand[c.IntN(len(cand))]
	}
	emit := func(op string, in []int, inNames []string, shape []int, f refOp, attrs ...*pb.AttributeProto) int {
		out := addValue(shape)
		gp.Node = append(gp.Node, node(fmt.Sprintf("n%d", len(gp.Node)), op, inNames, []string{g.names[out]}, attrs...))
		g.ops = append(g.ops, f)
		g.ins = append(g.ins, in)
		g.emitted = append(g.emitted, out)
		if len(shape) == 4 && shape[2] == H {
			maps = append(maps, out)
		}
		return out
	}
	names := func(ids ...int) []string {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = g.names[id]
		}
		return s
	}
	products := 0
	steps := 2 + c.IntN(12)
	for s := 0; s < steps; s++ {
		x := maps[c.IntN(len(maps))]
		sh := g.shapes[x]
		C := sh[1]
		switch c.IntN(15) {
		case 0, 1:
			emit("Relu", []int{x}, names(x), sh, func(in [][]float64) []float64 {
				return mapF(in[0], func(v float64) float64 { return math.Max(v, 0) })
			})
		case 2, 3:
			y := pickSame(x)
			kind := []string{"Add", "Sub", "Mul"}[c.IntN(3)]
			if kind == "Mul" {
				if products >= 3 {
					kind = "Add"
				}
				products++
			}
			emit(kind, []int{x, y}, names(x, y), sh, func(in [][]float64) []float64 {
				out := make([]float64, len(in[0]))
				for i := range out {
					a, b := in[0][i], in[1][i]
					switch kind {
					case "Add":
						out[i] = a + b
					case "Sub":
						out[i] = a - b
					default:
						out[i] = a * b
					}
				}
				return out
			})
		case 4:
			kind := []string{"Add", "Mul"}[c.IntN(2)]
			name, k := constant([]int64{int64(C), 1, 1}, 0.5, 1.5)
			emit(kind, []int{x}, []string{g.names[x], name}, sh, func(in [][]float64) []float64 {
				out := make([]float64, len(in[0]))
				for i := range out {
					ch := i / (H * W) % C
					if kind == "Add" {
						out[i] = in[0][i] + k[ch]
					} else {
						out[i] = in[0][i] * k[ch]
					}
				}
				return out
			})
		case 5:
			ids := []int{x}
			for range c.IntN(3) {
				ids = append(ids, maps[c.IntN(len(maps))])
			}
			tot := 0
			for _, id := range ids {
				tot += g.shapes[id][1]
			}
			if tot > 24 {
				ids = ids[:1]
				tot = C
			}
			emit("Concat", ids, names(ids...), []int{1, tot, H, W}, func(in [][]float64) []float64 {
				var out []float64
				for _, v := range in {
					out = append(out, v...)
				}
				return out
			}, attrInt("axis", 1))
		case 6, 7:
			k := 1 + 2*c.IntN(2)
			M := 1 + c.IntN(6)
			wn, w := constant([]int64{int64(M), int64(C), int64(k), int64(k)}, -0.5, 0.5)
			bn, b := constant([]int64{int64(M)}, -0.1, 0.1)
			p := int64(k / 2)
			emit("Conv", []int{x}, []string{g.names[x], wn, bn}, []int{1, M, H, W}, func(in [][]float64) []float64 {
				return refConv(in[0], C, H, W, w, b, M, k)
			}, attrInts("pads", p, p, p, p))
		case 8:
			sn, sc := constant([]int64{int64(C)}, 0.8, 1.2)
			bn, bb := constant([]int64{int64(C)}, -0.1, 0.1)
			mn, mm := constant([]int64{int64(C)}, -0.1, 0.1)
			vn, vv := constant([]int64{int64(C)}, 0.5, 1.5)
			emit("BatchNormalization", []int{x}, []string{g.names[x], sn, bn, mn, vn}, sh, func(in [][]float64) []float64 {
				out := make([]float64, len(in[0]))
				for i := range out {
					ch := i / (H * W) % C
					out[i] = (in[0][i]-mm[ch])/math.Sqrt(vv[ch]+float64(float32(1e-5)))*sc[ch] + bb[ch]
				}
				return out
			})
		case 9:
			isMax := c.IntN(2) == 0
			op := "AveragePool"
			if isMax {
				op = "MaxPool"
			}
			emit(op, []int{x}, names(x), sh, func(in [][]float64) []float64 {
				return refPool3(in[0], C, H, W, isMax)
			}, attrInts("kernel_shape", 3, 3), attrInts("pads", 1, 1, 1, 1))
		case 10:
			emit("Identity", []int{x}, names(x), sh, func(in [][]float64) []float64 { return append([]float64(nil), in[0]...) })
		case 11:
			y := pickSame(x)
			emit("Sum", []int{x, y, x}, names(x, y, x), sh, func(in [][]float64) []float64 {
				out := make([]float64, len(in[0]))
				for i := range out {
					out[i] = in[0][i] + in[1][i] + in[2][i]
				}
				return out
			})
		case 12:
			loName, lo := constant(nil, -0.5, 0)
			hiName, hi := constant(nil, 0.2, 1)
			emit("Clip", []int{x}, []string{g.names[x], loName, hiName}, sh, func(in [][]float64) []float64 {
				return mapF(in[0], func(v float64) float64 { return math.Min(math.Max(v, lo[0]), hi[0]) })
			})
		case 14:
			// x + N, N the batch size: Shape, Gather, Cast and Add, a
			// value computed from the input shape (differs per batch).
			if len(gp.Initializer) == 0 || gp.Initializer[0].GetName() != "zero" {
				gp.Initializer = append([]*pb.TensorProto{int64Tensor("zero", nil, 0)}, gp.Initializer...)
			}
			shp := addValue([]int{4})
			gp.Node = append(gp.Node, node(fmt.Sprintf("n%d", len(gp.Node)), "Shape", names(x), []string{g.names[shp]}))
			nb := addValue(nil)
			gp.Node = append(gp.Node, node(fmt.Sprintf("n%d", len(gp.Node)), "Gather", []string{g.names[shp], "zero"}, []string{g.names[nb]}, attrInt("axis", 0)))
			nf := addValue(nil)
			gp.Node = append(gp.Node, node(fmt.Sprintf("n%d", len(gp.Node)), "Cast", names(nb), []string{g.names[nf]}, attrInt("to", int64(onnxir.Float32))))
			emit("Add", []int{x}, []string{g.names[x], g.names[nf]}, sh, func(in [][]float64) []float64 {
				return mapF(in[0], func(v float64) float64 { return v + float64(g.batch) })
			})
		case 13:
			// Classifier head: GlobalAveragePool, Flatten, Gemm, Softmax.
			gap := emit("GlobalAveragePool", []int{x}, names(x), []int{1, C, 1, 1}, func(in [][]float64) []float64 {
				out := make([]float64, C)
				for i, v := range in[0] {
					out[i/(H*W)] += v / (H * W)
				}
				return out
			})
			flat := emit("Flatten", []int{gap}, names(gap), []int{1, C}, func(in [][]float64) []float64 { return in[0] })
			M := 2 + c.IntN(5)
			wn, w := constant([]int64{int64(M), int64(C)}, -1, 1)
			bn, b := constant([]int64{int64(M)}, -0.1, 0.1)
			fc := emit("Gemm", []int{flat}, []string{g.names[flat], wn, bn}, []int{1, M}, func(in [][]float64) []float64 {
				out := make([]float64, M)
				for o := range out {
					out[o] = b[o]
					for i, v := range in[0] {
						out[o] += w[o*C+i] * v
					}
				}
				return out
			}, attrInt("transB", 1))
			if c.IntN(2) == 0 {
				emit("Softmax", []int{fc}, names(fc), []int{1, M}, func(in [][]float64) []float64 {
					mx := math.Inf(-1)
					for _, v := range in[0] {
						mx = math.Max(mx, v)
					}
					out := make([]float64, len(in[0]))
					var s float64
					for i, v := range in[0] {
						out[i] = math.Exp(v - mx)
						s += out[i]
					}
					for i := range out {
						out[i] /= s
					}
					return out
				}, attrInt("axis", 1))
			}
		}
	}
	// Outputs: the last value, plus up to two others (possibly read
	// further, possibly the same as another output's producer).
	if len(g.emitted) == 0 { // no node at all: add one
		emit("Relu", []int{0}, names(0), g.shape, func(in [][]float64) []float64 {
			return mapF(in[0], func(v float64) float64 { return math.Max(v, 0) })
		})
	}
	outs := []int{g.emitted[len(g.emitted)-1]}
	for range c.IntN(3) {
		if v := g.emitted[c.IntN(len(g.emitted))]; v != outs[0] {
			dup := false
			for _, o := range outs {
				dup = dup || o == v
			}
			if !dup {
				outs = append(outs, v)
			}
		}
	}
	g.outs = outs
	in := make([]int64, 4)
	for i, d := range g.shape {
		in[i] = int64(d)
	}
	gp.Input = []*pb.ValueInfoProto{symVI("X", in...)}
	for _, o := range outs {
		d := make([]int64, len(g.shapes[o]))
		for i, v := range g.shapes[o] {
			d[i] = int64(v)
		}
		gp.Output = append(gp.Output, symVI(g.names[o], d...))
	}
	g.model = model(gp)
	return g
}

func mapF(x []float64, f func(float64) float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = f(v)
	}
	return out
}

// refConv is a direct convolution of one image [C, H, W] with k×k kernels
// (padding k/2, stride 1) and bias.
func refConv(x []float64, C, H, W int, w, b []float64, M, k int) []float64 {
	out := make([]float64, M*H*W)
	p := k / 2
	for m := 0; m < M; m++ {
		for y := 0; y < H; y++ {
			for xx := 0; xx < W; xx++ {
				s := b[m]
				for c := 0; c < C; c++ {
					for ky := 0; ky < k; ky++ {
						for kx := 0; kx < k; kx++ {
							iy, ix := y+ky-p, xx+kx-p
							if iy >= 0 && iy < H && ix >= 0 && ix < W {
								s += w[((m*C+c)*k+ky)*k+kx] * x[(c*H+iy)*W+ix]
							}
						}
					}
				}
				out[(m*H+y)*W+xx] = s
			}
		}
	}
	return out
}

// refPool3 is a 3×3, stride 1, padding 1 max pool or average pool (padding
// excluded from the count, ONNX's default).
func refPool3(x []float64, C, H, W int, isMax bool) []float64 {
	out := make([]float64, C*H*W)
	for c := 0; c < C; c++ {
		for y := 0; y < H; y++ {
			for xx := 0; xx < W; xx++ {
				m, s, n := math.Inf(-1), 0.0, 0
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						iy, ix := y+dy, xx+dx
						if iy >= 0 && iy < H && ix >= 0 && ix < W {
							v := x[(c*H+iy)*W+ix]
							m = math.Max(m, v)
							s += v
							n++
						}
					}
				}
				if isMax {
					out[(c*H+y)*W+xx] = m
				} else {
					out[(c*H+y)*W+xx] = s / float64(n)
				}
			}
		}
	}
	return out
}

// eval runs the reference on one image x and returns every value (nil
// for the shape arithmetic, which the reference folds into its ops).
func (g *randGraph) eval(x []float64) [][]float64 {
	vals := make([][]float64, len(g.names))
	vals[0] = x
	for k, f := range g.ops {
		in := make([][]float64, len(g.ins[k]))
		for i, id := range g.ins[k] {
			in[i] = vals[id]
		}
		vals[g.emitted[k]] = f(in)
	}
	return vals
}

// checkRandGraph loads g and compares every output at batch n with the
// float64 reference, image by image.
func checkRandGraph(t *testing.T, g *randGraph, opts LoadOptions, n int, seed uint64) {
	t.Helper()
	b := mustMarshal(g.model)
	m, err := LoadReader(bytes.NewReader(b), opts)
	if err != nil {
		t.Fatalf("Load(Interpret=%v): %v\n%s", opts.Interpret, err, describeModel(g))
	}
	shape := append([]int{n}, g.shape[1:]...)
	x := tensor.New(shape...)
	copy(x.Data, randFloats(seed, "x", len(x.Data), -1, 1))
	out, err := m.Run(map[string]*tensor.Tensor{"X": x})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, describeModel(g))
	}
	per := len(x.Data) / n
	g.batch = n
	for b := 0; b < n; b++ {
		x64 := make([]float64, per)
		for i := range x64 {
			x64[i] = float64(x.Data[b*per+i])
		}
		vals := g.eval(x64)
		for _, o := range g.outs {
			want := vals[o]
			got := out[g.names[o]]
			if got == nil || len(got.Data) != n*len(want) {
				t.Fatalf("output %s: got %v, want %d values per image\n%s", g.names[o], got, len(want), describeModel(g))
			}
			scale := 0.0
			for _, v := range want {
				scale = max(scale, math.Abs(v))
			}
			for i, w := range want {
				v := float64(got.Data[b*len(want)+i])
				if !(math.Abs(v-w) <= 1e-5*(1+scale)+1e-4*math.Abs(w)) {
					t.Fatalf("%s: image %d of %d, output %s element %d: got %v, want %v\n%s", m.Executor(), b, n, g.names[o], i, v, w, describeModel(g))
				}
			}
		}
	}
}

func describeModel(g *randGraph) string {
	var s strings.Builder
	for _, n := range g.model.GetGraph().GetNode() {
		fmt.Fprintf(&s, "  %s %s %v -> %v\n", n.GetName(), n.GetOpType(), n.GetInput(), n.GetOutput())
	}
	fmt.Fprintf(&s, "  input %v outputs", g.shape)
	for _, o := range g.outs {
		fmt.Fprintf(&s, " %s%v", g.names[o], g.shapes[o])
	}
	return s.String()
}

// TestRandomGraphsMatchReference runs random DAGs (genGraph: repeated
// inputs, fan-out, outputs read further) against the float64 reference at
// batch 1 and 3. It is the property behind the planner: whatever shares a
// buffer, every value read is the value written.
func TestRandomGraphsMatchReference(t *testing.T) {
	trials := 400
	if testing.Short() || raceEnabled {
		trials = 50
	}
	r := rand.New(rand.NewPCG(3, 5))
	for trial := 0; trial < trials; trial++ {
		g := genGraph(r)
		for _, opts := range []LoadOptions{{}, {Interpret: true}} {
			for _, n := range []int{1, 3} {
				checkRandGraph(t, g, opts, n, uint64(trial))
			}
		}
	}
}

// FuzzPlan builds a graph from the fuzzer's bytes (genGraph) and checks the
// runner against the float64 reference: it fuzzes the planner (buffer
// sharing, folding, fusion) rather than the decoder.
func FuzzPlan(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 9))
	for range 16 {
		b := make([]byte, 48)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := genGraph(&byteChooser{b: data})
		checkRandGraph(t, g, LoadOptions{}, 2, 1)
		checkRandGraph(t, g, LoadOptions{Interpret: true}, 2, 1)
	})
}
