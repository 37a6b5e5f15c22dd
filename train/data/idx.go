package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/inceptionzoo/inception/labels"
	"github.com/inceptionzoo/inception/nn"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist installs the
// IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// Limits of DecodeIDX: a file's data is read only up to what its header
// declares, and a header declaring more than MaxIDXBytes (or more than
// MaxIDXRank dimensions) is refused before anything is allocated; memory
// grows with the data actually read, so a truncated or compressed
// (gzip bomb) file cannot make it allocate what it declares.
const (
	// MaxIDXBytes bounds the data of one IDX file (Fashion-MNIST's
	// largest, the training images, has 47,040,000 bytes).
	MaxIDXBytes = 256 << 20
	// MaxIDXRank bounds an IDX file's number of dimensions.
	MaxIDXRank = 4
)

// ReadIDX reads an IDX file of unsigned bytes (type 0x08), gzipped or not:
// its dimensions and data.
func ReadIDX(path string) (dims []int, b []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrFormat, path, err)
		}
		defer gz.Close()
		r = gz
	}
	return DecodeIDX(r, path)
}

// DecodeIDX decodes an unsigned-byte IDX stream; name labels errors.
func DecodeIDX(r io.Reader, name string) (dims []int, b []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: header: %w", ErrFormat, name, err)
	}
	if hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08 || hdr[3] == 0 || hdr[3] > MaxIDXRank {
		return nil, nil, fmt.Errorf("%w: %s: magic % x (want unsigned-byte IDX of rank 1 to %d)", ErrFormat, name, hdr, MaxIDXRank)
	}
	n := 1
	for i := 0; i < int(hdr[3]); i++ {
		var d [4]byte
		if _, err := io.ReadFull(r, d[:]); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: dimension %d: %w", ErrFormat, name, i, err)
		}
		v := binary.BigEndian.Uint32(d[:])
		if v == 0 {
			return nil, nil, fmt.Errorf("%w: %s: dimension %d is 0", ErrFormat, name, i)
		}
		if uint64(n)*uint64(v) > MaxIDXBytes {
			return nil, nil, fmt.Errorf("%w: %s: dimensions %v×%d declare more than MaxIDXBytes (%d) bytes", ErrFormat, name, dims, v, MaxIDXBytes)
		}
		dims = append(dims, int(v))
		n *= int(v)
	}
	var buf bytes.Buffer
	if got, err := io.CopyN(&buf, r, int64(n)); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: data: %d of the %d bytes the header declares: %w", ErrFormat, name, got, n, err)
	}
	return dims, buf.Bytes(), nil
}

// FashionMNIST loads the training (60,000) or test (10,000) split from dir
// (FashionMNISTDir if empty) as 1×28×28 byte images with the ten class
// names of labels.FashionMNIST.
func FashionMNIST(dir string, train bool) (*Set, error) {
	if dir == "" {
		dir = FashionMNISTDir
	}
	prefix := "t10k"
	if train {
		prefix = "train"
	}
	find := func(base string) string {
		for _, p := range []string{base + ".gz", base} {
			if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
				return filepath.Join(dir, p)
			}
		}
		return filepath.Join(dir, base+".gz")
	}
	idims, img, err := ReadIDX(find(prefix + "-images-idx3-ubyte"))
	if err != nil {
		return nil, err
	}
	ldims, lab, err := ReadIDX(find(prefix + "-labels-idx1-ubyte"))
	if err != nil {
		return nil, err
	}
	if len(idims) != 3 || len(ldims) != 1 || idims[0] != ldims[0] {
		return nil, fmt.Errorf("%w: fashion-mnist %s: images %v, labels %v", ErrFormat, prefix, idims, ldims)
	}
	for i, v := range lab {
		if v > 9 {
			return nil, fmt.Errorf("%w: fashion-mnist %s: label %d of sample %d", ErrFormat, prefix, v, i)
		}
	}
	shape := nn.Shape{1, idims[1], idims[2]}
	if len(img) != shape.Numel()*len(lab) {
		return nil, fmt.Errorf("%w: fashion-mnist %s: %d pixels for %d samples of %v", ErrFormat, prefix, len(img), len(lab), shape)
	}
	// the label bytes are kept as they are (one byte per sample)
	return &Set{Shape: shape, Classes: labels.FashionMNIST(), lab8: lab, u8: img}, nil
}
