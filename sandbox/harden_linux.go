package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procReadOnly are the parts of the sandbox's /proc that reach the whole
// machine rather than the sandbox's namespaces: kernel tunables, the magic
// SysRq trigger (one write reboots the host), interrupt and bus settings.
// They are bound read-only over themselves, as runc and Docker do.
var procReadOnly = []string{"sys", "sysrq-trigger", "irq", "bus", "fs"}

// procMasked are /proc files that show the kernel's memory or secrets of
// other processes on the host; /dev/null is bound over them.
var procMasked = []string{"kcore", "keys", "timer_list", "sched_debug", "latency_stats"}

// hardenProc applies procReadOnly and procMasked to the sandbox's /proc,
// which must be mounted, and /dev/null, which must exist. Entries the kernel
// does not have are skipped. The paths are looked up in a proc instance
// pkgbox mounted itself a moment ago, not in anything of the root's.
func hardenProc(root *os.File) error {
	proc, err := realDir(root, "/proc")
	if err != nil {
		return err
	}
	defer proc.Close()
	for _, name := range procReadOnly {
		tree, err := unix.OpenTree(int(proc.Fd()), name, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("protect /proc/%s: %w", name, err)
		}
		err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC})
		if err == nil {
			err = unix.MoveMount(tree, "", int(proc.Fd()), name, unix.MOVE_MOUNT_F_EMPTY_PATH)
		}
		unix.Close(tree)
		if err != nil {
			return fmt.Errorf("protect /proc/%s: %w", name, err)
		}
	}
	dev, err := realDir(root, "/dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	for _, name := range procMasked {
		if err := unix.Fstatat(int(proc.Fd()), name, new(unix.Stat_t), unix.AT_SYMLINK_NOFOLLOW); errors.Is(err, unix.ENOENT) {
			continue
		}
		null, err := unix.OpenTree(int(dev.Fd()), "null", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return fmt.Errorf("mask /proc/%s: %w", name, err)
		}
		err = unix.MoveMount(null, "", int(proc.Fd()), name, unix.MOVE_MOUNT_F_EMPTY_PATH)
		unix.Close(null)
		if err != nil {
			return fmt.Errorf("mask /proc/%s: %w", name, err)
		}
	}
	return nil
}

// confinedCaps is what a Confined payload keeps of root's capabilities:
// Docker's default set, which is enough for apt, dpkg, maintainer scripts
// and fakeroot-less builds, and leaves out everything that reaches past
// the sandbox: mounting (and so undoing hardenProc), modules, raw I/O,
// reboot, time, tracing other processes, and so on.
var confinedCaps = map[int]bool{
	unix.CAP_CHOWN: true, unix.CAP_DAC_OVERRIDE: true, unix.CAP_FSETID: true, unix.CAP_FOWNER: true,
	unix.CAP_MKNOD: true, unix.CAP_NET_RAW: true, unix.CAP_SETGID: true, unix.CAP_SETUID: true,
	unix.CAP_SETFCAP: true, unix.CAP_SETPCAP: true, unix.CAP_NET_BIND_SERVICE: true,
	unix.CAP_SYS_CHROOT: true, unix.CAP_KILL: true, unix.CAP_AUDIT_WRITE: true,
}

// confine drops every capability outside confinedCaps from the bounding
// set, so that neither the payload nor anything it executes (setuid
// programs included) can ever hold them. It runs in the init, after the
// mounts, before the payload starts.
func confine() error {
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
	return nil
}
