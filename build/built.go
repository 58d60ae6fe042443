package build

import (
	"fmt"

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
