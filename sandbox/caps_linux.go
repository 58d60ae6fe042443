package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// confinedCaps is what a confined root payload keeps of root's
// capabilities: Docker's default set less CAP_MKNOD and CAP_NET_RAW. It is
// enough for apt (chown, setuid to _apt), dpkg and maintainer scripts
// (chown, setcap in postinsts with SETFCAP, useradd), and leaves out
// everything that reaches past the sandbox: mounting (and so undoing
// hardenProc), modules, raw I/O, reboot, time, tracing processes of other
// credentials, the network's configuration. CAP_MKNOD goes too (issue 11,
// finding 2): with it root inside could make a node for a host disk and
// read it wherever nodev and the device cgroup do not hold; Debian
// packages ship no device nodes and debootstrap's own run is not confined.
// CAP_NET_RAW would let a payload with --network forge packets on the
// host's network.
var confinedCaps = map[int]bool{
	unix.CAP_CHOWN: true, unix.CAP_DAC_OVERRIDE: true, unix.CAP_FSETID: true, unix.CAP_FOWNER: true,
	unix.CAP_SETGID: true, unix.CAP_SETUID: true, unix.CAP_SETFCAP: true, unix.CAP_SETPCAP: true,
	unix.CAP_NET_BIND_SERVICE: true, unix.CAP_SYS_CHROOT: true, unix.CAP_KILL: true,
	unix.CAP_AUDIT_WRITE: true,
}

// confine applies the default confinement to the calling thread, which
// must be locked: the payload inherits what the thread that forks it has
// (the bounding set, the inheritable set, no_new_privs and the seccomp
// filter are all per thread). It runs in the init after the mounts, right
// before the payload starts. Dropped from the bounding set, a capability
// can never come back, not through exec of root's programs nor through
// setuid binaries; the inheritable and ambient sets are emptied so that
// nothing carries past exec besides what the bounding set lets root have.
// A payload that runs as another user gets no_new_privs as well: setuid
// and file capabilities then grant nothing, and the build user needs none
// (fakeroot works without).
func confine(cmd *exec.Cmd) error {
	last := unix.CAP_LAST_CAP
	if data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			last = n
		}
	}
	for c := 0; c <= last; c++ {
		if confinedCaps[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("drop capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clear inheritable capabilities: %w", err)
	}
	if c := cmd.SysProcAttr.Credential; c != nil && c.Uid != 0 {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	return loadFilter()
}
