package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Session is one overlay session's directories. Its lock file is held for
// the session's whole life; a session whose lock is free is dead, and GC
// removes it.
type Session struct {
	ID    string
	Dir   string
	Upper string
	Work  string
	// Merged is where the sandbox mounts the overlay: the session's
	// directory itself, which the mount hides in the sandbox's own mount
	// namespace only. A directory of its own would cost a mkdir and an
	// rmdir per session, and an rmdir on a file system mounted with
	// discard waits for the disk (~0.3-1 ms here; issue 12).
	Merged string
	// RootPath is the root the session is on.
	RootPath string
	lock     *Lock
}

// sessionInfo is recorded in sessions/ID/session.json for `shell --session`
// and for humans looking at a kept session.
type sessionInfo struct {
	Root    string    `json:"root"`
	Pid     int       `json:"pid"`
	Created time.Time `json:"created"`
}

// NewSession makes a session directory for a session on rootPath and locks
// it. label names the session (usually the root's name).
func (s *Store) NewSession(label, rootPath string) (_ *Session, retErr error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	id := label + "-" + hex.EncodeToString(b[:])
	if ValidateName(label) != nil {
		id = "session-" + hex.EncodeToString(b[:])
	}
	dir := filepath.Join(s.Dir, "sessions", id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	defer func() {
		if retErr != nil {
			_ = RemoveTree(dir)
		}
	}()
	lock, err := lockFile(context.Background(), filepath.Join(dir, "lock"), true, false)
	if err != nil {
		return nil, fmt.Errorf("lock session %s: %w", id, err)
	}
	sess := &Session{ID: id, Dir: dir, Upper: filepath.Join(dir, "upper"),
		Work: filepath.Join(dir, "work"), Merged: dir, RootPath: rootPath, lock: lock}
	for _, d := range []string{sess.Upper, sess.Work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			lock.Unlock()
			return nil, fmt.Errorf("create session: %w", err)
		}
	}
	info, _ := json.Marshal(sessionInfo{Root: rootPath, Pid: os.Getpid(), Created: time.Now().UTC()})
	if err := os.WriteFile(filepath.Join(dir, "session.json"), info, 0o644); err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("create session: %w", err)
	}
	return sess, nil
}

// ErrNoSession is returned (wrapped) for a session ID the store does not have.
var ErrNoSession = errors.New("no such session")

// OpenSession takes over a kept session: it locks it (failing if a pkgbox
// uses it) and reads which root it is on.
func (s *Store) OpenSession(id string) (*Session, error) {
	if ValidateName(id) != nil {
		return nil, fmt.Errorf("session %q: %w", id, ErrNoSession)
	}
	dir := filepath.Join(s.Dir, "sessions", id)
	data, err := os.ReadFile(filepath.Join(dir, "session.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("session %q: %w", id, ErrNoSession)
	}
	if err != nil {
		return nil, fmt.Errorf("open session %q: %w", id, err)
	}
	var info sessionInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("open session %q: %w", id, err)
	}
	lock, err := lockFile(context.Background(), filepath.Join(dir, "lock"), true, false)
	if errors.Is(err, ErrBusy) {
		return nil, fmt.Errorf("session %q is %w", id, ErrBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("open session %q: %w", id, err)
	}
	return &Session{ID: id, Dir: dir, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work"),
		Merged: dir, RootPath: info.Root, lock: lock}, nil
}

// LockFile is the session's held lock file, for the sandbox to inherit so the
// session counts as alive while its init lives.
func (s *Session) LockFile() *os.File { return s.lock.File() }

// Remove deletes the session's directory and releases its lock. The lock
// file goes last: removing a build's upper layer takes a while, and a
// pkgbox killed meanwhile must leave a directory that GC sees as dead (a
// free lock), not one without a lock, which GC leaves alone for a minute
// as possibly still being made.
func (s *Session) Remove() error {
	// One look at the mount table covers the whole directory (RemoveTree
	// would read it again for every entry).
	err := checkUnmounted(s.Dir)
	var entries []os.DirEntry
	if err == nil {
		entries, err = os.ReadDir(s.Dir)
	}
	var st unix.Stat_t
	if err == nil {
		err = unix.Lstat(s.Dir, &st)
	}
	if err == nil {
		for _, e := range entries {
			if e.Name() == "lock" {
				continue
			}
			if rerr := removeTree(filepath.Join(s.Dir, e.Name()), st.Dev); rerr != nil && err == nil {
				err = rerr
			}
		}
	}
	if err == nil {
		err = removeTree(s.Dir, st.Dev)
	}
	if uerr := s.lock.Unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("remove session %s: %w", s.ID, err)
	}
	return nil
}

// Keep releases the session's lock and leaves its directory for a later
// `pkgbox shell --session ID`. A kept session is marked as such so that GC
// leaves it alone unless asked to remove kept sessions too.
func (s *Session) Keep() error {
	err := os.WriteFile(filepath.Join(s.Dir, keptFile), nil, 0o644)
	if uerr := s.lock.Unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("keep session %s: %w", s.ID, err)
	}
	return nil
}

// keptFile marks a session directory that Keep left on purpose.
const keptFile = "kept"

// SessionInfo describes a session directory of the store.
type SessionInfo struct {
	ID   string
	Root string
	// Kept says the session was kept on purpose (build --keep).
	Kept bool
}

// Sessions lists the store's session directories, live, kept and dead.
func (s *Store) Sessions() ([]SessionInfo, error) {
	entries, err := os.ReadDir(filepath.Join(s.Dir, "sessions"))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	var out []SessionInfo
	for _, e := range entries {
		dir := filepath.Join(s.Dir, "sessions", e.Name())
		info := SessionInfo{ID: e.Name()}
		if data, err := os.ReadFile(filepath.Join(dir, "session.json")); err == nil {
			var si sessionInfo
			if json.Unmarshal(data, &si) == nil {
				info.Root = si.Root
			}
		}
		if _, err := os.Lstat(filepath.Join(dir, keptFile)); err == nil {
			info.Kept = true
		}
		out = append(out, info)
	}
	return out, nil
}

// GC removes sessions and temporary roots whose owner died: those whose lock
// nobody holds. Kept sessions are removed only with kept set. It returns
// what it removed.
func (s *Store) GC(kept bool) ([]string, error) {
	var removed []string
	var errs []error
	sessions, err := os.ReadDir(filepath.Join(s.Dir, "sessions"))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	for _, e := range sessions {
		dir := filepath.Join(s.Dir, "sessions", e.Name())
		if _, err := os.Lstat(filepath.Join(dir, keptFile)); err == nil && !kept {
			continue
		}
		if ok, err := removeIfUnlocked(dir, filepath.Join(dir, "lock")); err != nil {
			errs = append(errs, err)
		} else if ok {
			removed = append(removed, dir)
		}
	}
	temps, err := filepath.Glob(filepath.Join(s.Dir, "tmp", "*.lock"))
	if err != nil {
		return nil, err
	}
	for _, lockPath := range temps {
		dir := lockPath[:len(lockPath)-len(".lock")]
		if ok, err := removeIfUnlocked(dir, lockPath); err != nil {
			errs = append(errs, err)
		} else if ok {
			removed = append(removed, dir)
			_ = os.Remove(lockPath)
		}
	}
	// Images of bootstraps being saved are written to a temporary file
	// that is renamed when complete; one that nobody has written to for a
	// minute was left by a killed pkgbox.
	partial, _ := filepath.Glob(filepath.Join(s.Dir, "cache", "bootstrap", ".*.tmp*"))
	for _, p := range partial {
		if fi, err := os.Lstat(p); err == nil && time.Since(fi.ModTime()) > time.Minute {
			if err := os.Remove(p); err != nil {
				errs = append(errs, err)
			} else {
				removed = append(removed, p)
			}
		}
	}
	return removed, errors.Join(errs...)
}

// removeIfUnlocked removes dir when lockPath can be locked: its owner is gone.
// The lock file is never created here: one that is missing belongs to a
// directory being made or being removed by its owner right now (or to one
// abandoned before it had a lock, which is removed once it is a minute old).
func removeIfUnlocked(dir, lockPath string) (bool, error) {
	f, err := os.OpenFile(lockPath, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		fi, serr := os.Lstat(dir)
		if serr != nil || time.Since(fi.ModTime()) < time.Minute {
			return false, nil
		}
		return true, RemoveTree(dir)
	}
	if err != nil {
		return false, fmt.Errorf("check %s: %w", dir, err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return false, nil
		}
		return false, fmt.Errorf("check %s: %w", dir, err)
	}
	if err := RemoveTree(dir); err != nil {
		return false, fmt.Errorf("remove %s: %w", dir, err)
	}
	return true, nil
}
