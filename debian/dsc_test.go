package debian

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestReadSourceDsc(t *testing.T) {
	for _, signed := range []bool{false, true} {
		name := "plain"
		if signed {
			name = "clearsigned"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var edit func(string) string
			if signed {
				edit = clearsign
			}
			dsc := makeDsc(t, dir, []dscFile{{name: "hello_1.0.orig.tar.gz", content: "orig"}, {name: "hello_1.0-2.debian.tar.xz", content: "debian"}}, edit)
			s, err := ReadSource(dsc)
			checkErr(t, err, "")
			if s.Name != "hello" || s.Version.String() != "1:1.0-2" || s.VersionNoEpoch() != "1.0-2" || s.UpstreamVersion() != "1.0" {
				t.Errorf("got %s %s", s.Name, s.Version)
			}
			if s.Dsc != dsc || s.Dir != "" || s.Distribution != "" {
				t.Errorf("Dsc %q Dir %q Distribution %q", s.Dsc, s.Dir, s.Distribution)
			}
			if !slices.Equal(s.DscFiles, []string{"hello_1.0.orig.tar.gz", "hello_1.0-2.debian.tar.xz"}) {
				t.Errorf("DscFiles %q", s.DscFiles)
			}
			if !slices.Equal(s.Architectures, []string{"any", "all"}) {
				t.Errorf("Architectures %q", s.Architectures)
			}
			if !slices.Equal(s.Binaries, []string{"hello"}) {
				t.Errorf("Binaries %q", s.Binaries)
			}
			if got := s.BuildDepends.String(); got != "debhelper-compat (= 13)" {
				t.Errorf("BuildDepends %q", got)
			}
		})
	}
}

// TestReadSourceDscRelative checks Dsc is absolute when the path is not.
func TestReadSourceDscRelative(t *testing.T) {
	dir := t.TempDir()
	makeDsc(t, dir, []dscFile{{name: "hello_1.0.tar.xz", content: "x"}}, nil)
	t.Chdir(dir)
	s, err := ReadSource("hello_1.0-2.dsc")
	checkErr(t, err, "")
	if s.Dsc != filepath.Join(dir, "hello_1.0-2.dsc") {
		t.Errorf("Dsc %q", s.Dsc)
	}
}

// TestReadSourceMakeDsc reads the .dsc that testdata/packages/make-dsc.sh
// builds with dpkg-source.
func TestReadSourceMakeDsc(t *testing.T) {
	if _, err := exec.LookPath("dpkg-source"); err != nil {
		t.Skip("no dpkg-source:", err)
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "../testdata/packages/make-dsc.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-dsc.sh: %v\n%s", err, b)
	}
	ents, _ := os.ReadDir(out)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"hello-c_1.0.dsc", "hello-c_1.0.tar.xz"}) {
		t.Fatalf("make-dsc.sh made %q", names)
	}
	s, err := ReadSource(filepath.Join(out, "hello-c_1.0.dsc"))
	checkErr(t, err, "")
	if s.Name != "hello-c" || s.Version.String() != "1.0" || !slices.Equal(s.DscFiles, []string{"hello-c_1.0.tar.xz"}) || !slices.Equal(s.Architectures, []string{"any"}) {
		t.Errorf("got %+v", s)
	}
}

func TestReadSourceDscErrors(t *testing.T) {
	good := []dscFile{{name: "hello_1.0.tar.xz", content: "tarball"}}
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				panic("test edit: no " + old)
			}
			return strings.Replace(s, old, new, -1)
		}
	}
	// Lines of makeDsc's .dsc with one file: 7 Checksums-Sha256:, 8 its
	// entry, 9 Files:, 10 its entry.
	for _, tt := range []struct {
		name  string
		files []dscFile
		edit  func(string) string
		want  string
		line  int
	}{
		{"parent name", []dscFile{{name: "../etc/passwd", content: "x", noWrite: true}}, nil, `hello_1\.0-2\.dsc:10: invalid Files entry: file name "\.\./etc/passwd" is not a bare base name`, 10},
		{"subdir name", []dscFile{{name: "a/b", content: "x"}}, nil, `:10: invalid Files entry: file name "a/b" is not a bare base name`, 10},
		{"dot name", []dscFile{{name: ".", content: "x", noWrite: true}}, nil, `:10: invalid Files entry: file name "\." is not a bare base name`, 10},
		{"dotdot name", []dscFile{{name: "..", content: "x", noWrite: true}}, nil, `:10: invalid Files entry: file name "\.\." is not a bare base name`, 10},
		{"absolute name", []dscFile{{name: "/etc/passwd", content: "x", noWrite: true}}, nil, `:10: invalid Files entry: file name "/etc/passwd" is not a bare base name`, 10},
		{"empty name", good, replace(" hello_1.0.tar.xz\n", "\n"), `:8: invalid Checksums-Sha256 entry: want "SHA256 SIZE NAME"|:10: invalid Files entry: want "MD5 SIZE NAME"`, -1},
		{"missing file", []dscFile{{name: "hello_1.0.tar.xz", content: "x", noWrite: true}}, nil, `:8: open listed file "hello_1\.0\.tar\.xz": no such file or directory`, 8},
		{"checksum mismatch", good, replace(" db4b", " ffff"), `:8: sha256 mismatch for "hello_1\.0\.tar\.xz": expected ffff[0-9a-f]{60}, got db4b[0-9a-f]{60}`, 8},
		{"size mismatch", good, replace(" 7 hello", " 8 hello"), `:8: size mismatch for "hello_1\.0\.tar\.xz": expected 8 bytes, got 7`, 8},
		{"md5 mismatch", good, replace(" e02e", " f02e"), `:10: md5 mismatch for "hello_1\.0\.tar\.xz": expected f02e[0-9a-f]{28}, got e02e[0-9a-f]{28}`, 10},
		{"bad hash", good, replace(" db4b", " zzzz"), `:8: invalid Checksums-Sha256 entry: invalid sha256 hash`, 8},
		{"no Files", good, func(s string) string { return s[:strings.Index(s, "Files:")] }, `hello_1\.0-2\.dsc:1: no Files field`, 1},
		{"no Checksums", good, replace("Checksums-Sha256:", "Checksums-Sha1:"), `:1: no Checksums-Sha256 field`, 1},
		{"empty Files", good, func(s string) string { return s[:strings.Index(s, "Files:")] + "Files:\n" }, `:9: empty Files field`, 9},
		{"lists disagree", []dscFile{{name: "a.tar.xz", content: "a"}, {name: "b.tar.xz", content: "b"}}, func(s string) string {
			i := strings.Index(s, "Checksums-Sha256:\n") + len("Checksums-Sha256:\n")
			j := strings.Index(s[i:], "\n") + i + 1
			return s[:i] + s[j:] // drop a.tar.xz's sha256
		}, `:10: "a\.tar\.xz" has no Checksums-Sha256 entry`, 10},
		{"only in sha256", good, func(s string) string {
			return s[:strings.Index(s, "Files:")] + "Files:\n 00000000000000000000000000000000 1 other\n"
		}, `:8: invalid Checksums-Sha256 entry: "hello_1\.0\.tar\.xz" is not listed in Files`, 8},
		{"listed twice", []dscFile{{name: "a", content: "a"}, {name: "a", content: "a"}}, nil, `invalid Files entry: "a" listed twice`, -1},
		{"no Version", good, replace("Version: 1:1.0-2\n", ""), `:1: no Version field`, 1},
		{"bad Version", good, replace("Version: 1:1.0-2", "Version: 1:1.0/2"), `:5: invalid Version "1:1\.0/2": invalid character`, 5},
		{"no Architecture", good, replace("Architecture: any all\n", ""), `:1: no Architecture field`, 1},
		{"bad Build-Depends", good, replace("debhelper-compat (= 13)", "debhelper-compat (= 13"), `:6: invalid Build-Depends: `, 6},
		{"bad signature armor", good, func(s string) string { return "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + s }, `hello_1\.0-2\.dsc: decode clearsigned document: invalid clearsigned input`, 0},
		{"empty", good, func(string) string { return "" }, `hello_1\.0-2\.dsc: empty \.dsc`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dsc := makeDsc(t, dir, tt.files, tt.edit)
			_, err := ReadSource(dsc)
			checkErr(t, err, tt.want)
			if tt.line >= 0 {
				checkLine(t, err, tt.line)
			}
			if !strings.HasPrefix(err.Error(), dsc+":") {
				t.Errorf("error %q does not start with %q", err, dsc+":")
			}
		})
	}
}

// TestReadSourceDscHostile checks listed files that are not regular files,
// and that nothing outside the .dsc's directory is touched through a
// listed name.
func TestReadSourceDscHostile(t *testing.T) {
	t.Run("fifo", func(t *testing.T) {
		dir := t.TempDir()
		dsc := makeDsc(t, dir, []dscFile{{name: "p", content: "", noWrite: true}}, nil)
		if err := syscall.Mkfifo(filepath.Join(dir, "p"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSource(dsc)
		checkErr(t, err, `:8: listed file "p" is not a regular file`)
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		dsc := makeDsc(t, dir, []dscFile{{name: "d", content: "", noWrite: true}}, nil)
		if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSource(dsc)
		checkErr(t, err, `:8: listed file "d" is not a regular file`)
	})
	t.Run("escape", func(t *testing.T) {
		// The file outside exists with the right checksum: only the name
		// check stands between the .dsc and it.
		top := t.TempDir()
		writeTree(t, top, map[string]string{"secret": "s"})
		dir := filepath.Join(top, "in")
		dsc := makeDsc(t, dir, []dscFile{{name: "../secret", content: "s", noWrite: true}}, nil)
		_, err := ReadSource(dsc)
		checkErr(t, err, `not a bare base name`)
	})
	t.Run("symlinked tarball", func(t *testing.T) {
		// Refused, though uscan --symlink makes such links: pkgbox reads
		// as root, and a link can lead to any file of the host (issue 11,
		// finding 6). The hint says how to put a copy in its place.
		top := t.TempDir()
		writeTree(t, top, map[string]string{"tarballs/hello_1.0.orig.tar.gz": "orig"})
		dir := filepath.Join(top, "in")
		dsc := makeDsc(t, dir, []dscFile{{name: "hello_1.0.orig.tar.gz", content: "orig", noWrite: true}}, nil)
		if err := os.Symlink("../tarballs/hello_1.0.orig.tar.gz", filepath.Join(dir, "hello_1.0.orig.tar.gz")); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSource(dsc)
		checkErr(t, err, `listed file .*/in/hello_1.0.orig.tar.gz is a symbolic link; pkgbox reads only regular files beside the source$`)
		var le *LinkError
		if !errors.As(err, &le) || !strings.Contains(le.Hint(), "cp --remove-destination") {
			t.Errorf("no LinkError with a hint: %v", err)
		}
	})
	t.Run("symlinked dsc", func(t *testing.T) {
		top := t.TempDir()
		dsc := makeDsc(t, filepath.Join(top, "in"), []dscFile{{name: "hello_1.0.tar.gz", content: "x"}}, nil)
		link := filepath.Join(top, "link.dsc")
		if err := os.Symlink(dsc, link); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSource(link)
		checkErr(t, err, `.dsc .*/link.dsc is a symbolic link`)
	})
	t.Run("swapped after reading", func(t *testing.T) {
		// What a build binds is what OpenDscFiles checked, on its descriptor.
		dir := t.TempDir()
		dsc := makeDsc(t, dir, []dscFile{{name: "hello_1.0.tar.gz", content: "x"}}, nil)
		s, err := ReadSource(dsc)
		if err != nil {
			t.Fatal(err)
		}
		files, err := s.OpenDscFiles()
		if err != nil {
			t.Fatal(err)
		}
		closeAll(files)
		if len(files) != 2 || files[0].Name != filepath.Base(dsc) || files[1].Name != "hello_1.0.tar.gz" {
			t.Errorf("opened %v", files)
		}
		tarball := filepath.Join(dir, "hello_1.0.tar.gz")
		if err := os.Remove(tarball); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/etc/shadow", tarball); err != nil {
			t.Fatal(err)
		}
		_, err = s.OpenDscFiles()
		checkErr(t, err, `listed file .*/hello_1.0.tar.gz is a symbolic link`)
	})
}

const goodChanges = `Format: 1.8
Source: hello
Binary: hello
Architecture: amd64
Version: 1.0
Distribution: unstable
Checksums-Sha256:
 e0b5a6d7c5e8f0b2e0b5a6d7c5e8f0b2e0b5a6d7c5e8f0b2e0b5a6d7c5e8f0b2 100 hello_1.0_amd64.deb
 e0b5a6d7c5e8f0b2e0b5a6d7c5e8f0b2e0b5a6d7c5e8f0b2e0b5a6d7c5e8f0b2 200 hello_1.0_amd64.buildinfo
Files:
 0123456789abcdef0123456789abcdef 100 misc optional hello_1.0_amd64.deb
 0123456789abcdef0123456789abcdef 200 misc optional hello_1.0_amd64.buildinfo
`

func TestChangesFiles(t *testing.T) {
	for _, tt := range []struct {
		name, text, want string
		line             int
	}{
		{"good", goodChanges, "", 0},
		{"clearsigned", clearsign(goodChanges), "", 0},
		{"parent name", strings.Replace(goodChanges, "optional hello_1.0_amd64.deb", "optional ../hello_1.0_amd64.deb", 1), `^x\.changes:11: invalid Files entry: file name "\.\./hello_1\.0_amd64\.deb" is not a bare base name$`, 11},
		{"subdir name", strings.Replace(goodChanges, "optional hello_1.0_amd64.deb", "optional a/b", 1), `^x\.changes:11: invalid Files entry: file name "a/b" is not a bare base name$`, 11},
		{"dotdot", strings.Replace(goodChanges, "optional hello_1.0_amd64.deb", "optional ..", 1), `^x\.changes:11: invalid Files entry: file name "\.\." is not a bare base name$`, 11},
		{"sha256 name", strings.Replace(goodChanges, "200 hello_1.0_amd64.buildinfo", "200 /etc/passwd", 1), `^x\.changes:9: invalid Checksums-Sha256 entry: file name "/etc/passwd"`, 9},
		{"extra words", strings.Replace(goodChanges, "optional hello_1.0_amd64.deb", "optional a b", 1), `^x\.changes:11: invalid Files entry: want "MD5 SIZE SECTION PRIORITY NAME"$`, 11},
		{"no Files", goodChanges[:strings.Index(goodChanges, "Files:")], `^x\.changes:1: no Files field$`, 1},
		{"empty", "", `^x\.changes: empty \.changes$`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			names, err := ReadChangesFiles("x.changes", strings.NewReader(tt.text))
			checkErr(t, err, tt.want)
			if tt.want != "" {
				checkLine(t, err, tt.line)
				return
			}
			if !slices.Equal(names, []string{"hello_1.0_amd64.deb", "hello_1.0_amd64.buildinfo"}) {
				t.Errorf("names %q", names)
			}
		})
	}
}

func TestChangesFilesPath(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"x.changes": goodChanges})
	names, err := ChangesFiles(filepath.Join(dir, "x.changes"))
	checkErr(t, err, "")
	if len(names) != 2 {
		t.Errorf("names %q", names)
	}
	_, err = ChangesFiles(filepath.Join(dir, "nope.changes"))
	checkErr(t, err, `nope\.changes: open: no such file or directory$`)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q is not fs.ErrNotExist", err)
	}
}

func TestReadChangesFilesTooLarge(t *testing.T) {
	_, err := ReadChangesFiles("big.changes", strings.NewReader(strings.Repeat("x", maxFileSize+1)))
	checkErr(t, err, `^big\.changes: read: larger than 16 MiB$`)
}
