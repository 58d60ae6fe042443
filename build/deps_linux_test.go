package build_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pkgbox/build"
)

// TestBuildDummyDeps installs the build dependencies the way roots whose
// apt has no satisfy (buster and older) need: through a dummy package.
func TestBuildDummyDeps(t *testing.T) {
	// Without layers: a reused one would install nothing.
	res, err, _ := buildPkg(t, "needs-deps", func(r *build.Request) { build.ForceDummyDeps(r); r.NoLayers = true })
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	checkDebs(t, res, "1.0", map[string][]string{"needs-deps_1.0_" + res.Arch + ".deb": {"/usr/bin/needs-deps"}})
	log, _ := os.ReadFile(res.Log)
	if !strings.Contains(string(log), "pkgbox-build-deps") {
		t.Errorf("the log does not show the dummy package:\n%s", log)
	}
}

// makeDeb builds a binary package named name whose postinst is script.
func makeDeb(t *testing.T, name, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pkg", "DEBIAN"), 0o755); err != nil {
		t.Fatal(err)
	}
	control := "Package: " + name + "\nVersion: 1.0\nArchitecture: all\nMaintainer: pkgbox tests <pkgbox@example.invalid>\nDescription: pkgbox test\n"
	if err := os.WriteFile(filepath.Join(dir, "pkg", "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pkg", "DEBIAN", "postinst"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, name+"_1.0_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", filepath.Join(dir, "pkg"), deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v: %s", err, out)
	}
	return deb
}

// TestBuildMaintainerScripts: a maintainer script run by the dependency
// install can write to its stdout (apt's status has its own descriptor;
// libxml-sax-perl's postinst died of the shared one), and cannot write
// into the store's apt cache, which later builds install from.
func TestBuildMaintainerScripts(t *testing.T) {
	s := sharedStore(t)
	deb := makeDeb(t, "pkgbox-test-postinst", "#!/bin/sh\nset -e\necho 'postinst writes to stdout'\n"+
		"if touch /var/cache/apt/archives/pkgbox-poison_1.0_all.deb 2>/dev/null; then echo 'postinst wrote to the apt cache'; fi\n")
	// Without layers: a reused one would run no maintainer script.
	res, err, _ := buildPkg(t, "hello-c", func(r *build.Request) { r.ExtraPackages = []string{deb}; r.NoLayers = true })
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	log, _ := os.ReadFile(res.Log)
	if !strings.Contains(string(log), "postinst writes to stdout") {
		t.Errorf("the postinst's output is not in the log:\n%s", log)
	}
	if strings.Contains(string(log), "postinst wrote to the apt cache") {
		t.Error("the postinst could write into the apt cache")
	}
	poison, _ := filepath.Glob(filepath.Join(s.Dir, "cache", "apt", "*", "pkgbox-poison*"))
	if len(poison) > 0 {
		t.Errorf("the apt cache holds %v", poison)
	}
}

// TestBuildPoisonedCache: a cached .deb of the right name and size but the
// wrong content is never installed; apt itself would take it as it is.
func TestBuildPoisonedCache(t *testing.T) {
	s := sharedStore(t)
	// A first build fills the cache with needs-deps' dependencies.
	// Without layers, which would leave the cache unread.
	noLayers := func(r *build.Request) { r.NoLayers = true }
	if res, err, _ := buildPkg(t, "needs-deps", noLayers); err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	debs, _ := filepath.Glob(filepath.Join(s.Dir, "cache", "apt", "*", "zlib1g-dev_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("want one cached zlib1g-dev, got %v", debs)
	}
	fi, err := os.Stat(debs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(debs[0], make([]byte, fi.Size()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err, _ := buildPkg(t, "needs-deps", noLayers)
	if err != nil {
		t.Fatalf("build with a poisoned cache: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	// The log holds the scripts too: look for the message as printed.
	poisoned := "\npkgbox: cached " + filepath.Base(debs[0]) + " does not match the package lists"
	log, _ := os.ReadFile(res.Log)
	if !strings.Contains(string(log), poisoned) {
		t.Errorf("the poisoned file was not noticed:\n%s", log)
	}
	if out, err := exec.Command("dpkg-deb", "--info", debs[0]).CombinedOutput(); err != nil {
		t.Errorf("the cache still holds the poisoned file: %v: %s", err, out)
	}
	// Now that every file is cached and checked, apt is not run again
	// to download nothing.
	res, err, _ = buildPkg(t, "needs-deps", noLayers)
	if err != nil {
		t.Fatalf("build with a warm cache: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	log, _ = os.ReadFile(res.Log)
	if !strings.Contains(string(log), "\npkgbox: every package is in the cache and matches the package lists: nothing to download") || strings.Contains(string(log), poisoned) {
		t.Errorf("a build with every package cached did not skip the download:\n%s", log)
	}
}
