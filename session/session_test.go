package session

import (
	"context"
	"os"
	"testing"
	"time"

	"pkgbox/store"
)

// A --write session changes the root's generation, so build-dependency
// layers made on the root before are never used on it again; an overlay
// session leaves it alone.
func TestWriteBumpsGeneration(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(s.RootPath("r"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRoot(&store.Root{Name: "r", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	gen := func() string {
		r, err := s.Root("r")
		if err != nil {
			t.Fatal(err)
		}
		return r.GenerationID()
	}
	before := gen()
	for _, write := range []bool{false, true} {
		sess, err := Open(context.Background(), &Options{Store: s, Root: "r", Write: write, Profile: "minimal"})
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Close(); err != nil {
			t.Fatal(err)
		}
		if changed := gen() != before; changed != write {
			t.Errorf("write %v: generation changed %v", write, changed)
		}
	}
}
