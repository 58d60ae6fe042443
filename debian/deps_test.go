package debian

import (
	"testing"

	"pault.ag/go/debian/dependency"
)

func TestBuildDeps(t *testing.T) {
	type fields struct{ bd, bda, bdi, bc, bca, bci string }
	for _, tt := range []struct {
		name        string
		f           fields
		arch        string
		profiles    []string
		archDep     bool
		indep       bool
		deps, confl string
	}{
		{"empty", fields{}, "amd64", nil, true, true, "", ""},
		{"plain", fields{bd: "debhelper-compat (= 13), pkg-config"}, "amd64", nil, true, true, "debhelper-compat (= 13), pkg-config", ""},
		{"versions", fields{bd: "aa (>= 1.0), bb (<< 2:3-1~), cc (>> 1), dd (<= 1), ee (= 1)"}, "amd64", nil, false, false, "aa (>= 1.0), bb (<< 2:3-1~), cc (>> 1), dd (<= 1), ee (= 1)", ""},
		{"arch match", fields{bd: "aa [amd64], bb [i386]"}, "amd64", nil, false, false, "aa", ""},
		{"arch list", fields{bd: "aa [i386 amd64 arm64]"}, "arm64", nil, false, false, "aa", ""},
		{"arch negated", fields{bd: "aa [!amd64], bb [!i386]"}, "amd64", nil, false, false, "bb", ""},
		{"arch wildcard", fields{bd: "aa [linux-any], bb [hurd-any], cc [any-amd64], dd [any-i386]"}, "amd64", nil, false, false, "aa, cc", ""},
		{"alternatives", fields{bd: "aa [i386] | bb, cc | dd [!amd64] | ee"}, "amd64", nil, false, false, "bb, cc | ee", ""},
		{"all alternatives dropped", fields{bd: "xx, aa [i386] | bb [arm64], yy"}, "amd64", nil, false, false, "xx, yy", ""},
		{"nocheck without profile", fields{bd: "aa, check <!nocheck>"}, "amd64", nil, false, false, "aa, check", ""},
		{"nocheck with profile", fields{bd: "aa, check <!nocheck>"}, "amd64", []string{"nocheck"}, false, false, "aa", ""},
		{"stage1 without profile", fields{bd: "aa <stage1>, bb <!stage1>"}, "amd64", nil, false, false, "bb", ""},
		{"stage1 with profile", fields{bd: "aa <stage1>, bb <!stage1>"}, "amd64", []string{"stage1"}, false, false, "aa", ""},
		{"or of ands", fields{bd: "aa <stage1 cross> <nocheck>"}, "amd64", []string{"stage1"}, false, false, "", ""},
		{"or of ands: both", fields{bd: "aa <stage1 cross> <nocheck>"}, "amd64", []string{"stage1", "cross"}, false, false, "aa", ""},
		{"or of ands: other", fields{bd: "aa <stage1 cross> <nocheck>"}, "amd64", []string{"", "nocheck"}, false, false, "aa", ""},
		{"arch and profile", fields{bd: "aa [amd64] <!nocheck> | bb"}, "amd64", []string{"nocheck"}, false, false, "bb", ""},
		{"qualifiers", fields{bd: "python3:any, gcc:native (>= 4), libc6-dev:amd64"}, "amd64", nil, false, false, "python3:any, gcc (>= 4), libc6-dev:amd64", ""},
		{"arch fields", fields{bd: "aa", bda: "bb", bdi: "cc", bc: "xx", bca: "yy", bci: "zz"}, "amd64", nil, true, false, "aa, bb", "xx, yy"},
		{"indep fields", fields{bd: "aa", bda: "bb", bdi: "cc", bc: "xx", bca: "yy", bci: "zz"}, "amd64", nil, false, true, "aa, cc", "xx, zz"},
		{"all fields", fields{bd: "aa", bda: "bb", bdi: "cc", bc: "xx", bca: "yy", bci: "zz"}, "amd64", nil, true, true, "aa, bb, cc", "xx, yy, zz"},
		{"only always fields", fields{bd: "aa", bda: "bb", bdi: "cc", bc: "xx", bca: "yy", bci: "zz"}, "amd64", nil, false, false, "aa", "xx"},
		{"only -Arch", fields{bda: "bb"}, "amd64", nil, true, false, "bb", ""},
		{"conflicts reduced", fields{bc: "xx [i386], yy (<< 2) [amd64] <!nocheck>"}, "amd64", nil, false, false, "", "yy (<< 2)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := Source{
				BuildDepends: mustDeps(t, tt.f.bd), BuildDependsArch: mustDeps(t, tt.f.bda), BuildDependsIndep: mustDeps(t, tt.f.bdi),
				BuildConflicts: mustDeps(t, tt.f.bc), BuildConflictsArch: mustDeps(t, tt.f.bca), BuildConflictsIndep: mustDeps(t, tt.f.bci),
			}
			deps, confl, err := s.BuildDeps(tt.arch, tt.profiles, tt.archDep, tt.indep)
			checkErr(t, err, "")
			if deps != tt.deps || confl != tt.confl {
				t.Errorf("got depends %q conflicts %q, want %q, %q", deps, confl, tt.deps, tt.confl)
			}
		})
	}
}

func mustDeps(t *testing.T, v string) (d dependency.Dependency) {
	t.Helper()
	d, err := parseDeps(v)
	if err != nil {
		t.Fatalf("parseDeps(%q): %v", v, err)
	}
	return d
}

func TestBuildDepsErrors(t *testing.T) {
	s := &Source{BuildDepends: mustDeps(t, "aa")}
	for _, tt := range []struct {
		arch     string
		profiles []string
		want     string
	}{
		{"", nil, `^invalid build architecture ""$`},
		{"all", nil, `^invalid build architecture "all"$`},
		{"any", nil, `^build architecture "any" is a wildcard`},
		{"linux-any", nil, `^build architecture "linux-any" is a wildcard`},
		{"amd64 i386", nil, `^invalid build architecture "amd64 i386"$`},
		{"amd64", []string{"No Check"}, `^invalid build profile "No Check"$`},
	} {
		_, _, err := s.BuildDeps(tt.arch, tt.profiles, true, true)
		checkErr(t, err, tt.want)
	}
	// A Source built by hand, not by ReadSource, is still checked.
	bad := &Source{BuildDepends: mustDeps(t, "aa")}
	bad.BuildDepends.Relations[0].Possibilities[0].Name = "aa, bb"
	_, _, err := bad.BuildDeps("amd64", nil, true, true)
	checkErr(t, err, `^reduce Build-Depends: invalid package name "aa, bb"$`)
}

// A cross build evaluates restrictions for the host architecture and keeps
// ":native" for apt's --host-architecture.
func TestCrossBuildDeps(t *testing.T) {
	s := &Source{BuildDepends: mustDeps(t, "gcc:native (>= 4), libfoo-dev [arm64], libbar-dev [amd64], python3:any, check <!nocheck>, cross-tool <cross>")}
	deps, _, err := s.CrossBuildDeps("arm64", []string{"cross", "nocheck"}, true, true)
	checkErr(t, err, "")
	if want := "gcc:native (>= 4), libfoo-dev, python3:any, cross-tool"; deps != want {
		t.Errorf("got %q, want %q", deps, want)
	}
	native, _, err := s.BuildDeps("amd64", nil, true, true)
	checkErr(t, err, "")
	if want := "gcc (>= 4), libbar-dev, python3:any, check"; native != want {
		t.Errorf("native: got %q, want %q", native, want)
	}
}
