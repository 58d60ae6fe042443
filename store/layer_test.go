package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testStore is a store in a temporary directory with roots a and b (their
// directories empty: layers only need the metadata).
func testStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if err := os.Mkdir(s.RootPath(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveRoot(&Root{Name: name, Suite: "bookworm", Arch: "amd64", Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// fakeLayer publishes a layer of root whose files take about kib KiB, made
// on the root as it is now, and last used age ago. The layer's lock is
// released unless hold.
func fakeLayer(t *testing.T, s *Store, key, root string, kib int, age time.Duration, hold bool) *Layer {
	t.Helper()
	r, err := s.Root(root)
	if err != nil {
		t.Fatal(err)
	}
	// The upper directory is on the store's file system, as a session's is.
	upper := filepath.Join(s.Dir, "sessions", key+"-upper")
	if err := os.MkdirAll(filepath.Join(upper, "usr", "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(upper, "usr", "lib", "data"), []byte(strings.Repeat("x", kib<<10)), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp, err := s.NewLayerTemp()
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Remove()
	l, lock, err := tmp.Publish(upper, &Layer{Key: key, Root: root, RootGeneration: r.GenerationID(), Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(upper); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the upper directory is still there after Publish: %v", err)
	}
	used := time.Now().Add(-age)
	if err := os.Chtimes(filepath.Join(l.Dir, "used"), used, used); err != nil {
		t.Fatal(err)
	}
	if hold {
		t.Cleanup(func() { lock.Unlock() })
	} else {
		lock.Unlock()
	}
	return l
}

func layerKeys(t *testing.T, s *Store) []string {
	t.Helper()
	layers, err := s.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range layers {
		keys = append(keys, l.Key)
	}
	return keys
}

const (
	keyA1 = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	keyA2 = "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
	keyA3 = "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3"
	keyB1 = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
)

func TestLayerPublishOpenRemove(t *testing.T) {
	s := testStore(t)
	fakeLayer(t, s, keyA1, "a", 4, 0, false)
	l, lock, err := s.OpenLayer(keyA1)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(l.FS(), "usr", "lib", "data")); err != nil || len(data) != 4<<10 {
		t.Fatalf("the layer's files: %d bytes, %v", len(data), err)
	}
	if time.Since(l.LastUsed) > time.Minute {
		t.Errorf("opening the layer did not record its use: %v", l.LastUsed)
	}
	var inUse *LayerInUseError
	if err := s.RemoveLayer(keyA1); !errors.As(err, &inUse) || !errors.Is(err, ErrBusy) {
		t.Fatalf("remove a layer in use: got %v, want a LayerInUseError", err)
	}
	lock.Unlock()
	if err := s.RemoveLayer(keyA1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.OpenLayer(keyA1); !errors.Is(err, ErrNoLayer) {
		t.Fatalf("open a removed layer: got %v, want ErrNoLayer", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Dir, "layers", "tmp")); len(entries) != 0 {
		t.Errorf("layers/tmp keeps %v after the removal", entries)
	}
}

// Two builds make the same layer: the second finds it there, and its own
// upper directory is left where it was.
func TestLayerPublishExists(t *testing.T) {
	s := testStore(t)
	fakeLayer(t, s, keyA1, "a", 4, 0, false)
	upper := filepath.Join(s.Dir, "sessions", "upper")
	if err := os.MkdirAll(filepath.Join(upper, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := s.NewLayerTemp()
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Remove()
	if _, _, err := tmp.Publish(upper, &Layer{Key: keyA1, Root: "a"}); !errors.Is(err, ErrLayerExists) {
		t.Fatalf("publish an existing layer: got %v, want ErrLayerExists", err)
	}
	if _, err := os.Stat(filepath.Join(upper, "etc")); err != nil {
		t.Errorf("the upper directory was not put back: %v", err)
	}
}

// A layer that a killed pkgbox left half made under layers/tmp is never a
// layer, and gc removes it; one still being made stays.
func TestGCLayersTemp(t *testing.T) {
	s := testStore(t)
	dead, err := s.NewLayerTemp()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dead.Path, "fs", "usr"), 0o755); err != nil {
		t.Fatal(err)
	}
	dead.lock.Unlock() // its pkgbox died
	live, err := s.NewLayerTemp()
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	if keys := layerKeys(t, s); len(keys) != 0 {
		t.Errorf("layers listed: %v, want none", keys)
	}
	if _, _, err := s.OpenLayer(filepath.Base(dead.Path)); !errors.Is(err, ErrNoLayer) {
		t.Errorf("open a half-made layer: got %v, want ErrNoLayer", err)
	}
	removed, err := s.GCLayers(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != dead.Path {
		t.Errorf("gc removed %v, want only %s", removed, dead.Path)
	}
	if _, err := os.Stat(live.Path); err != nil {
		t.Errorf("gc removed a layer being made: %v", err)
	}
}

// gc removes the layers of removed and changed roots, then the least
// recently used until the rest fit; it never removes a layer in use.
func TestGCLayersStaleAndLRU(t *testing.T) {
	s := testStore(t)
	fakeLayer(t, s, keyA1, "a", 64, 3*time.Hour, true) // oldest, but in use
	fakeLayer(t, s, keyA2, "a", 64, 2*time.Hour, false)
	fakeLayer(t, s, keyA3, "a", 64, 1*time.Hour, false)
	fakeLayer(t, s, keyB1, "b", 64, 0, false)
	stale := "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
	fakeLayer(t, s, stale, "b", 4, 0, false)

	// Root b is updated (a new generation): both its layers are stale.
	if err := s.BumpGeneration("b"); err != nil {
		t.Fatal(err)
	}
	removed, err := s.GCLayers(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Errorf("gc removed %v, want the two layers of root b", removed)
	}
	if got := strings.Join(layerKeys(t, s), " "); got != keyA1+" "+keyA2+" "+keyA3 {
		t.Fatalf("layers left: %s", got)
	}

	// Room for two: a1 is the least recently used but in use, so a2 goes.
	layers, _ := s.Layers()
	if _, err := s.GCLayers(layers[0].Size*2 + 1); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(layerKeys(t, s), " "); got != keyA1+" "+keyA3 {
		t.Fatalf("layers left after trimming: %s, want a1 (in use) and a3", got)
	}
}

// Removing a root removes its layers; a kept session on a layer keeps it.
func TestLayersOfRemovedRoot(t *testing.T) {
	s := testStore(t)
	fakeLayer(t, s, keyA1, "a", 4, 0, false)
	fakeLayer(t, s, keyB1, "b", 4, 0, false)
	fakeLayer(t, s, keyA2, "a", 4, 0, false)
	sess, err := s.NewSession("a", s.RootPath("a"))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := readLayer(s.layerDir(keyA2))
	if err := sess.SetLower([]string{l.FS()}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Keep(); err != nil {
		t.Fatal(err)
	}
	var inUse *LayerInUseError
	if err := s.RemoveLayer(keyA2); !errors.As(err, &inUse) || inUse.Session != sess.ID {
		t.Fatalf("remove a layer of a kept session: got %v", err)
	}
	// (pkgbox remove refuses before, as the root has a kept session.)
	if err := s.RemoveRoot("a"); !errors.As(err, &inUse) {
		t.Fatalf("remove the root: got %v, want it to say a kept session uses its layer", err)
	}
	if got := strings.Join(layerKeys(t, s), " "); got != keyB1+" "+keyA2 && got != keyA2+" "+keyB1 {
		t.Fatalf("layers left: %s, want b1 and a2 (of the kept session)", got)
	}
	if _, err := s.GC(true); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.GCLayers(0); err != nil || len(removed) != 1 {
		t.Fatalf("gc after the kept session went: removed %v, %v; want a2, whose root is gone", removed, err)
	}
	if got := strings.Join(layerKeys(t, s), " "); got != keyB1 {
		t.Fatalf("layers left: %s, want b1", got)
	}
}
