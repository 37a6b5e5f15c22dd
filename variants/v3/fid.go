package inceptionv3

import (
	"fmt"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/weights"
)

const fidPaper = "Heusel et al. 2017, GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium, arXiv:1706.08500 (FID); network: " + paper

// FIDClasses is the classifier width of the TF inception-2015-12-05 graph
// the FID weights come from: 1008 outputs, of which 1001 are used.
const FIDClasses = 1008

// FIDLayers maps pytorch-fid's feature dimensionalities (its
// BLOCK_INDEX_BY_DIM) to the block of inception-v3-fid whose output they
// are: the first and second max pools (64 and 192 channels, spatially
// averaged), the output of Mixed_6e (768, spatially averaged) and the
// final average pool (2048, the model's Features).
var FIDLayers = map[int]string{64: "maxpool1", 192: "maxpool2", 768: "Mixed_6e", 2048: "avgpool"}

// FIDPreprocess is pytorch-fid's input pipeline: the image as ToTensor's
// float values in [0, 1], resized to 299x299 with F.interpolate(mode=
// "bilinear", align_corners=False) whatever its aspect ratio, then
// 2x − 1.
var FIDPreprocess = spec.Preprocess{Resize: 299, Crop: 299, Interpolation: spec.TorchBilinear, Stretch: true, Norm: spec.Inception}

// tfAvgPool is the in-block 3x3/1 average pool of the TF graph: padded
// cells are not counted (F.avg_pool2d(..., count_include_pad=False)).
func tfAvgPool() nn.Block {
	return nn.AvgPool{Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1)}
}

// maxPool3x3s1 is the pool branch of pytorch-fid's last block
// (F.max_pool2d(x, 3, 1, 1)).
func maxPool3x3s1() nn.Block {
	return nn.MaxPool{Kernel: nn.K(3), Stride: nn.K(1), Pad: nn.P(1)}
}

// withPool returns block b (an Inception block whose last branch is
// average pool → 1x1 projection) with that pool replaced by pool.
func withPool(b nn.Block, pool nn.Block) (nn.Block, error) {
	br, ok := b.(nn.Branches)
	if !ok || len(br.Paths) == 0 {
		return nil, fmt.Errorf("%s: not an Inception block", b.BlockName())
	}
	last, ok := br.Paths[len(br.Paths)-1].(nn.Sequential)
	if !ok || len(last.Layers) != 2 {
		return nil, fmt.Errorf("%s: the last branch is not pool → projection", br.Name)
	}
	if _, ok := last.Layers[0].(nn.AvgPool); !ok {
		return nil, fmt.Errorf("%s: the last branch starts with %T, not an average pool", br.Name, last.Layers[0])
	}
	last.Layers = []nn.Block{pool, last.Layers[1]}
	br.Paths = append(append([]nn.Block(nil), br.Paths[:len(br.Paths)-1]...), last)
	return br, nil
}

// InceptionV3FID builds pytorch-fid's FID Inception v3 (its
// fid_inception_v3): torchvision's inception_v3 with 1008 classes and no
// auxiliary head, whose Mixed_5b–5d (FIDInceptionA), Mixed_6b–6e
// (FIDInceptionC) and Mixed_7b (FIDInceptionE_1) average-pool their pool
// branch without counting the padding, as TF does, and whose Mixed_7c
// (FIDInceptionE_2) max-pools it (3x3, stride 1, pad 1). Parameter paths
// are torchvision's, which are the keys of pytorch-fid's state dict.
func InceptionV3FID(o nn.Options) (nn.Block, error) {
	if o.Aux || o.TransformInput {
		return nil, fmt.Errorf("inception-v3-fid: has no auxiliary head and no transform_input")
	}
	if o.Classes < 0 {
		return nil, fmt.Errorf("inception-v3-fid: invalid class count %d", o.Classes)
	}
	var layers []nn.Block
	for _, l := range Stem {
		layers = append(layers, stemLayer(l))
	}
	add := func(b nn.Block, pool nn.Block) error {
		if pool != nil {
			var err error
			if b, err = withPool(b, pool); err != nil {
				return fmt.Errorf("inception-v3-fid: %w", err)
			}
		}
		layers = append(layers, b)
		return nil
	}
	for _, m := range BlocksA {
		if err := add(blockA(m), tfAvgPool()); err != nil {
			return nil, err
		}
	}
	for _, m := range BlocksB {
		layers = append(layers, blockB(m))
	}
	for _, m := range BlocksC {
		if err := add(blockC(m), tfAvgPool()); err != nil {
			return nil, err
		}
	}
	for _, m := range BlocksD {
		layers = append(layers, blockD(m))
	}
	for i, m := range BlocksE {
		pool := tfAvgPool()
		if i == len(BlocksE)-1 {
			pool = maxPool3x3s1()
		}
		if err := add(blockE(m), pool); err != nil {
			return nil, err
		}
	}
	layers = append(layers,
		nn.GlobalAvgPool{Name: "avgpool"},
		nn.Dropout{Name: "dropout", P: 0.5},
		nn.Flatten{},
		nn.Linear{Name: "fc", Out: o.ClassesOr(FIDClasses), Bias: true},
	)
	return nn.Sequential{Layers: layers}, nil
}

// fidSpec is the registry entry of inception-v3-fid.
func fidSpec() spec.Model {
	return spec.Model{
		Name:        "inception-v3-fid",
		Aliases:     []string{"fid_inception_v3"},
		Family:      "inception-v3",
		Paper:       fidPaper,
		Description: "pytorch-fid's FID Inception v3: the TF inception-2015-12-05 graph in torchvision's layout (1008 classes, TF average pools, a max pool in Mixed_7c's pool branch); the network of FID, KID and IS",
		Input:       nn.Shape{3, 299, 299},
		Classes:     FIDClasses,
		Labels:      labels.SetTF2015,
		Output:      spec.Logits,
		Preprocess:  FIDPreprocess,
		RefParams:   23850960,
		RefMACs:     5713232480,
		Quirks: []string{
			"torchvision inception_v3 layout without AuxLogits; fc 2048→1008 (the TF graph's 1008 outputs)",
			"pool branches of Mixed_5b-5d, Mixed_6b-6e and Mixed_7b: 3x3/1 average pool without counting the padding (TF), unlike torchvision",
			"pool branch of Mixed_7c: 3x3/1 max pool, pad 1 (pytorch-fid's FIDInceptionE_2, a quirk of the TF graph)",
			"input: any image, stretched to 299x299 with PyTorch's bilinear F.interpolate on [0, 1] floats (no antialiasing), then 2x-1",
			"FID features: 64 = maxpool1, 192 = maxpool2, 768 = Mixed_6e (spatial means), 2048 = avgpool (the Features)",
		},
		Tags: []spec.Tag{
			{
				Name:        "pt_inception",
				Description: "pytorch-fid's port of TF's inception-2015-12-05 (the FID reference weights)",
				File: weights.File{
					Name:         "pytorch-fid-pt_inception-2015-12-05-6726825d.pth",
					URL:          "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
					SHA256Prefix: "6726825d",
				},
				Format:     spec.PyTorch,
				Classes:    FIDClasses,
				Labels:     labels.SetTF2015,
				Preprocess: FIDPreprocess,
				License:    "Apache-2.0 (pytorch-fid); the weights are a port of TensorFlow's inception-2015-12-05 release (Apache-2.0)",
				Source:     "mseitzer/pytorch-fid v0.3.0, src/pytorch_fid/inception.py (FID_WEIGHTS_URL, fid_inception_v3)",
				Notes:      "torch.save state dict of fid_inception_v3() (torchvision key names, no AuxLogits, fc 1008); the publisher gives only the SHA-256 prefix in the file name; torch-fidelity ships a copy under another name",
			},
		},
		Build: InceptionV3FID,
	}
}
