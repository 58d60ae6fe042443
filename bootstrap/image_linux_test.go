package bootstrap

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"pkgbox/store"
)

// An image opened for a create unpacks whole even when gc removes it
// between the open and the unpacking.
func TestImageRestoreAfterRemoval(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "etc", "debian_version"), []byte("12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	im := imageFor(s, &Plan{Suite: "bookworm", Arch: "amd64", Variant: "minbase"}, "1.0")
	ctx := context.Background()
	if err := im.save(ctx, src); err != nil {
		t.Fatal(err)
	}
	f, _, ok := im.open()
	if !ok {
		t.Fatal("the image just saved cannot be reused")
	}
	defer f.Close()
	if err := os.Remove(im.path); err != nil { // gc's ExpireImages
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := im.restore(ctx, f, dst); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dst, "etc", "debian_version")); err != nil || string(data) != "12\n" {
		t.Errorf("restored debian_version: %q, %v", data, err)
	}
	if _, _, ok := im.open(); ok {
		t.Error("a removed image opens")
	}
}
