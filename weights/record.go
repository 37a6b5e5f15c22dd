package weights

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/inceptionzoo/inception/internal/atomicfile"
	"github.com/inceptionzoo/inception/internal/regular"
)

// The verification record of a cached file p is p+".sha256", one line:
//
//	<full hex SHA-256> size=<n> mtime=<s.ns> ctime=<s.ns> dev=<d> ino=<i>
//
// The digest is trusted without hashing again while the file's identity
// (everything after the digest, statKey) is unchanged. For an unpinned
// File the digest is also the trust-on-first-use record that every later
// copy must match.

// maxRecord bounds the size of a record file read back.
const maxRecord = 1 << 10

func recordPath(p string) string { return p + ".sha256" }

// record is a parsed verification record.
type record struct {
	sum string // full hex SHA-256
	key string // statKey of the file it was computed for
}

// readRecord reads p's record; false if there is none or it is not in the
// current format.
func readRecord(p string) (record, bool) {
	b, err := regular.ReadFile(recordPath(p), maxRecord)
	if err != nil {
		return record{}, false
	}
	sum, key, _ := strings.Cut(strings.TrimSuffix(string(b), "\n"), " ")
	if !hexSHA.MatchString(sum) {
		return record{}, false
	}
	return record{sum: sum, key: key}, true
}

// writeRecord records sum as the digest of the file at p as it is now.
// Errors are ignored: the record only saves hashing again, except for an
// unpinned file, where its loss means the next use trusts again (with a
// notice).
func writeRecord(p, sum string) {
	key, err := statKey(p)
	if err != nil {
		return
	}
	_ = atomicfile.WriteFile(recordPath(p), 0o644, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s %s\n", sum, key)
		return err
	})
}

// verified reports whether p holds f. A nil error with false means there
// is no file; an error means a file is there but is not f.
func (c *Cache) verified(f File, p string) (bool, error) {
	st, err := os.Stat(p)
	if err != nil {
		return false, nil
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("%w: %s is not a regular file", ErrChecksum, p)
	}
	if f.Size > 0 && st.Size() != f.Size {
		return false, fmt.Errorf("%w: %s has %d bytes, want %d", ErrSize, p, st.Size(), f.Size)
	}
	if rec, ok := readRecord(p); ok && (!f.Pinned() || f.matches(rec.sum)) {
		if key, err := statKey(p); err == nil && key == rec.key {
			return true, nil
		}
	}
	sum, err := hashFile(p)
	if err != nil {
		return false, err
	}
	if err := c.accept(f, p, sum, ""); err != nil {
		return false, err
	}
	c.recordFirstUse(f, p, sum, "trusting the file found in the cache")
	return true, nil
}

// accept checks sum, the full SHA-256 of a candidate for f at p: against
// the pinned digest, or for an unpinned file against the digest the server
// declared (if any) and the one recorded on first use (if any).
func (c *Cache) accept(f File, p, sum, declared string) error {
	if f.Pinned() {
		if !f.matches(sum) {
			return fmt.Errorf("%w: %s has sha256 %s, want %s", ErrChecksum, f.Name, sum, f.Digest())
		}
		return nil
	}
	if declared != "" && sum != declared {
		return fmt.Errorf("%w: %s has sha256 %s, the server declared %s", ErrChecksum, f.Name, sum, declared)
	}
	if rec, ok := readRecord(p); ok && rec.sum != sum {
		return fmt.Errorf("%w: %s has sha256 %s, but %s was recorded when it was first used (the file is not pinned: %s); delete %s to trust the new file",
			ErrChecksum, f.Name, sum, rec.sum, f.Unpinned, recordPath(p))
	}
	return nil
}

// recordFirstUse writes the record of the accepted file p with digest sum.
// For an unpinned file seen for the first time, it prints the one-line
// notice naming the digest, the reason and how it was trusted.
func (c *Cache) recordFirstUse(f File, p, sum, how string) {
	_, had := readRecord(p)
	writeRecord(p, sum)
	if !f.Pinned() && !had {
		c.noticeUnpinned(f, sum, how)
	}
}

func (c *Cache) noticeUnpinned(f File, sum, how string) {
	c.noticef("weights: %s is not pinned (%s); %s, sha256 %s, recorded for later checks\n", f.Name, f.Unpinned, how, sum)
}
