package bootstrap_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pkgbox/bootstrap"
	"pkgbox/internal/testenv"
	"pkgbox/session"
	"pkgbox/store"
)

// This file makes the archive the archived-suite tests bootstrap from: a
// small Debian archive for archivedSuite, built from packages this machine
// already has and signed with keys made for it, with a Release file that
// expired long ago, as every archived release's has.
//
// The recipe:
//   - pool/main: the host suite's .debs from the shared test store's apt
//     cache (debootstrap downloaded them for the shared buildd root), linked,
//     with the epoch dropped from their names as in the archive; plus, with
//     `apt-get download` from the host's apt sources, usrmerge and its
//     dependencies: debootstrap's scripts resolve bookworm's
//     init-system-helpers' "usrmerge | usr-is-merged" to usrmerge for every
//     suite but bookworm itself;
//   - keyringPackage, made here, which puts the test key in a root's apt;
//   - dists/SUITE/main/binary-ARCH/Packages(.gz), by dpkg-scanpackages;
//   - an old-style Release (MD5Sum and SHA256, no Acquire-By-Hash) whose
//     Date and Valid-Until lie years back, signed twice with a test key
//     (Release.gpg and InRelease), whose public half is keyring.gpg;
//   - other/dists/SUITE: the same Release signed with a second key that
//     keyring.gpg does not hold, for the bad-signature test.
//
// It is kept in the test store (archiveFixtureDir) and built again when it
// is missing, incomplete (no stamp) or of another recipe (fixtureRecipe).

// archivedSuite is the suite the test archive carries: the user's own
// example, `pkgbox create squeeze`. debootstrap's script for it (etch's)
// is the one that names the archive mirror and the removed-keys keyring,
// and checks MD5 sums; with today's packages it makes a usable root
// (usrmerge converts it to merged /usr at the end).
const archivedSuite = "squeeze"

// fixtureRecipe is written in the fixture's stamp; change it whenever the
// recipe changes, so that every machine rebuilds its copy.
const fixtureRecipe = "archive-fixture v4"

// usrmergePackages are the packages debootstrap needs for an archived
// suite's name on top of what a bookworm buildd root uses (see above);
// only fetched when a package of the pool depends on usrmerge, as
// bookworm's init-system-helpers does.
var (
	usrmergePackages = []string{"usrmerge", "libfile-find-rule-perl", "libnumber-compare-perl", "libtext-glob-perl"}
	needsUsrmerge    = regexp.MustCompile(`(?m)^(Pre-)?Depends:.*\busrmerge\b`)
)

// archiveFixture is the built archive.
type archiveFixture struct {
	// Dir holds archive/ (signed with the test key) and other/ (signed
	// with another key), each a mirror root with dists/ and pool/.
	Dir string
	// Keyring holds the public test key, and only it.
	Keyring string
}

func archiveFixtureDir() string { return filepath.Join(testenv.StoreDir(), "archive-fixture") }

var (
	fixtureMu sync.Mutex
	epochRE   = regexp.MustCompile(`_[0-9]+%3a`)
)

// archive returns the test archive, building it first when needed.
func archive(t *testing.T) *archiveFixture {
	t.Helper()
	testenv.Require(t, testenv.Root, testenv.Net)
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	// Test processes of other packages may want it at the same time.
	s, err := store.Open(testenv.StoreDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	lock, err := s.LockRoot(ctx, "archive-fixture", true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	dir := archiveFixtureDir()
	fx := &archiveFixture{Dir: dir, Keyring: filepath.Join(dir, "keyring.gpg")}
	if stamp, err := os.ReadFile(filepath.Join(dir, "stamp")); err == nil && string(stamp) == fixtureRecipe {
		return fx
	}
	start := time.Now()
	// Builds that were killed left their temporary directories.
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".archive-fixture.tmp*"))
	for _, d := range stale {
		os.RemoveAll(d)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".archive-fixture.tmp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp) // gone after the rename, unless the build failed
	if err := buildArchive(t, tmp); err != nil {
		t.Fatalf("build the test archive: %v", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "stamp"), []byte(fixtureRecipe), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	// An incomplete or older fixture goes first; rename does not replace
	// a directory that has files.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the test archive in %s (%v)", dir, time.Since(start).Round(time.Second))
	return fx
}

// buildArchive makes the fixture described at the top of this file in dir.
func buildArchive(t *testing.T, dir string) error {
	// The shared root's create filled the store's apt cache; this makes it
	// if no test has yet.
	s, _ := testenv.SharedRoot(t)
	cache, err := s.CacheDir(session.HostSuite(), bootstrap.HostArch())
	if err != nil {
		return err
	}
	pool := filepath.Join(dir, "archive", "pool", "main")
	if err := os.MkdirAll(pool, 0o755); err != nil {
		return err
	}
	debs, _ := filepath.Glob(filepath.Join(cache, "*.deb"))
	if len(debs) == 0 {
		return fmt.Errorf("no .deb in %s", cache)
	}
	for _, d := range debs {
		// apt's cache keeps an epoch in the name, escaped (bsdutils_1%3a2.38...),
		// which an http server would read as ":"; the archive drops it.
		name := epochRE.ReplaceAllString(filepath.Base(d), "_")
		if err := linkOrCopy(d, filepath.Join(pool, name)); err != nil {
			return err
		}
	}
	gnupg, err := newGnupgHome(t)
	if err != nil {
		return err
	}
	const testKey, otherKey = "archive@pkgbox.invalid", "other@pkgbox.invalid"
	for _, uid := range []string{testKey, otherKey} {
		if err := gnupg.run(nil, "--passphrase", "", "--quick-gen-key", "pkgbox test <"+uid+">", "ed25519", "sign", "never"); err != nil {
			return err
		}
	}
	var key bytes.Buffer
	if err := gnupg.run(&key, "--export", testKey); err != nil {
		return err
	}
	if key.Len() == 0 {
		return errors.New("gpg exported no key")
	}
	if err := os.WriteFile(filepath.Join(dir, "keyring.gpg"), key.Bytes(), 0o644); err != nil {
		return err
	}
	if err := buildKeyringPackage(key.Bytes(), pool); err != nil {
		return err
	}

	packages, err := scanPackages(filepath.Join(dir, "archive"))
	if err != nil {
		return err
	}
	if needsUsrmerge.Match(packages) {
		var missing []string
		for _, p := range usrmergePackages {
			if m, _ := filepath.Glob(filepath.Join(pool, p+"_*.deb")); len(m) == 0 {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			if err := run(pool, nil, nil, "apt-get", append([]string{"-q", "download"}, missing...)...); err != nil {
				return err
			}
		}
		if packages, err = scanPackages(filepath.Join(dir, "archive")); err != nil {
			return err
		}
	}

	if err := writeIndices(filepath.Join(dir, "archive"), packages); err != nil {
		return err
	}
	if err := signRelease(gnupg, filepath.Join(dir, "archive", "dists", archivedSuite), testKey); err != nil {
		return err
	}
	// other/ serves the same indices, signed by the other key.
	other := filepath.Join(dir, "other", "dists", archivedSuite)
	if err := os.MkdirAll(other, 0o755); err != nil {
		return err
	}
	if err := copyTree(filepath.Join(dir, "archive", "dists", archivedSuite), other); err != nil {
		return err
	}
	if err := os.Symlink("../archive/pool", filepath.Join(dir, "other", "pool")); err != nil {
		return err
	}
	return signRelease(gnupg, other, otherKey)
}

// keyringPackage is the archive's own keyring package, which installs the
// test key where apt in a root looks for trusted keys, as
// debian-archive-keyring does for Debian's archive: roots bootstrapped
// with --include of it trust their archive as real ones trust theirs.
const keyringPackage = "pkgbox-test-archive-keyring"

// buildKeyringPackage makes keyringPackage, holding key, in pool.
func buildKeyringPackage(key []byte, pool string) error {
	tree, err := os.MkdirTemp("", "pkgbox-keyring-deb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tree)
	control := "Package: " + keyringPackage + `
Version: 1
Architecture: all
Maintainer: pkgbox tests <tests@pkgbox.invalid>
Priority: optional
Section: misc
Description: keyring of pkgbox's test archive
 The key that signs the archive pkgbox's archived-suite tests serve.
`
	files := map[string][]byte{
		"DEBIAN/control": []byte(control),
		"etc/apt/trusted.gpg.d/" + keyringPackage + ".gpg": key,
	}
	for name, data := range files {
		p := filepath.Join(tree, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	// MkdirTemp made the top 0700, which dpkg-deb would ship as /'s mode.
	if err := os.Chmod(tree, 0o755); err != nil {
		return err
	}
	return run("/", nil, nil, "dpkg-deb", "--root-owner-group", "--build", tree, filepath.Join(pool, keyringPackage+"_1_all.deb"))
}

// scanPackages is the Packages index of the pool of the archive rooted
// at mirror.
func scanPackages(mirror string) ([]byte, error) {
	var packages bytes.Buffer
	if err := run(mirror, &packages, nil, "dpkg-scanpackages", "--multiversion", "pool"); err != nil {
		return nil, err
	}
	return packages.Bytes(), nil
}

// writeIndices writes the Packages files and the Release file of the
// archive rooted at mirror.
func writeIndices(mirror string, packages []byte) error {
	arch := bootstrap.HostArch()
	suiteDir := filepath.Join(mirror, "dists", archivedSuite)
	rel := filepath.Join("main", "binary-"+arch, "Packages")
	if err := os.MkdirAll(filepath.Join(suiteDir, filepath.Dir(rel)), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(suiteDir, rel), packages, 0o644); err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(packages)
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(suiteDir, rel+".gz"), gz.Bytes(), 0o644); err != nil {
		return err
	}

	// The Release file as the archive service keeps squeeze's: no
	// Acquire-By-Hash, and a Valid-Until that passed years ago.
	var b strings.Builder
	fmt.Fprintf(&b, "Origin: Debian\nLabel: Debian\nSuite: oldoldstable\nCodename: %s\n", archivedSuite)
	fmt.Fprintf(&b, "Date: Sat, 19 Jul 2014 10:00:00 UTC\nValid-Until: Sat, 26 Jul 2014 10:00:00 UTC\n")
	fmt.Fprintf(&b, "Architectures: %s\nComponents: main\nDescription: pkgbox test archive for archived suites\n", arch)
	files := []struct {
		name string
		data []byte
	}{{rel, packages}, {rel + ".gz", gz.Bytes()}}
	for _, sum := range []struct {
		field string
		h     func() hash.Hash
	}{{"MD5Sum", md5.New}, {"SHA256", sha256.New}} {
		b.WriteString(sum.field + ":\n")
		for _, f := range files {
			h := sum.h()
			h.Write(f.data)
			fmt.Fprintf(&b, " %s %d %s\n", hex.EncodeToString(h.Sum(nil)), len(f.data), filepath.ToSlash(f.name))
		}
	}
	return os.WriteFile(filepath.Join(suiteDir, "Release"), []byte(b.String()), 0o644)
}

// signRelease signs suiteDir's Release with key both ways apt and
// debootstrap look for: Release.gpg and InRelease.
func signRelease(g gnupgHome, suiteDir, key string) error {
	rel := filepath.Join(suiteDir, "Release")
	if err := g.run(nil, "--local-user", key, "--armor", "--detach-sign", "--output", rel+".gpg", rel); err != nil {
		return err
	}
	return g.run(nil, "--local-user", key, "--clearsign", "--output", filepath.Join(suiteDir, "InRelease"), rel)
}

// keyFingerprint is the fingerprint of the one key in keyring.
func keyFingerprint(t *testing.T, keyring string) string {
	t.Helper()
	g, err := newGnupgHome(t)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := g.run(&out, "--with-colons", "--show-keys", keyring); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Split(l, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9]
		}
	}
	t.Fatalf("no fingerprint in %s:\n%s", keyring, out.String())
	return ""
}

// gnupgHome is a throw-away GNUPGHOME. It lives in the system's temporary
// directory, not the store: gpg-agent's socket path must stay short.
type gnupgHome string

func newGnupgHome(t *testing.T) (gnupgHome, error) {
	dir, err := os.MkdirTemp("", "pkgbox-gnupg-")
	if err != nil {
		return "", err
	}
	g := gnupgHome(dir)
	t.Cleanup(func() {
		// The agent gpg started for the keys must not outlive the test.
		_ = run("/", nil, []string{"GNUPGHOME=" + dir}, "gpgconf", "--kill", "all")
		os.RemoveAll(dir)
	})
	return g, nil
}

func (g gnupgHome) run(stdout io.Writer, args ...string) error {
	return run("/", stdout, []string{"GNUPGHOME=" + string(g)}, "gpg", append([]string{"--batch", "--yes", "--quiet"}, args...)...)
}

// run runs a command in dir; its stderr goes into the error.
func run(dir string, stdout io.Writer, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// copyTree copies the regular files under src into dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}

// archiveServer serves the fixture over http, as the archive service would,
// and records the paths asked for. It stands on a test host of its own: a
// network namespace joined to the host by a veth pair. A sandbox reaches
// neither the host's loopback nor the host at all (pasta gives it the
// host's own address), but it reaches that test host as any remote mirror,
// through the host's routes.
type archiveServer struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func serveArchive(t *testing.T, fx *archiveFixture) *archiveServer {
	t.Helper()
	as := &archiveServer{}
	files := http.FileServer(http.Dir(fx.Dir))
	as.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		as.mu.Lock()
		as.paths = append(as.paths, r.URL.Path)
		as.mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	as.Server.Listener.Close()
	as.Server.Listener = testHostListener(t)
	as.Server.Start()
	t.Cleanup(as.Close)
	return as
}

// testHosts counts the test hosts this process made: the kernel removes a
// deleted namespace's links in the background, so names are never reused.
var testHosts atomic.Int32

// testHostListener makes a network namespace with a veth link to the host
// and returns a TCP listener inside it. Each test host takes its own address of
// the benchmarking range 198.18.0.0/15, by the test process's PID and a
// count.
func testHostListener(t *testing.T) net.Listener {
	t.Helper()
	n := (os.Getpid()*8 + int(testHosts.Add(1))) % 16000
	ns, hostIf, nsIf := fmt.Sprintf("pkgbox-arch-%d", n), fmt.Sprintf("pbxh%d", n), fmt.Sprintf("pbxn%d", n)
	nsIP := fmt.Sprintf("198.18.%d.%d", n/64, n%64*4+2)
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	_ = exec.Command("ip", "netns", "del", ns).Run() // left by a killed run
	ip("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() }) // takes the veth pair with it
	// The host's end has no address, only a route to the test host: an
	// address of the host's own would be one more host address that other
	// tests running meanwhile (security's) see and probe.
	ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", ns)
	ip("link", "set", hostIf, "up")
	ip("route", "add", nsIP+"/32", "dev", hostIf)
	ip("-n", ns, "addr", "add", nsIP+"/32", "dev", nsIf)
	ip("-n", ns, "link", "set", nsIf, "up")
	ip("-n", ns, "link", "set", "lo", "up")
	ip("-n", ns, "route", "add", "default", "dev", nsIf)
	// A socket belongs to the network namespace of the thread that made
	// it: make it from a thread that enters the test host and never leaves
	// (the runtime retires a locked thread that ends locked).
	type result struct {
		l   net.Listener
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err == nil {
			err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
			f.Close()
		}
		if err != nil {
			done <- result{err: err}
			return
		}
		l, err := net.Listen("tcp", nsIP+":0")
		done <- result{l, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("listen on the test host: %v", r.err)
	}
	return r.l
}

// served tells whether path was asked for, and how many requests came.
func (as *archiveServer) served(path string) (bool, int) {
	as.mu.Lock()
	defer as.mu.Unlock()
	for _, p := range as.paths {
		if p == path {
			return true, len(as.paths)
		}
	}
	return false, len(as.paths)
}
