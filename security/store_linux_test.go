package security_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pkgbox/internal/testenv"
	"pkgbox/store"
)

// Issue 11, finding 8: roots/ was 0755 on a file system that honours
// setuid bits, so a setuid file in a root ran as root for every local
// user, through the store's path. roots/ is root's alone now.
func TestStoreSetuidInRootUnreachable(t *testing.T) {
	testenv.Require(t, testenv.Root)
	dir := filepath.Join(outSharedDir(t), "store")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(s.RootPath("evil"), "usr", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	id, err := os.ReadFile("/usr/bin/id")
	if err != nil {
		t.Fatal(err)
	}
	suid := filepath.Join(bin, "id")
	if err := os.WriteFile(suid, id, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(suid, os.ModeSetuid|0o755); err != nil {
		t.Fatal(err)
	}
	// The control: the same file where nobody can reach it does run as root.
	ctl := filepath.Join(outSharedDir(t), "id")
	if err := os.WriteFile(ctl, id, 0o755); err == nil && os.Chmod(ctl, os.ModeSetuid|0o755) == nil {
		if out, err := outAsNobody(ctl, "-u").Output(); err != nil || strings.TrimSpace(string(out)) != "0" {
			t.Skipf("a setuid file does not run as root here (%v, %q): nosuid?", err, out)
		}
	}
	out, err := outAsNobody(suid, "-u").CombinedOutput()
	if err == nil {
		t.Errorf("nobody ran the root's setuid %s: it printed euid %s", suid, strings.TrimSpace(string(out)))
	}
}

// Issue 11, finding 8: lock files were 0644, so any local user could open
// one and flock it, hanging every pkgbox command that needs it.
func TestStoreLockNotTakenByOthers(t *testing.T) {
	testenv.Require(t, testenv.Root)
	dir := filepath.Join(outSharedDir(t), "store")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.LockRoot(context.Background(), "test", true, false)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	lock := filepath.Join(dir, "locks", "test.lock")
	if fi, err := os.Stat(lock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file %s: %v, want mode 0600", lock, modeOf(fi, err))
	}
	// flock(1) as nobody, on the existing lock file and on a new one.
	for _, p := range []string{lock, filepath.Join(dir, "locks", "other.lock")} {
		out, err := outAsNobody("flock", "--nonblock", "--shared", p, "true").CombinedOutput()
		if err == nil {
			t.Errorf("nobody took the lock %s", p)
		} else if !strings.Contains(string(out), "Permission denied") {
			t.Errorf("flock %s as nobody: %v: %s, want permission denied", p, err, out)
		}
	}
	// And the lock is pkgbox's to take.
	l, err = s.LockRoot(context.Background(), "test", true, false)
	if err != nil {
		t.Errorf("lock after nobody tried: %v", err)
	}
	l.Unlock()
}

// Issue 11, finding 8: a store directory made by another user beforehand
// was used as it was: its owner could plant roots, sessions and locks
// that pkgbox, as root, would trust. It is refused with the fix named.
func TestStorePreMadeByOtherUser(t *testing.T) {
	testenv.Require(t, testenv.Root)
	for _, tt := range []struct {
		premade string // inside the store; "" is the store itself
		want    string
	}{
		{"", "store STORE is owned by uid 65534, not root"},
		{"roots", "store STORE: STORE/roots is owned by uid 65534, not root"},
		{"locks", "store STORE: STORE/locks is owned by uid 65534, not root"},
	} {
		dir := filepath.Join(outSharedDir(t), "store")
		if err := os.MkdirAll(filepath.Join(dir, tt.premade), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(dir, tt.premade), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		_, err := store.Open(dir)
		want := strings.ReplaceAll(tt.want, "STORE", dir)
		if err == nil || err.Error() != want {
			t.Errorf("pre-made %q: got %v, want %q", tt.premade, err, want)
		}
		var h interface{ Hint() string }
		if err != nil && (!errors.As(err, &h) || !strings.Contains(h.Hint(), "choose another --store")) {
			t.Errorf("pre-made %q: no hint naming the fix", tt.premade)
		}
	}
	// Root's, but anyone may write in it: as bad.
	dir := filepath.Join(outSharedDir(t), "store")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(dir); err == nil || !strings.Contains(err.Error(), "writable by its group or others") {
		t.Errorf("world-writable store: got %v", err)
	}
}

func modeOf(fi os.FileInfo, err error) any {
	if err != nil {
		return err
	}
	return fi.Mode()
}
