package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/inceptionzoo/inception/internal/testkit"
	"github.com/inceptionzoo/inception/npy"
)

const python = "/usr/bin/python3"

var (
	scipyOnce sync.Once
	scipyErr  error
)

// requireScipy skips (or under CI=true fails) when the numpy/scipy oracle
// is missing.
func requireScipy(t testing.TB) {
	t.Helper()
	scipyOnce.Do(func() {
		scipyErr = exec.Command(python, "-c", "import numpy, scipy.linalg").Run()
	})
	if scipyErr != nil {
		testkit.Missing(t, "metrics oracle: %s -c 'import numpy, scipy.linalg' failed (%v); install python3-numpy and python3-scipy (scripts/setup.sh)", python, scipyErr)
	}
}

// runOracle runs testdata/oracle.py CMD DIR.
func runOracle(t testing.TB, cmd, dir string) {
	t.Helper()
	out, err := exec.Command(python, "testdata/oracle.py", cmd, dir).CombinedOutput()
	require.NoError(t, err, "oracle.py %s: %s", cmd, out)
}

// longTests reports whether the slow cases (2048 dimensions) should run.
func longTests() bool { return os.Getenv("INCEPTION_METRICS_LONG") == "1" }

func writeMat(t testing.TB, path string, m mat.Matrix) {
	t.Helper()
	r, c := m.Dims()
	d := make([]float64, 0, r*c)
	for i := range r {
		for j := range c {
			d = append(d, m.At(i, j))
		}
	}
	require.NoError(t, npy.WriteNPYFile(path, []int{r, c}, d))
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func readNPZ(t testing.TB, path string) map[string]*npy.Array {
	t.Helper()
	m, err := npy.DefaultLimits.ReadNPZFile(path)
	require.NoError(t, err)
	return m
}

func scalar(t testing.TB, m map[string]*npy.Array, key string) float64 {
	t.Helper()
	a, ok := m[key]
	require.True(t, ok, "oracle output has no %q", key)
	require.Len(t, a.Data, 1, key)
	return a.Data[0]
}

func flag(t testing.TB, m map[string]*npy.Array, key string) bool {
	t.Helper()
	a, ok := m[key]
	require.True(t, ok, "oracle output has no %q", key)
	require.Len(t, a.Data, 1, key)
	return a.Data[0] != 0
}

func toDense(t testing.TB, a *npy.Array) *mat.Dense {
	t.Helper()
	require.Len(t, a.Shape, 2)
	return mat.NewDense(a.Shape[0], a.Shape[1], a.Data)
}

// gaussian returns n samples (rows) of a d-dimensional Gaussian with mean
// mu and covariance L L^T for a random L scaled by spread.
func gaussian(rng *rand.Rand, n, d int, mu, spread float64) *mat.Dense {
	l := make([]float64, d*d)
	for i := range l {
		l[i] = rng.NormFloat64() * spread / math.Sqrt(float64(d))
	}
	z := make([]float64, n*d)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	x := mat.NewDense(n, d, nil)
	x.Mul(mat.NewDense(n, d, z), mat.NewDense(d, d, l).T())
	offset := make([]float64, d)
	for j := range offset {
		offset[j] = mu + rng.NormFloat64()*spread
	}
	for i := range n {
		row := x.RawRowView(i)
		for j := range row {
			row[j] += offset[j]
		}
	}
	return x
}

// relDiff is ||a - b||_F / ||b||_F (or the absolute norm when b is 0).
func relDiff(a, b mat.Matrix) float64 {
	var d mat.Dense
	d.Sub(a, b)
	nb := mat.Norm(b, 2)
	if nb == 0 {
		return mat.Norm(&d, 2)
	}
	return mat.Norm(&d, 2) / nb
}

func itoa(i int) string { return strconv.Itoa(i) }
