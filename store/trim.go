package store

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"

	"golang.org/x/sys/unix"
)

// trimFile is one file TrimTree may delete: its directory relative to the
// tree, its name, when it was last written and the space it takes.
type trimFile struct {
	dir, name string
	mtime     int64
	size      int64
}

// maxTrimDepth bounds how deep TrimTree descends; ccache's own trees are
// three levels deep, and a deeper one is a build's doing, whose files the
// cache's user never reads and which RemoveCcache removes.
const maxTrimDepth = 32

// TrimTree deletes the least recently written files under dir (oldest
// modification time first) until what is left takes at most maxSize bytes
// (allocated blocks, as du counts), keeping the files whose name keep
// accepts. It returns the space taken before and after, and how many files
// it deleted.
//
// The tree is untrusted (a build writes it): no link is ever followed.
// Every directory is opened relative to its parent with O_NOFOLLOW, and
// for deletion again from dir with openat2's RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS, so that a directory swapped for a link cannot take
// an unlink out of the tree; the caller holds the tree's lock besides.
func TrimTree(dir string, maxSize int64, keep func(name string) bool) (before, after int64, deleted int, err error) {
	top, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return 0, 0, 0, nil
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(top)
	var st unix.Stat_t
	if err := unix.Fstat(top, &st); err != nil {
		return 0, 0, 0, fmt.Errorf("stat %s: %w", dir, err)
	}
	var files []trimFile
	if err := walkNoFollow(top, ".", st.Dev, 0, func(f trimFile) {
		before += f.size
		if !keep(f.name) {
			files = append(files, f)
		}
	}); err != nil {
		return 0, 0, 0, fmt.Errorf("walk %s: %w", dir, err)
	}
	after = before
	if maxSize <= 0 || before <= maxSize {
		return before, after, 0, nil
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mtime < files[j].mtime })
	for _, f := range files {
		if after <= maxSize {
			break
		}
		if err := unlinkBeneath(top, f.dir, f.name); err != nil {
			return before, after, deleted, fmt.Errorf("trim %s: %w", dir, err)
		}
		after -= f.size
		deleted++
	}
	return before, after, deleted, nil
}

// walkNoFollow calls fn for every entry under the directory fd that is
// not a directory, descending into directories on the file system dev
// only, never through a link.
func walkNoFollow(fd int, rel string, dev uint64, depth int, fn func(trimFile)) error {
	// ReadDir through a duplicate: d's Close would close fd, the caller's.
	dup, err := unix.Dup(fd)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(dup), rel)
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, e.Name(), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			fn(trimFile{dir: rel, name: e.Name(), mtime: st.Mtim.Nano(), size: st.Blocks * 512})
			continue
		}
		if st.Dev != dev || depth >= maxTrimDepth {
			continue
		}
		child, err := unix.Openat(fd, e.Name(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				continue // changed meanwhile
			}
			return err
		}
		err = walkNoFollow(child, path.Join(rel, e.Name()), dev, depth+1, fn)
		unix.Close(child)
		if err != nil {
			return err
		}
	}
	return nil
}

// unlinkBeneath deletes name in directory rel of the tree top, resolving
// rel inside the tree without following any link.
func unlinkBeneath(top int, rel, name string) error {
	fd, err := unix.Openat2(top, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", rel, err)
	}
	defer unix.Close(fd)
	if err := unix.Unlinkat(fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete %s: %w", path.Join(rel, name), err)
	}
	return nil
}
