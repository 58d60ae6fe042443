package build_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pkgbox/build"
	"pkgbox/internal/testenv"
)

// testPackage is a binary package of a test repository.
type testPackage struct{ name, version, depends string }

// testRepo is a flat apt repository made in the test: dpkg-deb builds its
// packages, apt-ftparchive indexes them and writes its Release file (with
// release fields such as "NotAutomatic=yes"), gpg signs it when key is set.
type testRepo struct {
	dir string
	// key is the armored public key that signs it, or "".
	key string
}

// newGPG makes a throw-away OpenPGP key and returns a function that runs
// gpg with its home directory. The home is short (gpg-agent's socket path
// must fit in 108 bytes) and the agent is stopped when the test ends.
func newGPG(t *testing.T) func(args ...string) []byte {
	t.Helper()
	home, err := os.MkdirTemp("", "pkgbox-gpg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	gpg := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("gpg %v: %v: %s", args, err, stderr)
		}
		return out
	}
	gpg("--quick-gen-key", "pkgbox test repository <pkgbox@example.invalid>", "ed25519", "sign", "never")
	return gpg
}

// makeRepo builds a flat repository of pkgs in a fresh directory.
func makeRepo(t *testing.T, gpg func(...string) []byte, release []string, pkgs ...testPackage) *testRepo {
	t.Helper()
	r := &testRepo{dir: filepath.Join(t.TempDir(), "repo")}
	r.add(t, gpg, release, pkgs...)
	return r
}

// add puts pkgs into the repository and indexes (and signs) it again.
func (r *testRepo) add(t *testing.T, gpg func(...string) []byte, release []string, pkgs ...testPackage) {
	t.Helper()
	run := func(name string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = r.dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return out
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		tree := filepath.Join(t.TempDir(), p.name)
		if err := os.MkdirAll(filepath.Join(tree, "DEBIAN"), 0o755); err != nil {
			t.Fatal(err)
		}
		control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: pkgbox tests <pkgbox@example.invalid>\nDescription: pkgbox test package\n", p.name, p.version)
		if p.depends != "" {
			control += "Depends: " + p.depends + "\n"
		}
		if err := os.WriteFile(filepath.Join(tree, "DEBIAN", "control"), []byte(control), 0o644); err != nil {
			t.Fatal(err)
		}
		run("dpkg-deb", "--root-owner-group", "--build", tree, filepath.Join(r.dir, p.name+"_"+p.version+"_all.deb"))
	}
	for _, f := range []string{"Release", "InRelease", "Release.gpg"} {
		os.Remove(filepath.Join(r.dir, f))
	}
	if err := os.WriteFile(filepath.Join(r.dir, "Packages"), run("apt-ftparchive", "packages", "."), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{}
	for _, f := range release {
		k, v, _ := strings.Cut(f, "=")
		args = append(args, "-o", "APT::FTPArchive::Release::"+k+"="+v)
	}
	rel := run("apt-ftparchive", append(args, "release", ".")...)
	if err := os.WriteFile(filepath.Join(r.dir, "Release"), rel, 0o644); err != nil {
		t.Fatal(err)
	}
	if gpg != nil {
		gpg("--yes", "--clearsign", "-o", filepath.Join(r.dir, "InRelease"), filepath.Join(r.dir, "Release"))
		key := filepath.Join(filepath.Dir(r.dir), "key.asc")
		if err := os.WriteFile(key, gpg("--armor", "--export"), 0o644); err != nil {
			t.Fatal(err)
		}
		r.key = key
	}
}

// needing copies hello-c with more Build-Depends.
func needing(deps string) func(*build.Request) {
	return func(r *build.Request) {
		control := filepath.Join(r.Source, "debian", "control")
		data, err := os.ReadFile(control)
		if err != nil {
			panic(err)
		}
		data = []byte(strings.Replace(string(data), "Build-Depends: debhelper-compat (= 13)", "Build-Depends: debhelper-compat (= 13), "+deps, 1))
		if err := os.WriteFile(control, data, 0o644); err != nil {
			panic(err)
		}
	}
}

// installed is the "name:arch version" lines of the build environment a
// build's log lists.
func installed(t *testing.T, res *build.Result) string {
	t.Helper()
	log, err := os.ReadFile(res.Log)
	if err != nil {
		t.Fatal(err)
	}
	_, env, ok := strings.Cut(string(log), "Build environment: ")
	if !ok {
		t.Fatalf("%s lists no build environment", res.Log)
	}
	return env
}

// TestBuildExtraRepository: a build that needs a package found only in a
// local signed repository fails without it and builds with it; the root
// is left as it was; a layer made with the repository is reused while the
// repository is the same and not once it has changed.
func TestBuildExtraRepository(t *testing.T) {
	_, rootPath := testenv.SharedRoot(t)
	gpg := newGPG(t)
	repo := makeRepo(t, gpg, []string{"Suite=pkgbox-extra", "Codename=pkgbox-extra"}, testPackage{"pkgbox-extra-dep", "1.0", ""})
	needs := needing("pkgbox-extra-dep")

	res, err, _ := buildPkg(t, "hello-c", needs)
	var fe *build.FailedError
	if !errors.As(err, &fe) || res.Failed != "install build dependencies" {
		t.Fatalf("without the extra repository: got %v, want the dependency install to fail", err)
	}

	lt := newLayerTest(t) // layers of its own, removed at the end
	withRepo := func(r *build.Request) {
		needs(r)
		lt.salted(r)
		r.ExtraRepositories = []string{"deb file://" + repo.dir + " ./"}
		r.ExtraRepositoryKeys = []string{repo.key}
	}
	for i, want := range []string{"made", "reused"} {
		res, err, _ = buildPkg(t, "hello-c", withRepo)
		lt.record(res)
		if err != nil {
			t.Fatalf("build %d with the extra repository: %v\n%s", i+1, err, strings.Join(res.Tail, "\n"))
		}
		if !strings.Contains(installed(t, res), "  pkgbox-extra-dep:all 1.0\n") {
			t.Errorf("build %d: pkgbox-extra-dep 1.0 is not in the build environment", i+1)
		}
		if res.Layer == nil || res.Layer.Action != want {
			t.Errorf("build %d: layer %+v, want one %s", i+1, res.Layer, want)
		}
	}
	// The repository changes: the layer of before must not be reused.
	repo.add(t, gpg, []string{"Suite=pkgbox-extra", "Codename=pkgbox-extra"}, testPackage{"pkgbox-extra-dep", "1.1", ""})
	res, err, _ = buildPkg(t, "hello-c", withRepo)
	lt.record(res)
	if err != nil {
		t.Fatalf("build with the changed repository: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	if res.Layer == nil || res.Layer.Action != "made" || !strings.Contains(installed(t, res), "  pkgbox-extra-dep:all 1.1\n") {
		t.Errorf("after the repository changed: layer %+v, want a new one with pkgbox-extra-dep 1.1", res.Layer)
	}
	if _, err := os.Lstat(filepath.Join(rootPath, "etc/apt/sources.list.d/pkgbox-extra.list")); err == nil {
		t.Errorf("the extra repository was added to the root itself")
	}
}

// TestBuildExtraRepositoryErrors: a repository apt cannot use is an error
// naming it and apt's reason, not a failed build.
func TestBuildExtraRepositoryErrors(t *testing.T) {
	unsigned := makeRepo(t, nil, nil, testPackage{"pkgbox-extra-dep", "1.0", ""})
	for _, tt := range []struct {
		line, want string
	}{
		{"deb file://" + unsigned.dir + " ./", "is not signed"},
		{"deb http://127.0.0.1:9/debian sid main", "apt cannot use it"},
		{"deb [trusted=yes] file://" + unsigned.dir + "-missing ./", "no such file or directory"},
	} {
		res, err, _ := buildPkg(t, "hello-c", func(r *build.Request) {
			r.ExtraRepositories = []string{tt.line}
			r.NoLayers = true
		})
		var re *build.RepositoryError
		if !errors.As(err, &re) || re.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want a RepositoryError saying %q", tt.line, err, tt.want)
		}
		if res != nil && res.Failed != "" && res.Failed != "install build dependencies" {
			t.Errorf("%q: failed phase %q", tt.line, res.Failed)
		}
		t.Logf("%q: %v", tt.line, err)
	}
}

// TestBuildExperimental: with a NotAutomatic repository (experimental's
// Release), the dependency resolution takes from it only what the main
// suite cannot give: hello (>= 99) from it, sl from the main suite though
// it has a higher sl too, and pkgbox-exp-only, which only it has.
func TestBuildExperimental(t *testing.T) {
	exp := makeRepo(t, nil, []string{"Suite=experimental", "Codename=rc-buggy", "NotAutomatic=yes"},
		testPackage{"hello", "99.0", ""}, testPackage{"sl", "99.0", ""}, testPackage{"pkgbox-exp-only", "1.0", ""})
	res, err, _ := buildPkg(t, "hello-c", func(r *build.Request) {
		needing("hello (>= 99), sl, pkgbox-exp-only")(r)
		r.ExtraRepositories = []string{"deb [trusted=yes] file://" + exp.dir + " ./"}
		r.NoLayers = true
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	env := installed(t, res)
	for _, want := range []string{`  hello:all 99\.0\n`, `  sl:\S+ [0-9][^ ]*\n`, `  pkgbox-exp-only:all 1\.0\n`} {
		if !regexp.MustCompile(want).MatchString(env) {
			t.Errorf("the build environment lacks %q", want)
		}
	}
	if strings.Contains(env, "  sl:all 99.0\n") {
		t.Errorf("sl was taken from the NotAutomatic repository, though the main suite has it")
	}
	log, _ := os.ReadFile(res.Log)
	if !strings.Contains(string(log), "pkgbox: pinned to a=experimental,n=rc-buggy: hello\n") {
		t.Errorf("the log does not say that exactly hello was pinned to experimental")
	}
}

// TestBuildExperimentalChain: what experimental's package needs from
// experimental (a versioned dependency the main suite cannot satisfy) is
// pinned too, in a second round.
func TestBuildExperimentalChain(t *testing.T) {
	exp := makeRepo(t, nil, []string{"Suite=experimental", "Codename=rc-buggy", "NotAutomatic=yes"},
		testPackage{"hello", "99.0", "sl (>= 99)"}, testPackage{"sl", "99.0", ""})
	res, err, _ := buildPkg(t, "hello-c", func(r *build.Request) {
		needing("hello (>= 99)")(r)
		r.ExtraRepositories = []string{"deb [trusted=yes] file://" + exp.dir + " ./"}
		r.NoLayers = true
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	env := installed(t, res)
	for _, want := range []string{"  hello:all 99.0\n", "  sl:all 99.0\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("the build environment lacks %q", want)
		}
	}
	log, _ := os.ReadFile(res.Log)
	if !strings.Contains(string(log), "pkgbox: pinned to a=experimental,n=rc-buggy: hello sl\n") {
		t.Errorf("the log does not say that hello, then sl, were pinned to experimental")
	}
}

// TestBuildBackportsHTTPS: the suite's backports (NotAutomatic,
// ButAutomaticUpgrades), over https from the root's own mirror, signed by
// Debian's archive keyring: a build that needs a newer debhelper than the
// suite's takes debhelper and what it needs of the same version from
// backports, and nothing else.
func TestBuildBackportsHTTPS(t *testing.T) {
	s := sharedStore(t)
	root, err := s.Root(testenv.RootName)
	if err != nil {
		t.Fatal(err)
	}
	const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
	if _, err := os.Stat(keyring); err != nil {
		t.Skipf("needs Debian's archive keyring on the host: %v", err)
	}
	mirror := strings.TrimSuffix("https://"+strings.TrimPrefix(strings.TrimPrefix(root.Mirror, "http://"), "https://"), "/")
	backports := root.Suite + "-backports"
	resp, err := http.Head(mirror + "/dists/" + backports + "/InRelease")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Skipf("the root's mirror serves no %s over https: %v %v", backports, err, resp)
	}
	resp.Body.Close()
	res, err, _ := buildPkg(t, "hello-c", func(r *build.Request) {
		needing("debhelper (>= 13.12)")(r)
		r.ExtraRepositories = []string{"deb " + mirror + " " + backports + " main"}
		r.ExtraRepositoryKeys = []string{keyring}
		r.NoLayers = true
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	var fromBackports []string
	for _, l := range strings.Split(installed(t, res), "\n") {
		if strings.Contains(l, "~bpo") {
			fromBackports = append(fromBackports, strings.Fields(l)[0])
		}
	}
	if want := "debhelper:all libdebhelper-perl:all"; strings.Join(fromBackports, " ") != want {
		t.Errorf("from backports: %v, want exactly %s", fromBackports, want)
	}
}
