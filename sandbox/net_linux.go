package sandbox

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// loopbackUp brings up lo in a new network namespace, where it starts down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	return nil
}

// useDNSForwarder points the sandbox at pasta's DNS forwarder where its
// /etc/resolv.conf (the host's, as profiles mount it, or the root's own)
// names resolvers on the loopback: in the sandbox's own network namespace
// that loopback is the sandbox's, where no resolver listens. It runs in the
// init after pivot_root, and mounts the new file over the old read-only,
// from a tmpfs of its own, so neither the host's file nor the root changes.
func useDNSForwarder() error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("point resolv.conf at pasta: %w", err)
	}
	defer root.Close()
	var old []byte
	if h, err := pathrs.OpenatInRoot(root, "/etc/resolv.conf"); err == nil {
		if f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC); err == nil {
			old, _ = io.ReadAll(io.LimitReader(f, 64<<10))
			f.Close()
		}
		h.Close()
	}
	content, changed := forwardResolvConf(string(old), dnsForwardAddr)
	if !changed {
		return nil
	}
	if err := mountResolvConf(root, content); err != nil {
		return fmt.Errorf("point resolv.conf at pasta: %w", err)
	}
	return nil
}

// mountResolvConf mounts a read-only file holding content on the root's
// /etc/resolv.conf.
func mountResolvConf(root *os.File, content string) error {
	mnt, err := newFS("tmpfs", "pkgbox-resolv", []string{"mode=0755", "size=64k"},
		unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat(mnt, "resolv.conf", unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), "resolv.conf")
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// Older kernels (bookworm's 6.1 among them) bind nothing of a mount
	// that is not attached in the caller's namespace: attach the tmpfs for
	// a moment over the sandbox's /dev, bind the file from there, and
	// detach it again. Only the init lives in the sandbox yet, so nothing
	// sees /dev covered, and stacking a mount writes nothing to what it
	// covers.
	dev, err := realDir(root, "/dev")
	if err != nil {
		return err
	}
	err = unix.MoveMount(mnt, "", int(dev.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	dev.Close()
	if err != nil {
		return err
	}
	src, err := unix.OpenTree(mnt, "resolv.conf", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	// mnt names the tmpfs's own root: this detaches exactly it, whatever
	// else is mounted on /dev.
	if uerr := unix.Unmount(fmt.Sprintf("/proc/self/fd/%d", mnt), unix.MNT_DETACH); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		if src >= 0 {
			unix.Close(src)
		}
		return err
	}
	defer unix.Close(src)
	if err := unix.MountSetattr(src, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
		return err
	}
	target, err := fileInRoot(root, "/etc/resolv.conf")
	if err != nil {
		return fmt.Errorf("resolve /etc/resolv.conf in root: %w", err)
	}
	defer target.Close()
	return unix.MoveMount(src, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// forwardResolvConf replaces the loopback resolvers of a resolv.conf by
// addr, keeping every other line (search domains, options, other
// resolvers); a file with no resolver at all (which means 127.0.0.1) gets
// addr. changed is false when the file needs nothing.
func forwardResolvConf(old, addr string) (content string, changed bool) {
	var out []string
	servers, added := 0, false
	for _, l := range strings.Split(strings.TrimRight(old, "\n"), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "nameserver" {
			servers++
			host, _, _ := strings.Cut(f[1], "%") // fe80::1%eth0
			if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
				changed = true
				if !added {
					out = append(out, "# pkgbox: pasta's DNS forwarder, for "+f[1], "nameserver "+addr)
					added = true
				}
				continue
			}
		}
		if l != "" || len(out) > 0 {
			out = append(out, l)
		}
	}
	if servers == 0 {
		out = append(out, "# pkgbox: pasta's DNS forwarder", "nameserver "+addr)
		changed = true
	}
	return strings.Join(out, "\n") + "\n", changed
}
