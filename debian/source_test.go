package debian

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestReadSourceTree(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"debian/control": goodControl, "debian/changelog": goodChangelog})
	s, err := ReadSource(dir)
	checkErr(t, err, "")
	if s.Name != "hello" || s.Version.String() != "2:1.0-1" || s.Distribution != "unstable" {
		t.Errorf("got %s %s %s", s.Name, s.Version, s.Distribution)
	}
	if s.VersionNoEpoch() != "1.0-1" || s.UpstreamVersion() != "1.0" {
		t.Errorf("VersionNoEpoch %q, UpstreamVersion %q", s.VersionNoEpoch(), s.UpstreamVersion())
	}
	if s.Dir != dir || s.Dsc != "" || s.DscFiles != nil {
		t.Errorf("Dir %q Dsc %q DscFiles %q", s.Dir, s.Dsc, s.DscFiles)
	}
	if s.RulesRequiresRoot != "no" {
		t.Errorf("RulesRequiresRoot %q", s.RulesRequiresRoot)
	}
	if !slices.Equal(s.Architectures, []string{"any", "all"}) {
		t.Errorf("Architectures %q", s.Architectures)
	}
	if !slices.Equal(s.Binaries, []string{"hello", "hello-doc"}) {
		t.Errorf("Binaries %q", s.Binaries)
	}
	if got := s.BuildDepends.String(); got != "debhelper-compat (= 13), libfoo-dev [amd64] | libbar-dev, check <!nocheck>" {
		t.Errorf("BuildDepends %q", got)
	}
	if got := s.BuildDependsIndep.String(); got != "python3:any" {
		t.Errorf("BuildDependsIndep %q", got)
	}
	if got := s.BuildConflicts.String(); got != "bad (<< 2)" {
		t.Errorf("BuildConflicts %q", got)
	}
}

// TestReadSourceRelative checks Dir is absolute when the path is not.
func TestReadSourceRelative(t *testing.T) {
	s, err := ReadSource("../testdata/packages/hello-c")
	checkErr(t, err, "")
	want, _ := filepath.Abs("../testdata/packages/hello-c")
	if s.Dir != want {
		t.Errorf("Dir %q, want %q", s.Dir, want)
	}
}

func TestReadSourceTestdata(t *testing.T) {
	for _, tt := range []struct {
		name, arch, deps string
	}{
		{"hello-c", "any", "debhelper-compat (= 13)"},
		{"hello-all", "all", "debhelper-compat (= 13)"},
		{"needs-deps", "any", "debhelper-compat (= 13), pkg-config, zlib1g-dev"},
		{"net-test", "all", "debhelper-compat (= 13)"},
		{"fails", "all", "debhelper-compat (= 13)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ReadSource(filepath.Join("../testdata/packages", tt.name))
			checkErr(t, err, "")
			if s.Name != tt.name || s.Version.String() != "1.0" || s.Distribution != "UNRELEASED" || s.RulesRequiresRoot != "no" {
				t.Errorf("got %s %s %s R-R-R %q", s.Name, s.Version, s.Distribution, s.RulesRequiresRoot)
			}
			if !slices.Equal(s.Architectures, []string{tt.arch}) {
				t.Errorf("Architectures %q", s.Architectures)
			}
			deps, _, err := s.BuildDeps("amd64", nil, true, true)
			checkErr(t, err, "")
			if deps != tt.deps {
				t.Errorf("BuildDeps %q, want %q", deps, tt.deps)
			}
		})
	}
}

// TestReadSourceLenient covers what deb822 allows and the library alone
// gets wrong: field names in any case, folded relations with a line break
// right after a name, comments, a changelog without a final newline.
func TestReadSourceLenient(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"debian/control":   "# comment\nsource: hello\nbuild-depends: foo\n , bar,\n\tbaz\n# c\n\nPackage: hello\nARCHITECTURE: amd64 i386\n",
		"debian/changelog": strings.TrimSuffix(goodChangelog, "\n"),
	})
	s, err := ReadSource(dir)
	checkErr(t, err, "")
	if got := s.BuildDepends.String(); got != "foo, bar, baz" {
		t.Errorf("BuildDepends %q", got)
	}
	if !slices.Equal(s.Architectures, []string{"amd64", "i386"}) {
		t.Errorf("Architectures %q", s.Architectures)
	}
}

func TestReadSourceTreeErrors(t *testing.T) {
	const cl = "debian/changelog"
	for _, tt := range []struct {
		name  string
		files map[string]string
		want  string
		line  int // -1: not a *FileError
	}{
		{"no debian", map[string]string{"README": "x"}, `^no debian/control in ".*": is this a Debian source tree\?$`, -1},
		{"no control", map[string]string{cl: goodChangelog}, `^no debian/control in ".*": is this a Debian source tree\?$`, -1},
		{"no changelog", map[string]string{"debian/control": goodControl}, `^no debian/changelog in ".*": is this a Debian source tree\?$`, -1},
		{"empty control", map[string]string{"debian/control": "", cl: goodChangelog}, `debian/control: empty control file`, 0},
		{"only comments", map[string]string{"debian/control": "# x\n\n# y\n", cl: goodChangelog}, `debian/control: empty control file`, 0},
		{"no Source", map[string]string{"debian/control": "Maintainer: x\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:1: no Source field`, 1},
		{"bad Source", map[string]string{"debian/control": "Source: ../x\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:1: invalid Source "\.\./x"`, 1},
		{"bad Build-Depends", map[string]string{"debian/control": "Source: hello\nMaintainer: x\nBuild-Depends: foo (>= 1.0\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:3: invalid Build-Depends: `, 3},
		{"bad Build-Depends-Indep name", map[string]string{"debian/control": "Source: hello\nBuild-Depends-Indep:\n foo,\n b@r\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:2: invalid Build-Depends-Indep: invalid package name "b@r"`, 2},
		{"bad relation version", map[string]string{"debian/control": "Source: hello\nBuild-Conflicts-Arch: foo (>= abc)\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:2: invalid Build-Conflicts-Arch: invalid version "abc" on "foo"`, 2},
		{"bad operator", map[string]string{"debian/control": "Source: hello\nBuild-Depends: foo (> 1)\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:2: invalid Build-Depends: `, 2},
		{"substvar", map[string]string{"debian/control": "Source: hello\nBuild-Depends: ${foo}\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:2: invalid Build-Depends: substitution variable "\$\{foo\}"`, 2},
		{"empty alternative", map[string]string{"debian/control": "Source: hello\nBuild-Depends: foo, |\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:2: invalid Build-Depends: empty alternative`, 2},
		{"empty profile", map[string]string{"debian/control": "Source: hello\nBuild-Depends: foo < >\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:2: invalid Build-Depends: `, 2},
		{"empty arch list", map[string]string{"debian/control": "Source: hello\nBuild-Depends: foo [ ]\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:2: invalid Build-Depends: invalid architecture ""`, 2},
		{"wildcard qualifier", map[string]string{"debian/control": "Source: hello\nBuild-Depends: foo:linux-any\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:2: invalid Build-Depends: wildcard architecture qualifier`, 2},
		{"duplicate field", map[string]string{"debian/control": "Source: hello\nBuild-Depends: a\nbuild-depends: b\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:3: duplicate field "build-depends" \(first at line 2\)`, 3},
		{"no colon", map[string]string{"debian/control": "Source: hello\nMaintainer: x\n\nPackage a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:4: line is not "Field: value"`, 4},
		{"orphan continuation", map[string]string{"debian/control": " oops\nSource: hello\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:1: continuation line outside any field`, 1},
		{"empty field name", map[string]string{"debian/control": "Source: hello\n: x\n\nPackage: a\nArchitecture: all\n", cl: goodChangelog}, `debian/control:2: invalid field name ""`, 2},
		{"no binary", map[string]string{"debian/control": "Source: hello\n", cl: goodChangelog}, `debian/control: no binary package paragraph`, 0},
		{"no Package", map[string]string{"debian/control": "Source: hello\n\nArchitecture: all\n", cl: goodChangelog}, `debian/control:3: binary paragraph has no Package field`, 3},
		{"no Architecture", map[string]string{"debian/control": "Source: hello\n\n\nPackage: a\nDescription: x\n", cl: goodChangelog}, `debian/control:4: binary paragraph has no Architecture field`, 4},
		{"bad Architecture", map[string]string{"debian/control": "Source: hello\n\nPackage: a\nArchitecture: amd64 ../x\n", cl: goodChangelog}, `debian/control:4: invalid Architecture: invalid architecture "\.\./x"`, 4},
		{"empty changelog", map[string]string{"debian/control": goodControl, cl: "\n\n"}, `debian/changelog: empty changelog`, 0},
		{"changelog bad version", map[string]string{"debian/control": goodControl, cl: "\nhello (abc) unstable; urgency=low\n\n  * x\n\n -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n"}, `debian/changelog:2: invalid version "abc": version number does not start with digit`, 2},
		{"changelog version with slash", map[string]string{"debian/control": goodControl, cl: "hello (1.0/2) unstable; urgency=low\n\n  * x\n\n -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n"}, `debian/changelog:1: invalid version "1\.0/2"`, 1},
		{"changelog empty revision", map[string]string{"debian/control": goodControl, cl: "hello (1.0-) unstable; urgency=low\n\n  * x\n\n -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n"}, `debian/changelog:1: invalid version "1\.0-"`, 1},
		{"changelog no version", map[string]string{"debian/control": goodControl, cl: "hello unstable; urgency=low\n\n  * x\n\n -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n"}, `debian/changelog:1: no "\(VERSION\)"`, 1},
		{"changelog indented start", map[string]string{"debian/control": goodControl, cl: "  * x\n"}, `debian/changelog:1: indented line before`, 1},
		{"changelog no trailer", map[string]string{"debian/control": goodControl, cl: "hello (1.0) unstable; urgency=low\n\n  * x\n\nhello (0.9) unstable; urgency=low\n"}, `debian/changelog:5: entry starting at line 1 has no trailer line`, 5},
		{"changelog truncated", map[string]string{"debian/control": goodControl, cl: "hello (1.0) unstable; urgency=low\n\n  * x\n"}, `debian/changelog:3: unexpected end of file`, 3},
		{"changelog bad date", map[string]string{"debian/control": goodControl, cl: "hello (1.0) unstable; urgency=low\n\n  * x\n\n -- A <a@b.c>  yesterday\n"}, `debian/changelog:5: invalid trailer line`, 5},
		{"changelog no distribution", map[string]string{"debian/control": goodControl, cl: "hello (1.0)\n\n  * x\n\n -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n"}, `debian/changelog:1: no distribution`, 1},
		{"changelog other source", map[string]string{"debian/control": goodControl, cl: "other (1.0) unstable; urgency=low\n\n  * x\n\n -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n"}, `debian/changelog:1: source "other" differs from "hello"`, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			_, err := ReadSource(dir)
			checkErr(t, err, tt.want)
			if tt.line >= 0 {
				checkLine(t, err, tt.line)
				if !strings.HasPrefix(err.Error(), dir+"/debian/") {
					t.Errorf("error %q does not start with the path given", err)
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %q is not fs.ErrNotExist", err)
			}
		})
	}
}

// TestReadSourceHostileTree checks debian/control must be a regular file in
// the tree: not a symlink (it could point at /etc/shadow, read as root), not
// a FIFO (that would hang the read).
func TestReadSourceHostileTree(t *testing.T) {
	t.Run("symlink", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"debian/changelog": goodChangelog, "elsewhere": goodControl})
		if err := os.Symlink("../elsewhere", filepath.Join(dir, "debian/control")); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSource(dir)
		checkErr(t, err, `/debian/control: is a symlink: refusing to follow it$`)
	})
	t.Run("fifo", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"debian/changelog": goodChangelog})
		if err := syscall.Mkfifo(filepath.Join(dir, "debian/control"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSource(dir)
		checkErr(t, err, `/debian/control: not a regular file$`)
	})
	t.Run("not a dsc", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"x.txt": "x"})
		_, err := ReadSource(filepath.Join(dir, "x.txt"))
		checkErr(t, err, `neither a directory nor a \.dsc file`)
	})
	t.Run("missing", func(t *testing.T) {
		_, err := ReadSource(filepath.Join(t.TempDir(), "nope"))
		checkErr(t, err, `no such file`)
	})
}
