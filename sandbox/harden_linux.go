package sandbox

import (
	"errors"
	"fmt"
	"os"

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
