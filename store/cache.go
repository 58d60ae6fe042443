package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// SourceCache is where `pkgbox build NAME` keeps source packages fetched
// from a suite: Files holds the .dsc files and tarballs as apt-get source
// leaves them, Lists apt's lists of the suite with its Sources indexes
// (kept apart from the root's own lists, which have none).
type SourceCache struct {
	Files string
	Lists string
	lock  *Lock
}

// Unlock lets the next fetch of the same suite and architecture go on.
func (c *SourceCache) Unlock() { _ = c.lock.Unlock() }

// SourceCache returns the source cache of suite and arch, made if missing
// and locked: apt refuses to share its lists between two runs at once.
func (s *Store) SourceCache(ctx context.Context, suite, arch string) (*SourceCache, error) {
	dir := filepath.Join(s.Cache, "source", suite+"-"+arch)
	c := &SourceCache{Files: filepath.Join(dir, "files"), Lists: filepath.Join(dir, "lists")}
	for _, d := range []string{c.Files, filepath.Join(c.Lists, "partial")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create source cache: %w", err)
		}
	}
	l, err := lockFile(ctx, filepath.Join(s.Dir, "locks", "source-"+suite+"-"+arch+".lock"), true, true)
	if err != nil {
		return nil, fmt.Errorf("lock source cache %s-%s: %w", suite, arch, err)
	}
	c.lock = l
	return c, nil
}

// waitAptLock waits until no apt holds the lock file of the apt archive
// cache dir. The store's own lock on the cache is released the moment its
// pkgbox dies, while apt in that pkgbox's sandbox may hold its lock a little
// longer, until the kernel has killed it; apt fails at once on a held lock.
// An open file description lock conflicts with apt's fcntl lock.
func waitAptLock(ctx context.Context, dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o640)
	if err != nil {
		return fmt.Errorf("open apt cache lock: %w", err)
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK}
	for {
		err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		if err == nil {
			lk.Type = unix.F_UNLCK
			return unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) {
			return fmt.Errorf("lock apt cache: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
