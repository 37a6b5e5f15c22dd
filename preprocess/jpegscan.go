package preprocess

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// jpegFrame is what scanJPEG reads from a JPEG's markers before any pixel
// is decoded: the frame header and the number of scans.
type jpegFrame struct {
	progressive   bool
	width, height int
	ids           []byte   // per component: its identifier
	sampling      [][2]int // per component: horizontal, vertical sampling factor
	scans         int      // SOS markers before EOI
	scanComps     [][]byte // per scan: the component identifiers it codes (at most 4)
}

// scanJPEG walks the markers of a JPEG file the way image/jpeg does
// (skipping extraneous bytes and fill bytes between markers, stepping over
// segments by their length and over entropy-coded data to the next marker)
// and counts the scans, without decoding anything. It reads only inside
// data, never panics, and takes time linear in len(data). It counts at
// least the scans image/jpeg would decode: it stops only at EOI or the end
// of the data, where image/jpeg stops too or earlier.
func scanJPEG(data []byte) (jpegFrame, error) {
	var f jpegFrame
	if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
		return f, fmt.Errorf("%w: no JPEG start-of-image marker", ErrFormat)
	}
	sawFrame := false
	i := 2
	for i+1 < len(data) {
		if data[i] != 0xff { // extraneous byte, tolerated like libjpeg and image/jpeg
			i++
			continue
		}
		m := data[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0x00 || m == 0x01 || (m >= 0xd0 && m <= 0xd7): // stuffed zero, TEM, RSTn: no length
			i += 2
			continue
		case m == 0xd9: // end of image
			return f, nil
		}
		i += 2
		if i+2 > len(data) {
			break
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 {
			return f, fmt.Errorf("%w: JPEG segment %#x with length %d", ErrFormat, m, n)
		}
		seg := data[i+2 : min(i+n, len(data))]
		switch m {
		case 0xc0, 0xc1, 0xc2: // the frames image/jpeg decodes
			if len(seg) < 6 {
				break
			}
			h, w, nc := int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:])), int(seg[5])
			if sawFrame && !(w*h > f.width*f.height) {
				break // image/jpeg refuses a second frame; keep the larger for the estimate
			}
			sawFrame = true
			f.progressive, f.width, f.height = m == 0xc2, w, h
			f.sampling, f.ids = f.sampling[:0], f.ids[:0]
			for k := 0; k < nc && 6+3*k+2 < len(seg); k++ {
				hv := seg[6+3*k+1]
				f.ids = append(f.ids, seg[6+3*k])
				f.sampling = append(f.sampling, [2]int{max(int(hv>>4), 1), max(int(hv&15), 1)})
			}
		case 0xda: // start of scan: its header, then entropy-coded data up to the next marker
			f.scans++
			var comps []byte
			if len(seg) > 0 {
				for k := 0; k < min(int(seg[0]), 4) && 1+2*k < len(seg); k++ {
					comps = append(comps, seg[1+2*k])
				}
			}
			f.scanComps = append(f.scanComps, comps)
			i += n
			for i+1 < len(data) && !(data[i] == 0xff && data[i+1] != 0x00 && (data[i+1] < 0xd0 || data[i+1] > 0xd7)) {
				i++
			}
			continue
		}
		i += n
	}
	return f, nil
}

// blocks returns the 8x8 blocks of each component, padded to whole MCUs as
// image/jpeg pads them.
func (f jpegFrame) blocks() []int64 {
	if len(f.sampling) == 0 || f.width <= 0 || f.height <= 0 {
		return nil
	}
	hmax, vmax := 1, 1
	for _, s := range f.sampling {
		hmax, vmax = max(hmax, s[0]), max(vmax, s[1])
	}
	mxx := (int64(f.width) + 8*int64(hmax) - 1) / (8 * int64(hmax))
	myy := (int64(f.height) + 8*int64(vmax) - 1) / (8 * int64(vmax))
	out := make([]int64, len(f.sampling))
	for k, s := range f.sampling {
		out[k] = mxx * int64(s[0]) * myy * int64(s[1])
	}
	return out
}

// scanBlocks is the number of block visits image/jpeg makes over all
// scans: each scan visits every block of the components it codes (a
// component the frame does not list counts as the largest one).
func (f jpegFrame) scanBlocks() int64 {
	blocks := f.blocks()
	var largest int64
	for _, b := range blocks {
		largest = max(largest, b)
	}
	var n int64
	for _, comps := range f.scanComps {
		for _, id := range comps {
			b := largest
			if k := bytes.IndexByte(f.ids, id); k >= 0 && k < len(blocks) {
				b = blocks[k]
			}
			n += b
		}
	}
	return n
}

// decodeBytes estimates what image/jpeg allocates to decode f: the 8-bit
// sample planes of every component, padded to whole MCUs, and for a
// progressive JPEG also the coefficients of every block (64 int32 per 8x8
// block), which it keeps until the last scan.
func (f jpegFrame) decodeBytes() int64 {
	var blocks int64
	for _, b := range f.blocks() {
		blocks += b
	}
	per := int64(64) // one byte per sample
	if f.progressive {
		per += 64 * 4
	}
	if len(f.sampling) == 4 {
		per += 64 // CMYK: the black plane is converted into a further image
	}
	return blocks * per
}
