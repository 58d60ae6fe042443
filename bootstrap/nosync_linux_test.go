package bootstrap

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSuppressSync: on the filtered thread, and in a process it starts,
// fsync of a descriptor that is not open "succeeds" (the kernel would say
// EBADF); the filter never leaks to the runtime's other threads.
func TestSuppressSync(t *testing.T) {
	if len(noSyncABIs()) == 0 {
		t.Skip("no sync filter for " + runtime.GOARCH)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_ADMIN) to load a filter without no_new_privs")
	}
	if err := unix.Fsync(-1); err != unix.EBADF {
		t.Fatalf("unfiltered fsync(-1) = %v, want EBADF", err)
	}
	type result struct {
		fsync, child error
		out          []byte
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := suppressSync(); err != nil {
			done <- result{fsync: err}
			return
		}
		var r result
		r.fsync = unix.Fsync(-1)
		// A child inherits the filter: /proc says so.
		cmd := exec.Command("/bin/sh", "-c", "grep '^Seccomp:' /proc/self/status")
		r.out, r.child = cmd.Output()
		done <- r
	}()
	r := <-done
	if r.fsync != nil {
		t.Errorf("filtered fsync(-1) = %v, want success", r.fsync)
	}
	if r.child != nil || string(r.out) != "Seccomp:\t2\n" {
		t.Errorf("child's seccomp status %q (%v), want mode 2 (filter)", r.out, r.child)
	}
	if err := unix.Fsync(-1); err != unix.EBADF {
		t.Errorf("fsync(-1) on another thread after the test = %v, want EBADF", err)
	}
}
