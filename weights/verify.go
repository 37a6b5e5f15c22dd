package weights

import (
	"errors"
	"fmt"
	"os"
)

// Status is what Verify found.
type Status string

// Verify outcomes.
const (
	// Absent: the cache has no copy of the file.
	Absent Status = "absent"
	// Intact: the copy hashes to its digest (and its record was renewed).
	Intact Status = "ok"
	// Removed: the copy did not match and was deleted; the next Fetch
	// downloads it again.
	Removed Status = "removed"
)

// Report is the outcome of Verify for one file.
type Report struct {
	File   File
	Path   string
	Status Status
	SHA256 string // the digest computed, for Intact and Removed
	// Problem says why a Removed file did not match (it wraps ErrChecksum
	// or ErrSize).
	Problem error
}

// Verify hashes the cached copy of f again, whatever its verification
// record says, and deletes it if it does not match: a different size, a
// digest other than the pinned one or, for an unpinned file, other than
// the one recorded on first use. The record of an unpinned file is kept,
// so that the next download is held to it. The error reports a file that
// could not be read or removed, not a mismatch.
func (c *Cache) Verify(f File) (Report, error) {
	if err := f.Validate(); err != nil {
		return Report{}, err
	}
	p := c.Path(f)
	r := Report{File: f, Path: p}
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		r.Status = Absent
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("weights: %w", err)
	}
	switch {
	case !st.Mode().IsRegular():
		r.Problem = fmt.Errorf("%w: %s is not a regular file", ErrChecksum, p)
	case f.Size > 0 && st.Size() != f.Size:
		r.Problem = fmt.Errorf("%w: %s has %d bytes, want %d", ErrSize, p, st.Size(), f.Size)
	default:
		if r.SHA256, err = hashFile(p); err != nil {
			return r, err
		}
		r.Problem = c.accept(f, p, r.SHA256, "")
	}
	if r.Problem == nil {
		r.Status = Intact
		c.recordFirstUse(f, p, r.SHA256, "trusting the file found in the cache")
		return r, nil
	}
	if err := os.Remove(p); err != nil {
		return r, fmt.Errorf("weights: removing mismatching %s: %w", p, err)
	}
	if f.Pinned() {
		_ = os.Remove(recordPath(p))
	}
	r.Status = Removed
	return r, nil
}
