package build

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"pkgbox/debian"
)

// inputs are the host files a build reads, opened once before the build
// starts and held open until it ends (issue 11, finding 6). The sandbox
// binds these very descriptors, never the paths again (sandbox.Mount.File):
// a name swapped for a symlink after the check cannot bring another file
// in, and no file is reached through a symlink at all: pkgbox runs as
// root, the directories beside a source are the user's.
type inputs struct {
	// dir is the source tree (O_PATH), for a tree source.
	dir *os.File
	// files are the .dsc and what it lists, or a tree's orig tarballs.
	files []debian.InputFile
}

// openInputs opens what the build of src reads: for a .dsc, the .dsc and
// its files, each checked on its descriptor; for a tree, the tree and the
// upstream tarballs beside it (NAME_UPSTREAM.orig[-COMPONENT].tar.*, and
// their .asc), regular files only.
func openInputs(src *debian.Source) (_ *inputs, retErr error) {
	in := &inputs{}
	defer func() {
		if retErr != nil {
			in.Close()
		}
	}()
	if src.Dsc != "" {
		files, err := src.OpenDscFiles()
		if err != nil {
			return nil, err
		}
		in.files = files
		return in, nil
	}
	dir, err := os.OpenFile(src.Dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open source %q: %w", src.Dir, err)
	}
	in.dir = dir
	parent, err := os.OpenFile(filepath.Dir(src.Dir), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open source %q: %w", src.Dir, err)
	}
	defer parent.Close()
	names, err := parent.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", parent.Name(), err)
	}
	for _, n := range names {
		if !isOrigTarball(src, n) {
			continue
		}
		f, err := debian.OpenRegular(parent, n, "orig tarball")
		if err != nil {
			return nil, err
		}
		in.files = append(in.files, debian.InputFile{Name: n, File: f})
	}
	return in, nil
}

// isOrigTarball says whether name is an upstream tarball of src, as
// dpkg-source looks for them beside a tree.
func isOrigTarball(src *debian.Source, name string) bool {
	rest, ok := strings.CutPrefix(name, src.Name+"_"+src.UpstreamVersion()+".orig")
	return ok && (strings.HasPrefix(rest, ".tar.") || strings.HasPrefix(rest, "-") && strings.Contains(rest, ".tar."))
}

func (in *inputs) Close() {
	if in.dir != nil {
		in.dir.Close()
	}
	for _, f := range in.files {
		f.File.Close()
	}
}
