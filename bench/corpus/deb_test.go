package corpus

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pkgbox/internal/testenv"
)

// fixture is one member of a test package's data: "dir PATH MODE",
// "file PATH MODE", "link PATH TARGET".
type fixture string

// makeDeb builds a .deb with dpkg-deb in a temporary directory from a
// control paragraph and a one-line-per-member tree, and returns its path.
func makeDeb(t *testing.T, dir, control string, compress string, tree ...fixture) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Fatal("dpkg-deb (dpkg, essential on Debian) is not installed")
	}
	root := t.TempDir()
	for _, f := range tree {
		w := strings.Fields(string(f))
		p := filepath.Join(root, w[1])
		switch w[0] {
		case "dir":
			mustDo(t, os.MkdirAll(p, 0o755))
			mustDo(t, os.Chmod(p, parseMode(t, w[2])))
		case "file":
			mustDo(t, os.MkdirAll(filepath.Dir(p), 0o755))
			mustDo(t, os.WriteFile(p, []byte(w[1]+"\n"), 0o644))
			mustDo(t, os.Chmod(p, parseMode(t, w[2])))
		case "link":
			mustDo(t, os.MkdirAll(filepath.Dir(p), 0o755))
			mustDo(t, os.Symlink(w[2], p))
		default:
			t.Fatalf("bad fixture %q", f)
		}
	}
	mustDo(t, os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte(strings.TrimLeft(control, "\n")), 0o644))
	pkg := field(control, "Package")
	out := filepath.Join(dir, pkg+"_"+field(control, "Version")+"_"+field(control, "Architecture")+".deb")
	cmd := exec.Command("dpkg-deb", "--root-owner-group", "-Z"+compress, "--build", root, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, b)
	}
	return out
}

func field(control, name string) string {
	for _, l := range strings.Split(control, "\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return v
		}
	}
	return ""
}

func parseMode(t *testing.T, s string) os.FileMode {
	t.Helper()
	var m uint32
	for _, c := range s {
		m = m*8 + uint32(c-'0')
	}
	mode := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const helloControl = `
Package: hello
Source: hello-src (2.10-3)
Version: 2.10-3+b1
Architecture: amd64
Maintainer: Test <test@example.org>
Depends: libc6 (>= 2.34), foo | bar (<< 2)
Pre-Depends: dpkg (>= 1.17)
Description: test package
 For the corpus tests.
`

var helloTree = []fixture{
	"dir usr 0755",
	"dir usr/bin 0755",
	"file usr/bin/hello 0755",
	"file usr/bin/suid 4755",
	"dir usr/share/doc/hello 0755",
	"file usr/share/doc/hello/copyright 0644",
	"link usr/bin/hi hello",
}

func TestReadDeb(t *testing.T) {
	for _, z := range []string{"xz", "gzip", "zstd", "none"} {
		t.Run(z, func(t *testing.T) {
			b, err := ReadDeb(makeDeb(t, t.TempDir(), helloControl, z, helloTree...))
			if err != nil {
				t.Fatal(err)
			}
			if b.Package != "hello" || b.Version != "2.10-3+b1" || b.Arch != "amd64" || b.Source != "hello-src" || b.SourceVersion != "2.10-3" {
				t.Errorf("control: got %+v", b)
			}
			want := map[string]string{"Depends": "libc6 (>= 2.34), foo | bar (<< 2)", "Pre-Depends": "dpkg (>= 1.17)"}
			if !reflect.DeepEqual(b.Relations, want) {
				t.Errorf("relations: got %q, want %q", b.Relations, want)
			}
			files := map[string]File{}
			for _, f := range b.Files {
				files[f.Path] = f
			}
			for _, c := range []File{
				{Path: "/", Type: '5', Mode: 0o755, Owner: "root/root"},
				{Path: "/usr/bin/hello", Type: '0', Mode: 0o755, Owner: "root/root"},
				{Path: "/usr/bin/suid", Type: '0', Mode: 0o4755, Owner: "root/root"},
				{Path: "/usr/bin/hi", Type: '2', Mode: 0o777, Owner: "root/root", Link: "hello"},
				{Path: "/usr/share/doc/hello/copyright", Type: '0', Mode: 0o644, Owner: "root/root"},
			} {
				if got := files[c.Path]; got != c {
					t.Errorf("%s: got %+v, want %+v", c.Path, got, c)
				}
			}
			if len(files) != 10 {
				t.Errorf("got %d members, want 10: %+v", len(files), b.Files)
			}
		})
	}
}

func TestReadDebNotADeb(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.deb")
	mustDo(t, os.WriteFile(p, []byte("not an ar archive"), 0o644))
	if _, err := ReadDeb(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("got %v, want an error naming %s", err, p)
	}
}

// TestCompareDirs compares two directories of real .debs end to end: the
// archive's is a binNMU with its own changelog, other relation versions, a
// dbgsym only pkgbox has, and a udeb that is left out.
func TestCompareDirs(t *testing.T) {
	ours, archive := t.TempDir(), t.TempDir()
	ctl := strings.Replace(helloControl, "Version: 2.10-3+b1", "Version: 2.10-3", 1)
	makeDeb(t, ours, ctl, "xz", helloTree...)
	actl := strings.Replace(helloControl, "libc6 (>= 2.34)", "libc6 (>= 2.36)", 1)
	makeDeb(t, archive, actl, "zstd", append(helloTree, "file usr/share/doc/hello/changelog.Debian.amd64.gz 0644")...)
	makeDeb(t, ours, `
Package: hello-dbgsym
Source: hello-src (2.10-3)
Version: 2.10-3
Architecture: amd64
Maintainer: Test <test@example.org>
Description: debug symbols
`, "xz", "dir usr/lib/debug/.build-id/ab 0755", "file usr/lib/debug/.build-id/ab/cdef.debug 0644")
	mustDo(t, os.WriteFile(filepath.Join(ours, "hello-udeb_2.10-3_amd64.udeb"), []byte("ignored"), 0o644))

	o, err := ReadDir(ours)
	mustDo(t, err)
	a, err := ReadDir(archive)
	mustDo(t, err)
	r := Compare(o, a, Options{NoArchiveDbgsym: true})
	if m, n := r.Counts(); m != 1 || n != 1 {
		t.Errorf("counts: got %d/%d, want 1/1: %+v", m, n, r.Packages)
	}
	if s := r.Status(); s != VersionOnly {
		t.Errorf("status: got %s, want %s: %q", s, VersionOnly, r.Lines())
	}
	want := []string{
		"hello: version-only: Depends: libc6 (>= 2.34), archive libc6 (>= 2.36)",
		"unchecked, the archive's debug suite was not fetched: hello-dbgsym",
	}
	if got := r.Lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("lines:\ngot  %q\nwant %q", got, want)
	}
}

// TestCompareOwners needs root: the archive's file belongs to daemon.
func TestCompareOwners(t *testing.T) {
	testenv.Require(t, testenv.Root) // to give a fixture file to another user
	ours, archive := t.TempDir(), t.TempDir()
	makeDeb(t, ours, helloControl, "xz", helloTree...)
	root := t.TempDir()
	mustDo(t, os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755))
	mustDo(t, os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(strings.TrimLeft(helloControl, "\n")), 0o644))
	mustDo(t, os.WriteFile(filepath.Join(root, "usr/bin/hello"), nil, 0o755))
	mustDo(t, os.Lchown(filepath.Join(root, "usr/bin/hello"), 1, 1))
	if b, err := exec.Command("dpkg-deb", "--build", root, filepath.Join(archive, "hello.deb")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, b)
	}
	a, err := ReadDeb(filepath.Join(archive, "hello.deb"))
	mustDo(t, err)
	for _, f := range a.Files {
		if f.Path == "/usr/bin/hello" && f.Owner != "daemon/daemon" {
			t.Errorf("owner: got %q, want daemon/daemon", f.Owner)
		}
	}
	o, err := ReadDir(ours)
	mustDo(t, err)
	r := Compare(o, []*Binary{a}, Options{})
	if got := strings.Join(r.Lines(), "\n"); !strings.Contains(got, "/usr/bin/hello (owner root/root, archive daemon/daemon)") {
		t.Errorf("got %q, want the owner difference", got)
	}
}
