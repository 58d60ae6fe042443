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
// and /dev/shm. In a user namespace (userns) the kernel refuses mknod, so
// the devices are the host's own nodes bound onto empty files, as
// bubblewrap and mmdebstrap's unshare mode do: the same six harmless
// devices, nothing else of the host's /dev.
func mountDev(root *os.File, userns bool) error {
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
		var err error
		if userns {
			var fd int
			fd, err = unix.Openat(dev, n.name, unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o666)
			if err == nil {
				unix.Close(fd)
			}
		} else {
			err = unix.Mknodat(dev, n.name, unix.S_IFCHR|0o666, int(unix.Mkdev(n.major, n.minor)))
		}
		if err != nil {
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
	if userns {
		if err := bindHostDevs(root); err != nil {
			return err
		}
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

// bindHostDevs binds the host's devNodes onto the empty files of the
// sandbox's /dev, just mounted. The init has not pivoted yet, so /dev is
// still the host's; each node is taken without following a link.
func bindHostDevs(root *os.File) error {
	dev, err := realDir(root, "/dev")
	if err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	defer dev.Close()
	for _, n := range devNodes {
		src := "/dev/" + n.name
		var st unix.Stat_t
		if err := unix.Fstatat(unix.AT_FDCWD, src, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("bind %s: %w", src, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(n.major, n.minor) {
			return fmt.Errorf("bind %s: the host's %s is not the character device %d:%d", src, src, n.major, n.minor)
		}
		tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return fmt.Errorf("bind %s: %w", src, err)
		}
		err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC})
		if err == nil {
			err = unix.MoveMount(tree, "", int(dev.Fd()), n.name, unix.MOVE_MOUNT_F_EMPTY_PATH)
		}
		unix.Close(tree)
		if err != nil {
			return fmt.Errorf("bind %s: %w", src, err)
		}
	}
	return nil
}
