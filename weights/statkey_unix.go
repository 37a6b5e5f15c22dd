//go:build unix

package weights

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// statKey identifies the file at p as it is now: size, modification and
// change times, device and inode. Writing the file in place and restoring
// its modification time still changes its change time, which no system
// call can set back; replacing it changes the inode.
func statKey(p string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("size=%d mtime=%d.%09d ctime=%d.%09d dev=%d ino=%d",
		st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec, st.Dev, st.Ino), nil
}
