package build

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// output is the directory artifacts and the log go to (--out), held open.
// It is usually the invoking user's own directory (the source's parent, often
// their home), so whatever is in it is theirs to plant: every file pkgbox
// writes there is created relative to this descriptor with O_EXCL and
// O_NOFOLLOW, given to its owner with fchown on the new file's own
// descriptor, never by path (issue 11, finding 4: a symlink in place of the
// log made pkgbox chown a root-owned file to the user).
type output struct {
	dir *os.File // O_PATH|O_DIRECTORY
	// Path is the directory's absolute path, for messages and results.
	Path string
	// uid and gid will own what pkgbox writes; -1 leaves it to root.
	uid, gid int
}

// openOutput opens the directory at abs. The path is the user's own
// choice, so symlinks on it are followed; what is inside never is.
func openOutput(abs string, uid, gid int) (*output, error) {
	f, err := os.OpenFile(abs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("output directory %q does not exist or is not a directory", abs)
	}
	return &output{dir: f, Path: abs, uid: uid, gid: gid}, nil
}

func (o *output) Close() error { return o.dir.Close() }

func (o *output) fd() int { return int(o.dir.Fd()) }

// path is name's path in the directory, for messages.
func (o *output) path(name string) string { return filepath.Join(o.Path, name) }

// lstat looks at name without following it; ok is false when nothing is there.
func (o *output) lstat(name string) (st unix.Stat_t, ok bool, err error) {
	err = unix.Fstatat(o.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return st, false, nil
	}
	return st, err == nil, err
}

// OutputError says pkgbox will not write a file of the output directory:
// something other than a regular file holds its name.
type OutputError struct {
	Path string
	What string // "a symbolic link", "not a regular file"
}

func (e *OutputError) Error() string {
	return fmt.Sprintf("%s is %s; pkgbox writes only regular files in the output directory and never through a link", e.Path, e.What)
}

// Hint says what to do.
func (e *OutputError) Hint() string { return "remove it, or choose another --out" }

// createLog makes the build log name, replacing an earlier regular file
// of that name (the log of an earlier build) by a new one: the old inode
// is unlinked, never truncated or written, so a hard link planted there
// changes nothing. A symlink or anything but a regular file is refused.
func (o *output) createLog(name string) (*os.File, error) {
	st, ok, err := o.lstat(name)
	if err != nil {
		return nil, fmt.Errorf("create build log %s: %w", o.path(name), err)
	}
	if ok {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			if err := unix.Unlinkat(o.fd(), name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				return nil, fmt.Errorf("replace build log %s: %w", o.path(name), err)
			}
		case unix.S_IFLNK:
			return nil, &OutputError{Path: o.path(name), What: "a symbolic link"}
		default:
			return nil, &OutputError{Path: o.path(name), What: "not a regular file"}
		}
	}
	f, err := o.create(name, 0o644)
	if errors.Is(err, unix.EEXIST) {
		// Something took the name between the unlink and the create.
		return nil, &OutputError{Path: o.path(name), What: "a file that appeared while pkgbox replaced it"}
	}
	if err == nil {
		if err = o.give(f); err != nil {
			f.Close()
			_ = unix.Unlinkat(o.fd(), name, 0)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create build log %s: %w", o.path(name), err)
	}
	return f, nil
}

// create makes name, which must not exist, owned by root.
func (o *output) create(name string, mode uint32) (*os.File, error) {
	fd, err := unix.Openat(o.fd(), name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), o.path(name)), nil
}

// give hands f, made by create, to the output's owner.
func (o *output) give(f *os.File) error {
	if o.uid < 0 {
		return nil
	}
	return f.Chown(o.uid, o.gid) // fchown: the file itself, whatever its name is now
}

// writeFile writes name through fill: into a fresh temporary file first,
// renamed to name once complete, so the directory never holds half a file.
// Without overwrite, an existing name is an *ExistsError (the rename
// refuses to replace it, so no check can be raced); with it, the rename
// replaces the name itself, never following a symlink there.
func (o *output) writeFile(name string, overwrite bool, fill func(*os.File) error) (retErr error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := "." + name + ".pkgbox-" + hex.EncodeToString(rnd[:])
	f, err := o.create(tmp, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			f.Close()
			_ = unix.Unlinkat(o.fd(), tmp, 0)
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	// Given away only once written: its owner could change it meanwhile.
	if err := o.give(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	var flags uint
	if !overwrite {
		flags = unix.RENAME_NOREPLACE
	}
	err = unix.Renameat2(o.fd(), tmp, o.fd(), name, flags)
	if errors.Is(err, unix.EEXIST) {
		err = &ExistsError{Path: o.path(name)}
	}
	return err
}

// free is the space left for pkgbox in the output directory's file system.
func (o *output) free() (int64, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(o.fd(), &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
