package metrics

// MT19937 parameters (Matsumoto and Nishimura 1998).
const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// RandomState reproduces the streams of numpy's legacy
// numpy.random.RandomState(seed) for an integer seed: the MT19937
// generator seeded with init_genrand, and the bounded-integer method of
// its shuffle, permutation and choice(n, m, replace=False). torch-fidelity
// draws its KID subsets and its Inception Score shuffle with these, so the
// same seed selects the same samples here. The tests compare it with
// numpy's outputs bit for bit.
//
// A RandomState is not safe for concurrent use.
type RandomState struct {
	key [mtN]uint32
	pos int
}

// NewRandomState seeds the generator as numpy.random.RandomState(seed).
func NewRandomState(seed uint32) *RandomState {
	r := &RandomState{}
	r.key[0] = seed
	for i := 1; i < mtN; i++ {
		prev := r.key[i-1]
		r.key[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	r.pos = mtN
	return r
}

func (r *RandomState) generate() {
	twist := func(i, next, m int) {
		y := r.key[i]&mtUpperMask | r.key[next]&mtLowerMask
		r.key[i] = r.key[m] ^ y>>1 ^ -(y&1)&mtMatrixA
	}
	i := 0
	for ; i < mtN-mtM; i++ {
		twist(i, i+1, i+mtM)
	}
	for ; i < mtN-1; i++ {
		twist(i, i+1, i+mtM-mtN)
	}
	twist(mtN-1, 0, mtM-1)
	r.pos = 0
}

// Uint32 returns the next 32-bit output (numpy's random_raw for MT19937).
func (r *RandomState) Uint32() uint32 {
	if r.pos == mtN {
		r.generate()
	}
	y := r.key[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// Uint64 returns two outputs as one 64-bit value, high word first.
func (r *RandomState) Uint64() uint64 {
	hi := uint64(r.Uint32())
	return hi<<32 | uint64(r.Uint32())
}

// Interval returns a uniform integer in [0, max] with numpy's legacy
// random_interval: draw under the smallest all-ones mask covering max and
// reject values above max.
func (r *RandomState) Interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	for s := uint(1); s < 64; s <<= 1 {
		mask |= mask >> s
	}
	if max <= 0xffffffff {
		for {
			if v := uint64(r.Uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		if v := r.Uint64() & mask; v <= max {
			return v
		}
	}
}

// Shuffle permutes n items in place as numpy's legacy shuffle does for a
// one-dimensional array: for i from n-1 down to 1, swap i with a uniform
// j in [0, i].
func (r *RandomState) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i >= 1; i-- {
		j := int(r.Interval(uint64(i)))
		swap(i, j)
	}
}

// Permutation returns numpy's RandomState.permutation(n): a shuffled
// 0..n-1.
func (r *RandomState) Permutation(n int) []int {
	p := make([]int, max(n, 0))
	for i := range p {
		p[i] = i
	}
	r.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// Choice returns numpy's RandomState.choice(n, size, replace=False): the
// first size entries of Permutation(n).
func (r *RandomState) Choice(n, size int) ([]int, error) {
	if size < 0 || n < 0 {
		return nil, wrapf(ErrOption, "choice(%d, %d): negative size", n, size)
	}
	if size > n {
		return nil, wrapf(ErrSamples, "choice(%d, %d): cannot take a larger sample than the population without replacement", n, size)
	}
	return r.Permutation(n)[:size], nil
}
