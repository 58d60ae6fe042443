package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// storeDirs are the store's folders and the mode each must have. Roots,
// half-made roots, sessions and locks are root's alone (issue 11, finding
// 8): a root holds setuid files that any local user could run through a
// 0755 roots/ on a suid-capable file system, and a lock file anyone can
// open is a lock anyone can hold, hanging every pkgbox command. The apt
// cache holds only public .debs.
var storeDirs = []struct {
	name string
	mode fs.FileMode
}{
	{"roots", 0o700},
	{"sessions", 0o700},
	{"locks", 0o700},
	{"tmp", 0o700},
	{"layers", 0o700},
	{"layers/tmp", 0o700},
}

// cacheDirs are the cache's folders (Store.Cache), and their modes.
var cacheDirs = []struct {
	name string
	mode fs.FileMode
}{
	{"", 0o755},
	{"apt", 0o755},
	// Compiler caches hold what builds wrote, setuid files among them
	// perhaps: the store owner's alone, as roots/ is; builds see only
	// their own.
	{"ccache", 0o700},
}

// lockMode is the mode of the files in locks/ and of session locks: only
// their owner may open, and so flock, them.
const lockMode = 0o600

// OwnerError says a store directory belongs to someone else, or others may
// write to it: whoever can write there can plant roots, sessions or locks
// that pkgbox, running as root, would trust.
type OwnerError struct {
	Dir string
	// UID is the directory's owner.
	UID int
	// Writable says the owner is right but the group or others may write.
	Writable bool
	// Store is the store the directory belongs to.
	Store string
}

func (e *OwnerError) Error() string {
	if e.UID == 0 && os.Geteuid() != 0 {
		return fmt.Sprintf("store %s belongs to root; pkgbox needs root to use it", e.Store)
	}
	if e.Writable {
		return fmt.Sprintf("store %s: %s is writable by its group or others", e.Store, e.Dir)
	}
	if e.Dir == e.Store {
		return fmt.Sprintf("store %s is owned by uid %d, not %s", e.Store, e.UID, runner())
	}
	return fmt.Sprintf("store %s: %s is owned by uid %d, not %s", e.Store, e.Dir, e.UID, runner())
}

// Hint says what to do.
func (e *OwnerError) Hint() string {
	if e.UID == 0 && os.Geteuid() != 0 {
		return "run it with sudo, or use a store of your own: without --store and " + EnvDir + ", an ordinary user's is ~/.local/share/pkgbox"
	}
	if e.Writable {
		return fmt.Sprintf("make it writable by its owner only (chmod go-w %s), or choose another --store", e.Dir)
	}
	return "remove it, or choose another --store"
}

// runner names the user a store must belong to: the one running pkgbox.
// With rootless mode (issue 13) that is the user, not root.
func runner() string {
	if uid := os.Geteuid(); uid != 0 {
		return fmt.Sprintf("uid %d, who runs pkgbox", uid)
	}
	return "root"
}

// prepare creates the store's folders where missing and checks the ones
// there: each must be a directory owned by the user running pkgbox and
// writable by nobody else. Folders of a store made by an earlier pkgbox
// with mode 0755 are tightened (roots/, sessions/, locks/ and tmp/ to 0700).
func prepare(dir, cache string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := checkOwner(dir, dir, 0); err != nil {
		return err
	}
	for _, d := range storeDirs {
		path := filepath.Join(dir, d.name)
		err := os.Mkdir(path, d.mode)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := checkOwner(dir, path, d.mode); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return err
	}
	for _, d := range cacheDirs {
		path := filepath.Join(cache, d.name)
		err := os.Mkdir(path, d.mode)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := checkOwner(dir, path, d.mode); err != nil {
			return err
		}
	}
	return nil
}

// checkOwner checks that path is a directory of the user running pkgbox,
// not writable by its group or others, and chmods it to mode (unless 0)
// when it allows more. os.Stat follows a symlink: only the store's owner
// could have made one there, and an administrator may keep roots/ on
// another disk.
func checkOwner(store, path string, mode fs.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if int(st.Uid) != os.Geteuid() {
		return &OwnerError{Dir: path, UID: int(st.Uid), Store: store}
	}
	perm := fi.Mode().Perm()
	if mode != 0 && perm&^mode != 0 {
		// Ours, and looser than it must be: tighten. A fresh Mkdir lands
		// here too when the umask let more through than asked.
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("tighten %s to %04o: %w", path, mode, err)
		}
		return nil
	}
	if perm&0o022 != 0 {
		return &OwnerError{Dir: path, UID: int(st.Uid), Writable: true, Store: store}
	}
	return nil
}
