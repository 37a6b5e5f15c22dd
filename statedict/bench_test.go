package statedict

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// inceptionV3Like is a state dict with Inception-v3's scale: 566 entries
// (94 convolutions with BatchNorm, a classifier), 27.1M float32
// parameters, 108 MB — torchvision's inception_v3 has 580 entries and
// 27.2M parameters.
func inceptionV3Like() []tt {
	var ts []tt
	key := 0
	add := func(name, class string, shape ...int64) {
		n := int64(1)
		for _, s := range shape {
			n *= s
		}
		ts = append(ts, tt{name: name, class: class, key: fmt.Sprint(key), numel: n, shape: shape})
		key++
	}
	for i := range 94 {
		p := fmt.Sprintf("Mixed_%d.conv", i)
		add(p+".conv.weight", "FloatStorage", 192, 160, 3, 3)
		add(p+".bn.weight", "FloatStorage", 192)
		add(p+".bn.bias", "FloatStorage", 192)
		add(p+".bn.running_mean", "FloatStorage", 192)
		add(p+".bn.running_var", "FloatStorage", 192)
		add(p+".bn.num_batches_tracked", "LongStorage")
	}
	add("fc.weight", "FloatStorage", 1000, 1024)
	add("fc.bias", "FloatStorage", 1000)
	return ts
}

// fastStorage fills n float32 values without storageBytes' per-element
// appends.
func fastStorage(t tt) []byte {
	size := int64(4)
	if t.class == "LongStorage" {
		size = 8
	}
	b := make([]byte, t.numel*size)
	for i := int64(0); i < t.numel; i++ {
		if size == 4 {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(i%1000)*0.001))
		} else {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(i))
		}
	}
	return b
}

func writeBenchFile(b *testing.B, format string) string {
	ts := inceptionV3Like()
	var data []byte
	switch format {
	case "zip":
		ents := []zent{{name: "archive/data.pkl", data: statePickle(ts, false)}}
		for _, t := range ts {
			ents = append(ents, zent{name: "archive/data/" + t.key, data: fastStorage(t)})
		}
		data = buildZip(ents)
	case "legacy":
		data = legacyHeader(legacyProtocolVersion, true)
		data = append(data, statePickle(ts, true)...)
		keys := make([]string, len(ts))
		byKey := map[string]tt{}
		for i, t := range ts {
			keys[i] = t.key
			byKey[t.key] = t
		}
		slices.Sort(keys)
		data = append(data, keysPickle(keys)...)
		for _, k := range keys {
			data = binary.LittleEndian.AppendUint64(data, uint64(byKey[k].numel))
			data = append(data, fastStorage(byKey[k])...)
		}
	case "safetensors":
		var hdr []byte
		var raw []byte
		hdr = append(hdr, '{')
		for i, t := range ts {
			dt := "F32"
			if t.class == "LongStorage" {
				dt = "I64"
			}
			begin := len(raw)
			raw = append(raw, fastStorage(t)...)
			if i > 0 {
				hdr = append(hdr, ',')
			}
			shape := fmt.Sprint(t.shape)
			shape = "[" + stringsReplaceSpaces(shape[1:len(shape)-1]) + "]"
			hdr = fmt.Appendf(hdr, `%q:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, t.name, dt, shape, begin, len(raw))
		}
		hdr = append(hdr, '}')
		data = safetensorsFile(string(hdr), raw)
	}
	path := filepath.Join(b.TempDir(), "v3."+format)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

func stringsReplaceSpaces(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == ' ' {
			out[i] = ','
		}
	}
	return string(out)
}

// BenchmarkRead reads an Inception-v3-sized checkpoint in each format,
// beside os.ReadFile of the same file (the cost of the bytes alone, from
// the page cache) as the reference in the same run.
func BenchmarkRead(b *testing.B) {
	for _, format := range []string{"zip", "legacy", "safetensors"} {
		path := writeBenchFile(b, format)
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(format+"/statedict", func(b *testing.B) {
			b.SetBytes(fi.Size())
			for b.Loop() {
				sd, err := ReadFile(path, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if len(sd.Tensors) != 472 {
					b.Fatalf("%d tensors", len(sd.Tensors))
				}
			}
		})
		b.Run(format+"/os.ReadFile", func(b *testing.B) {
			b.SetBytes(fi.Size())
			for b.Loop() {
				if _, err := os.ReadFile(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeFloat32 compares, on 100 MB in memory, reading float32
// data straight into the result (the path Read takes on little-endian
// hosts) with converting it chunk by chunk (the path for the other
// dtypes and big-endian hosts).
func BenchmarkDecodeFloat32(b *testing.B) {
	const n = 25 << 20
	src := fastStorage(tt{class: "FloatStorage", numel: n})
	dst := make([]float32, n)
	buf := make([]byte, decodeChunk)
	b.Run("direct", func(b *testing.B) {
		b.SetBytes(4 * n)
		for b.Loop() {
			if bad, err := readFloat32Direct(dst, bytes.NewReader(src)); err != nil || bad >= 0 {
				b.Fatal(bad, err)
			}
		}
	})
	b.Run("chunked", func(b *testing.B) {
		b.SetBytes(4 * n)
		for b.Loop() {
			if bad, err := decodeChunked(dst, bytes.NewReader(src), dtFloat32, buf); err != nil || bad >= 0 {
				b.Fatal(bad, err)
			}
		}
	})
}
