package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSubdir(t *testing.T) {
	out := t.TempDir()
	for range 2 { // made, then found
		dir, err := Subdir(out, "without-new-debs")
		if err != nil || dir != filepath.Join(out, "without-new-debs") {
			t.Fatalf("got %q, %v", dir, err)
		}
		if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
			t.Fatalf("%s: %v %v", dir, fi, err)
		}
	}
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(out, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := Subdir(out, "link"); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("a symlink: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("written through the symlink: %v", entries)
	}
}
