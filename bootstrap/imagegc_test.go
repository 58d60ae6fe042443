package bootstrap

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"pkgbox/store"
)

// TestExpireImages: gc removes the bootstrap images past their week and
// those no root of the store was made like, says how much each took, and
// leaves the rest (and what is not an image) alone.
func TestExpireImages(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*store.Root{
		{Name: "bookworm", Suite: "bookworm", Arch: "amd64", Variant: "buildd"},
		{Name: "sid-min", Suite: "sid", Arch: "amd64", Variant: "minbase"},
	} {
		if err := s.SaveRoot(r); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(s.RootPath(r.Name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(s.Dir, "cache", "bootstrap")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	day := 24 * time.Hour
	image := func(name string, age time.Duration, size int) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Repeat("x", size)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
		return path
	}
	fresh := image("bookworm-amd64-buildd-0123456789ab.tar", 2*day, 64<<10)
	old := image("bookworm-amd64-buildd-ba9876543210.tar", 8*day, 128<<10)
	orphan := image("trixie-amd64-buildd-0123456789ab.tar", day, 32<<10)
	otherVariant := image("sid-amd64-buildd-0123456789ab.tar", day, 16<<10)
	sidMin := image("sid-amd64-minbase-0123456789ab.tar", 6*day, 8<<10)
	// Just saved by a create still finishing its root.
	justSaved := image("forky-amd64-buildd-0123456789ab.tar", time.Minute, 10)
	notImage := image("README", 30*day, 10)
	partial := image(".bookworm-amd64-buildd-0123456789ab.tar.tmp123", 30*day, 10) // store.GC's

	got, err := ExpireImages(s, now)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Path < got[j].Path })
	want := []struct {
		path, reason string
		min          int64
	}{
		{old, "older than a week", 128 << 10},
		{otherVariant, "no root is sid amd64 buildd", 16 << 10},
		{orphan, "no root is trixie amd64 buildd", 32 << 10},
	}
	sort.Slice(want, func(i, j int) bool { return want[i].path < want[j].path })
	if len(got) != len(want) {
		t.Fatalf("ExpireImages removed %+v, want %d images", got, len(want))
	}
	for i, w := range want {
		if got[i].Path != w.path || got[i].Reason != w.reason || got[i].Size < w.min {
			t.Errorf("removed %+v, want %s (%s, at least %d bytes)", got[i], w.path, w.reason, w.min)
		}
		if _, err := os.Lstat(w.path); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", w.path, err)
		}
	}
	for _, kept := range []string{fresh, sidMin, justSaved, notImage, partial} {
		if _, err := os.Lstat(kept); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}

	// A store that never cached a bootstrap has nothing to expire.
	empty, _ := store.Open(t.TempDir())
	if got, err := ExpireImages(empty, now); err != nil || len(got) != 0 {
		t.Errorf("empty store: %v, %v", got, err)
	}
}
