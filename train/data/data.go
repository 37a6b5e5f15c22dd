// Package data loads training sets for package train: Fashion-MNIST from
// its IDX files (Debian package dataset-fashion-mnist), and image folders
// with one sub-folder per class (decoded and preprocessed by package
// preprocess). It resizes (bilinear), shuffles with a seed, and fills
// mini-batches.
package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/inceptionzoo/inception/nn"
)

// Errors.
var (
	// ErrFormat reports a malformed data file.
	ErrFormat = errors.New("data: malformed file")
	// ErrNotFound reports a missing data set.
	ErrNotFound = errors.New("data: not found")
	// ErrLayout reports an image folder that is not laid out as a data
	// set: fewer than two class folders, or no images.
	ErrLayout = errors.New("data: not an image-folder data set")
)

// MaxClasses bounds the classes of a Set (labels are stored in at most
// two bytes).
const MaxClasses = 1 << 16

// Set is an in-memory labelled image set, NCHW. Samples are stored either
// as bytes (value/255 when read) or as float32; labels are stored in one
// byte each when every label is below 256 (two otherwise).
type Set struct {
	Shape   nn.Shape // per-sample [C, H, W]
	Classes []string
	lab8    []uint8
	lab16   []uint16
	u8      []uint8
	f32     []float32
}

// Len returns the number of samples.
func (s *Set) Len() int { return max(len(s.lab8), len(s.lab16)) }

// Label returns the label of sample i.
func (s *Set) Label(i int) int {
	if s.lab16 != nil {
		return int(s.lab16[i])
	}
	return int(s.lab8[i])
}

// setLabels stores labels compactly, checking each against the classes
// (when classes is set) and MaxClasses.
func (s *Set) setLabels(labels []int) error {
	bound := MaxClasses
	if s.Classes != nil {
		bound = min(len(s.Classes), MaxClasses)
	}
	big := false
	for i, l := range labels {
		if l < 0 || l >= bound {
			return fmt.Errorf("%w: label %d of sample %d outside [0, %d)", ErrFormat, l, i, bound)
		}
		big = big || l > 255
	}
	if big {
		s.lab16 = make([]uint16, len(labels))
		for i, l := range labels {
			s.lab16[i] = uint16(l)
		}
		return nil
	}
	s.lab8 = make([]uint8, len(labels))
	for i, l := range labels {
		s.lab8[i] = uint8(l)
	}
	return nil
}

// NewBytes returns a Set over byte pixels (read as v/255).
func NewBytes(shape nn.Shape, pix []uint8, labels []int, classes []string) (*Set, error) {
	if len(pix) != shape.Numel()*len(labels) {
		return nil, fmt.Errorf("%w: %d pixels for %d samples of %v", ErrFormat, len(pix), len(labels), shape)
	}
	s := &Set{Shape: shape, Classes: classes, u8: pix}
	return s, s.setLabels(labels)
}

// NewFloats returns a Set over float32 samples.
func NewFloats(shape nn.Shape, x []float32, labels []int, classes []string) (*Set, error) {
	if len(x) != shape.Numel()*len(labels) {
		return nil, fmt.Errorf("%w: %d values for %d samples of %v", ErrFormat, len(x), len(labels), shape)
	}
	s := &Set{Shape: shape, Classes: classes, f32: x}
	return s, s.setLabels(labels)
}

// Fill writes the samples idx into dst (len(idx)·Shape.Numel() values)
// and their labels into labels (len(idx)).
func (s *Set) Fill(idx []int, dst []float32, labels []int) {
	n := s.Shape.Numel()
	for i, j := range idx {
		d := dst[i*n : (i+1)*n]
		if s.u8 != nil {
			for k, v := range s.u8[j*n : (j+1)*n] {
				d[k] = float32(v) / 255
			}
		} else {
			copy(d, s.f32[j*n:(j+1)*n])
		}
		labels[i] = s.Label(j)
	}
}

// Subset returns the first n samples (all if n ≤ 0 or n ≥ Len).
func (s *Set) Subset(n int) *Set {
	if n <= 0 || n >= s.Len() {
		return s
	}
	t := *s
	if s.lab16 != nil {
		t.lab16 = s.lab16[:n]
	} else {
		t.lab8 = s.lab8[:n]
	}
	k := s.Shape.Numel()
	if s.u8 != nil {
		t.u8 = s.u8[:n*k]
	} else {
		t.f32 = s.f32[:n*k]
	}
	return &t
}

// Fingerprint identifies the set's contents: "sha256:" and the hex SHA-256
// of its shape, class names, labels and samples. A checkpoint records it,
// so that a run resumed on other data (another --limit, another folder)
// is refused.
func (s *Set) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "shape %v n %d classes %d\x00", s.Shape, s.Len(), len(s.Classes))
	for _, c := range s.Classes {
		fmt.Fprintf(h, "%s\x00", c)
	}
	if s.lab16 != nil {
		var b [2]byte
		for _, l := range s.lab16 {
			binary.LittleEndian.PutUint16(b[:], l)
			h.Write(b[:])
		}
	} else {
		h.Write(s.lab8)
	}
	if s.u8 != nil {
		h.Write([]byte("u8"))
		h.Write(s.u8)
	} else {
		h.Write([]byte("f32"))
		buf := make([]byte, 0, 1<<16)
		for i, v := range s.f32 {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) || i == len(s.f32)-1 {
				h.Write(buf)
				buf = buf[:0]
			}
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Resize returns the set resized to size×size with bilinear interpolation
// (half-pixel centres, edge clamped: PIL's and torchvision's bilinear when
// enlarging). Byte sets stay bytes (rounded).
func (s *Set) Resize(size int) (*Set, error) {
	if len(s.Shape) != 3 || size <= 0 {
		return nil, fmt.Errorf("%w: resize %v to %d", ErrFormat, s.Shape, size)
	}
	c, h, w := s.Shape[0], s.Shape[1], s.Shape[2]
	if h == size && w == size {
		return s, nil
	}
	t := &Set{Shape: nn.Shape{c, size, size}, Classes: s.Classes, lab8: s.lab8, lab16: s.lab16}
	in, out := h*w, size*size
	if s.u8 != nil {
		t.u8 = make([]uint8, s.Len()*c*out)
	} else {
		t.f32 = make([]float32, s.Len()*c*out)
	}
	plane := make([]float32, out)
	src := make([]float32, in)
	for p := 0; p < s.Len()*c; p++ {
		if s.u8 != nil {
			for i, v := range s.u8[p*in : (p+1)*in] {
				src[i] = float32(v)
			}
		} else {
			copy(src, s.f32[p*in:(p+1)*in])
		}
		Bilinear(src, h, w, plane, size, size)
		if s.u8 != nil {
			for i, v := range plane {
				t.u8[p*out+i] = uint8(min(255, max(0, v+0.5)))
			}
		} else {
			copy(t.f32[p*out:(p+1)*out], plane)
		}
	}
	return t, nil
}

// Bilinear resizes one h×w plane into oh×ow with half-pixel centres and
// clamped edges.
func Bilinear(src []float32, h, w int, dst []float32, oh, ow int) {
	sy, sx := float64(h)/float64(oh), float64(w)/float64(ow)
	for y := 0; y < oh; y++ {
		fy := max(0, (float64(y)+0.5)*sy-0.5)
		y0 := min(int(fy), h-1)
		y1 := min(y0+1, h-1)
		wy := float32(fy - float64(y0))
		for x := 0; x < ow; x++ {
			fx := max(0, (float64(x)+0.5)*sx-0.5)
			x0 := min(int(fx), w-1)
			x1 := min(x0+1, w-1)
			wx := float32(fx - float64(x0))
			top := src[y0*w+x0]*(1-wx) + src[y0*w+x1]*wx
			bot := src[y1*w+x0]*(1-wx) + src[y1*w+x1]*wx
			dst[y*ow+x] = top*(1-wy) + bot*wy
		}
	}
}

// Perm returns the sample order of an epoch: a permutation of [0, n)
// determined by (seed, epoch) alone, so a resumed run replays it exactly.
func Perm(n int, seed uint64, epoch int) []int {
	r := rand.New(rand.NewPCG(seed, uint64(epoch)*0x9E3779B97F4A7C15+1))
	return r.Perm(n)
}
