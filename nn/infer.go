package nn

import "fmt"

func or1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// ConvOut returns the output size of a convolution or floor-mode pool along
// one axis, or a value < 1 if the window does not fit. It is the one
// convolution size formula of the module: engine/kernels and the ONNX
// runner use it too.
func ConvOut(in, k, stride, padBegin, padEnd, dilation int) int {
	span := dilation*(k-1) + 1
	return (in+padBegin+padEnd-span)/stride + 1
}

// PoolOut returns the output size of a pool along one axis. In ceil mode the
// size is rounded up, and a last window that would start in the end padding
// is dropped (the rule of Caffe, PyTorch and ONNX). It is the one pooling
// size formula of the module: engine/kernels (PoolParams.OutHW, which the
// ONNX runner uses) calls it.
func PoolOut(in, k, stride, padBegin, padEnd, dilation int, ceil bool) int {
	span := dilation*(k-1) + 1
	num := in + padBegin + padEnd - span
	if num < 0 {
		return 0
	}
	if !ceil {
		return num/stride + 1
	}
	out := (num+stride-1)/stride + 1
	if (out-1)*stride >= in+padBegin {
		out--
	}
	return out
}

func shapeErr(n *Node, format string, args ...any) error {
	return fmt.Errorf("%w: %s (%s) on input %v: %s", ErrShape, n.Path, blockKind(n.Op), n.In, fmt.Sprintf(format, args...))
}

func spatial(n *Node) (c, h, w int, err error) {
	if len(n.In[0]) != 3 {
		return 0, 0, 0, shapeErr(n, "want a [C,H,W] feature map")
	}
	s := n.In[0]
	return s[0], s[1], s[2], nil
}

func validPad(p Pad) bool { return p.T >= 0 && p.L >= 0 && p.B >= 0 && p.R >= 0 }

// infer sets n.Out, n.Params and n.MACs from n.Op and n.In.
func infer(n *Node) error {
	in := n.In[0]
	same := func() { n.Out = append(Shape(nil), in...) }
	param := func(name string, kind ParamKind, shape ...int) {
		n.Params = append(n.Params, ParamSpec{Path: join(n.Path, name), Kind: kind, Shape: shape})
	}
	switch op := n.Op.(type) {
	case Conv:
		c, h, w, err := spatial(n)
		if err != nil {
			return err
		}
		g := or1(op.Groups)
		sh, sw := or1(op.Stride[0]), or1(op.Stride[1])
		dh, dw := or1(op.Dilation[0]), or1(op.Dilation[1])
		kh, kw := op.Kernel[0], op.Kernel[1]
		if op.Out <= 0 || kh <= 0 || kw <= 0 || sh < 0 || sw < 0 || dh < 0 || dw < 0 || g < 0 || !validPad(op.Pad) {
			return shapeErr(n, "invalid conv %+v", op)
		}
		if c%g != 0 || op.Out%g != 0 {
			return shapeErr(n, "groups %d must divide in %d and out %d channels", g, c, op.Out)
		}
		oh := ConvOut(h, kh, sh, op.Pad.T, op.Pad.B, dh)
		ow := ConvOut(w, kw, sw, op.Pad.L, op.Pad.R, dw)
		if oh < 1 || ow < 1 {
			return shapeErr(n, "kernel %dx%d does not fit", kh, kw)
		}
		n.Out = Shape{op.Out, oh, ow}
		param("weight", Weight, op.Out, c/g, kh, kw)
		if op.Bias {
			param("bias", Bias, op.Out)
		}
		n.MACs = int64(oh) * int64(ow) * int64(op.Out) * int64(c/g) * int64(kh) * int64(kw)
	case BatchNorm:
		if len(in) < 1 {
			return shapeErr(n, "no channel axis")
		}
		if op.Eps <= 0 {
			return shapeErr(n, "eps must be > 0")
		}
		same()
		if !op.NoScale {
			param("weight", Weight, in[0])
		}
		param("bias", Bias, in[0])
		param("running_mean", RunningMean, in[0])
		param("running_var", RunningVar, in[0])
	case ChannelScale:
		same()
		param("weight", Weight, in[0])
		if op.Bias {
			param("bias", Bias, in[0])
		}
	case Affine:
		if len(op.Scale) != in[0] || len(op.Shift) != in[0] {
			return shapeErr(n, "affine has %d scales and %d shifts for %d channels", len(op.Scale), len(op.Shift), in[0])
		}
		same()
	case ReLU, Dropout:
		same()
	case LRN:
		if op.Size <= 0 || op.Beta < 0 || op.Bias <= 0 {
			return shapeErr(n, "invalid LRN %+v", op)
		}
		if _, _, _, err := spatial(n); err != nil {
			return err
		}
		same()
	case MaxPool:
		return inferPool(n, op.Kernel, op.Stride, op.Pad, op.Dilation, op.CeilMode)
	case AvgPool:
		return inferPool(n, op.Kernel, op.Stride, op.Pad, [2]int{}, op.CeilMode)
	case GlobalAvgPool:
		c, _, _, err := spatial(n)
		if err != nil {
			return err
		}
		n.Out = Shape{c, 1, 1}
	case AdaptiveAvgPool:
		c, _, _, err := spatial(n)
		if err != nil {
			return err
		}
		if op.Out[0] <= 0 || op.Out[1] <= 0 {
			return shapeErr(n, "invalid output grid %v", op.Out)
		}
		n.Out = Shape{c, op.Out[0], op.Out[1]}
	case Flatten:
		n.Out = Shape{in.Numel()}
	case Linear:
		if len(in) != 1 {
			return shapeErr(n, "Linear needs a vector; add a Flatten")
		}
		if op.Out <= 0 {
			return shapeErr(n, "invalid output size %d", op.Out)
		}
		n.Out = Shape{op.Out}
		param("weight", Weight, op.Out, in[0])
		if op.Bias {
			param("bias", Bias, op.Out)
		}
		n.MACs = int64(in[0]) * int64(op.Out)
	case Softmax:
		if len(in) != 1 {
			return shapeErr(n, "Softmax needs a vector")
		}
		same()
	case Concat:
		c := 0
		for _, s := range n.In {
			if len(s) != len(in) || (len(s) == 3 && (s[1] != in[1] || s[2] != in[2])) {
				return shapeErr(n, "branch shapes differ")
			}
			c += s[0]
		}
		n.Out = append(Shape{c}, in[1:]...)
	case Add:
		a, b := n.In[0], n.In[1]
		if len(a) != len(b) {
			return shapeErr(n, "residual shapes %v and %v differ", a, b)
		}
		for i := range a {
			if a[i] != b[i] {
				return shapeErr(n, "residual shapes %v and %v differ", a, b)
			}
		}
		same()
	default:
		return shapeErr(n, "unknown block type %T", n.Op)
	}
	return nil
}

func inferPool(n *Node, k, s [2]int, p Pad, d [2]int, ceil bool) error {
	c, h, w, err := spatial(n)
	if err != nil {
		return err
	}
	sh, sw := or1(s[0]), or1(s[1])
	dh, dw := or1(d[0]), or1(d[1])
	if k[0] <= 0 || k[1] <= 0 || sh < 0 || sw < 0 || !validPad(p) || p.T >= k[0] || p.B >= k[0] || p.L >= k[1] || p.R >= k[1] {
		return shapeErr(n, "invalid pool kernel %v stride %v pad %+v", k, s, p)
	}
	oh := PoolOut(h, k[0], sh, p.T, p.B, dh, ceil)
	ow := PoolOut(w, k[1], sw, p.L, p.R, dw, ceil)
	if oh < 1 || ow < 1 {
		return shapeErr(n, "window %v does not fit", k)
	}
	n.Out = Shape{c, oh, ow}
	return nil
}
