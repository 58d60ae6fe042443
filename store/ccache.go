package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Compiler caches (build --ccache, issue 12). Each root and architecture
// has one ccache directory, in the store's cache (Store.Cache):
//
//	CACHE/ccache/ROOT/ARCH/       the cache, bound read-write into builds and owned by the build user
//	CACHE/ccache/ROOT/ARCH.lock   shared while a build uses the cache, exclusive for gc
//	CACHE/ccache/ROOT/ARCH.json   the size bound the last build gave it, for gc
//
// Builds write the cache, and builds are untrusted: pkgbox never follows
// a link inside ARCH/ on the host, and only ARCH/ itself reaches a
// sandbox, so the lock and the record beside it stay root's.

// DefaultCcacheMaxSize bounds a compiler cache unless the build says
// otherwise (build --ccache-max-size).
const DefaultCcacheMaxSize = 2 << 30

// Ccache is one root's compiler cache, locked shared for a build.
type Ccache struct {
	// Dir is the cache directory on the host.
	Dir string
	// Root and Arch name it.
	Root, Arch string
	lock       *Lock
}

// ccacheRecord is what ARCH.json holds.
type ccacheRecord struct {
	MaxSize int64 `json:"max_size"`
}

func (s *Store) ccacheRootDir(root string) string {
	return filepath.Join(s.Cache, "ccache", root)
}

// OpenCcache returns the compiler cache of root and arch, made if missing
// and locked shared until Close, so that gc leaves it alone meanwhile.
// maxSize is recorded as the bound gc trims it to. The directory belongs
// to root until the build's sandbox gives it to the build user.
func (s *Store) OpenCcache(ctx context.Context, root, arch string, maxSize int64) (*Ccache, error) {
	if err := ValidateName(root); err != nil {
		return nil, err
	}
	if err := ValidateName(arch); err != nil {
		return nil, fmt.Errorf("compiler cache: architecture: %w", err)
	}
	parent := s.ccacheRootDir(root)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("create compiler cache: %w", err)
	}
	c := &Ccache{Dir: filepath.Join(parent, arch), Root: root, Arch: arch}
	for {
		l, err := lockFile(ctx, c.Dir+".lock", false, true)
		if err != nil {
			return nil, fmt.Errorf("lock compiler cache %s/%s: %w", root, arch, err)
		}
		// gc removes a cache and its lock file while it holds the lock: a
		// lock file it took between our open and our flock is gone.
		if l.names(c.Dir + ".lock") {
			c.lock = l
			break
		}
		_ = l.Unlock()
	}
	if err := os.Mkdir(c.Dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		c.Close()
		return nil, fmt.Errorf("create compiler cache: %w", err)
	}
	data, _ := json.Marshal(ccacheRecord{MaxSize: maxSize})
	if old, err := os.ReadFile(c.Dir + ".json"); err == nil && string(old) == string(data) {
		return c, nil // as recorded: no write, and no sync, for each build
	}
	if err := WriteFileAtomic(c.Dir+".json", data, 0o600); err != nil {
		c.Close()
		return nil, fmt.Errorf("create compiler cache: %w", err)
	}
	return c, nil
}

// Open opens the cache directory itself without following a link, for a
// bind mount from the descriptor.
func (c *Ccache) Open() (*os.File, error) {
	f, err := os.OpenFile(c.Dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open compiler cache: %w", err)
	}
	return f, nil
}

// Close lets gc at the cache again.
func (c *Ccache) Close() {
	if c.lock != nil {
		_ = c.lock.Unlock()
		c.lock = nil
	}
}

// RemoveCcache removes the compiler cache of root and arch, if no build
// uses it (ErrBusy otherwise).
func (s *Store) RemoveCcache(root, arch string) error {
	dir := filepath.Join(s.ccacheRootDir(root), arch)
	l, err := lockFile(context.Background(), dir+".lock", true, false)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := RemoveTree(dir); err != nil {
		return fmt.Errorf("remove compiler cache: %w", err)
	}
	_ = os.Remove(dir + ".json")
	// Unlinked while held: a build waiting on it sees that and starts over.
	_ = os.Remove(dir + ".lock")
	return nil
}

// removeCcachesOf removes every compiler cache of root NAME. The caller
// holds the root's exclusive lock, so no build uses one.
func (s *Store) removeCcachesOf(name string) error {
	_, err := s.removeCcaches(name)
	return err
}

// removeCcaches removes the compiler caches of root NAME that no build
// uses, and returns their directories.
func (s *Store) removeCcaches(name string) ([]string, error) {
	archs, err := s.ccacheArchs(name)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, a := range archs {
		switch err := s.RemoveCcache(name, a); {
		case err == nil:
			removed = append(removed, filepath.Join(s.ccacheRootDir(name), a))
		case !errors.Is(err, ErrBusy):
			errs = append(errs, err)
		}
	}
	if len(removed) == len(archs) {
		_ = os.Remove(s.ccacheRootDir(name)) // empty now, unless a build began one
	}
	return removed, errors.Join(errs...)
}

// ccacheArchs lists the architectures root has a compiler cache for.
func (s *Store) ccacheArchs(root string) ([]string, error) {
	entries, err := os.ReadDir(s.ccacheRootDir(root))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list compiler caches: %w", err)
	}
	var archs []string
	for _, e := range entries {
		if e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
			archs = append(archs, e.Name())
		}
	}
	return archs, nil
}

// CcacheGC is what GCCcaches did to one cache.
type CcacheGC struct {
	Dir string
	// Removed says the cache went with its root; otherwise it was trimmed
	// from Before to After bytes (Files of them deleted).
	Removed       bool
	Before, After int64
	Files         int
}

// GCCcaches removes the compiler caches of roots that are gone, and trims
// every other one to the bound its last build recorded (maxSize, when
// positive, instead), deleting the least recently used files first. A
// cache that a build uses is left alone.
func (s *Store) GCCcaches(maxSize int64) ([]CcacheGC, error) {
	entries, err := os.ReadDir(filepath.Join(s.Cache, "ccache"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list compiler caches: %w", err)
	}
	var done []CcacheGC
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		root := e.Name()
		if _, err := s.Root(root); errors.Is(err, ErrNoRoot) {
			removed, err := s.removeCcaches(root)
			if err != nil {
				errs = append(errs, err)
			}
			for _, dir := range removed {
				done = append(done, CcacheGC{Dir: dir, Removed: true})
			}
			continue
		}
		archs, err := s.ccacheArchs(root)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, a := range archs {
			g, err := s.TrimCcache(root, a, maxSize)
			if err != nil {
				errs = append(errs, err)
			} else if g != nil {
				done = append(done, *g)
			}
		}
	}
	return done, errors.Join(errs...)
}

// TrimCcache trims the cache of root and arch to maxSize, or when that is
// not positive to the bound its last build recorded, under the cache's
// exclusive lock; nil when a build uses it or it is within its bound.
func (s *Store) TrimCcache(root, arch string, maxSize int64) (*CcacheGC, error) {
	dir := filepath.Join(s.ccacheRootDir(root), arch)
	l, err := lockFile(context.Background(), dir+".lock", true, false)
	if errors.Is(err, ErrBusy) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock compiler cache %s: %w", dir, err)
	}
	defer l.Unlock()
	if maxSize <= 0 {
		maxSize = DefaultCcacheMaxSize
		if data, err := os.ReadFile(dir + ".json"); err == nil {
			var r ccacheRecord
			if json.Unmarshal(data, &r) == nil && r.MaxSize > 0 {
				maxSize = r.MaxSize
			}
		}
	}
	before, after, n, err := TrimTree(dir, maxSize, ccacheKeep)
	if err != nil {
		return nil, fmt.Errorf("trim compiler cache %s: %w", dir, err)
	}
	if n == 0 {
		return nil, nil
	}
	return &CcacheGC{Dir: dir, Before: before, After: after, Files: n}, nil
}

// ccacheKeep are the files of a ccache directory that trimming keeps:
// its configuration and its statistics counters (which ccache corrects
// itself at its next cleanup), not cached results.
func ccacheKeep(name string) bool { return name == "ccache.conf" || name == "stats" }
