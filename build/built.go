package build

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"pkgbox/bootstrap"
)

// Built says whether the output directory already holds the .changes that a
// build of req would write, and returns a Result naming the source, its
// version, architecture and root, with that .changes as its artifact (dpkg-buildpackage's name for it: the source's
// name and version, and the root's architecture or the build type), so
// that a batch can skip a source built before (pkgbox build --skip-built).
// req names a source by path, not a package to fetch, and its root; the
// .changes is looked at without following a link, and counts only as a
// regular file.
func Built(req *Request) (_ *Result, ok bool, err error) {
	src, err := readSource(req.Source)
	if err != nil {
		return nil, false, err
	}
	out, err := outDir(req, src)
	if err != nil {
		return nil, false, err
	}
	arch := bootstrap.HostArch()
	if meta, err := req.Store.Root(req.Root); err == nil && meta.Arch != "" {
		arch = meta.Arch
	}
	typ := req.Type
	if typ == "" {
		typ = Binary
	}
	name := changesName(src, arch, typ)
	o, err := openOutput(out, -1, -1)
	if err != nil {
		return nil, false, err
	}
	defer o.Close()
	st, ok, err := o.lstat(name)
	if err != nil {
		return nil, false, fmt.Errorf("look for %s: %w", o.path(name), err)
	}
	res := &Result{Source: src.Name, Version: src.Version.String(), Arch: arch, Root: req.Root,
		Artifacts: []Artifact{{Path: o.path(name), Size: st.Size}}}
	return res, ok && st.Mode&unix.S_IFMT == unix.S_IFREG, nil
}

// Subdir makes directory name in the output directory out (or finds it
// there), given to the invoking user as the artifacts are, and returns its
// path: rebuild-rdeps' second builds go there. It is made relative to the
// output directory's descriptor, and an existing name that is not a
// directory (a symbolic link among others) is refused.
func Subdir(out, name string) (string, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	uid, gid := invokingUser()
	o, err := openOutput(abs, uid, gid)
	if err != nil {
		return "", err
	}
	defer o.Close()
	err = unix.Mkdirat(o.fd(), name, 0o755)
	switch {
	case err == nil:
		if uid >= 0 {
			if err := unix.Fchownat(o.fd(), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return "", fmt.Errorf("give %s to its user: %w", o.path(name), err)
			}
		}
	case errors.Is(err, unix.EEXIST):
		st, _, err := o.lstat(name)
		if err != nil {
			return "", fmt.Errorf("look at %s: %w", o.path(name), err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return "", fmt.Errorf("%s is not a directory (a symbolic link or a file): remove it, or choose another --out", o.path(name))
		}
	default:
		return "", fmt.Errorf("make %s: %w", o.path(name), err)
	}
	return o.path(name), nil
}
