// Package store owns pkgbox's on-disk state: roots and their metadata,
// overlay sessions, the shared apt caches, and the locks that keep them
// consistent between concurrent pkgbox processes.
//
// Layout, below the store directory (default /var/lib/pkgbox):
//
//	roots/NAME/            a root file system
//	roots/NAME.json        its metadata (Root)
//	sessions/ID/           upper/ and work/ of one overlay session, and lock; the overlay is
//	                       mounted on the directory itself, inside the sandbox only
//	cache/apt/SUITE-ARCH/  .debs shared by every root and session of that suite
//	locks/NAME.lock        flock: shared while a session reads a root, exclusive to change it
//	tmp/                   half-made roots; only complete ones are renamed into roots/
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultDir is where the store lives unless --store or PKGBOX_STORE say otherwise.
const DefaultDir = "/var/lib/pkgbox"

// EnvDir is the environment variable that names the store.
const EnvDir = "PKGBOX_STORE"

// UserDirs returns the default store and cache directories of an ordinary
// user (rootless mode), after the XDG base directory specification:
// $XDG_DATA_HOME/pkgbox, else ~/.local/share/pkgbox, and
// $XDG_CACHE_HOME/pkgbox, else ~/.cache/pkgbox. Relative XDG values are
// ignored, as the specification says.
func UserDirs() (dir, cache string, err error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", "", fmt.Errorf("find the store: %w", err)
	}
	dir = filepath.Join(home, ".local", "share", "pkgbox")
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		dir = filepath.Join(d, "pkgbox")
	}
	cache = filepath.Join(home, ".cache", "pkgbox")
	if d := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		cache = filepath.Join(d, "pkgbox")
	}
	return dir, cache, nil
}

// Store is an opened store directory.
type Store struct {
	// Dir is the store's absolute path.
	Dir string
	// Cache is the absolute path of the caches (apt archives, sources,
	// bootstrap images): Dir/cache, or the user's cache directory for a
	// user's default store (see UserDirs).
	Cache string
}

// Open opens the store at dir, creating its folders if needed. The store
// and its folders must belong to the user running pkgbox and be writable by
// nobody else (an *OwnerError otherwise); folders an earlier pkgbox made
// 0755 are tightened to the modes of storeDirs.
func Open(dir string) (*Store, error) {
	return OpenCache(dir, "")
}

// OpenCache opens the store at dir as Open does, with its caches in cache
// ("" means dir/cache).
func OpenCache(dir, cache string) (*Store, error) {
	if dir == "" {
		dir = DefaultDir
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	if cache == "" {
		cache = filepath.Join(abs, "cache")
	}
	if cache, err = filepath.Abs(cache); err != nil {
		return nil, fmt.Errorf("open store %q: %w", dir, err)
	}
	s := &Store{Dir: abs, Cache: cache}
	if err := prepare(abs, cache); err != nil {
		var oe *OwnerError
		if errors.As(err, &oe) {
			return nil, err // it names the store already
		}
		return nil, fmt.Errorf("open store %q: %w", abs, err)
	}
	return s, nil
}

// ErrNoRoot is returned (wrapped) when a root does not exist.
var ErrNoRoot = errors.New("no such root")

// ValidateName checks that a root name is usable as a single path component
// and reads well on a command line.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errors.New("root name is empty")
	case name == "." || name == ".." || strings.Contains(name, ".."):
		return fmt.Errorf("root name %q may not contain \"..\"", name)
	case len(name) > 64:
		return fmt.Errorf("root name %q is longer than 64 characters", name)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			(i > 0 && (r == '-' || r == '_' || r == '.' || r == '+'))
		if !ok {
			return fmt.Errorf("root name %q may only hold letters, digits and - _ . + (not first)", name)
		}
	}
	return nil
}

// RootPath is where root NAME's file system lives (whether or not it exists).
func (s *Store) RootPath(name string) string { return filepath.Join(s.Dir, "roots", name) }

func (s *Store) metaPath(name string) string { return filepath.Join(s.Dir, "roots", name+".json") }

// CacheDir is the apt archive cache shared by roots and sessions of one suite
// and architecture; it is created if missing.
func (s *Store) CacheDir(suite, arch string) (string, error) {
	dir := filepath.Join(s.Cache, "apt", suite+"-"+arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create apt cache: %w", err)
	}
	return dir, nil
}

// Temp is a directory under the store's tmp/ in which a root is being
// made, with a held lock beside it so GC can tell an abandoned one.
type Temp struct {
	// Path is the directory to fill.
	Path string
	lock *Lock
}

// TempDir makes a fresh directory under the store's tmp/ for a root that is
// being made; Install renames it into place once it is complete. Its lock
// file (the directory's name + ".lock") is made and locked first, so that a
// pkgbox killed at any moment leaves either nothing, a free lock, or a
// directory beside a free lock, and GC removes them all.
func (s *Store) TempDir(name string) (*Temp, error) {
	for {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("create temporary root: %w", err)
		}
		dir := filepath.Join(s.Dir, "tmp", name+"."+hex.EncodeToString(b[:]))
		lock, err := lockFile(context.Background(), dir+".lock", true, false)
		if errors.Is(err, ErrBusy) {
			continue // another pkgbox's, however unlikely
		}
		if err != nil {
			return nil, fmt.Errorf("create temporary root: %w", err)
		}
		// GC removes a free lock file while it holds it; one it took
		// between our open and our flock is no longer ours to use.
		if !lock.names(dir + ".lock") {
			_ = lock.Unlock()
			continue
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			_ = lock.Unlock()
			if errors.Is(err, fs.ErrExist) {
				continue // a dead one's, for GC
			}
			return nil, fmt.Errorf("create temporary root: %w", err)
		}
		return &Temp{Path: dir, lock: lock}, nil
	}
}

// names tells whether path is still the file l holds locked.
func (l *Lock) names(path string) bool {
	var held, named unix.Stat_t
	if unix.Fstat(int(l.f.Fd()), &held) != nil || unix.Stat(path, &named) != nil {
		return false
	}
	return held.Dev == named.Dev && held.Ino == named.Ino
}

// Remove deletes whatever is left of the temporary directory (nothing, after
// a successful Install) and its lock.
func (t *Temp) Remove() error {
	var err error
	if _, serr := os.Lstat(t.Path); serr == nil {
		err = RemoveTree(t.Path)
	}
	_ = os.Remove(t.Path + ".lock")
	_ = t.lock.Unlock()
	return err
}

// AptCache returns the apt archive cache of suite and arch (see CacheDir),
// ready to be bound over a root's /var/cache/apt/archives, and locked: apt
// refuses to share its archive directory between two runs at once, so the
// sessions that download into it take turns, waiting until ctx is done.
func (s *Store) AptCache(ctx context.Context, suite, arch string) (dir string, unlock func(), err error) {
	dir, err = s.CacheDir(suite, arch)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "partial"), 0o755); err != nil {
		return "", nil, fmt.Errorf("create apt cache: %w", err)
	}
	l, err := lockFile(ctx, filepath.Join(s.Dir, "locks", "cache-"+suite+"-"+arch+".lock"), true, true)
	if err != nil {
		return "", nil, fmt.Errorf("lock apt cache %s-%s: %w", suite, arch, err)
	}
	if err := waitAptLock(ctx, dir); err != nil {
		_ = l.Unlock()
		return "", nil, err
	}
	return dir, func() { _ = l.Unlock() }, nil
}

// NoSpaceError says the store's file system is full.
type NoSpaceError struct {
	Dir string
	// Err is what failed for want of space.
	Err error
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("no space left in the store %s: %v", e.Dir, e.Err)
}

func (e *NoSpaceError) Unwrap() error { return e.Err }

// Hint says what to do.
func (e *NoSpaceError) Hint() string {
	return "free space on the file system that holds it (pkgbox remove, pkgbox gc), or point --store elsewhere"
}

// lowSpace is what counts as a full store: less than this is left for
// anything to be written.
const lowSpace = 16 << 20

// CheckSpace turns err, an operation in the store that failed, into a
// NoSpaceError when the store's file system is (nearly) full: tools like
// debootstrap and dpkg-buildpackage report a full disk in their own words,
// if at all, and the user should hear it in pkgbox's. Other errors, and
// nil, come back as they are.
func (s *Store) CheckSpace(err error) error {
	if err == nil {
		return nil
	}
	var st unix.Statfs_t
	if unix.Statfs(s.Dir, &st) != nil {
		return err
	}
	if int64(st.Bavail)*int64(st.Bsize) < lowSpace || errors.Is(err, unix.ENOSPC) {
		return &NoSpaceError{Dir: s.Dir, Err: err}
	}
	return err
}
