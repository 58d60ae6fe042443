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
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Session is one overlay session's directories. Its lock file is held for
// the session's whole life; a session whose lock is free is dead, and GC
// removes it.
type Session struct {
	ID     string
	Dir    string
	Upper  string
	Work   string
	Merged string
	// RootPath is the root the session is on.
	RootPath string
	// Lower are the layers stacked over the root (see SetLower).
	Lower []string
	lock  *Lock
}

// sessionInfo is recorded in sessions/ID/session.json for `shell --session`
// and for humans looking at a kept session.
type sessionInfo struct {
	Root string `json:"root"`
	// Lower are the build-dependency layers (their fs/ directories) that
	// the session's overlay stacks over the root: a kept session keeps
	// them from being removed.
	Lower   []string  `json:"lower,omitempty"`
	Pid     int       `json:"pid"`
	Created time.Time `json:"created"`
}

// NewSession makes a session directory for a session on rootPath and locks
// it. label names the session (usually the root's name). The directory is
// made in tmp/ (see TempDir) and renamed into sessions/ only once its own
// lock is held: a session directory never exists without its lock file, so
// GC can tell a dead one at once, and never takes a lock its owner is about
// to take. A pkgbox killed before the rename leaves a temporary directory,
// which GC removes too.
func (s *Store) NewSession(label, rootPath string) (_ *Session, retErr error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	id := label + "-" + hex.EncodeToString(b[:])
	if ValidateName(label) != nil {
		id = "session-" + hex.EncodeToString(b[:])
	}
	tmp, err := s.TempDir("session-" + id)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	// After the rename, this removes only the temporary lock file.
	defer tmp.Remove()
	lock, err := lockFile(context.Background(), filepath.Join(tmp.Path, "lock"), true, false)
	if err != nil {
		return nil, fmt.Errorf("lock session %s: %w", id, err)
	}
	defer func() {
		if retErr != nil {
			lock.Unlock()
		}
	}()
	// The overlay is mounted on the session directory itself, inside the
	// sandbox only: no merged/ to make and remove (each rmdir costs here).
	for _, d := range []string{"upper", "work"} {
		if err := os.Mkdir(filepath.Join(tmp.Path, d), 0o755); err != nil {
			return nil, fmt.Errorf("create session: %w", err)
		}
	}
	info, _ := json.Marshal(sessionInfo{Root: rootPath, Pid: os.Getpid(), Created: time.Now().UTC()})
	if err := os.WriteFile(filepath.Join(tmp.Path, "session.json"), info, 0o644); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	dir := filepath.Join(s.Dir, "sessions", id)
	if err := unix.Renameat2(unix.AT_FDCWD, tmp.Path, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE); err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return &Session{ID: id, Dir: dir, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work"),
		Merged: dir, RootPath: rootPath, lock: lock}, nil
}

func (s *Session) writeInfo() error {
	info, _ := json.Marshal(sessionInfo{Root: s.RootPath, Lower: s.Lower, Pid: os.Getpid(), Created: time.Now().UTC()})
	return os.WriteFile(filepath.Join(s.Dir, "session.json"), info, 0o644)
}

// SetLower stacks layers (topmost first) between the root and the
// session's upper directory from the next sandbox on, and records them.
func (s *Session) SetLower(layers []string) error {
	s.Lower = layers
	if err := s.writeInfo(); err != nil {
		return fmt.Errorf("record layers of session %s: %w", s.ID, err)
	}
	return nil
}

// ResetUpper gives the session an empty upper and work directory, as if
// new; the old upper must have been moved away or be worth losing. No
// sandbox may run on the session meanwhile.
func (s *Session) ResetUpper() error {
	for _, d := range []string{s.Upper, s.Work} {
		if err := RemoveTree(d); err != nil {
			return fmt.Errorf("reset session %s: %w", s.ID, err)
		}
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("reset session %s: %w", s.ID, err)
		}
	}
	return nil
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
		Merged: dir, RootPath: info.Root, Lower: info.Lower, lock: lock}, nil
}

// LockFile is the session's held lock file, for the sandbox to inherit so the
// session counts as alive while its init lives.
func (s *Session) LockFile() *os.File { return s.lock.File() }

// Remove deletes the session's directory and releases its lock.
func (s *Session) Remove() error {
	err := removeSessionDir(s.Dir)
	if uerr := s.lock.Unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("remove session %s: %w", s.ID, err)
	}
	return nil
}

// removeSessionDir deletes a session directory whose lock the caller
// holds: everything but the lock file first, then the lock file and the
// directory. Removing a build's upper layer takes a while, and may take a
// second go: the processes of a sandbox killed with its pkgbox can still
// be writing into it for a moment after its init, which held the lock, is
// gone. Cut short, the removal leaves a directory with its lock file,
// which GC removes once the lock is free; never one without, which GC
// leaves alone for a minute as possibly still being made.
func removeSessionDir(dir string) error {
	// One look at the mount table covers the whole directory (RemoveTree
	// would read it again for every entry), and no entry may leave the
	// directory's file system.
	if err := checkUnmounted(dir); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return err
	}
	var err error
	for try := 0; ; try++ {
		err = nil
		entries, rerr := os.ReadDir(dir)
		if errors.Is(rerr, os.ErrNotExist) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
		for _, e := range entries {
			if e.Name() == "lock" {
				continue
			}
			if rerr := removeTree(filepath.Join(dir, e.Name()), st.Dev); rerr != nil && err == nil {
				err = rerr
			}
		}
		if !errors.Is(err, unix.ENOTEMPTY) || try == 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	return removeTree(dir, st.Dev)
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
	// Lower are the layers the session stacks over its root.
	Lower []string
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
				info.Root, info.Lower = si.Root, si.Lower
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
		if ok, err := removeIfUnlocked(dir, filepath.Join(dir, "lock"), removeSessionDir, 0); err != nil {
			errs = append(errs, err)
		} else if ok {
			removed = append(removed, dir)
		}
	}
	// Temporary roots: every directory of tmp/, with a lock file beside
	// it or not, and every lock file, with its directory or not.
	temps, err := os.ReadDir(filepath.Join(s.Dir, "tmp"))
	if err != nil {
		return nil, fmt.Errorf("list temporary roots: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range temps {
		dir := filepath.Join(s.Dir, "tmp", strings.TrimSuffix(e.Name(), ".lock"))
		if seen[dir] {
			continue
		}
		seen[dir] = true
		if ok, err := removeTemp(dir); err != nil {
			errs = append(errs, err)
		} else if ok {
			removed = append(removed, dir)
		}
	}
	// Images of bootstraps being saved are written to a temporary file
	// that is renamed when complete; one that nobody has written to for a
	// minute was left by a killed pkgbox.
	partial, _ := filepath.Glob(filepath.Join(s.Cache, "bootstrap", ".*.tmp*"))
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

// removeTemp removes the temporary root dir and its lock file dir.lock
// when the lock is free: its create died. It says whether there was a
// directory to remove. The lock file goes while GC holds it, so a create
// that opened it meanwhile sees that it is gone (Lock.names). A directory
// without a lock file was left by a pkgbox killed before it had one (older
// ones made the directory first); it goes once it is a minute old, in case
// a pkgbox of that kind is making it right now.
func removeTemp(dir string) (bool, error) {
	f, err := os.OpenFile(dir+".lock", os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return removeIfUnlocked(dir, dir+".lock", RemoveTree, time.Minute)
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
	// Only now: its owner may have renamed it away (a new session).
	_, serr := os.Lstat(dir)
	exists := serr == nil
	if err := RemoveTree(dir); err != nil {
		return false, fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := os.Remove(dir + ".lock"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("remove %s: %w", dir+".lock", err)
	}
	return exists, nil
}

// removeIfUnlocked removes dir with remove when lockPath can be locked: its
// owner is gone. The lock file is never created here. A directory without
// one is removed once it is older than grace: a session's is what is left
// of a removal cut short (NewSession never shows one without), so its grace
// is 0; a temporary root's may be one an older pkgbox is making right now.
func removeIfUnlocked(dir, lockPath string, remove func(string) error, grace time.Duration) (bool, error) {
	f, err := os.OpenFile(lockPath, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		fi, serr := os.Lstat(dir)
		if serr != nil || time.Since(fi.ModTime()) < grace {
			return false, nil
		}
		return true, remove(dir)
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
	if err := remove(dir); err != nil {
		return false, fmt.Errorf("remove %s: %w", dir, err)
	}
	return true, nil
}
