package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestGCTempRoots: gc removes the temporary roots whose create died,
// including one killed before it had a lock file, and leaves the one whose
// create is alive (its lock held).
func TestGCTempRoots(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(s.Dir, "tmp")
	old := time.Now().Add(-2 * time.Minute)
	mkdir := func(name string, mtime time.Time) string {
		t.Helper()
		dir := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dir, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	touch := func(path string) {
		t.Helper()
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	live, err := s.TempDir("live")
	if err != nil {
		t.Fatal(err)
	}
	// Killed between making its directory and its lock file (as an
	// earlier pkgbox made them), and since long.
	nolock := mkdir("nolock.a1b2c3", old)
	// The same, but just now: it may be a directory being made by a
	// pkgbox of that kind, and it is left for a minute.
	young := mkdir("young.d4e5f6", time.Now())
	// Killed while it held its lock: the lock file is there, free.
	freed := mkdir("freed.0a0b0c", time.Now())
	touch(freed + ".lock")
	// Killed after removing its directory, before its lock file.
	lockOnly := filepath.Join(tmp, "gone.123456.lock")
	touch(lockOnly)

	removed, err := s.GC(false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{nolock: true, freed: true}
	if len(removed) != len(want) {
		t.Errorf("GC removed %q, want %q and %q", removed, nolock, freed)
	}
	for _, r := range removed {
		if !want[r] {
			t.Errorf("GC removed %s", r)
		}
	}
	for _, gone := range []string{nolock, freed, freed + ".lock", lockOnly} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("%s is still there after GC (%v)", gone, err)
		}
	}
	for _, kept := range []string{live.Path, live.Path + ".lock", young} {
		if _, err := os.Lstat(kept); err != nil {
			t.Errorf("GC removed %s: %v", kept, err)
		}
	}
	if err := live.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(young); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in tmp/: %v", left)
	}
}

// TestTempDirLockFirst: a temporary root's lock file exists, and is held,
// before its directory does, so no moment exists at which a killed create
// leaves a directory without a lock.
func TestTempDirLockFirst(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := s.TempDir("x")
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Remove()
	if fi, err := os.Stat(tmp.Path); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("temporary root %s: %v %v", tmp.Path, fi.Mode(), err)
	}
	if _, err := lockFile(t.Context(), tmp.Path+".lock", true, false); err != ErrBusy {
		t.Errorf("lock of %s is not held: %v", tmp.Path, err)
	}
	// The lock file was made and locked before the directory.
	lfi, err1 := os.Stat(tmp.Path + ".lock")
	dfi, err2 := os.Stat(tmp.Path)
	if err1 != nil || err2 != nil || lfi.ModTime().After(dfi.ModTime()) {
		t.Errorf("lock %v (%v), dir %v (%v)", lfi.ModTime(), err1, dfi.ModTime(), err2)
	}
}

// A session directory without a lock file is what is left of a removal cut
// short (NewSession renames a session into sessions/ with its lock held):
// GC removes it at once, not a minute later.
func TestGCLocklessSession(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(s.Dir, "sessions", "root-0badcafe")
	if err := os.MkdirAll(filepath.Join(dir, "upper", "usr"), 0o755); err != nil {
		t.Fatal(err)
	}
	removed, err := s.GC(false)
	if err != nil || len(removed) != 1 || removed[0] != dir {
		t.Errorf("GC = %v, %v; want %s removed", removed, err, dir)
	}
}

// NewSession under a GC that runs all the time: no session is ever seen
// half-made (without its lock) or removed while its owner lives, and
// nothing is left once they are closed.
func TestNewSessionUnderGC(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	gcDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				gcDone <- nil
				return
			default:
			}
			if removed, err := s.GC(false); err != nil || len(removed) > 0 {
				gcDone <- fmt.Errorf("GC removed %v, %v", removed, err)
				return
			}
		}
	}()
	var open []*Session
	for i := 0; i < 200; i++ {
		sess, err := s.NewSession("root", "/nowhere")
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if _, err := os.Lstat(filepath.Join(sess.Upper)); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		open = append(open, sess)
	}
	close(stop)
	if err := <-gcDone; err != nil {
		t.Fatal(err)
	}
	for _, sess := range open {
		if err := sess.Remove(); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"sessions", "tmp"} {
		if left, _ := os.ReadDir(filepath.Join(s.Dir, sub)); len(left) != 0 {
			t.Errorf("left in %s/: %v", sub, left)
		}
	}
}
