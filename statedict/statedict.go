package statedict

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Tensor is one floating-point entry of a state dict, converted to
// float32.
type Tensor struct {
	Name  string
	Shape []int // empty for a scalar
	// DType is the element type in the file, in torch's spelling:
	// "float32", "float16", "bfloat16" or "float64".
	DType string
	// Data holds the elements in row-major (C-contiguous) order, whatever
	// the strides in the file; len(Data) is the product of Shape. Each
	// tensor has its own Data, even when it shares a storage with others.
	Data []float32
}

// StateDict is the result of reading a weight file.
type StateDict struct {
	Format Format
	// Root says where the state dict was found in a PyTorch checkpoint:
	// "" when the file holds the state dict itself, "state_dict" or
	// "model" when it holds a dict with that entry (checked in this
	// order, after the top level).
	Root string
	// StrippedPrefix is "module." when every key carried that prefix
	// (torch.nn.DataParallel) and it was removed; otherwise "".
	StrippedPrefix string
	// Tensors are the floating-point entries in file order: the dict's
	// order for PyTorch files, data-offset order for safetensors.
	Tensors []*Tensor
	// Skipped names the integer and boolean entries (such as
	// BatchNorm's int64 num_batches_tracked), which are not read.
	Skipped []string
	// Metadata is a safetensors file's __metadata__ (nil otherwise).
	Metadata map[string]string

	index map[string]*Tensor
}

// Tensor returns the tensor with the given name, or nil.
func (sd *StateDict) Tensor(name string) *Tensor {
	if sd.index != nil {
		return sd.index[name]
	}
	for _, t := range sd.Tensors { // a StateDict not made by Read
		if t.Name == name {
			return t
		}
	}
	return nil
}

// ReadFile reads the state dict in the file at path, detecting its format
// by content. Zero fields of lim take their DefaultLimits values.
func ReadFile(path string, lim Limits) (*StateDict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("statedict: %s is not a regular file", path)
	}
	return Read(f, fi.Size(), lim)
}

// Read reads the state dict from the size bytes of r, detecting the
// format by content (see Detect). Zero fields of lim take their
// DefaultLimits values. Read is safe for concurrent use; r must allow
// concurrent ReadAt calls if it is shared.
func Read(r io.ReaderAt, size int64, lim Limits) (*StateDict, error) {
	l := lim.withDefaults()
	if size < 0 {
		return nil, formatErr("negative size %d", size)
	}
	if size > l.MaxFileBytes {
		return nil, limitErr("file of %d bytes exceeds MaxFileBytes = %d", size, l.MaxFileBytes)
	}
	r = &boundedReaderAt{r: r, size: size}
	head := make([]byte, min(size, DetectSize))
	if err := readFullAt(r, head, 0); err != nil {
		return nil, err
	}
	var sd *StateDict
	var err error
	switch f := Detect(head); f {
	case TorchZip:
		sd, err = readTorchZip(r, size, &l)
	case TorchLegacy:
		sd, err = readTorchLegacy(r, size, &l)
	case Safetensors:
		sd, err = readSafetensors(r, size, &l)
	case ONNX:
		return nil, unsupportedErr("an ONNX model: decode it with package onnx")
	default:
		if size == 0 {
			return nil, formatErr("empty file")
		}
		return nil, formatErr("not a PyTorch checkpoint, safetensors or ONNX file (starts with % x)", head[:min(len(head), 8)])
	}
	if err != nil {
		return nil, err
	}
	sd.stripModulePrefix()
	sd.index = make(map[string]*Tensor, len(sd.Tensors))
	for _, t := range sd.Tensors {
		sd.index[t.Name] = t
	}
	return sd, nil
}

// modulePrefix is what torch.nn.DataParallel puts before every key.
const modulePrefix = "module."

// stripModulePrefix removes "module." when every key has it.
func (sd *StateDict) stripModulePrefix() {
	if len(sd.Tensors)+len(sd.Skipped) == 0 {
		return
	}
	for _, t := range sd.Tensors {
		if !strings.HasPrefix(t.Name, modulePrefix) || t.Name == modulePrefix {
			return
		}
	}
	for _, s := range sd.Skipped {
		if !strings.HasPrefix(s, modulePrefix) || s == modulePrefix {
			return
		}
	}
	for _, t := range sd.Tensors {
		t.Name = t.Name[len(modulePrefix):]
	}
	for i, s := range sd.Skipped {
		sd.Skipped[i] = s[len(modulePrefix):]
	}
	sd.StrippedPrefix = modulePrefix
}

// boundedReaderAt confines reads to [0, size): an offset outside it (a
// zip directory pointing before the file or past its end) is a format
// error, and a read that crosses the end stops there with io.EOF, whatever
// the underlying reader would do.
type boundedReaderAt struct {
	r    io.ReaderAt
	size int64
}

func (b *boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > b.size {
		return 0, formatErr("read at offset %d outside the file (%d bytes)", off, b.size)
	}
	if rest := b.size - off; int64(len(p)) > rest {
		n, err := b.r.ReadAt(p[:rest], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return b.r.ReadAt(p, off)
}
