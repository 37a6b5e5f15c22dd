package kernels

import "math/big"

// toomCook returns the matrices of the 1-D Winograd algorithm F(m, r)
// (Lavin and Gray 2016) built by Toom-Cook from the len(pts) finite
// interpolation points and ∞ (len(pts) = m + r - 2): for an input d of
// α = m + r - 1 values and a filter g of r taps,
//
//	y = Aᵀ·((G·g) ⊙ (Bᵀ·d)),  y[i] = Σ_k d[i+k]·g[k], i < m.
//
// The correlation is the transpose of the linear convolution of an m-term
// and an r-term polynomial: G and Aᵀ evaluate the filter and the output
// polynomials at the points (Vandermonde rows, ∞ picking the leading
// coefficient), Bᵀ is the transposed inverse of the α×α evaluation matrix.
// Each row of Bᵀ is then scaled to the smallest integers (and the row of G
// by the inverse), so that the input transform multiplies by integers only
// and the fractions land in the weights, which are transformed in float64.
func toomCook(m, r int, pts []*big.Rat) (at [][]float64, g [][]float64, bt [][]float64) {
	a := m + r - 1
	if len(pts) != a-1 {
		panic("kernels.toomCook: need m+r-2 finite points")
	}
	// eval returns the α×cols evaluation matrix: row i < α-1 is
	// (p_i^0, ..., p_i^(cols-1)), the last row (∞) is (0, ..., 0, 1).
	eval := func(cols int) [][]*big.Rat {
		e := make([][]*big.Rat, a)
		for i := range e {
			e[i] = make([]*big.Rat, cols)
			for j := range e[i] {
				e[i][j] = new(big.Rat)
			}
			if i == a-1 {
				e[i][cols-1].SetInt64(1)
				continue
			}
			pw := big.NewRat(1, 1)
			for j := 0; j < cols; j++ {
				e[i][j].Set(pw)
				pw = new(big.Rat).Mul(pw, pts[i])
			}
		}
		return e
	}
	vg, vh, va := eval(r), eval(m), eval(a)
	inv := invRat(va)
	at = make([][]float64, m)
	for i := range at {
		at[i] = make([]float64, a)
		for j := 0; j < a; j++ {
			at[i][j], _ = vh[j][i].Float64()
		}
	}
	g = make([][]float64, a)
	bt = make([][]float64, a)
	for i := 0; i < a; i++ {
		// Row i of Bᵀ is column i of the inverse; scale it to integers.
		row := make([]*big.Rat, a)
		lcm := big.NewInt(1)
		for j := 0; j < a; j++ {
			row[j] = inv[j][i]
			d := row[j].Denom()
			gcd := new(big.Int).GCD(nil, nil, lcm, d)
			lcm.Mul(lcm, new(big.Int).Quo(d, gcd))
		}
		num := new(big.Int)
		for j := 0; j < a; j++ {
			v := new(big.Int).Mul(row[j].Num(), new(big.Int).Quo(lcm, row[j].Denom()))
			num.GCD(nil, nil, num, v.Abs(v))
		}
		s := new(big.Rat).SetFrac(lcm, num)
		bt[i] = make([]float64, a)
		for j := 0; j < a; j++ {
			bt[i][j], _ = new(big.Rat).Mul(row[j], s).Float64()
		}
		g[i] = make([]float64, r)
		for j := 0; j < r; j++ {
			g[i][j], _ = new(big.Rat).Quo(vg[i][j], s).Float64()
		}
	}
	return at, g, bt
}

// invRat inverts the square matrix m exactly (Gauss-Jordan); m must be
// invertible.
func invRat(m [][]*big.Rat) [][]*big.Rat {
	n := len(m)
	w := make([][]*big.Rat, n)
	for i := range w {
		w[i] = make([]*big.Rat, 2*n)
		for j := 0; j < n; j++ {
			w[i][j] = new(big.Rat).Set(m[i][j])
			w[i][n+j] = new(big.Rat)
		}
		w[i][n+i].SetInt64(1)
	}
	for c := 0; c < n; c++ {
		p := c
		for w[p][c].Sign() == 0 {
			p++
		}
		w[c], w[p] = w[p], w[c]
		piv := new(big.Rat).Inv(w[c][c])
		for j := range w[c] {
			w[c][j].Mul(w[c][j], piv)
		}
		for i := 0; i < n; i++ {
			if i == c || w[i][c].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Set(w[i][c])
			for j := range w[i] {
				w[i][j].Sub(w[i][j], new(big.Rat).Mul(f, w[c][j]))
			}
		}
	}
	inv := make([][]*big.Rat, n)
	for i := range inv {
		inv[i] = w[i][n:]
	}
	return inv
}
