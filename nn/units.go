package nn

// K returns a square kernel, stride or dilation.
func K(k int) [2]int { return [2]int{k, k} }

// KHW returns a kh×kw kernel, stride or dilation.
func KHW(kh, kw int) [2]int { return [2]int{kh, kw} }

// ConvUnit is the common conv unit: Conv, then optionally BatchNorm, then
// ReLU. With BN (BNEps > 0) it is torchvision's BasicConv2d: a block named
// Name holding "conv" (no bias unless Conv.Bias) and "bn". Without BN it is
// a Caffe-style conv with bias named Name followed by a ReLU, so parameters
// are Name.weight and Name.bias.
type ConvUnit struct {
	Name  string
	Conv  Conv // Conv.Name is ignored
	BNEps float32
}

// Block returns the unit as a block.
func (u ConvUnit) Block() Block {
	c := u.Conv
	if u.BNEps > 0 {
		c.Name = "conv"
		return Sequential{Name: u.Name, Layers: []Block{c, BatchNorm{Name: "bn", Eps: u.BNEps}, ReLU{}}}
	}
	c.Name = u.Name
	c.Bias = true
	return Sequential{Layers: []Block{c, ReLU{}}}
}

// ScaledResidual is the Inception-ResNet block: the branches (concatenated)
// are projected by a 1×1 conv with bias named Proj to width Out, scaled,
// added to the input, then passed through a ReLU if ReLU is set. Branches
// is transparent, so branch paths sit directly under Name.
func ScaledResidual(name string, branches []Block, proj string, out int, scale float32, relu bool) Residual {
	return Residual{
		Name: name,
		Body: Sequential{Layers: []Block{
			Branches{Paths: branches},
			Conv{Name: proj, Out: out, Kernel: K(1), Bias: true},
		}},
		Scale: scale,
		ReLU:  relu,
	}
}
