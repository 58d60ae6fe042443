package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"pkgbox/debian"
)

func TestIsOrigTarball(t *testing.T) {
	var src debian.Source
	src.Name = "hello"
	if err := src.Version.UnmarshalControl("2:1.0-1"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"hello_1.0.orig.tar.gz":          true,
		"hello_1.0.orig.tar.xz.asc":      true,
		"hello_1.0.orig-docs.tar.bz2":    true,
		"hello_1.0.orig.tar":             false,
		"hello_1.0-1.debian.tar.xz":      false,
		"hello_1.1.orig.tar.gz":          false,
		"hello-doc_1.0.orig.tar.gz":      false,
		"hello_1.0.orig-docs":            false,
		"hello_1.0.original.tar.gz.evil": false,
	} {
		if got := isOrigTarball(&src, name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// openInputs takes a tree's regular orig tarballs and refuses a symlinked
// or special one (issue 11, finding 6).
func TestOpenInputsTree(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "hello")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var src debian.Source
	src.Name, src.Dir = "hello", dir
	if err := src.Version.UnmarshalControl("1.0-1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "hello_1.0.orig.tar.gz"), []byte("orig"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "unrelated"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := openInputs(&src)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.files) != 1 || in.files[0].Name != "hello_1.0.orig.tar.gz" || in.dir == nil {
		t.Errorf("inputs %+v", in.files)
	}
	in.Close()

	link := filepath.Join(top, "hello_1.0.orig-docs.tar.gz")
	if err := os.Symlink("/etc/shadow", link); err != nil {
		t.Fatal(err)
	}
	_, err = openInputs(&src)
	var le *debian.LinkError
	if !errors.As(err, &le) || err.Error() != "orig tarball "+link+" is a symbolic link; pkgbox reads only regular files beside the source" {
		t.Errorf("symlink: got %v", err)
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(link, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = openInputs(&src)
	if err == nil || !strings.Contains(err.Error(), `orig tarball "hello_1.0.orig-docs.tar.gz" is not a regular file`) {
		t.Errorf("fifo: got %v", err)
	}
}
