package npy

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func npyOf(t testing.TB, shape []int, data []float64) []byte {
	var b bytes.Buffer
	require.NoError(t, WriteNPY(&b, shape, data))
	return b.Bytes()
}

// rawEntry describes one hand-made zip entry.
type rawEntry struct {
	name   string
	method uint16
	data   []byte // uncompressed
	// Overrides of what the header declares (0: the true value).
	crc          uint32
	uncompressed uint64
	payload      []byte // written as-is instead of compressing data
}

func makeZip(t testing.TB, entries ...rawEntry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		payload := e.payload
		if payload == nil {
			switch e.method {
			case zip.Deflate:
				var c bytes.Buffer
				fw, err := flate.NewWriter(&c, flate.BestCompression)
				require.NoError(t, err)
				fw.Write(e.data)
				require.NoError(t, fw.Close())
				payload = c.Bytes()
			default:
				payload = e.data
			}
		}
		fh := &zip.FileHeader{
			Name:               e.name,
			Method:             e.method,
			CRC32:              crc32.ChecksumIEEE(e.data),
			CompressedSize64:   uint64(len(payload)),
			UncompressedSize64: uint64(len(e.data)),
		}
		if e.crc != 0 {
			fh.CRC32 = e.crc
		}
		if e.uncompressed != 0 {
			fh.UncompressedSize64 = e.uncompressed
		}
		w, err := zw.CreateRaw(fh)
		require.NoError(t, err)
		_, err = w.Write(payload)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func readZip(b []byte) (map[string]*Array, error) {
	return ReadNPZ(bytes.NewReader(b), int64(len(b)))
}

func TestNPZRoundTrip(t *testing.T) {
	in := map[string]*Array{
		"mu":    {Shape: []int{3}, DType: Float64, Data: []float64{1, 2, 3}},
		"sigma": {Shape: []int{3, 3}, DType: Float64, Data: []float64{1, 0, 0, 0, 2, 0, 0, 0, 3}},
		"f32":   {Shape: []int{2}, DType: Float32, Data: []float64{0.5, -1}},
		"n":     {Shape: []int{}, DType: Int64, Data: []float64{50000}},
	}
	path := filepath.Join(t.TempDir(), "stats.npz")
	require.NoError(t, WriteNPZFile(path, in))
	out, err := ReadNPZFile(path)
	require.NoError(t, err)
	assert.Equal(t, in, out)

	// Deterministic bytes for equal input.
	var a, b bytes.Buffer
	require.NoError(t, WriteNPZ(&a, in))
	require.NoError(t, WriteNPZ(&b, in))
	assert.Equal(t, a.Bytes(), b.Bytes())
}

func TestNPZDeflated(t *testing.T) {
	data := make([]float64, 1000)
	for i := range data {
		data[i] = float64(i % 17)
	}
	z := makeZip(t, rawEntry{name: "x.npy", method: zip.Deflate, data: npyOf(t, []int{10, 100}, data)})
	m, err := readZip(z)
	require.NoError(t, err)
	assert.Equal(t, data, m["x"].Data)
}

func TestNPZHostile(t *testing.T) {
	one := npyOf(t, []int{2}, []float64{1, 2})
	big := npyOf(t, []int{1 << 18}, make([]float64, 1<<18)) // 2 MiB of zeros
	tests := []struct {
		name    string
		entries []rawEntry
		limits  Limits
		err     error
	}{
		{"not npy", []rawEntry{{name: "x.txt", data: one}}, Limits{}, ErrUnsupported},
		{"duplicate", []rawEntry{{name: "x.npy", data: one}, {name: "x.npy", data: one}}, Limits{}, ErrFormat},
		{"bzip2", []rawEntry{{name: "x.npy", method: 12, data: one}}, Limits{}, ErrUnsupported},
		{"bad crc", []rawEntry{{name: "x.npy", data: one, crc: 12345}}, Limits{}, ErrFormat},
		{"declared too long", []rawEntry{{name: "x.npy", data: one, uncompressed: uint64(len(one) + 8)}}, Limits{}, ErrFormat},
		{"declared too short", []rawEntry{{name: "x.npy", data: one, uncompressed: uint64(len(one) - 8)}}, Limits{}, ErrFormat},
		{"trailing bytes", []rawEntry{{name: "x.npy", data: append(append([]byte{}, one...), 0)}}, Limits{}, ErrFormat},
		{"corrupt deflate", []rawEntry{{name: "x.npy", method: zip.Deflate, data: one, payload: []byte{0xff, 0xff, 0xff}}}, Limits{}, ErrFormat},
		{"declared huge", []rawEntry{{name: "x.npy", data: one, uncompressed: 1 << 40}}, Limits{}, ErrLimit},
		{"ratio", []rawEntry{{name: "x.npy", method: zip.Deflate, data: one, uncompressed: 100 << 20}}, Limits{}, ErrLimit},
		{"bomb under the ratio, over the elements", []rawEntry{{name: "x.npy", method: zip.Deflate, data: big}}, Limits{MaxElements: 1 << 16}, ErrLimit},
		{"total elements", []rawEntry{{name: "a.npy", data: one}, {name: "b.npy", data: one}}, Limits{MaxTotalElements: 3}, ErrLimit},
		{"entries", []rawEntry{{name: "a.npy", data: one}, {name: "b.npy", data: one}}, Limits{MaxEntries: 1}, ErrLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := makeZip(t, tc.entries...)
			_, err := tc.limits.ReadNPZ(bytes.NewReader(z), int64(len(z)))
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.err)
		})
	}
	// The 2 MiB bomb itself is within the default limits.
	m, err := readZip(makeZip(t, rawEntry{name: "x.npy", method: zip.Deflate, data: big}))
	require.NoError(t, err)
	assert.Len(t, m["x"].Data, 1<<18)

	for _, b := range [][]byte{nil, []byte("PK\x05\x06"), []byte("not a zip at all, really not")} {
		_, err := readZip(b)
		assert.ErrorIs(t, err, ErrFormat)
	}
}
