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

// maxIDXBytes bounds a decoded IDX file (Fashion-MNIST's largest is 47 MB).
const maxIDXBytes = 1 << 30

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
	if hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08 || hdr[3] == 0 || hdr[3] > 4 {
		return nil, nil, fmt.Errorf("%w: %s: magic % x (want unsigned-byte IDX)", ErrFormat, name, hdr)
	}
	n := 1
	for i := 0; i < int(hdr[3]); i++ {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: dimension %d: %w", ErrFormat, name, i, err)
		}
		if d == 0 || uint64(n)*uint64(d) > maxIDXBytes {
			return nil, nil, fmt.Errorf("%w: %s: dimension %d is %d", ErrFormat, name, i, d)
		}
		dims = append(dims, int(d))
		n *= int(d)
	}
	b = make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: data: %w", ErrFormat, name, err)
	}
	return dims, b, nil
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
	ls := make([]int, len(lab))
	for i, v := range lab {
		if v > 9 {
			return nil, fmt.Errorf("%w: fashion-mnist %s: label %d", ErrFormat, prefix, v)
		}
		ls[i] = int(v)
	}
	return NewBytes(nn.Shape{1, idims[1], idims[2]}, img, ls, labels.FashionMNIST())
}
