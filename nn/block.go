package nn

// Block is one node of a model's block tree. The set of block types is
// closed: the types in this package. Interpreters switch on the concrete
// type, and Lower rejects anything else.
type Block interface {
	// BlockName is the block's own path segment; "" makes it transparent.
	BlockName() string
}

// Pad is per-side zero padding: top, left, bottom, right.
type Pad struct{ T, L, B, R int }

// P returns symmetric padding p on every side.
func P(p int) Pad { return Pad{p, p, p, p} }

// PHW returns padding ph on top and bottom and pw on left and right.
func PHW(ph, pw int) Pad { return Pad{ph, pw, ph, pw} }

// Conv is a 2-D convolution. Kernel, Stride and Dilation are (height,
// width); zero Stride, Dilation or Groups mean 1. The input channel count is
// inferred from the input shape. Parameters: weight [Out, In/Groups, KH, KW]
// and, if Bias, bias [Out].
type Conv struct {
	Name     string
	Out      int
	Kernel   [2]int
	Stride   [2]int
	Pad      Pad
	Dilation [2]int
	Groups   int
	Bias     bool
}

// BatchNorm normalises each channel with running statistics. Parameters:
// weight (gamma, absent if NoScale, as in TF-slim checkpoints), bias (beta),
// and the buffers running_mean and running_var.
type BatchNorm struct {
	Name    string
	Eps     float32
	NoScale bool
}

// ChannelScale multiplies each channel by a learned factor and, if Bias,
// adds a learned offset (Caffe's Scale layer). Parameters: weight [C] and
// bias [C].
type ChannelScale struct {
	Name string
	Bias bool
}

// Affine applies fixed per-channel constants: y = x*Scale[c] + Shift[c].
// It has no parameters; torchvision's transform_input is one.
type Affine struct {
	Name         string
	Scale, Shift []float32
}

// ReLU is max(x, 0).
type ReLU struct{ Name string }

// MaxPool is 2-D max pooling; padded cells never win. CeilMode rounds the
// output size up as Caffe and PyTorch do (a window that would start in the
// end padding is dropped).
type MaxPool struct {
	Name     string
	Kernel   [2]int
	Stride   [2]int
	Pad      Pad
	Dilation [2]int
	CeilMode bool
}

// AvgPool is 2-D average pooling. CountIncludePad divides by the window
// size clipped to the padded input (PyTorch and Caffe semantics); otherwise
// only in-image cells are counted (TF SAME semantics, ONNX's default).
type AvgPool struct {
	Name            string
	Kernel          [2]int
	Stride          [2]int
	Pad             Pad
	CeilMode        bool
	CountIncludePad bool
}

// GlobalAvgPool averages each channel to 1×1.
type GlobalAvgPool struct{ Name string }

// AdaptiveAvgPool averages into an Out[0]×Out[1] grid with PyTorch's bins.
type AdaptiveAvgPool struct {
	Name string
	Out  [2]int
}

// LRN is local response normalisation across channels with ONNX semantics:
// y = x / (Bias + Alpha/Size · Σ x²)^Beta over Size neighbouring channels.
type LRN struct {
	Name              string
	Size              int
	Alpha, Beta, Bias float32
}

// Dropout is the identity at inference; P is the training drop rate.
type Dropout struct {
	Name string
	P    float32
}

// Flatten turns [C, H, W] into [C·H·W].
type Flatten struct{ Name string }

// Linear is a fully connected layer on a vector. Parameters: weight
// [Out, In] and, if Bias, bias [Out].
type Linear struct {
	Name string
	Out  int
	Bias bool
}

// Softmax normalises a vector into probabilities.
type Softmax struct{ Name string }

// Sequential applies Layers in order.
type Sequential struct {
	Name   string
	Layers []Block
}

// Branches runs every path on the same input and concatenates their outputs
// on the channel axis, in order.
type Branches struct {
	Name  string
	Paths []Block
}

// Residual computes y = x + Scale·Body(x), then ReLU if ReLU is set. A zero
// Scale means 1.
type Residual struct {
	Name  string
	Body  Block
	Scale float32
	ReLU  bool
}

// Tap is an auxiliary head: its output on the main path is its input
// unchanged, and Head's output becomes an extra, named model output.
type Tap struct {
	Name string
	Head Block
}

func (b Conv) BlockName() string            { return b.Name }
func (b BatchNorm) BlockName() string       { return b.Name }
func (b ChannelScale) BlockName() string    { return b.Name }
func (b Affine) BlockName() string          { return b.Name }
func (b ReLU) BlockName() string            { return b.Name }
func (b MaxPool) BlockName() string         { return b.Name }
func (b AvgPool) BlockName() string         { return b.Name }
func (b GlobalAvgPool) BlockName() string   { return b.Name }
func (b AdaptiveAvgPool) BlockName() string { return b.Name }
func (b LRN) BlockName() string             { return b.Name }
func (b Dropout) BlockName() string         { return b.Name }
func (b Flatten) BlockName() string         { return b.Name }
func (b Linear) BlockName() string          { return b.Name }
func (b Softmax) BlockName() string         { return b.Name }
func (b Sequential) BlockName() string      { return b.Name }
func (b Branches) BlockName() string        { return b.Name }
func (b Residual) BlockName() string        { return b.Name }
func (b Tap) BlockName() string             { return b.Name }

// Seq is shorthand for an unnamed Sequential.
func Seq(layers ...Block) Sequential { return Sequential{Layers: layers} }

// Indexed returns a Sequential whose layers are renamed "0", "1", … — the
// naming of a PyTorch nn.Sequential.
func Indexed(name string, layers ...Block) Sequential {
	out := make([]Block, len(layers))
	for i, l := range layers {
		out[i] = Rename(l, itoa(i))
	}
	return Sequential{Name: name, Layers: out}
}

// Rename returns b with its Name replaced.
func Rename(b Block, name string) Block {
	switch v := b.(type) {
	case Conv:
		v.Name = name
		return v
	case BatchNorm:
		v.Name = name
		return v
	case ChannelScale:
		v.Name = name
		return v
	case Affine:
		v.Name = name
		return v
	case ReLU:
		v.Name = name
		return v
	case MaxPool:
		v.Name = name
		return v
	case AvgPool:
		v.Name = name
		return v
	case GlobalAvgPool:
		v.Name = name
		return v
	case AdaptiveAvgPool:
		v.Name = name
		return v
	case LRN:
		v.Name = name
		return v
	case Dropout:
		v.Name = name
		return v
	case Flatten:
		v.Name = name
		return v
	case Linear:
		v.Name = name
		return v
	case Softmax:
		v.Name = name
		return v
	case Sequential:
		v.Name = name
		return v
	case Branches:
		v.Name = name
		return v
	case Residual:
		v.Name = name
		return v
	case Tap:
		v.Name = name
		return v
	}
	panic("nn: Rename of unknown block type")
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
