package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// setupRoot builds the sandbox's mount tree and pivots into it. It runs in
// the init, in the sandbox's fresh mount namespace. Every mount is made with
// the new mount API (fsopen/fsmount/open_tree/move_mount) onto a descriptor
// of a target that was resolved inside the root, so no path is ever looked
// up again between the check and the mount.
func setupRoot(spec *Spec) error {
	// First of all: nothing below may propagate to the host's mounts.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	old := unix.Umask(0)
	defer unix.Umask(old)

	newRoot, err := mountRoot(spec)
	if err != nil {
		return err
	}
	root, err := os.OpenFile(newRoot, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open root %q: %w", spec.Root, err)
	}
	defer root.Close()
	if err := mountProc(root); err != nil {
		return err
	}
	if err := mountDev(root, spec.userns()); err != nil {
		return err
	}
	if err := hardenProc(root); err != nil {
		return err
	}
	for _, m := range spec.Mounts {
		if err := mountOne(root, m); err != nil {
			return &MountError{Op: "mount " + m.Type, Target: m.Target, Origin: m.Origin, Err: err}
		}
	}
	return pivot(root)
}

// mountRoot mounts the session's overlay, or binds the root onto itself for
// --write (pivot_root needs a mount point), and returns the new root's path.
func mountRoot(spec *Spec) (string, error) {
	if spec.Overlay == nil {
		tree, err := unix.OpenTree(unix.AT_FDCWD, spec.Root, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err != nil {
			return "", fmt.Errorf("bind root %q: %w", spec.Root, err)
		}
		defer unix.Close(tree)
		// nodev, for the reason the overlay below has it.
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODEV}); err != nil {
			return "", fmt.Errorf("bind root %q: %w", spec.Root, err)
		}
		if err := unix.MoveMount(tree, "", unix.AT_FDCWD, spec.Root, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return "", fmt.Errorf("bind root %q: %w", spec.Root, err)
		}
		return spec.Root, nil
	}
	o := spec.Overlay
	lowers := append(o.Lower[:len(o.Lower):len(o.Lower)], spec.Root)
	for _, p := range append(lowers, o.Upper, o.Work) {
		// overlayfs splits lowerdir on ':' and takes '\' as an escape.
		if strings.ContainsAny(p, `:\`) {
			return "", fmt.Errorf("mount overlay: path %q holds ':' or '\\', which overlayfs cannot take", p)
		}
		// A relative one would be looked up from the init's directory.
		if !filepath.IsAbs(p) {
			return "", fmt.Errorf("mount overlay: path %q is not absolute", p)
		}
	}
	// A volatile overlay leaves work/incompat/volatile behind and refuses to
	// be mounted again while it is there. The previous sandbox on this
	// session has ended (its mount namespace died before Run returned) and
	// the session's lock makes this one its only user, so it can go.
	if err := os.RemoveAll(filepath.Join(o.Work, "work", "incompat", "volatile")); err != nil {
		return "", fmt.Errorf("mount overlay: %w", err)
	}
	// The leftmost lower directory is the top one.
	data := []string{"lowerdir=" + strings.Join(lowers, ":"), "upperdir=" + o.Upper, "workdir=" + o.Work,
		// A throw-away session needs no durability: volatile skips every
		// sync, which makes tearing the overlay down 4x faster here.
		"volatile"}
	if spec.userns() {
		// trusted.* xattrs, where overlayfs keeps its whiteouts' and
		// opaque directories' marks, need CAP_SYS_ADMIN on the host;
		// in a user namespace it keeps them in user.* (Linux 5.11).
		data = append(data, "userxattr")
	}
	// nodev: a device node in the root or made in the session opens
	// nothing; only the sandbox's own /dev holds working ones (issue 11,
	// finding 2: the overlay was mounted without it).
	mnt, err := newFS("overlay", "pkgbox", data, unix.MOUNT_ATTR_NODEV)
	if err != nil && spec.userns() {
		var uts unix.Utsname
		_ = unix.Uname(&uts)
		err = fmt.Errorf("%w (overlayfs in a user namespace needs Linux 5.11 or later; this is %s)", err, unix.ByteSliceToString(uts.Release[:]))
	}
	if err != nil {
		return "", &MountError{Op: "mount overlay", Target: spec.Root, Err: err}
	}
	defer unix.Close(mnt)
	if err := unix.MoveMount(mnt, "", unix.AT_FDCWD, o.Merged, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return "", &MountError{Op: "mount overlay", Target: o.Merged, Err: err}
	}
	return o.Merged, nil
}

// newFS creates a detached mount of a new filesystem instance.
func newFS(fstype, source string, data []string, attrs uint64) (int, error) {
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			return -1, fmt.Errorf("the kernel has no %q file system", fstype)
		}
		return -1, err
	}
	defer unix.Close(fs)
	if source != "" {
		if err := unix.FsconfigSetString(fs, "source", source); err != nil {
			return -1, fsError(fs, err)
		}
	}
	for _, d := range data {
		k, v, ok := strings.Cut(d, "=")
		if ok {
			err = unix.FsconfigSetString(fs, k, v)
		} else {
			err = unix.FsconfigSetFlag(fs, k)
		}
		if err != nil {
			return -1, fsError(fs, fmt.Errorf("option %q: %w", d, err))
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fsError(fs, err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, int(attrs))
	if err != nil {
		return -1, fsError(fs, err)
	}
	return mnt, nil
}

// fsError adds the kernel's own explanation, which it keeps on the fs
// context descriptor, to err.
func fsError(fs int, err error) error {
	buf := make([]byte, 512)
	var msgs []string
	for range 4 {
		n, rerr := unix.Read(fs, buf)
		if rerr != nil || n <= 2 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[2:n]))) // "e ", "w ", "i " prefixes
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%w (%s)", err, strings.Join(msgs, "; "))
	}
	return err
}

// attrs maps mount flags to the kernel's MOUNT_ATTR_* bits.
func (f MountFlags) attrs() (set, clr uint64) {
	table := []struct {
		flag MountFlags
		attr uint64
	}{
		{ReadOnly, unix.MOUNT_ATTR_RDONLY}, {NoSuid, unix.MOUNT_ATTR_NOSUID},
		{NoDev, unix.MOUNT_ATTR_NODEV}, {NoExec, unix.MOUNT_ATTR_NOEXEC},
		{NoAtime, unix.MOUNT_ATTR_NOATIME}, {StrictAtime, unix.MOUNT_ATTR_STRICTATIME},
		{NoDiratime, unix.MOUNT_ATTR_NODIRATIME}, {NoSymfollow, unix.MOUNT_ATTR_NOSYMFOLLOW},
	}
	for _, t := range table {
		if f&t.flag != 0 {
			set |= t.attr
		}
	}
	if f&(NoAtime|RelAtime|StrictAtime) != 0 {
		clr |= unix.MOUNT_ATTR__ATIME // the atime modes are one field, not bits
	}
	return set, clr
}

// mountOne makes one profile mount inside root.
func mountOne(root *os.File, m Mount) error {
	set, clr := m.Flags.attrs()
	// Every mount but a devpts instance is nodev, whatever the profile
	// says: a bind of /home or of a host directory must not make a device
	// node found (or made) there usable (issue 11, finding 2).
	if m.Type != "devpts" {
		set |= unix.MOUNT_ATTR_NODEV
	}
	var src int
	isDir := true
	setAttrs := func(at uint) error {
		// Attributes are set on the detached copy, before it is attached:
		// a read-only bind is never writable, not even for a moment, and
		// AT_RECURSIVE makes its submounts read-only too.
		if set != 0 || clr != 0 {
			attr := &unix.MountAttr{Attr_set: set, Attr_clr: clr}
			if err := unix.MountSetattr(src, "", unix.AT_EMPTY_PATH|at, attr); err != nil {
				return fmt.Errorf("set attributes %q: %w", m.Flags, err)
			}
		}
		return nil
	}
	if m.Type == TypeBind && m.TreeFD > 0 {
		// Run's detached mount of Mount.File: attached as it is.
		src = m.TreeFD
		if m.TreeIsFile {
			var err error
			if src, err = reopenTree(m.TreeFD, m.Recursive); err != nil {
				return fmt.Errorf("bind source %q: %w", m.Source, err)
			}
		}
		defer unix.Close(src)
		var st unix.Stat_t
		if err := unix.Fstat(src, &st); err != nil {
			return fmt.Errorf("bind source %q: %w", m.Source, err)
		}
		isDir = st.Mode&unix.S_IFMT == unix.S_IFDIR
		if err := setAttrs(unix.AT_RECURSIVE); err != nil {
			return err
		}
	} else if m.Type == TypeBind {
		fi, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("bind source: %w", err)
		}
		isDir = fi.IsDir()
		flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
		at := uint(0)
		if m.Recursive {
			flags |= unix.AT_RECURSIVE
			at = unix.AT_RECURSIVE
		}
		src, err = unix.OpenTree(unix.AT_FDCWD, m.Source, flags)
		if err != nil {
			return fmt.Errorf("bind source %q: %w", m.Source, err)
		}
		defer unix.Close(src)
		if err := setAttrs(at); err != nil {
			return err
		}
	} else {
		var err error
		src, err = newFS(m.Type, m.Source, m.Data, set)
		if err != nil {
			return err
		}
		defer unix.Close(src)
	}
	var target *os.File
	var err error
	switch {
	case m.Type == "proc" || m.Type == "sysfs" || m.Type == "devpts":
		// Kernel filesystems go on real directories only (runc CVE-2023-27561).
		target, err = realDir(root, m.Target)
	case isDir:
		target, err = dirInRoot(root, m.Target)
	default:
		target, err = fileInRoot(root, m.Target)
	}
	if err != nil {
		return fmt.Errorf("resolve target in root: %w", err)
	}
	defer target.Close()
	if err := unix.MoveMount(src, "", int(target.Fd()), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return err
	}
	return nil
}

// detachMounts makes, in the caller's mount namespace, a detached mount of
// the File of each of spec's mounts that has one, in order, for the init
// to attach (see Mount.File).
func detachMounts(spec *Spec) ([]*os.File, error) {
	var trees []*os.File
	for _, m := range spec.Mounts {
		if m.File == nil {
			continue
		}
		if spec.userns() {
			// Rootless: the file itself (a copy of its descriptor,
			// which Run closes once the init has it).
			fd, err := unix.FcntlInt(m.File.Fd(), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				return trees, fmt.Errorf("bind source %q: %w", m.Source, err)
			}
			trees = append(trees, os.NewFile(uintptr(fd), m.Source))
			continue
		}
		flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH)
		if m.Recursive {
			flags |= unix.AT_RECURSIVE
		}
		fd, err := unix.OpenTree(int(m.File.Fd()), "", flags)
		if err != nil {
			return trees, fmt.Errorf("bind source %q: %w", m.Source, err)
		}
		trees = append(trees, os.NewFile(uintptr(fd), m.Source))
	}
	return trees, nil
}

// reopenTree makes, in the init's mount namespace, a detached bind mount
// of the file open as fd, a descriptor of the caller's namespace (which
// open_tree refuses). The init's namespace was copied from the caller's,
// so the file's path there names the same file; it is opened without
// following a last link and must be the very inode fd is, so nothing put
// in its place since the caller opened it can be bound instead.
func reopenTree(fd int, recursive bool) (int, error) {
	p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return -1, err
	}
	if !filepath.IsAbs(p) {
		return -1, fmt.Errorf("no path in this mount namespace (%s)", p)
	}
	nfd, err := unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(nfd)
	var want, got unix.Stat_t
	if err := unix.Fstat(fd, &want); err != nil {
		return -1, err
	}
	if err := unix.Fstat(nfd, &got); err != nil {
		return -1, err
	}
	if want.Dev != got.Dev || want.Ino != got.Ino {
		return -1, fmt.Errorf("%s is no longer the file pkgbox opened", p)
	}
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	return unix.OpenTree(nfd, "", flags)
}

// realDir opens unsafePath inside root without following any symlink,
// creating missing directories. A symlink anywhere on the way is an error:
// used for /proc, /sys and /dev, where a root's symlink to a host path must
// never redirect a kernel filesystem (runc CVE-2023-27561).
func realDir(root *os.File, unsafePath string) (*os.File, error) {
	clean := path.Clean("/" + unsafePath)
	fd, err := unix.Dup(int(root.Fd()))
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if clean == "/" {
		return os.NewFile(uintptr(fd), "/"), nil
	}
	for _, name := range strings.Split(clean[1:], "/") {
		if name == ".." {
			unix.Close(fd)
			return nil, fmt.Errorf("%q: no \"..\" allowed", unsafePath)
		}
		next, err := unix.Openat(fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			if err = unix.Mkdirat(fd, name, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%q in the root is a symlink or not a directory; pkgbox mounts kernel file systems only on real directories", clean)
		}
		if err != nil {
			return nil, fmt.Errorf("%q: %w", clean, err)
		}
		fd = next
	}
	return os.NewFile(uintptr(fd), clean), nil
}

// inRoot resolves unsafePath lexically inside root, following the root's
// symlinks as if root were "/" (so a dangling "/tmp -> /host/dir" means
// root/host/dir), and returns the result relative to root. It only computes
// a path: the descriptor-based calls that follow resolve it again inside the
// root, so a symlink swapped in meanwhile still cannot lead outside.
func inRoot(root *os.File, unsafePath string) (string, error) {
	rootPath := root.Name()
	full, err := securejoin.SecureJoin(rootPath, unsafePath)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(rootPath, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%q resolves outside the root", unsafePath)
	}
	return "/" + rel, nil
}

// openInRoot opens rel inside root with openat2(2)'s RESOLVE_IN_ROOT, the
// kernel's own containment, which pathrs-lite uses too; pathrs-lite then
// also asks a private procfs instance it mounts for the file's name, which
// a mount target does not need and which cost the init ~0.3 ms (issue 12).
// It is the fast path for a target that exists; anything else (no
// openat2, ENOENT, a file where a directory should be) goes to pathrs-lite,
// which makes what is missing and says what is wrong.
func openInRoot(root *os.File, rel string, dir bool) (*os.File, bool) {
	flags := uint64(unix.O_PATH | unix.O_CLOEXEC)
	if dir {
		flags |= unix.O_DIRECTORY
	}
	fd, err := unix.Openat2(int(root.Fd()), rel, &unix.OpenHow{
		Flags: flags, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, false
	}
	return os.NewFile(uintptr(fd), rel), true
}

// dirInRoot returns a handle to the directory at unsafePath inside root,
// creating it and its parents (inside root) if needed.
func dirInRoot(root *os.File, unsafePath string) (*os.File, error) {
	rel, err := inRoot(root, unsafePath)
	if err != nil {
		return nil, err
	}
	if f, ok := openInRoot(root, rel, true); ok {
		return f, nil
	}
	return pathrs.MkdirAllHandle(root, rel, 0o755)
}

// fileInRoot returns a handle to the file at unsafePath inside root, for a
// bind of a file onto it, creating it (empty) and its directories if needed.
func fileInRoot(root *os.File, unsafePath string) (*os.File, error) {
	rel, err := inRoot(root, unsafePath)
	if err != nil {
		return nil, err
	}
	if f, ok := openInRoot(root, rel, false); ok {
		return f, nil
	}
	if f, err := pathrs.OpenatInRoot(root, rel); err == nil {
		return f, nil
	}
	dir, base := path.Split(rel)
	parent, err := pathrs.MkdirAllHandle(root, dir, 0o755)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, err
	}
	if err == nil {
		unix.Close(fd)
	}
	// Resolve again, in the root: whatever is there now (our new file, or a
	// symlink that appeared meanwhile) is followed inside the root only.
	return pathrs.OpenatInRoot(root, rel)
}

// mountProc gives the sandbox a /proc of its own PID namespace.
func mountProc(root *os.File) error {
	return mountOne(root, Mount{Type: "proc", Source: "proc", Target: "/proc", Flags: NoSuid | NoDev | NoExec})
}

// pivot makes root the process's root and detaches the old one, so nothing
// of the host's file system stays reachable.
func pivot(root *os.File) error {
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return fmt.Errorf("enter root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one; the
	// detach then removes it (the runc idiom: no put_old directory needed).
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot into root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("enter root: %w", err)
	}
	return nil
}
