package store_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"pkgbox/internal/testenv"
	"pkgbox/store"
)

// TestGCSessionRemovalCutShort: when gc cannot finish removing a dead
// session (the processes of a sandbox killed with its pkgbox may still be
// writing into its upper layer for a moment; here, an immutable file
// stands in for them), the session keeps its lock file, so the next gc
// sees a dead session and removes it. Removing the lock file first left a
// directory without one, which gc leaves alone as possibly being made.
func TestGCSessionRemovalCutShort(t *testing.T) {
	testenv.Require(t, testenv.Root)
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.NewSession("root", "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	stuck := filepath.Join(sess.Upper, "usr", "stuck")
	if err := os.MkdirAll(filepath.Dir(stuck), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stuck, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ { // a layer of some size
		if err := os.WriteFile(filepath.Join(sess.Upper, "usr", "f"+string(rune('a'+i%26))+string(rune('a'+i/26))), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chattr := func(flag string) {
		t.Helper()
		if out, err := exec.Command("chattr", flag, stuck).CombinedOutput(); err != nil {
			t.Skipf("chattr %s: %v: %s", flag, err, out)
		}
	}
	chattr("+i")
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", stuck).Run() })
	// Its pkgbox is gone: the lock is free.
	if err := sess.Keep(); err != nil {
		t.Fatal(err)
	}

	if _, err := s.GC(true); err == nil {
		t.Fatal("GC removed a session holding an immutable file")
	}
	if _, err := os.Lstat(filepath.Join(sess.Dir, "lock")); err != nil {
		t.Errorf("the session's lock file is gone after an unfinished removal: %v", err)
	}

	chattr("-i")
	removed, err := s.GC(true)
	if err != nil || len(removed) != 1 || removed[0] != sess.Dir {
		t.Errorf("second GC: removed %v, %v; want %s", removed, err, sess.Dir)
	}
	if _, err := os.Lstat(sess.Dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there: %v", sess.Dir, err)
	}
}
