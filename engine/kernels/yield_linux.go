//go:build linux

package kernels

import "syscall"

// osYield gives the core to another runnable thread of the machine, if
// any (sched_yield): a waiting thread that shares its core with the
// thread it waits for, as on a busy machine, must not spin away that
// thread's time.
func osYield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
