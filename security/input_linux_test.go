package security_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pkgbox/build"
	"pkgbox/debian"
	"pkgbox/internal/testenv"
	"pkgbox/store"
)

// outNonNative turns a copy of testdata's hello-c into a non-native source,
// hello-c 1.0-1, with its upstream tarball hello-c_1.0.orig.tar.gz beside
// it, and returns the tree.
func outNonNative(t *testing.T) string {
	t.Helper()
	src := testenv.CopyPackage(t, "hello-c")
	changelog := filepath.Join(src, "debian", "changelog")
	data, err := os.ReadFile(changelog)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "hello-c (1.0)", "hello-c (1.0-1)", 1))
	if err := os.WriteFile(changelog, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "debian", "source", "format"), []byte("3.0 (quilt)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tar", "-C", filepath.Dir(src), "--exclude=debian", "-czf",
		filepath.Join(filepath.Dir(src), "hello-c_1.0.orig.tar.gz"), filepath.Base(src)).CombinedOutput()
	if err != nil {
		t.Fatalf("make the orig tarball: %v: %s", err, out)
	}
	return src
}

// A regular orig tarball beside a tree is bound from the descriptor
// pkgbox opened, and a full build makes the source package from it.
func TestOrigTarballBound(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	s, _ := testenv.SharedRoot(t)
	src := outNonNative(t)
	out := t.TempDir()
	res, err := build.Build(context.Background(), &build.Request{Store: s, Source: src, Root: testenv.RootName, Out: out, Jobs: 2, Type: build.Full})
	if err != nil {
		if res != nil {
			t.Log(strings.Join(res.Tail, "\n"))
		}
		t.Fatalf("build: %v", err)
	}
	got := strings.Join(outNames(t, out), " ")
	for _, want := range []string{"hello-c_1.0-1.dsc", "hello-c_1.0-1.debian.tar.xz", "hello-c_1.0.orig.tar.gz", "hello-c_1.0-1_" + res.Arch + ".deb"} {
		if !strings.Contains(got, want) {
			t.Errorf("--out lacks %s: %s", want, got)
		}
	}
}

// Issue 11, finding 6: an orig tarball beside a source tree that is a
// symlink was followed on the host, as root: a root-only file was copied
// into the build, readable by the build user. It is refused, before the
// build starts.
func TestSymlinkedOrigTarball(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	s, _ := testenv.SharedRoot(t)
	src := outNonNative(t)
	orig := filepath.Join(filepath.Dir(src), "hello-c_1.0.orig.tar.gz")
	secret := outRootFile(t, "root's secret\n")
	if err := os.Remove(orig); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, orig); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	res, err := build.Build(context.Background(), &build.Request{Store: s, Source: src, Root: testenv.RootName, Out: out, Jobs: 2})
	var le *debian.LinkError
	if !errors.As(err, &le) || err.Error() != "orig tarball "+orig+" is a symbolic link; pkgbox reads only regular files beside the source" {
		t.Fatalf("got %v, want a refusal of the symlinked orig tarball", err)
	}
	if res != nil || len(outNames(t, out)) > 0 {
		t.Errorf("the build started: %+v, --out holds %v", res, outNames(t, out))
	}
}

// The same through a .dsc: its files were hash-checked through a symlink
// and opened again by path later. A symlinked file is refused when the
// .dsc is read.
func TestSymlinkedDscFile(t *testing.T) {
	testenv.Require(t, testenv.Root)
	src := outNonNative(t)
	dir := filepath.Dir(src)
	c := exec.Command("dpkg-source", "-b", filepath.Base(src))
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Skipf("dpkg-source -b: %v: %s", err, out)
	}
	// The same content, in a place only root can read, linked in.
	orig := filepath.Join(dir, "hello-c_1.0.orig.tar.gz")
	data, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	secret := outRootFile(t, string(data))
	if err := os.Remove(orig); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, orig); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = build.Build(context.Background(), &build.Request{Store: s, Source: filepath.Join(dir, "hello-c_1.0-1.dsc"), Root: "none", Out: t.TempDir()})
	var le *debian.LinkError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "listed file "+orig+" is a symbolic link") {
		t.Fatalf("got %v, want a refusal of the symlinked file", err)
	}
}
