package store

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSessionLifecycle(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.NewSession("root", "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := s.NewSession("root", "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	if err := kept.Keep(); err != nil {
		t.Fatal(err)
	}
	// A dead session: its owner was killed while removing it, after the
	// upper layer went but before the lock file did.
	dead, err := s.NewSession("root", "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dead.Upper)
	dead.lock.Unlock()

	removed, err := s.GC(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || filepath.Base(removed[0]) != dead.ID {
		t.Errorf("GC(false) removed %v, want only the dead session %s", removed, dead.ID)
	}
	infos, _ := s.Sessions()
	if len(infos) != 2 {
		t.Fatalf("sessions after GC: %+v", infos)
	}
	for _, si := range infos {
		if si.Root != "/nowhere" || si.Kept != (si.ID == kept.ID) {
			t.Errorf("session %+v", si)
		}
	}
	removed, _ = s.GC(true)
	if len(removed) != 1 || filepath.Base(removed[0]) != kept.ID {
		t.Errorf("GC(true) removed %v, want only the kept session %s (the live one is locked)", removed, kept.ID)
	}
	if err := live.Remove(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(filepath.Join(s.Dir, "sessions")); len(left) != 0 {
		t.Errorf("left in sessions/: %v", left)
	}
}
