package bootstrap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// rootFS writes files inside a root that pkgbox did not make itself
// (debootstrap and the packages did). Every path is resolved inside the
// root, so a symlink in it (/usr/sbin -> /somewhere, absolute symlinks are
// common in Debian roots) can never make pkgbox write on the host; the last
// component is never followed. It uses filepath-securejoin's pathrs-lite
// rather than os.Root, which rejects the absolute symlinks roots contain.
type rootFS struct {
	root *os.File // O_PATH handle of the root directory
}

func openRootFS(dir string) (*rootFS, error) {
	f, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", dir, err)
	}
	return &rootFS{root: f}, nil
}

func (r *rootFS) Close() error { return r.root.Close() }

// dir opens unsafePath, creating it (and its parents) with mode if needed,
// as a real directory descriptor.
func (r *rootFS) dir(unsafePath string, mode os.FileMode) (*os.File, error) {
	h, err := pathrs.MkdirAllHandle(r.root, unsafePath, mode)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return pathrs.Reopen(h, unix.O_RDONLY|unix.O_DIRECTORY)
}

// ReadFile reads unsafePath in the root, and its owner and permissions.
func (r *rootFS) ReadFile(unsafePath string) ([]byte, *unix.Stat_t, error) {
	h, err := pathrs.OpenatInRoot(r.root, unsafePath)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s in root: %w", unsafePath, err)
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s in root: %w", unsafePath, err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, nil, fmt.Errorf("read %s in root: %w", unsafePath, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, fmt.Errorf("read %s in root: not a regular file", unsafePath)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s in root: %w", unsafePath, err)
	}
	return data, &st, nil
}

// WriteFile replaces unsafePath in the root with data, atomically (a new
// file renamed over the old one), owned by uid:gid with mode. Missing
// parent directories are made.
func (r *rootFS) WriteFile(unsafePath string, data []byte, mode os.FileMode, uid, gid int) (retErr error) {
	clean := path.Clean("/" + unsafePath)
	dirPath, base := path.Split(clean)
	if base == "" {
		return fmt.Errorf("write %s in root: not a file name", unsafePath)
	}
	d, err := r.dir(dirPath, 0o755)
	if err != nil {
		return fmt.Errorf("write %s in root: %w", clean, err)
	}
	defer d.Close()
	dfd := int(d.Fd())
	tmp := "." + base + ".pkgbox-new"
	_ = unix.Unlinkat(dfd, tmp, 0) // left by an earlier crash
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return fmt.Errorf("write %s in root: %w", clean, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	defer func() {
		if f != nil {
			f.Close()
		}
		if retErr != nil {
			_ = unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s in root: %w", clean, err)
	}
	// Explicit chmod: the umask must not decide a file's mode in the root.
	if err := unix.Fchmod(fd, uint32(mode.Perm())); err != nil {
		return fmt.Errorf("write %s in root: %w", clean, err)
	}
	// Rootless, root of the root is the user, who made the file: no
	// chown to do, and none the user would be allowed.
	if !(os.Geteuid() != 0 && uid == 0 && gid == 0) {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return fmt.Errorf("write %s in root: %w", clean, err)
		}
	}
	err = f.Close()
	f = nil
	if err != nil {
		return fmt.Errorf("write %s in root: %w", clean, err)
	}
	if err := unix.Renameat(dfd, tmp, dfd, base); err != nil {
		return fmt.Errorf("write %s in root: %w", clean, err)
	}
	return nil
}

// List names the entries of directory unsafePath in the root.
func (r *rootFS) List(unsafePath string) ([]string, error) {
	h, err := pathrs.OpenatInRoot(r.root, unsafePath)
	if err != nil {
		return nil, fmt.Errorf("list %s in root: %w", unsafePath, err)
	}
	defer h.Close()
	d, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("list %s in root: %w", unsafePath, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s in root: %w", unsafePath, err)
	}
	return names, nil
}

// Remove deletes file unsafePath in the root, if it is there.
func (r *rootFS) Remove(unsafePath string) error {
	clean := path.Clean("/" + unsafePath)
	dirPath, base := path.Split(clean)
	h, err := pathrs.OpenatInRoot(r.root, dirPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s in root: %w", clean, err)
	}
	defer h.Close()
	d, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("remove %s in root: %w", clean, err)
	}
	defer d.Close()
	if err := unix.Unlinkat(int(d.Fd()), base, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s in root: %w", clean, err)
	}
	return nil
}
