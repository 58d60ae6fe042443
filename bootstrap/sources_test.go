package bootstrap

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// formatSources prints sources one a line, for goldens and failures.
func formatSources(srcs []Source) string {
	var b strings.Builder
	for _, s := range srcs {
		fmt.Fprintf(&b, "%s: types=%v uris=%v suites=%v components=%v enabled=%v",
			filepath.ToSlash(s.Origin), s.Types, s.URIs, s.Suites, s.Components, s.Enabled)
		if s.SignedBy != "" {
			fmt.Fprintf(&b, " signed-by=%s", s.SignedBy)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestParseDeb822Sources(t *testing.T) {
	in := `# Written by the installer.
Types: deb deb-src
URIs: http://deb.example.org/debian
 http://deb2.example.org/debian/
Suites: bookworm bookworm-updates
Components: main contrib non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

# A disabled one, with its key inline (continuation lines, " ." for blank).
types: deb
uris: http://security.example.org/debian-security
suites: bookworm-security
components: main
enabled: No
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPLexampleexampleexample
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://flat.example.invalid/repo/
Suites: ./
Enabled: yes
`
	got, err := ParseDeb822Sources(strings.NewReader(in), "debian.sources")
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{
			Types:      []string{"deb", "deb-src"},
			URIs:       []string{"http://deb.example.org/debian", "http://deb2.example.org/debian/"},
			Suites:     []string{"bookworm", "bookworm-updates"},
			Components: []string{"main", "contrib", "non-free-firmware"},
			Enabled:    true,
			SignedBy:   "/usr/share/keyrings/debian-archive-keyring.gpg",
			Origin:     "debian.sources entry 1",
		},
		{
			Types:      []string{"deb"},
			URIs:       []string{"http://security.example.org/debian-security"},
			Suites:     []string{"bookworm-security"},
			Components: []string{"main"},
			Enabled:    false,
			Origin:     "debian.sources entry 2",
		},
		{
			Types:      []string{"deb"},
			URIs:       []string{"http://flat.example.invalid/repo/"},
			Suites:     []string{"./"},
			Components: []string{},
			Enabled:    true,
			Origin:     "debian.sources entry 3",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", formatSources(got), formatSources(want))
	}
}

func TestParseDeb822SourcesErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no types", "URIs: http://deb.example.org/debian\nSuites: bookworm\n", "read x.sources: entry 1 needs Types, URIs and Suites"},
		{"no uris", "Types: deb\nSuites: bookworm\n", "read x.sources: entry 1 needs Types, URIs and Suites"},
		{"no suites in second", "Types: deb\nURIs: http://deb.example.org/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://deb.example.org/debian\n", "read x.sources: entry 2 needs Types, URIs and Suites"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDeb822Sources(strings.NewReader(tt.in), "x.sources")
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q (sources %v)", err, tt.want, got)
			}
		})
	}
	// A file of comments only has no entries, and that is no error.
	got, err := ParseDeb822Sources(strings.NewReader("# nothing here\n\n"), "x.sources")
	if err != nil || len(got) != 0 {
		t.Errorf("comments only: got %v, %v; want nothing", got, err)
	}
}

func TestParseOneLineSources(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Source // Origin is checked as "x.list:1"
	}{
		{"plain", "deb http://deb.example.org/debian bookworm main contrib",
			[]Source{{Types: []string{"deb"}, URIs: []string{"http://deb.example.org/debian"}, Suites: []string{"bookworm"}, Components: []string{"main", "contrib"}}}},
		{"deb-src", "deb-src http://deb.example.org/debian bookworm main",
			[]Source{{Types: []string{"deb-src"}, URIs: []string{"http://deb.example.org/debian"}, Suites: []string{"bookworm"}, Components: []string{"main"}}}},
		{"options", "deb [arch=amd64 signed-by=/usr/share/keyrings/vendor.gpg] https://apt.example.invalid/repo stable main",
			[]Source{{Types: []string{"deb"}, URIs: []string{"https://apt.example.invalid/repo"}, Suites: []string{"stable"}, Components: []string{"main"}, SignedBy: "/usr/share/keyrings/vendor.gpg"}}},
		{"signed-by fingerprints", "deb [signed-by=0123456789ABCDEF,FEDCBA9876543210 arch=amd64] https://apt.example.invalid/repo stable main",
			[]Source{{Types: []string{"deb"}, URIs: []string{"https://apt.example.invalid/repo"}, Suites: []string{"stable"}, Components: []string{"main"}, SignedBy: "0123456789ABCDEF FEDCBA9876543210"}}},
		{"options with blanks", "deb [ arch=amd64,arm64 trusted=yes ]   http://apt.example.invalid/repo bookworm main",
			[]Source{{Types: []string{"deb"}, URIs: []string{"http://apt.example.invalid/repo"}, Suites: []string{"bookworm"}, Components: []string{"main"}}}},
		{"tabs", "deb\thttp://deb.example.org/debian\tbookworm\tmain",
			[]Source{{Types: []string{"deb"}, URIs: []string{"http://deb.example.org/debian"}, Suites: []string{"bookworm"}, Components: []string{"main"}}}},
		{"trailing comment", "deb http://deb.example.org/debian bookworm main # the main one",
			[]Source{{Types: []string{"deb"}, URIs: []string{"http://deb.example.org/debian"}, Suites: []string{"bookworm"}, Components: []string{"main"}}}},
		{"flat", "deb http://flat.example.invalid/repo ./",
			[]Source{{Types: []string{"deb"}, URIs: []string{"http://flat.example.invalid/repo"}, Suites: []string{"./"}}}},
		{"cdrom", "deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD Binary-1 20230610-10:23]/ bookworm contrib main",
			[]Source{{Types: []string{"deb"}, URIs: []string{"cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD Binary-1 20230610-10:23]/"}, Suites: []string{"bookworm"}, Components: []string{"contrib", "main"}}}},
		{"comment", "# deb http://deb.example.org/debian bookworm main", nil},
		{"commented cdrom", "# deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_]/ bookworm main", nil},
		{"blank", "   \t ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOneLineSources(strings.NewReader(tt.in+"\n"), "x.list")
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].Enabled = true
				tt.want[i].Origin = "x.list:1"
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			for i := range got {
				if len(got[i].Components) == 0 {
					got[i].Components = nil
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", formatSources(got), formatSources(tt.want))
			}
		})
	}
}

func TestParseOneLineSourcesOrigins(t *testing.T) {
	in := "# header\n\ndeb http://deb.example.org/debian bookworm main\ndeb-src http://deb.example.org/debian bookworm main\n"
	got, err := ParseOneLineSources(strings.NewReader(in), "sources.list")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Origin != "sources.list:3" || got[1].Origin != "sources.list:4" {
		t.Errorf("got\n%s", formatSources(got))
	}
}

func TestParseOneLineSourcesErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown type", "rpm http://deb.example.org/debian bookworm main", `x.list:2: unknown type "rpm" (want deb or deb-src)`},
		{"type alone", "deb", `x.list:2: want URI and suite after "deb"`},
		{"no suite", "deb http://deb.example.org/debian", `x.list:2: want URI and suite after "deb"`},
		{"no components", "deb http://deb.example.org/debian bookworm", `x.list:2: suite "bookworm" has no components`},
		{"unclosed options", "deb [arch=amd64 http://deb.example.org/debian bookworm main", "x.list:2: options have no closing ]"},
		{"options only", "deb [arch=amd64]", `x.list:2: want URI and suite after "deb"`},
		{"unclosed cdrom", "deb cdrom:[Debian GNU/Linux bookworm main", "x.list:2: cdrom label has no closing ]"},
		{"deb822 in a .list", "Types: deb", `x.list:2: unknown type "Types:" (want deb or deb-src)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOneLineSources(strings.NewReader("# first line\n"+tt.in+"\n"), "x.list")
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q (sources %v)", err, tt.want, got)
			}
		})
	}
}

func TestReadHostSources(t *testing.T) {
	dir := filepath.Join("testdata", "apt-mixed")
	got, err := ReadHostSources(dir)
	// c-broken.list is reported, and the other files still count.
	if err == nil || !strings.Contains(err.Error(), "c-broken.list:1: unknown type") {
		t.Errorf("err = %v, want the broken file named", err)
	}
	out := formatSources(got)
	golden(t, "read-host-sources.golden", out)
	for _, ignored := range []string{"d-old.list.save", "e-off.sources.disabled", "README", "saved.example.org", "disabled.example.org"} {
		if strings.Contains(out, ignored) {
			t.Errorf("%s was read; apt ignores it:\n%s", ignored, out)
		}
	}

	// No apt directory at all: nothing, and no error.
	got, err = ReadHostSources(filepath.Join(t.TempDir(), "missing"))
	if err != nil || len(got) != 0 {
		t.Errorf("missing dir: got %v, %v", got, err)
	}
}

func TestHostMirror(t *testing.T) {
	one := func(line string) Source {
		t.Helper()
		s, err := ParseOneLineSources(strings.NewReader(line), "l")
		if err != nil || len(s) != 1 {
			t.Fatalf("fixture %q: %v %v", line, s, err)
		}
		return s[0]
	}
	bookworm, _ := LookupSuite("bookworm")
	trixie, _ := LookupSuite("trixie")
	squeeze, _ := LookupSuite("squeeze")
	const (
		sec     = "deb http://security.example.org/debian-security bookworm-security main"
		updates = "deb http://updates.example.org/debian bookworm-updates main"
		main    = "deb http://deb.example.org/debian/ bookworm main"
	)
	disabled := one("deb http://off.example.org/debian bookworm main")
	disabled.Enabled = false
	tests := []struct {
		name    string
		sources []Source
		suite   Suite
		want    string
	}{
		{"codename beats updates and security listed first", []Source{one(sec), one(updates), one(main)}, bookworm, "http://deb.example.org/debian"},
		{"other current release", []Source{one(sec), one(updates), one(main)}, trixie, "http://updates.example.org/debian"},
		{"security host never used", []Source{one(sec)}, bookworm, ""},
		{"old-style security suite", []Source{one("deb http://security.example.org/ stretch/updates main")}, bookworm, ""},
		{"deb-src does not count", []Source{one("deb-src http://src.example.org/debian bookworm main"), one(main)}, bookworm, "http://deb.example.org/debian"},
		{"disabled does not count", []Source{disabled, one(main)}, bookworm, "http://deb.example.org/debian"},
		{"unusable schemes skipped", []Source{
			one("deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_]/ bookworm main"),
			one("deb mirror+file:/etc/apt/mirrors.txt bookworm main"),
			one("deb tor+http://onion.example.invalid/debian bookworm main"),
			one(main),
		}, bookworm, "http://deb.example.org/debian"},
		{"first usable URI of an entry", []Source{{Types: []string{"deb"}, URIs: []string{"cdrom:/media/", "https://deb.example.org/debian/"}, Suites: []string{"bookworm"}, Enabled: true, Origin: "x.sources entry 1"}}, bookworm, "https://deb.example.org/debian"},
		{"alias", []Source{one("deb http://deb.example.org/debian oldstable main")}, bookworm, "http://deb.example.org/debian"},
		{"codename beats an earlier vendor 'stable'", []Source{
			one("deb [signed-by=/usr/share/keyrings/vendor.gpg] https://apt.vendor.example.invalid/repo stable main"),
			one("deb http://deb.example.org/debian trixie main"),
		}, trixie, "http://deb.example.org/debian"},
		{"archived wants the archive", []Source{one(main), one("deb http://archive.example.invalid/debian buster main")}, squeeze, "http://archive.example.invalid/debian"},
		{"archived never gets a current mirror", []Source{one(main), one(updates)}, squeeze, ""},
		{"current never gets the archive", []Source{one("deb http://archive.example.invalid/debian buster main")}, bookworm, ""},
		{"unknown suites do not count", []Source{one("deb http://ubuntu.example.invalid/ubuntu noble main")}, bookworm, ""},
		{"nothing", nil, bookworm, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, origin := HostMirror(tt.sources, tt.suite, "")
			if got != tt.want {
				t.Errorf("HostMirror = %q (from %q), want %q", got, origin, tt.want)
			}
			if (got == "") != (origin == "") {
				t.Errorf("HostMirror = %q from %q: both or neither", got, origin)
			}
		})
	}
}

func TestHostMirrorFixture(t *testing.T) {
	srcs, _ := ReadHostSources(filepath.Join("testdata", "apt-mixed"))
	for _, tt := range []struct{ suite, want, origin string }{
		{"bookworm", "http://deb.example.org/debian", "sources.list:7"},
		{"bullseye", "http://deb.example.org/debian", "sources.list:5"},
		{"buster", "", ""},
	} {
		s, _ := LookupSuite(tt.suite)
		got, origin := HostMirror(srcs, s, "")
		if got != tt.want || strings.TrimPrefix(filepath.Base(origin), ".") != tt.origin {
			t.Errorf("%s: HostMirror = %q from %q, want %q from %q", tt.suite, got, origin, tt.want, tt.origin)
		}
	}
}

func TestUsableURI(t *testing.T) {
	for uri, want := range map[string]bool{
		"http://deb.example.org/debian":   true,
		"https://deb.example.org/debian":  true,
		"ftp://deb.example.org/debian":    true,
		"file:///srv/mirror/debian":       true,
		"cdrom:/media/cdrom/":             false,
		"mirror+file:/etc/apt/mirror.lst": false,
		"tor+http://deb.example.invalid/": false,
		"/srv/mirror/debian":              false,
		"":                                false,
		"http://[bad":                     false,
	} {
		if got := usableURI(uri); got != want {
			t.Errorf("usableURI(%q) = %v, want %v", uri, got, want)
		}
	}
}

// TestHostMirrorOrigin: an entry counts as Debian's by the Origin of its
// Release file in apt's lists when apt has one, else by its Signed-By
// keyring, else by its suite's name; a third-party repository is never
// chosen, whatever it calls its suite and wherever it is listed.
func TestHostMirrorOrigin(t *testing.T) {
	lists := filepath.Join("testdata", "apt-lists")
	one := func(line string) Source {
		t.Helper()
		s, err := ParseOneLineSources(strings.NewReader(line), "l")
		if err != nil || len(s) != 1 {
			t.Fatalf("fixture %q: %v %v", line, s, err)
		}
		return s[0]
	}
	deb822 := func(text string) Source {
		t.Helper()
		s, err := ParseDeb822Sources(strings.NewReader(text), "debian.sources")
		if err != nil || len(s) != 1 {
			t.Fatalf("fixture %q: %v %v", text, s, err)
		}
		return s[0]
	}
	bookworm, _ := LookupSuite("bookworm")
	stable, _ := LookupSuite("stable")
	const (
		// Its lists say Origin: Vendor Inc.
		vendor = "deb https://apt.vendor.example.invalid/repo stable main"
		// No lists, no keyring: only its suite's name speaks for it.
		unknownStable = "deb https://apt.other.example.invalid/repo stable main"
		// No lists, another keyring.
		keyedStable = "deb [signed-by=/usr/share/keyrings/other-archive-keyring.gpg] https://apt.other.example.invalid/repo stable main"
		// No lists, Debian's keyring.
		debianKeyed = "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example.net/debian trixie main"
		// Lists say Origin: Debian.
		debianBookworm = "deb http://deb.example.org/debian bookworm main"
		debianStable   = "deb http://deb.example.org/debian/ stable main"
		// Lists say Origin: Someone, for a suite named like Debian's.
		someone = "deb http://user:secret@ports.example.invalid/my_repo/~u bookworm main"
	)
	debianSources := deb822("Types: deb\nURIs: http://deb.example.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
	vendorSources := deb822("Types: deb\nURIs: https://apt.vendor.example.invalid/repo\nSuites: stable\nComponents: main\nSigned-By: /usr/share/keyrings/vendor.gpg\n")
	tests := []struct {
		name    string
		sources []Source
		suite   Suite
		lists   string
		want    string
	}{
		{"vendor stable listed first, Debian's by its lists", []Source{one(vendor), one(debianBookworm)}, stable, lists, "http://deb.example.org/debian"},
		{"vendor stable (deb822) before debian.sources", []Source{vendorSources, debianSources}, stable, "", "http://deb.example.org/debian"},
		{"vendor stable alone", []Source{one(vendor)}, stable, lists, ""},
		{"vendor keyring, no lists", []Source{one(keyedStable), one(debianBookworm)}, stable, "", "http://deb.example.org/debian"},
		{"Debian's keyring beats an unknown stable", []Source{one(unknownStable), one(debianKeyed)}, stable, "", "http://mirror.example.net/debian"},
		{"Debian's lists beat an unknown stable", []Source{one(unknownStable), one(debianBookworm)}, stable, lists, "http://deb.example.org/debian"},
		{"Debian's own stable", []Source{one(vendor), one(debianStable)}, stable, lists, "http://deb.example.org/debian"},
		{"unknown stable, nothing better: by its name", []Source{one(unknownStable)}, stable, "", "https://apt.other.example.invalid/repo"},
		{"a codename of another origin", []Source{one(someone), one(debianStable)}, bookworm, lists, "http://deb.example.org/debian"},
		{"a codename of another origin alone", []Source{one(someone)}, bookworm, lists, ""},
		{"no lists at all: the codename", []Source{one(someone), one(debianBookworm)}, bookworm, filepath.Join(t.TempDir(), "missing"), "http://user:secret@ports.example.invalid/my_repo/~u"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, origin := HostMirror(tt.sources, tt.suite, tt.lists)
			if got != tt.want {
				t.Errorf("HostMirror = %q (from %q), want %q", got, origin, tt.want)
			}
		})
	}
}

func TestReleaseOf(t *testing.T) {
	lists := filepath.Join("testdata", "apt-lists")
	for _, tt := range []struct {
		uri, suite string
		want       Release
		ok         bool
	}{
		{"http://deb.example.org/debian", "bookworm", Release{Origin: "Debian", Suite: "oldstable", Codename: "bookworm"}, true},
		{"https://deb.example.org/debian/", "stable", Release{Origin: "Debian", Suite: "stable", Codename: "trixie"}, true},
		{"https://apt.vendor.example.invalid/repo", "stable", Release{Origin: "Vendor Inc.", Suite: "stable", Codename: "stable"}, true},
		{"http://user:secret@ports.example.invalid/my_repo/~u", "bookworm", Release{Origin: "Someone", Suite: "bookworm", Codename: "bookworm"}, true},
		{"http://deb.example.org/debian", "trixie", Release{}, false},
		{"http://flat.example.invalid/repo", "./", Release{}, false},
	} {
		got, ok := releaseOf(lists, tt.uri, tt.suite)
		if got != tt.want || ok != tt.ok {
			t.Errorf("releaseOf(%q, %q) = %+v, %v; want %+v, %v", tt.uri, tt.suite, got, ok, tt.want, tt.ok)
		}
	}
}
