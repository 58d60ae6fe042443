package debian

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// seeds adds the testdata packages' files called name, and extra.
func seeds(f *testing.F, name string, extra ...string) {
	files, _ := filepath.Glob("../testdata/packages/*/debian/" + name)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// oneLineAt matches an error of ours for file "f": one line, "f: " or
// "f:LINE: " first.
var oneLineAt = regexp.MustCompile(`^f(:[1-9][0-9]*)?: [^\n]+$`)

// versionPart matches the " (>= 1.0)" of a relation BuildDeps wrote.
var versionPart = regexp.MustCompile(` \((<<|<=|=|>=|>>) [^ ()]+\)`)

// FuzzReadControl checks parseControl, the entry point taking a
// debian/control's content (the .dsc and .changes readers share its
// paragraph reader and relation checks): it never panics, its errors are
// one line "f:LINE: ...", and what it accepts BuildDeps can reduce without
// error into relations free of restrictions.
func FuzzReadControl(f *testing.F) {
	seeds(f, "control", goodControl, clearsign(goodControl), goodChanges,
		"Source: a\nBuild-Depends: ${x}, a:any [!amd64] <!nocheck> <stage1 cross>, b (>= 1) | c [linux-any]\n\nPackage: a\nArchitecture: any\n",
		" x\n\nSource: a\n", "-----BEGIN PGP SIGNED MESSAGE-----\n\nSource: a\n-----BEGIN PGP SIGNATURE-----\n")
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := parseControl("f", in)
		if err != nil {
			if !oneLineAt.MatchString(err.Error()) {
				t.Fatalf("error %q is not one line starting f:LINE: ", err)
			}
			return
		}
		if !packageName().MatchString(s.Name) {
			t.Fatalf("accepted source name %q", s.Name)
		}
		for _, profiles := range [][]string{nil, {"nocheck", "stage1", "cross"}} {
			deps, confl, err := s.BuildDeps("amd64", profiles, true, true)
			if err != nil {
				t.Fatalf("BuildDeps of accepted control: %v", err)
			}
			for _, out := range []string{deps, confl} {
				if strings.ContainsAny(versionPart.ReplaceAllString(out, ""), "[]<>()$\n\t") {
					t.Fatalf("BuildDeps output %q keeps a restriction or odd byte", out)
				}
			}
		}
		// The .dsc and .changes readers go through the same paragraphs.
		parseDsc("f", in)
		parseChanges("f", in)
	})
}

// FuzzReadChangelog checks parseChangelog, the entry point taking a
// debian/changelog's content: it never panics, its errors are one line
// "f:LINE: ...", and what it accepts has a version fit for a file name.
func FuzzReadChangelog(f *testing.F) {
	seeds(f, "changelog", goodChangelog, "a (1:2.0~rc1+dfsg-0.1) b; urgency=low\n\n -- x  Mon, 01 Jan 2024 00:00:00 +0000",
		"a (abc) b\n", "\n\n  * x\n", "a (1) b\n\n  * x\nb (2) c\n", "a (1-) b\n\n -- x  y\n")
	safe := regexp.MustCompile(`^[0-9][A-Za-z0-9.+~-]*$`)
	f.Fuzz(func(t *testing.T, in []byte) {
		top, err := parseChangelog("f", in)
		if err != nil {
			if !oneLineAt.MatchString(err.Error()) {
				t.Fatalf("error %q is not one line starting f:LINE: ", err)
			}
			return
		}
		s := Source{Version: top.Version}
		if !safe.MatchString(s.VersionNoEpoch()) || !safe.MatchString(s.UpstreamVersion()) {
			t.Fatalf("accepted version %q", top.Version)
		}
		if !packageName().MatchString(top.Source) || top.Distribution == "" {
			t.Fatalf("accepted %q %q", top.Source, top.Distribution)
		}
	})
}
