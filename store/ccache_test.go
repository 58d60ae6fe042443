package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeAged writes a file of kib KiB (real blocks) last written age ago.
func writeAged(t *testing.T, path string, kib int, age time.Duration) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat("x", kib<<10)), 0o644); err != nil {
		t.Fatal(err)
	}
	when := time.Now().Add(-age)
	if err := os.Chtimes(path, when, when); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

// TestTrimTreeOldestFirstNoFollow: trimming deletes the oldest files first
// until the tree fits, keeps what keep names, and never follows a link
// that a build left in the tree: the old files a link points at, or that
// lie in a directory a link points at, stay, and so does the link's target
// directory, though the links count as (tiny) files of the tree.
func TestTrimTreeOldestFirstNoFollow(t *testing.T) {
	dir := t.TempDir()
	cache, outside := filepath.Join(dir, "cache"), filepath.Join(dir, "outside")
	writeAged(t, filepath.Join(outside, "precious"), 64, 100*time.Hour)
	writeAged(t, filepath.Join(outside, "sub", "precious2"), 64, 100*time.Hour)
	writeAged(t, filepath.Join(cache, "a", "1", "oldest"), 64, 10*time.Hour)
	writeAged(t, filepath.Join(cache, "a", "2", "older"), 64, 9*time.Hour)
	writeAged(t, filepath.Join(cache, "b", "new"), 64, time.Hour)
	writeAged(t, filepath.Join(cache, "b", "newest"), 64, 0)
	writeAged(t, filepath.Join(cache, "a", "stats"), 64, 20*time.Hour)
	if err := os.Symlink(filepath.Join(outside, "precious"), filepath.Join(cache, "a", "1", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "sub"), filepath.Join(cache, "c")); err != nil {
		t.Fatal(err)
	}
	before, after, n, err := TrimTree(cache, 200<<10, ccacheKeep)
	if err != nil {
		t.Fatal(err)
	}
	if before < 5*64<<10 || after > 200<<10 || n < 2 {
		t.Errorf("trim: before %d, after %d, %d files deleted; want at least 320 KiB before, at most 200 KiB after", before, after, n)
	}
	for _, gone := range []string{"a/1/oldest", "a/2/older"} {
		if exists(filepath.Join(cache, gone)) {
			t.Errorf("%s is still there: the oldest files go first", gone)
		}
	}
	for _, kept := range []string{"b/newest", "a/stats", "c"} {
		if !exists(filepath.Join(cache, kept)) {
			t.Errorf("%s was deleted", kept)
		}
	}
	for _, kept := range []string{"precious", "sub/precious2"} {
		if !exists(filepath.Join(outside, kept)) {
			t.Errorf("%s, outside the tree behind a link, was deleted", kept)
		}
	}
	// A tree within its bound is left as it is.
	if _, _, n, err := TrimTree(cache, 1<<30, ccacheKeep); err != nil || n != 0 {
		t.Errorf("trim within the bound: %d deleted, %v", n, err)
	}
}

// TestTrimTreeTopLink: a cache directory that is itself a link is refused.
func TestTrimTreeTopLink(t *testing.T) {
	dir := t.TempDir()
	writeAged(t, filepath.Join(dir, "real", "f"), 64, time.Hour)
	if err := os.Symlink("real", filepath.Join(dir, "cache")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := TrimTree(filepath.Join(dir, "cache"), 1, ccacheKeep); err == nil {
		t.Error("trimming through a link: no error")
	}
	if !exists(filepath.Join(dir, "real", "f")) {
		t.Error("a file behind the link was deleted")
	}
}

// TestGCCcaches: gc trims a cache to the bound its build recorded, leaves
// one in use alone, and removes the caches of a removed root; remove ROOT
// removes its caches too.
func TestGCCcaches(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	a, err := s.OpenCcache(ctx, "a", "amd64", 128<<10)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	writeAged(t, filepath.Join(a.Dir, "0", "old"), 64, time.Hour)
	writeAged(t, filepath.Join(a.Dir, "1", "new"), 64, 0)
	writeAged(t, filepath.Join(a.Dir, "2", "newer"), 64, -time.Hour)
	busy, err := s.OpenCcache(ctx, "b", "amd64", 1)
	if err != nil {
		t.Fatal(err)
	}
	writeAged(t, filepath.Join(busy.Dir, "0", "f"), 64, time.Hour)
	gone, err := s.OpenCcache(ctx, "b", "i386", 0)
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	writeAged(t, filepath.Join(gone.Dir, "0", "f"), 64, time.Hour)

	done, err := s.GCCcaches(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].Dir != a.Dir || done[0].After > 128<<10 || done[0].Files != 1 {
		t.Fatalf("gc: %+v, want a/amd64 trimmed to 128 KiB by one file", done)
	}
	if exists(filepath.Join(a.Dir, "0", "old")) || !exists(filepath.Join(a.Dir, "2", "newer")) {
		t.Error("gc did not delete the oldest file only")
	}
	if !exists(filepath.Join(busy.Dir, "0", "f")) {
		t.Error("gc trimmed a cache in use")
	}

	if err := os.Remove(s.metaPath("b")); err != nil {
		t.Fatal(err)
	}
	done, err = s.GCCcaches(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].Dir != gone.Dir || !done[0].Removed || exists(gone.Dir) || exists(gone.Dir+".lock") {
		t.Fatalf("gc of a removed root's caches: %+v, want b/i386 removed and b/amd64 (in use) kept", done)
	}
	busy.Close()
	if _, err := s.GCCcaches(0); err != nil || exists(s.ccacheRootDir("b")) {
		t.Fatalf("gc once no build uses it: %v; %s still there: %v", err, s.ccacheRootDir("b"), exists(s.ccacheRootDir("b")))
	}

	if err := s.RemoveRoot("a"); err != nil {
		t.Fatal(err)
	}
	if exists(a.Dir) || exists(s.ccacheRootDir("a")) {
		t.Error("remove ROOT left its compiler cache")
	}
}

// TestOpenCcacheAfterRemoval: a build waiting for a cache's lock while gc
// removes the cache gets a fresh one, with a lock file that is there.
func TestOpenCcacheAfterRemoval(t *testing.T) {
	s := testStore(t)
	c, err := s.OpenCcache(context.Background(), "a", "amd64", 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := s.RemoveCcache("a", "amd64"); err != nil {
		t.Fatal(err)
	}
	c, err = s.OpenCcache(context.Background(), "a", "amd64", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.lock.names(c.Dir+".lock") || !exists(c.Dir) {
		t.Error("the reopened cache has no lock file or directory")
	}
	if err := s.RemoveCcache("a", "amd64"); !errors.Is(err, ErrBusy) {
		t.Errorf("remove a cache in use: %v, want ErrBusy", err)
	}
}
