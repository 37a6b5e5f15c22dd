package metrics

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

// maxRel is max |a - b| / max |b| over all entries.
func maxRel(a, b []float64) float64 {
	d, m := 0.0, 0.0
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
		m = max(m, math.Abs(b[i]))
	}
	if m == 0 {
		return d
	}
	return d / m
}

func rawOf(m *mat.Dense) []float64 {
	r, c := m.Dims()
	out := make([]float64, 0, r*c)
	for i := range r {
		out = append(out, m.RawRowView(i)...)
	}
	return out
}

// TestMomentsNumpyCov compares Mean and Cov with numpy's mean and
// numpy.cov(rowvar=False), for data centred near 0 and for data whose mean
// is 10^4 times its spread, where plain sums of x and x x^T would lose
// about 8 digits (measured and logged for comparison).
func TestMomentsNumpyCov(t *testing.T) {
	requireScipy(t)
	for _, c := range []struct {
		name      string
		mean      float64
		float32In bool
		rtol      float64
	}{
		{"centred", 0.3, false, 1e-12},
		{"large mean", 1e4, false, 1e-12},
		{"float32 features", 0.5, true, 1e-12},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			n, d := 1500, 40
			x := gaussian(rng, n, d, c.mean, 1)
			if c.float32In {
				for i, v := range x.RawMatrix().Data {
					x.RawMatrix().Data[i] = float64(float32(v))
				}
			}
			dir := t.TempDir()
			writeMat(t, filepath.Join(dir, "x.npy"), x)
			runOracle(t, "cov", dir)
			want := readNPZ(t, filepath.Join(dir, "cov.npz"))

			m := &Moments{}
			raw := x.RawMatrix().Data
			if c.float32In {
				f := make([]float32, len(raw))
				for i, v := range raw {
					f[i] = float32(v)
				}
				// Uneven batches, as a feature extractor would deliver.
				for lo := 0; lo < n; lo += 50 {
					require.NoError(t, m.AddRows32(f[lo*d:min(lo+50, n)*d], d))
				}
			} else {
				require.NoError(t, m.AddRows(raw, d))
			}
			require.EqualValues(t, n, m.Count())
			cov, err := m.Cov()
			require.NoError(t, err)
			relMean := maxRel(m.Mean(), want["mean"].Data)
			relCov := maxRel(rawOf(cov), want["cov"].Data)
			t.Logf("vs numpy: mean %.3g, cov %.3g (max abs diff / max abs)", relMean, relCov)
			assert.LessOrEqual(t, relMean, 1e-14)
			assert.LessOrEqual(t, relCov, c.rtol)

			// What the unshifted textbook formula gives, for the record.
			sum := make([]float64, d)
			sq := make([]float64, d*d)
			for i := range n {
				row := x.RawRowView(i)
				for a := range d {
					sum[a] += row[a]
					for b := range d {
						sq[a*d+b] += row[a] * row[b]
					}
				}
			}
			plain := make([]float64, d*d)
			for a := range d {
				for b := range d {
					plain[a*d+b] = (sq[a*d+b] - sum[a]*sum[b]/float64(n)) / float64(n-1)
				}
			}
			t.Logf("plain sums (no shift) vs numpy: cov %.3g", maxRel(plain, want["cov"].Data))
		})
	}
}

// TestMomentsMergeExact: many random splits of one data set, accumulated
// separately (with different batchings, some through MarshalBinary) and
// merged in random order, agree with one sequential pass within 1e-12.
func TestMomentsMergeExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	n, d := 700, 37
	x := gaussian(rng, n, d, 3, 1)
	raw := x.RawMatrix().Data
	one := &Moments{}
	require.NoError(t, one.AddRows(raw, d))
	wantCov, err := one.Cov()
	require.NoError(t, err)
	wantMean := one.Mean()
	worst := 0.0
	for trial := range 40 {
		k := 1 + rng.IntN(12)
		cuts := []int{0, n}
		for range k - 1 {
			cuts = append(cuts, rng.IntN(n+1))
		}
		sortInts(cuts)
		parts := make([]*Moments, 0, k)
		for p := 0; p+1 < len(cuts); p++ {
			m := &Moments{}
			if trial%3 == 0 {
				m, err = NewMoments(d)
				require.NoError(t, err)
			}
			for i := cuts[p]; i < cuts[p+1]; {
				step := 1 + rng.IntN(90)
				hi := min(i+step, cuts[p+1])
				if step%2 == 0 {
					require.NoError(t, m.AddRows(raw[i*d:hi*d], d))
				} else {
					for ; i < hi; i++ {
						require.NoError(t, m.Add(raw[i*d:(i+1)*d]))
					}
				}
				i = hi
			}
			if rng.IntN(2) == 0 {
				b, err := m.MarshalBinary()
				require.NoError(t, err)
				m = &Moments{}
				require.NoError(t, m.UnmarshalBinary(b))
			}
			parts = append(parts, m)
		}
		// Merge pairwise in random order until one is left.
		for len(parts) > 1 {
			i, j := rng.IntN(len(parts)), rng.IntN(len(parts)-1)
			if j >= i {
				j++
			}
			require.NoError(t, parts[i].Merge(parts[j]))
			parts = append(parts[:j], parts[j+1:]...)
		}
		got := parts[0]
		require.EqualValues(t, n, got.Count())
		cov, err := got.Cov()
		require.NoError(t, err)
		rc := maxRel(rawOf(cov), rawOf(wantCov))
		rm := maxRel(got.Mean(), wantMean)
		worst = max(worst, rc, rm)
		require.LessOrEqual(t, rc, 1e-12, "trial %d (%d parts): covariance", trial, k)
		require.LessOrEqual(t, rm, 1e-12, "trial %d (%d parts): mean", trial, k)
	}
	t.Logf("worst relative difference from one pass: %.3g", worst)
}

func sortInts(v []int) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

func TestMomentsErrors(t *testing.T) {
	m := &Moments{}
	_, err := m.Cov()
	assert.ErrorIs(t, err, ErrSamples)
	assert.Nil(t, m.Mean())
	require.NoError(t, m.Add([]float64{1, 2, 3}))
	_, err = m.Cov()
	assert.ErrorIs(t, err, ErrSamples)
	assert.ErrorIs(t, m.Add([]float64{1, 2}), ErrShape)
	assert.ErrorIs(t, m.AddRows([]float64{1, 2, 3, 4}, 3), ErrShape)
	assert.ErrorIs(t, m.Add([]float64{1, math.NaN(), 3}), ErrNonFinite)
	assert.ErrorIs(t, m.AddRows32([]float32{1, 2, float32(math.Inf(1))}, 3), ErrNonFinite)
	assert.EqualValues(t, 1, m.Count(), "failed adds change nothing")
	o, err := NewMoments(2)
	require.NoError(t, err)
	require.NoError(t, o.Add([]float64{1, 2}))
	assert.ErrorIs(t, m.Merge(o), ErrShape)
	_, err = NewMoments(0)
	assert.ErrorIs(t, err, ErrShape)
	_, err = NewMoments(MaxMomentsDim + 1)
	assert.ErrorIs(t, err, ErrShape)

	// Merging into an empty accumulator adopts the other's state.
	e := &Moments{}
	require.NoError(t, e.Merge(m))
	assert.Equal(t, m.Mean(), e.Mean())
	require.NoError(t, e.Merge(&Moments{}))
	assert.EqualValues(t, 1, e.Count())
}

func encodeMoments(t testing.TB, m *Moments) []byte {
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	return b
}

func TestMomentsBinary(t *testing.T) {
	m := &Moments{}
	require.NoError(t, m.AddRows([]float64{1, 2, 3, 4, 5, 7}, 2))
	b := encodeMoments(t, m)
	assert.Len(t, b, momentsFixed+4+8*(2*2+3))
	var back Moments
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, b, encodeMoments(t, &back), "stable encoding")
	c1, _ := m.Cov()
	c2, _ := back.Cov()
	assert.True(t, mat.Equal(c1, c2))

	empty := encodeMoments(t, &Moments{})
	require.NoError(t, back.UnmarshalBinary(empty))
	assert.Zero(t, back.Count())

	recrc := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
		return b
	}
	patch := func(off int, v uint64, size int) []byte {
		c := append([]byte(nil), b...)
		if size == 4 {
			binary.LittleEndian.PutUint32(c[off:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(c[off:], v)
		}
		return recrc(c)
	}
	tests := map[string][]byte{
		"empty":          nil,
		"short":          b[:10],
		"truncated":      b[:len(b)-5],
		"magic":          recrc(append([]byte("XXMOMNT\x01"), b[8:]...)),
		"version":        recrc(append([]byte("IZMOMNT\x02"), b[8:]...)),
		"crc":            append(append([]byte(nil), b[:len(b)-1]...), b[len(b)-1]^1),
		"dim too large":  patch(8, MaxMomentsDim+1, 4),
		"dim mismatch":   patch(8, 3, 4),
		"reserved":       patch(12, 1, 4),
		"huge count":     patch(16, 1<<63, 8),
		"count, no dim":  recrc(append(append(append([]byte(momentsMagic), 0, 0, 0, 0, 0, 0, 0, 0), 1, 0, 0, 0, 0, 0, 0, 0), 0, 0, 0, 0)),
		"nan":            patch(momentsFixed, math.Float64bits(math.NaN()), 8),
		"negative sumsq": patch(momentsFixed+8*4, math.Float64bits(-1), 8),
		"extra":          recrc(append(append([]byte(nil), b[:len(b)-4]...), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
	}
	for name, in := range tests {
		var m Moments
		err := m.UnmarshalBinary(in)
		assert.ErrorIs(t, err, ErrFormat, name)
	}
}

func FuzzMomentsBinary(f *testing.F) {
	m := &Moments{}
	m.AddRows([]float64{1, 2, 3, 4, 5, 7, -1, 0.5, 2}, 3)
	b, _ := m.MarshalBinary()
	f.Add(b)
	f.Add(b[:len(b)/2])
	e, _ := (&Moments{}).MarshalBinary()
	f.Add(e)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var m Moments
		if err := m.UnmarshalBinary(in); err != nil {
			return
		}
		out, err := m.MarshalBinary()
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("re-encoding differs: %v", err)
		}
		if m.Count() >= 2 {
			if _, err := m.Cov(); err != nil {
				t.Fatal(err)
			}
		}
		o := &Moments{}
		if err := o.Merge(&m); err != nil || o.Count() != m.Count() {
			t.Fatalf("merge: %v", err)
		}
	})
}
