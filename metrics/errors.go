package metrics

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is. Messages name the sizes or values
// involved.
var (
	// ErrShape reports inputs whose sizes do not fit together: a mean and
	// a covariance of different dimensions, feature sets of different
	// widths, a non-square matrix.
	ErrShape = errors.New("metrics: mismatched sizes")

	// ErrNonFinite reports a NaN or infinite input value.
	ErrNonFinite = errors.New("metrics: non-finite input")

	// ErrSamples reports too few samples for the statistic: a covariance
	// of fewer than two vectors, a KID subset larger than a feature set,
	// an Inception Score with fewer samples than splits.
	ErrSamples = errors.New("metrics: too few samples")

	// ErrOption reports an invalid option value (a non-positive subset
	// count, split count or kernel degree).
	ErrOption = errors.New("metrics: invalid option")

	// ErrNoSquareRoot is scipy.linalg.sqrtm's SqrtmError: the Schur
	// method met two zero eigenvalues coupled by a non-zero entry, where
	// no square root of that form exists (scipy then returns a NaN
	// matrix).
	ErrNoSquareRoot = errors.New("metrics: failed to find the matrix square root")

	// ErrNotConverged reports that the QR algorithm of the Schur
	// decomposition did not converge (scipy raises LinAlgError).
	ErrNotConverged = errors.New("metrics: Schur decomposition did not converge")

	// ErrImaginary is pytorch-fid's "Imaginary component" error: the
	// square root of sigma1*sigma2 has a diagonal entry whose imaginary
	// part exceeds 1e-3.
	ErrImaginary = errors.New("metrics: imaginary component in the square root")

	// ErrFormat reports malformed encoded data (a Moments encoding, a
	// statistics file without mu and sigma).
	ErrFormat = errors.New("metrics: malformed data")
)

func wrapf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
