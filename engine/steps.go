package engine

import (
	"fmt"
	"strings"

	"github.com/inceptionzoo/inception/engine/kernels"
	"github.com/inceptionzoo/inception/nn"
)

func or1(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// makeStep builds the kernel call for a plan item; identity ops and concats
// whose inputs were written in place produce no step.
func (c *compiler) makeStep(n *nn.Node, chain []*nn.Node) (*step, error) {
	out := chain[len(chain)-1].ID
	st := &step{name: n.Path, kind: strings.TrimPrefix(fmt.Sprintf("%T", n.Op), "nn."), macs: n.MACs, out: out, in: n.Inputs}
	in := n.Inputs[0]
	inShape := n.In[0]
	slot, total, off := c.dst(out)
	_ = slot
	switch op := n.Op.(type) {
	case nn.Conv:
		w, b, relu := c.foldInto(chain, c.wbuf)
		c.wbuf = w
		p := kernels.ConvParams{
			C: inShape[0], H: inShape[1], W: inShape[2],
			OutC: op.Out, KH: op.Kernel[0], KW: op.Kernel[1],
			StrideH: or1(op.Stride[0]), StrideW: or1(op.Stride[1]),
			PadT: op.Pad.T, PadL: op.Pad.L, PadB: op.Pad.B, PadR: op.Pad.R,
			DilH: or1(op.Dilation[0]), DilW: or1(op.Dilation[1]),
			Groups: or1(op.Groups),
		}
		conv := kernels.NewConv(p, w, kernels.Epilogue{Bias: b, ReLU: relu})
		st.run = func(ws *workspace, a *runArgs) {
			conv.Run(ws.n, a.data(ws, in), a.data(ws, out), total, off)
		}
	case nn.Linear:
		w, b, relu := c.fold(chain)
		if c.param(n, nn.Bias) == nil && len(chain) == 1 {
			b = nil
		}
		inF, outF := inShape[0], op.Out
		st.run = func(ws *workspace, a *runArgs) {
			kernels.Linear(ws.n, inF, outF, a.data(ws, in), w, b, relu, a.data(ws, out))
		}
	case nn.BatchNorm, nn.ChannelScale, nn.Affine:
		a, relu := c.chainAffine(chain, false)
		scale, shift := a.Float32()
		ch, hw := inShape[0], spatialSize(inShape)
		st.run = func(ws *workspace, a *runArgs) {
			kernels.ChannelAffine(ws.n, ch, hw, a.data(ws, in), scale, shift, relu, a.data(ws, out))
		}
	case nn.ReLU:
		size := inShape.Numel()
		st.run = func(ws *workspace, a *runArgs) {
			kernels.ReLU(a.data(ws, in)[:ws.n*size], a.data(ws, out)[:ws.n*size])
		}
	case nn.MaxPool:
		p := poolParams(inShape, op.Kernel, op.Stride, op.Pad, op.Dilation, op.CeilMode)
		st.run = func(ws *workspace, a *runArgs) {
			q := p
			q.N = ws.n
			kernels.MaxPool2D(q, a.data(ws, in), a.data(ws, out), total, off)
		}
	case nn.AvgPool:
		p := poolParams(inShape, op.Kernel, op.Stride, op.Pad, [2]int{}, op.CeilMode)
		cip := op.CountIncludePad
		st.run = func(ws *workspace, a *runArgs) {
			q := p
			q.N = ws.n
			kernels.AvgPool2D(q, cip, a.data(ws, in), a.data(ws, out), total, off)
		}
	case nn.GlobalAvgPool:
		ch, hw := inShape[0], spatialSize(inShape)
		st.run = func(ws *workspace, a *runArgs) {
			kernels.GlobalAvgPool(ws.n, ch, hw, a.data(ws, in), a.data(ws, out))
		}
	case nn.AdaptiveAvgPool:
		ch, h, w := inShape[0], inShape[1], inShape[2]
		st.run = func(ws *workspace, a *runArgs) {
			kernels.AdaptiveAvgPool2D(ws.n, ch, h, w, op.Out[0], op.Out[1], a.data(ws, in), a.data(ws, out))
		}
	case nn.LRN:
		ch, hw := inShape[0], spatialSize(inShape)
		st.run = func(ws *workspace, a *runArgs) {
			kernels.LRN(ws.n, ch, hw, op.Size, op.Alpha, op.Beta, op.Bias, a.data(ws, in), a.data(ws, out))
		}
	case nn.Softmax:
		cols := inShape[0]
		st.run = func(ws *workspace, a *runArgs) {
			kernels.Softmax(ws.n, cols, a.data(ws, in), a.data(ws, out))
		}
	case nn.Dropout, nn.Flatten:
		if c.root(out) != out {
			return nil, nil // a view of its input
		}
		size := inShape.Numel()
		st.run = func(ws *workspace, a *runArgs) {
			copy(a.data(ws, out)[:ws.n*size], a.data(ws, in)[:ws.n*size])
		}
	case nn.Concat:
		return c.concatStep(n, st)
	case nn.Add:
		r := n.Inputs[1]
		size := inShape.Numel()
		scale, relu := op.Scale, op.ReLU
		st.run = func(ws *workspace, a *runArgs) {
			m := ws.n * size
			kernels.AddScaled(a.data(ws, in)[:m], a.data(ws, r)[:m], scale, relu, a.data(ws, out)[:m])
		}
	default:
		return nil, fmt.Errorf("engine: %s: unsupported op %T", n.Path, n.Op)
	}
	return st, nil
}

// concatStep copies the inputs that were not written in place into their
// channel window of the output.
func (c *compiler) concatStep(n *nn.Node, st *step) (*step, error) {
	type part struct{ id, off, ch int }
	var parts []part
	off := 0
	outSlot, _, _ := c.dst(n.ID)
	for _, in := range n.Inputs {
		ch := c.g.Nodes[in].Out[0]
		s := c.m.store[in]
		if !(s.slot == outSlot && s.slot >= 0 && s.c != 0) {
			parts = append(parts, part{in, off, ch})
		}
		off += ch
	}
	if len(parts) == 0 {
		return nil, nil
	}
	slot, total, base := c.dst(n.ID)
	_ = slot
	hw := spatialSize(n.Out)
	id := n.ID
	st.run = func(ws *workspace, a *runArgs) {
		dst := a.data(ws, id)
		for _, p := range parts {
			src := a.data(ws, p.id)
			srcStore := a.m.store[p.id]
			srcTotal, srcOff := srcStore.c, srcStore.off
			if srcTotal == 0 {
				srcTotal = p.ch
			}
			for b := 0; b < ws.n; b++ {
				s := src[(b*srcTotal+srcOff)*hw : (b*srcTotal+srcOff+p.ch)*hw]
				copy(dst[(b*total+base+p.off)*hw:], s)
			}
		}
	}
	return st, nil
}

func spatialSize(s nn.Shape) int {
	if len(s) == 3 {
		return s[1] * s[2]
	}
	return 1
}

func poolParams(in nn.Shape, k, s [2]int, p nn.Pad, d [2]int, ceil bool) kernels.PoolParams {
	return kernels.PoolParams{
		C: in[0], H: in[1], W: in[2],
		KH: k[0], KW: k[1],
		StrideH: or1(s[0]), StrideW: or1(s[1]),
		PadT: p.T, PadL: p.L, PadB: p.B, PadR: p.R,
		DilH: or1(d[0]), DilW: or1(d[1]),
		CeilMode: ceil,
	}
}
