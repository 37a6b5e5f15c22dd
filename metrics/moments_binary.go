package metrics

import (
	"encoding/binary"
	"hash/crc32"
	"math"
)

// momentsMagic starts a Moments encoding; its last byte is the version.
const momentsMagic = "IZMOMNT\x01"

// momentsFixed is the size of the fixed part: magic, dim (uint32),
// reserved (uint32), count (uint64); a CRC-32 (IEEE) of everything before
// it ends the encoding.
const momentsFixed = 8 + 4 + 4 + 8

// maxMomentsCount bounds the count field of an encoding.
const maxMomentsCount = 1 << 62

// MarshalBinary encodes the accumulator in a stable little-endian layout:
// magic "IZMOMNT\x01", dimension, count, then (when the count is
// non-zero) the shift, the shifted sums and the packed upper triangle of
// the co-moments as float64, and a CRC-32 of all of it. Equal states
// encode to equal bytes; a distributed combiner ships accumulators this
// way.
func (m *Moments) MarshalBinary() ([]byte, error) {
	m.flush()
	d := m.dim
	size := momentsFixed + 4
	if m.n > 0 {
		size += 8 * (2*d + d*(d+1)/2)
	}
	b := make([]byte, 0, size)
	b = append(b, momentsMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(d))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.n))
	if m.n > 0 {
		for _, v := range m.shift {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		for _, v := range m.sum {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		for i := range d {
			for _, v := range m.co[i*d+i : (i+1)*d] {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
			}
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

// UnmarshalBinary replaces m with a decoded accumulator. The input is
// untrusted: its length must match the dimension and count exactly before
// anything is allocated, the CRC must match, and the values must be finite
// with non-negative co-moment diagonals.
func (m *Moments) UnmarshalBinary(b []byte) error {
	if len(b) < momentsFixed+4 {
		return wrapf(ErrFormat, "moments encoding of %d bytes (at least %d)", len(b), momentsFixed+4)
	}
	if string(b[:7]) != momentsMagic[:7] {
		return wrapf(ErrFormat, "moments encoding: bad magic %q", b[:8])
	}
	if b[7] != momentsMagic[7] {
		return wrapf(ErrFormat, "moments encoding: version %d (want %d)", b[7], momentsMagic[7])
	}
	d64 := binary.LittleEndian.Uint32(b[8:])
	if binary.LittleEndian.Uint32(b[12:]) != 0 {
		return wrapf(ErrFormat, "moments encoding: reserved field is not zero")
	}
	n := binary.LittleEndian.Uint64(b[16:])
	if d64 > MaxMomentsDim {
		return wrapf(ErrFormat, "moments encoding: dimension %d (at most %d)", d64, MaxMomentsDim)
	}
	if n > maxMomentsCount {
		return wrapf(ErrFormat, "moments encoding: count %d", n)
	}
	d := int(d64)
	if n > 0 && d == 0 {
		return wrapf(ErrFormat, "moments encoding: %d vectors of dimension 0", n)
	}
	want := momentsFixed + 4
	if n > 0 {
		want += 8 * (2*d + d*(d+1)/2)
	}
	if len(b) != want {
		return wrapf(ErrFormat, "moments encoding of dimension %d, count %d is %d bytes, got %d", d, n, want, len(b))
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return wrapf(ErrFormat, "moments encoding: CRC mismatch")
	}
	out := Moments{dim: d, n: int64(n)}
	if n > 0 {
		out.alloc()
		p := body[momentsFixed:]
		next := func() float64 {
			v := math.Float64frombits(binary.LittleEndian.Uint64(p))
			p = p[8:]
			return v
		}
		for j := range d {
			out.shift[j] = next()
		}
		for j := range d {
			out.sum[j] = next()
		}
		for i := range d {
			for j := i; j < d; j++ {
				out.co[i*d+j] = next()
			}
		}
		for _, s := range [][]float64{out.shift, out.sum, out.co} {
			for i, v := range s {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return wrapf(ErrFormat, "moments encoding: non-finite value at %d", i)
				}
			}
		}
		for i := range d {
			if out.co[i*d+i] < 0 {
				return wrapf(ErrFormat, "moments encoding: negative sum of squares %v at %d", out.co[i*d+i], i)
			}
		}
	}
	*m = out
	return nil
}
