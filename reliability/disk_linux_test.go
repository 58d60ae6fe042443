package reliability_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pkgbox/bootstrap"
	"pkgbox/internal/testenv"
	"pkgbox/session"
	"pkgbox/store"
)

// smallStore mounts a tmpfs of size on a fresh directory, as a store that
// fills up; it is unmounted when the test ends. Not nodev: debootstrap
// makes device nodes in its target.
func smallStore(t *testing.T, size string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "pkgbox-full-")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("pkgbox-full", dir, "tmpfs", unix.MS_NOSUID, "size="+size+",mode=0755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
		os.Remove(dir)
	})
	if _, err := store.Open(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// minbaseDebs are the .debs of cache whose packages a minbase root has:
// those of priority required or important in the shared root (as dpkg
// itself reads its status), and apt.
func minbaseDebs(t *testing.T, shared, cache string) []string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "--admindir", filepath.Join(shared, "roots", testenv.RootName, "var", "lib", "dpkg"),
		"-W", "-f", "${Package} ${Priority}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query of the shared root: %v", err)
	}
	want := map[string]bool{"apt": true}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && (f[1] == "required" || f[1] == "important") {
			want[f[0]] = true
		}
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	var debs []string
	for _, e := range entries {
		if name, _, ok := strings.Cut(e.Name(), "_"); ok && strings.HasSuffix(e.Name(), ".deb") && want[name] {
			debs = append(debs, filepath.Join(cache, e.Name()))
		}
	}
	if len(debs) == 0 {
		t.Fatalf("no minbase package in %s", cache)
	}
	return debs
}

// TestFullDisk fills a small store during a create and during a build:
// each says the store is full, leaves nothing half-made, and the store
// works again once space is freed.
func TestFullDisk(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	shared := sharedStore(t)

	t.Run("create", func(t *testing.T) {
		dir := smallStore(t, "160m")
		// The shared cache's packages of a minbase root of this suite,
		// so that the create fills the store while it unpacks, not while
		// it downloads. Only those: the shared cache also holds what
		// builds, checks and cross builds installed, more than the store.
		suiteArch := session.HostSuite() + "-" + bootstrap.HostArch()
		cache := filepath.Join(dir, "cache", "apt", suiteArch)
		if err := os.MkdirAll(cache, 0o755); err != nil {
			t.Fatal(err)
		}
		debs := minbaseDebs(t, shared, filepath.Join(shared, "cache", "apt", suiteArch))
		if out, err := exec.Command("cp", append(append([]string{"-a"}, debs...), cache)...).CombinedOutput(); err != nil {
			t.Fatalf("copy the cache: %v: %s", err, out)
		}
		out, err := pkgbox(dir, "create", session.HostSuite(), "--variant", "minbase", "--name", "full").CombinedOutput()
		if err == nil {
			t.Fatalf("create in a 160 MiB store succeeded:\n%s", out)
		}
		if !strings.Contains(string(out), "pkgbox: no space left in the store "+dir) {
			t.Errorf("create in a full store says:\n%s", out)
		}
		checkClean(t, dir, "create in a full store")
		if _, err := os.Lstat(filepath.Join(dir, "roots", "full")); err == nil {
			t.Errorf("a half-made root is left")
		}
		// Free the space: the store works again.
		if err := os.RemoveAll(cache); err != nil {
			t.Fatal(err)
		}
		if out, err := pkgbox(dir, "list", "--json").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "[]" {
			t.Errorf("list after freeing space: %v: %s", err, out)
		}
		count(&tally.limits, 1)
	})

	t.Run("build", func(t *testing.T) {
		// The root stays where it is (a symlink to it in the small store);
		// the session, where the build writes, is on the small store.
		dir := smallStore(t, "200m")
		if err := os.Symlink(filepath.Join(shared, "roots", testenv.RootName), filepath.Join(dir, "roots", "test")); err != nil {
			t.Fatal(err)
		}
		meta, _ := os.ReadFile(filepath.Join(shared, "roots", testenv.RootName+".json"))
		var r store.Root
		if err := json.Unmarshal(meta, &r); err != nil {
			t.Fatal(err)
		}
		// No suite: the build uses no store cache, so apt's downloads land
		// in the session too, and the store has room for them.
		r.Suite = ""
		data, _ := json.Marshal(r)
		if err := os.WriteFile(filepath.Join(dir, "roots", "test.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		src := badPackage(t, "fillsdisk", "\tdd if=/dev/zero of=big bs=1M count=100000\n", nil)
		// A full store is pkgbox's failure, not the package's: exit
		// status 1, not 3, with the store named and what to do.
		out, err := pkgbox(dir, "build", src, "--root", "test").CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("build in a full store: %v, want exit status 1\n%s", err, out)
		}
		for _, want := range []string{"pkgbox: build failed: no space left in the store " + dir, "hint: free space"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("build in a full store says:\n%s\nwant %q in it", out, want)
			}
		}
		checkClean(t, dir, "build in a full store")
		// The space is the session's, gone with it: the next build works.
		hello := copyPackage(t, filepath.Join("..", "testdata", "packages"), "hello-all")
		if out, err := pkgbox(dir, "build", hello, "--root", "test").CombinedOutput(); err != nil {
			t.Errorf("build after a full store: %v\n%s", err, out)
		}
		count(&tally.limits, 1)
	})
}

// metaEnv makes this test binary write a root's metadata in a loop, for
// TestMetadataAtomic to kill.
const metaEnv = "PKGBOX_RELIABILITY_META"

// writeMetaForever alternates a root's metadata between two versions.
func writeMetaForever(dir string) {
	s, err := store.Open(dir)
	if err != nil {
		os.Exit(1)
	}
	for i := 0; ; i++ {
		r := &store.Root{Name: "meta", Suite: "old", Arch: "amd64", Variant: "buildd"}
		if i%2 == 1 {
			r.Suite, r.Mirror = "new", strings.Repeat("http://mirror.example.invalid/debian/", 200)
		}
		if err := s.SaveRoot(r); err != nil {
			os.Exit(1)
		}
	}
}

// TestMetadataAtomic kills a process while it rewrites a root's metadata,
// again and again: the file is always the old version or the new one.
func TestMetadataAtomic(t *testing.T) {
	dir := t.TempDir()
	if _, err := store.Open(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "roots", "meta"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	for i := 0; i < *rounds; i++ {
		c := exec.Command(self)
		c.Env = append(os.Environ(), metaEnv+"="+dir)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		sleepRandom(50e6)
		_ = c.Process.Kill()
		_ = c.Wait()
		data, err := os.ReadFile(filepath.Join(dir, "roots", "meta.json"))
		if os.IsNotExist(err) {
			continue // killed before its first write
		}
		var r store.Root
		if err != nil || json.Unmarshal(data, &r) != nil || (r.Suite != "old" && r.Suite != "new") {
			t.Fatalf("round %d: metadata torn: %v: %q", i, err, data)
		}
	}
	for i := 0; i < *rounds; i++ {
		interrupted("metadata writer")
	}
}
