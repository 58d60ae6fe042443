package rdeps

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"pault.ag/go/debian/dependency"

	"pkgbox/debian"
)

func TestUses(t *testing.T) {
	for _, tc := range []struct{ deps, want string }{
		{"debhelper-compat (= 13), libfoo-dev (>= 2)", "libfoo-dev"},
		{"libbar-dev | libfoo-api", "libfoo-api"},
		{"libfoo-dev [i386]", ""},
		{"libfoo-dev <!nocheck>", ""}, // reduced with the nocheck profile
		{"libfoo-dev-doc", ""},
	} {
		d, err := dependency.Parse(tc.deps)
		if err != nil {
			t.Fatal(err)
		}
		src := &debian.Source{Name: "x", BuildDepends: *d}
		got, err := Uses(src, []string{"libfoo-dev", "libfoo-api"}, "amd64", []string{"nocheck"})
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.deps, got, err, tc.want)
		}
	}
}

// TestProvidedByDebs reads Provides from the control data of a real .deb
// of the binary package, and ignores .debs of other packages.
func TestProvidedByDebs(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("needs dpkg-deb")
	}
	dir := t.TempDir()
	mk := func(name, provides string) string {
		tree := filepath.Join(t.TempDir(), name)
		os.MkdirAll(filepath.Join(tree, "DEBIAN"), 0o755)
		ctrl := "Package: " + name + "\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.invalid>\nDescription: test\n"
		if provides != "" {
			ctrl += "Provides: " + provides + "\n"
		}
		os.WriteFile(filepath.Join(tree, "DEBIAN/control"), []byte(ctrl), 0o644)
		deb := filepath.Join(dir, name+".deb")
		if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", tree, deb).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb: %v: %s", err, out)
		}
		return deb
	}
	debs := []string{mk("libfoo-dev", "libfoo-api (= 1.0), libfoo-compat"), mk("other", "libother-api")}
	names, err := ProvidedByDebs("libfoo-dev", debs)
	if err != nil || !slices.Equal(names, []string{"libfoo-dev", "libfoo-api", "libfoo-compat"}) {
		t.Errorf("names %q, %v", names, err)
	}
	if _, err := ProvidedByDebs("libfoo-dev", []string{filepath.Join(dir, "missing.deb")}); err == nil {
		t.Error("a missing .deb was not an error")
	}
}
