//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package weights

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockPoll is how often a waiting Fetch tries the lock again.
const lockPoll = 50 * time.Millisecond

// sharedPart reports that downloads of one file are serialised by
// lockFile, so they can share (and resume) one .part file.
const sharedPart = true

// lockFile takes an exclusive flock on path (created if needed), polling
// until ctx ends; waiting is called once if the lock is held by another
// download. The returned function removes path and releases the lock.
func lockFile(ctx context.Context, path string, waiting func()) (func(), error) {
	notified := false
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			// The previous holder removes the file before unlocking; if it
			// did so after we opened it, we hold a lock on a file nobody
			// else can see: take the current one instead.
			fst, ferr := f.Stat()
			pst, perr := os.Stat(path)
			if ferr == nil && perr == nil && os.SameFile(fst, pst) {
				return func() {
					os.Remove(path)
					f.Close()
				}, nil
			}
			f.Close()
			continue
		}
		f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return nil, err
		}
		if !notified && waiting != nil {
			waiting()
			notified = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}
