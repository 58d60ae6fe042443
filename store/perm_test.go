package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A store an earlier pkgbox made with 0755 folders and 0644 lock files is
// tightened when opened.
func TestOpenTightensOldStore(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"roots", "sessions", "locks", "tmp", "cache/apt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lock := filepath.Join(dir, "locks", "r.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storeDirs {
		fi, err := os.Stat(filepath.Join(dir, d.name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != d.mode {
			t.Errorf("%s: mode %04o, want %04o", d.name, fi.Mode().Perm(), d.mode)
		}
	}
	l, err := s.LockRoot(context.Background(), "r", false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if fi, err := os.Stat(lock); err != nil || fi.Mode().Perm() != lockMode {
		t.Errorf("lock file: %v %v, want mode %04o", fi.Mode(), err, lockMode)
	}
}

func TestOpenRefusesWritableStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	var oe *OwnerError
	if !errors.As(err, &oe) || !oe.Writable || !strings.Contains(err.Error(), "writable by its group or others") {
		t.Fatalf("got %v, want an OwnerError for a world-writable store", err)
	}
}

func TestOpenRefusesForeignStore(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory away")
	}
	for _, sub := range []string{"", "locks"} {
		dir := filepath.Join(t.TempDir(), "store")
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(dir, sub), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir)
		want := "store " + dir + " is owned by uid 65534, not root"
		if sub != "" {
			want = "store " + dir + ": " + filepath.Join(dir, sub) + " is owned by uid 65534, not root"
		}
		if err == nil || err.Error() != want {
			t.Errorf("pre-made %q: got %v, want %q", sub, err, want)
		}
	}
}
