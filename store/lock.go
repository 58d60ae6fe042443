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

// ErrBusy is returned (wrapped) when a lock is held by another pkgbox.
var ErrBusy = errors.New("in use by another pkgbox process")

// Lock is a held flock(2) on a lock file. The kernel drops it when the last
// descriptor of the open file closes, so a killed pkgbox never leaves a stale lock.
type Lock struct {
	f *os.File
}

// File is the locked file. Passing it to a child process (the sandbox's init)
// keeps the lock held for as long as that child lives.
func (l *Lock) File() *os.File { return l.f }

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// LockRoot takes root NAME's lock: shared for sessions that only read the
// root, exclusive for update, remove and --write. It waits until ctx is done;
// a context without deadline and wait false tries once.
func (s *Store) LockRoot(ctx context.Context, name string, exclusive, wait bool) (*Lock, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	l, err := lockFile(ctx, filepath.Join(s.Dir, "locks", name+".lock"), exclusive, wait)
	if errors.Is(err, ErrBusy) {
		return nil, fmt.Errorf("root %q is %w", name, ErrBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("lock root %q: %w", name, err)
	}
	return l, nil
}

// lockFile opens (creating) path and flocks it, polling while wait is set and
// ctx is not done. Polling keeps the wait cancellable without a signal dance.
func lockFile(ctx context.Context, path string, exclusive, wait bool) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, lockMode)
	if err != nil {
		return nil, err
	}
	// A lock file made 0644 by an earlier pkgbox: only root may open it
	// from now on (issue 11, finding 8).
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm() != lockMode {
		_ = f.Chmod(lockMode)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if !wait {
			f.Close()
			return nil, ErrBusy
		}
		select {
		case <-ctx.Done():
			f.Close()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, ErrBusy
			}
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
