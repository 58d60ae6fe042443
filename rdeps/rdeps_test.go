package rdeps

import (
	"fmt"
	"strings"
	"testing"
)

const packages = `Package: libfoo1
Version: 1.0-1
Architecture: amd64

Package: libfoo-dev
Source: foo
Version: 1.0-1
Architecture: amd64
Provides: libfoo-api (= 1.0), libfoo-compat
Depends: libfoo1 (= 1.0-1)

Package: libfoo-dev-doc
Version: 1.0-1
Architecture: all
Provides: libfoo-dev-manual
`

const sources = `Package: uses-dev
Binary: uses-dev
Version: 2.0-1
Build-Depends: debhelper-compat (= 13), libfoo-dev (>= 1.0)

Package: uses-dev
Binary: uses-dev
Version: 2.1-1
Build-Depends: debhelper-compat (= 13), libfoo-dev (>= 1.0)

Package: uses-dev
Binary: uses-dev
Version: 1.9-1
Build-Depends: debhelper-compat (= 13), libfoo-dev

Package: via-provides
Binary: via-provides
Version: 1.0
Build-Depends-Indep: libbar-dev | libfoo-compat

Package: arch-only-i386
Binary: arch-only-i386
Version: 1.0
Build-Depends: libfoo-dev [i386]

Package: not-with-nocheck
Binary: not-with-nocheck
Version: 1.0
Build-Depends-Arch: libfoo-dev <!nocheck>

Package: similar-name
Binary: similar-name
Version: 1.0
Build-Depends: libfoo-dev-doc, libfoo1

Package: unrelated
Binary: unrelated
Version: 1.0
Build-Depends: debhelper-compat (= 13)
`

func find(t *testing.T, binary, arch string, profiles ...string) string {
	t.Helper()
	names, err := Provided(binary, []List{{"Packages", strings.NewReader(packages)}})
	if err != nil {
		t.Fatal(err)
	}
	found, err := Find(names, arch, profiles, []List{{"Sources", strings.NewReader(sources)}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range found {
		out = append(out, s.Arg()+" via "+s.Via)
	}
	return strings.Join(out, "; ")
}

func TestFind(t *testing.T) {
	for _, c := range []struct {
		binary, arch string
		profiles     []string
		want         string
	}{
		// The newest version; a provided name; restrictions evaluated.
		{"libfoo-dev", "amd64", nil, "not-with-nocheck=1.0 via libfoo-dev; uses-dev=2.1-1 via libfoo-dev; via-provides=1.0 via libfoo-compat"},
		{"libfoo-dev", "i386", nil, "arch-only-i386=1.0 via libfoo-dev; not-with-nocheck=1.0 via libfoo-dev; uses-dev=2.1-1 via libfoo-dev; via-provides=1.0 via libfoo-compat"},
		{"libfoo-dev", "amd64", []string{"nocheck"}, "uses-dev=2.1-1 via libfoo-dev; via-provides=1.0 via libfoo-compat"},
		{"libfoo1", "amd64", nil, "similar-name=1.0 via libfoo1"},
		{"no-such-package", "amd64", nil, ""},
	} {
		if got := find(t, c.binary, c.arch, c.profiles...); got != c.want {
			t.Errorf("%s on %s %v:\n got %s\nwant %s", c.binary, c.arch, c.profiles, got, c.want)
		}
	}
}

func TestProvided(t *testing.T) {
	names, err := Provided("libfoo-dev", []List{{"Packages", strings.NewReader(packages)}})
	if got := fmt.Sprint(names, err); got != "[libfoo-dev libfoo-api libfoo-compat] <nil>" {
		t.Errorf("got %s", got)
	}
}

func TestFindBadList(t *testing.T) {
	_, err := Find([]string{"libfoo-dev"}, "amd64", nil, []List{{"Sources", strings.NewReader("Package: x\nVersion: 1.0\nBuild-Depends: libfoo-dev (>> \n")}})
	if err == nil || !strings.HasPrefix(err.Error(), "Sources: ") {
		t.Errorf("got %v", err)
	}
}
