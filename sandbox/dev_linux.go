package sandbox

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// devNodes are the character devices of a minimal /dev, as bubblewrap and
// runc make it.
var devNodes = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

var devLinks = []struct{ name, target string }{
	{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"}, {"core", "/proc/kcore"},
}

// mountDev gives the sandbox a minimal /dev: a small tmpfs with the usual
// character devices, a new devpts instance (its own ptys, none of the host's)
// and /dev/shm.
func mountDev(root *os.File) error {
	target, err := realDir(root, "/dev")
	if err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	defer target.Close()
	dev, err := newFS("tmpfs", "pkgbox-dev", []string{"mode=0755", "size=1m"}, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	defer unix.Close(dev)
	for _, n := range devNodes {
		if err := unix.Mknodat(dev, n.name, unix.S_IFCHR|0o666, int(unix.Mkdev(n.major, n.minor))); err != nil {
			return fmt.Errorf("make /dev/%s: %w", n.name, err)
		}
	}
	for _, l := range devLinks {
		if err := unix.Symlinkat(l.target, dev, l.name); err != nil {
			return fmt.Errorf("make /dev/%s: %w", l.name, err)
		}
	}
	for _, d := range []struct {
		name string
		mode uint32
	}{{"pts", 0o755}, {"shm", 0o1777}, {"mqueue", 0o1777}} {
		if err := unix.Mkdirat(dev, d.name, d.mode); err != nil {
			return fmt.Errorf("make /dev/%s: %w", d.name, err)
		}
	}
	if err := unix.MoveMount(dev, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	// Every devpts mount is a new instance: the sandbox sees only its own
	// ptys. gid 5 is Debian's tty group.
	pts := Mount{Type: "devpts", Source: "devpts", Target: "/dev/pts", Flags: NoSuid | NoExec,
		Data: []string{"ptmxmode=0666", "mode=0620", "gid=5"}}
	shm := Mount{Type: "tmpfs", Source: "shm", Target: "/dev/shm", Flags: NoSuid | NoDev,
		Data: []string{"mode=1777"}}
	for _, m := range []Mount{pts, shm} {
		if err := mountOne(root, m); err != nil {
			return fmt.Errorf("mount %s: %w", m.Target, err)
		}
	}
	return nil
}
