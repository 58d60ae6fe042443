package corpus

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func bin(pkg, version string, files ...File) *Binary {
	return &Binary{Package: pkg, Version: version, Arch: "amd64", Relations: map[string]string{"Depends": "libc6 (>= 2.34)"}, Files: files}
}

func reg(p string, mode int64) File { return File{Path: p, Type: '0', Mode: mode, Owner: "root/root"} }
func dir(p string) File             { return File{Path: p, Type: '5', Mode: 0o755, Owner: "root/root"} }

func TestCompare(t *testing.T) {
	base := []File{dir("/usr/bin"), reg("/usr/bin/x", 0o755), reg("/usr/share/doc/x/copyright", 0o644)}
	with := func(fs ...File) []File { return append(append([]File{}, base...), fs...) }
	for _, c := range []struct {
		name         string
		ours, arch   *Binary
		opt          Options
		status       Status
		lines        []string
		match, total int
	}{
		{name: "match", ours: bin("x", "1-1", base...), arch: bin("x", "1-1", base...), status: Match, match: 1, total: 1},
		{
			name: "binNMU with its changelog", ours: bin("x", "1-1", base...),
			arch:   bin("x", "1-1+b2", with(reg("/usr/share/doc/x/changelog.Debian.amd64.gz", 0o644))...),
			status: Match, match: 1, total: 1,
		},
		{
			name: "a binNMU changelog of another architecture is a difference", ours: bin("x", "1-1", base...),
			arch:   bin("x", "1-1+b2", with(reg("/usr/share/doc/x/changelog.Debian.i386.gz", 0o644))...),
			status: Differ, lines: []string{"x: only the archive has /usr/share/doc/x/changelog.Debian.i386.gz"}, total: 1,
		},
		{
			name: "other version", ours: bin("x", "1-2", base...), arch: bin("x", "1-1", base...),
			status: Differ, lines: []string{"x: version 1-2, archive 1-1"}, total: 1,
		},
		{
			name: "files on one side", ours: bin("x", "1-1", with(reg("/usr/bin/y", 0o755))...),
			arch:   bin("x", "1-1", with(reg("/usr/bin/z", 0o755))...),
			status: Differ, lines: []string{"x: only pkgbox has /usr/bin/y; only the archive has /usr/bin/z"}, total: 1,
		},
		{
			name: "mode, owner, type and link", ours: bin("x", "1-1", reg("/a", 0o755), reg("/b", 0o644), reg("/c", 0o644), File{Path: "/l", Type: '2', Mode: 0o777, Owner: "root/root", Link: "a"}),
			arch:   bin("x", "1-1", reg("/a", 0o4755), File{Path: "/b", Type: '0', Mode: 0o644, Owner: "root/daemon"}, dir("/c"), File{Path: "/l", Type: '2', Mode: 0o777, Owner: "root/root", Link: "b"}),
			status: Differ, total: 1,
			lines: []string{"x: differ: /a (mode 0755, archive 4755), /b (owner root/root, archive root/daemon), /c (type file, archive dir, mode 0644, archive 0755), /l (link a, archive b)"},
		},
		{
			name: "build-ids count, not name", ours: bin("x-dbgsym", "1-1", dir("/usr/lib/debug/.build-id/aa"), reg("/usr/lib/debug/.build-id/aa/11.debug", 0o644)),
			arch:   bin("x-dbgsym", "1-1", dir("/usr/lib/debug/.build-id/bb"), reg("/usr/lib/debug/.build-id/bb/22.debug", 0o644)),
			status: Match, match: 1, total: 1,
		},
		{
			name: "build-id counts differ", ours: bin("x-dbgsym", "1-1", reg("/usr/lib/debug/.build-id/aa/11.debug", 0o644)),
			arch:   bin("x-dbgsym", "1-1", reg("/usr/lib/debug/.build-id/bb/22.debug", 0o644), reg("/usr/lib/debug/.build-id/bb/33.debug", 0o644)),
			status: Differ, lines: []string{"x-dbgsym: 1 build-id files, archive 2"}, total: 1,
		},
		{
			name: "dbgsym the archive was not asked for", ours: bin("x-dbgsym", "1-1", reg("/usr/lib/debug/.build-id/aa/11.debug", 0o644)),
			opt: Options{NoArchiveDbgsym: true}, status: Differ, // no package compared at all
			lines: []string{"unchecked, the archive's debug suite was not fetched: x-dbgsym"},
		},
		{
			name: "dbgsym missing from a fetched debug suite", ours: bin("x-dbgsym", "1-1"),
			status: Differ, lines: []string{"x-dbgsym: only-pkgbox; not in the archive"}, total: 1,
		},
		{
			name: "package pkgbox did not build", arch: bin("x", "1-1"),
			status: Differ, lines: []string{"x: only-archive; pkgbox did not build it"}, total: 1,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var o, a []*Binary
			if c.ours != nil {
				o = append(o, c.ours)
			}
			if c.arch != nil {
				a = append(a, c.arch)
			}
			r := Compare(o, a, c.opt)
			if s := r.Status(); s != c.status {
				t.Errorf("status: got %s, want %s (%q)", s, c.status, r.Lines())
			}
			if got := r.Lines(); !reflect.DeepEqual(got, c.lines) {
				t.Errorf("lines:\ngot  %q\nwant %q", got, c.lines)
			}
			if m, n := r.Counts(); m != c.match || n != c.total {
				t.Errorf("counts: got %d/%d, want %d/%d", m, n, c.match, c.total)
			}
		})
	}
}

func TestCompareManyPathsAreCut(t *testing.T) {
	var fs []File
	for _, p := range []string{"/a", "/b", "/c", "/d", "/e", "/f", "/g"} {
		fs = append(fs, reg(p, 0o644))
	}
	r := Compare([]*Binary{bin("x", "1", fs...)}, []*Binary{bin("x", "1")}, Options{})
	want := []string{"x: only pkgbox has /a, /b, /c, /d, /e and 2 more"}
	if got := r.Lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCompareRelations(t *testing.T) {
	for _, c := range []struct {
		name           string
		ours, archive  map[string]string
		diffs, version []string
	}{
		{name: "same", ours: map[string]string{"Depends": "a (>= 1), b | c"}, archive: map[string]string{"Depends": "a  (>= 1),\n b|c"}},
		{
			name: "versions", ours: map[string]string{"Depends": "a (>= 1), b | c (<< 3)"}, archive: map[string]string{"Depends": "a (>= 2), b | c"},
			version: []string{"Depends: a (>= 1), archive a (>= 2); b | c (<< 3), archive b | c"},
		},
		{
			name: "names", ours: map[string]string{"Depends": "a, b | c"}, archive: map[string]string{"Depends": "a, b | d, e"},
			diffs: []string{"Depends: only pkgbox has b | c", "Depends: only the archive has b | d, e"},
		},
		{
			name: "a field on one side", ours: map[string]string{"Built-Using": "golang-1.19 (= 1.19.8-2)"}, archive: map[string]string{},
			diffs: []string{"Built-Using: only pkgbox has golang-1.19 (= 1.19.8-2)"},
		},
		{name: "architecture qualifier is part of the name", ours: map[string]string{"Depends": "python3:any"}, archive: map[string]string{"Depends": "python3"},
			diffs: []string{"Depends: only pkgbox has python3:any", "Depends: only the archive has python3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, v := compareRelations(c.ours, c.archive)
			if !reflect.DeepEqual(d, c.diffs) || !reflect.DeepEqual(v, c.version) {
				t.Errorf("got %q and %q, want %q and %q", d, v, c.diffs, c.version)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("list", strings.NewReader("# corpus\n\nhello  # autotools C\nbc\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{Name: "hello", Covers: "autotools C", Line: 3}, {Name: "bc", Line: 4}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for in, msg := range map[string]string{
		"hello world # x\n":   `list:1: want one source package name and a # comment, got "hello world"`,
		"Hello\n":             `list:1: want one source package name and a # comment, got "Hello"`,
		"hello\n# x\nhello\n": `list:3: "hello" is already on line 1`,
	} {
		if _, err := ParseList("list", strings.NewReader(in)); err == nil || err.Error() != msg {
			t.Errorf("%q: got %v, want %s", in, err, msg)
		}
	}
}

// TestTheList checks the corpus list itself: it parses, is big enough, and
// says what each entry covers.
func TestTheList(t *testing.T) {
	f, err := os.Open("list")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := ParseList("list", f)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < 25 {
		t.Errorf("the corpus has %d sources, want at least 25", len(es))
	}
	for _, e := range es {
		if e.Covers == "" {
			t.Errorf("list:%d: %s says nothing about what it covers", e.Line, e.Name)
		}
	}
}

func TestSelect(t *testing.T) {
	es := []Entry{{Name: "hello"}, {Name: "bc"}, {Name: "cmark"}}
	got, err := Select(es, "cmark, hello")
	if err != nil || len(got) != 2 || got[0].Name != "cmark" || got[1].Name != "hello" {
		t.Errorf("got %+v, %v", got, err)
	}
	if got, _ := Select(es, ""); len(got) != 3 {
		t.Errorf("empty subset: got %d entries, want all 3", len(got))
	}
	if _, err := Select(es, "helo"); err == nil || err.Error() != `"helo" is not on the corpus list` {
		t.Errorf("typo: got %v", err)
	}
}
