package build_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pkgbox/build"
	"pkgbox/internal/testenv"
)

// ccacheTest gives a test a compiler cache of its own in the shared store
// (a salt in its name, so its first build starts cold whatever earlier
// runs left), removed when the test ends.
func ccacheTest(t *testing.T) func(*build.Request) {
	var b [6]byte
	rand.Read(b[:])
	salt := "." + hex.EncodeToString(b[:])
	s := sharedStore(t)
	t.Cleanup(func() {
		root, err := s.Root(testenv.RootName)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveCcache(testenv.RootName, root.Arch+salt); err != nil {
			t.Errorf("remove the test's compiler cache: %v", err)
		}
	})
	return func(r *build.Request) {
		r.Ccache = true
		build.CcacheSalt(salt)(r)
	}
}

// TestCcacheHelloC builds hello-c twice through a compiler cache of its
// own: the first build misses, the second hits, and both give the .deb a
// build without the cache gives. ccache comes with the build
// dependencies, in a layer of its own.
func TestCcacheHelloC(t *testing.T) {
	withCcache := ccacheTest(t)
	build1 := func(mod func(*build.Request)) *build.Result {
		t.Helper()
		res, err, _ := buildPkg(t, "hello-c", mod)
		if err != nil {
			t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
		}
		return res
	}
	plain := build1(nil)
	if plain.Ccache != nil {
		t.Errorf("a build without --ccache reports a compiler cache: %+v", plain.Ccache)
	}
	cold := build1(withCcache)
	warm := build1(withCcache)
	c1, c2 := cold.Ccache, warm.Ccache
	if c1 == nil || c2 == nil {
		t.Fatalf("no compiler cache in the results: %+v, %+v", c1, c2)
	}
	t.Logf("cold: %+v; warm: %+v", *c1, *c2)
	if c1.Hits != 0 || c1.Misses == 0 {
		t.Errorf("first build: %d hits, %d misses; want misses only", c1.Hits, c1.Misses)
	}
	if c2.Hits == 0 || c2.HitRate <= 0 {
		t.Errorf("second build: %d hits (rate %.2f); want hits", c2.Hits, c2.HitRate)
	}
	if log, _ := os.ReadFile(warm.Log); !strings.Contains(string(log), "from the build's stats log") {
		t.Errorf("the hit rate does not come from the build's own stats log")
	}
	if c2.Size == 0 {
		t.Errorf("the cache is empty after two builds")
	}
	if plain.Layer != nil && cold.Layer != nil && plain.Layer.Key == cold.Layer.Key {
		t.Errorf("builds with and without --ccache share layer %s", plain.Layer.Key)
	}
	if !strings.Contains(buildEnvironment(t, cold), "  ccache:") {
		t.Errorf("ccache is not in the build environment of a --ccache build")
	}
	want := debContents(t, plain)
	for _, res := range []*build.Result{cold, warm} {
		if got := debContents(t, res); got != want {
			t.Errorf("the .deb differs from a build without the cache:\n%s\nwant\n%s", got, want)
		}
	}
	// The cache belongs to the build user (uid 65100 and up), not root,
	// and holds what ccache writes.
	fi, err := os.Lstat(c2.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid < 65000 || !fi.IsDir() {
		t.Errorf("cache %s: owner %d, mode %s; want a directory of the build user", c2.Dir, st.Uid, fi.Mode())
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(c2.Dir), filepath.Base(c2.Dir)+".json")); err != nil {
		t.Errorf("no record of the cache's bound: %v", err)
	}
}

// TestCcacheHelloReproducible builds Debian's hello (a real C package,
// reproducible in Debian) twice with a cache of its own, cold and warm,
// and compares the .debs byte for byte with those of the build without
// the cache (the shared one, helloByName). It logs the build step's time
// of each: what a warm cache saves.
func TestCcacheHelloReproducible(t *testing.T) {
	withCcache := ccacheTest(t)
	plain := helloByName(t)
	dsc := fetchedDsc(t, "hello")
	run := func() (*build.Result, time.Duration) {
		t.Helper()
		req := &build.Request{Source: dsc, NoCheck: true}
		withCcache(req)
		start := time.Now()
		res := buildArchive(t, req)
		return res, time.Since(start)
	}
	cold, tCold := run()
	warm, tWarm := run()
	t.Logf("hello, build step (whole build): without ccache %v, cold cache %v (%v), warm cache %v (%v); warm/without %.2f",
		phase(plain, "build").Round(10*time.Millisecond),
		phase(cold, "build").Round(10*time.Millisecond), tCold.Round(100*time.Millisecond),
		phase(warm, "build").Round(10*time.Millisecond), tWarm.Round(100*time.Millisecond),
		phase(warm, "build").Seconds()/phase(plain, "build").Seconds())
	t.Logf("cold: %+v; warm: %+v", *cold.Ccache, *warm.Ccache)
	if warm.Ccache.Hits == 0 {
		t.Errorf("the warm build had no hits: %+v", *warm.Ccache)
	}
	debs := func(res *build.Result) map[string][]byte {
		m := map[string][]byte{}
		for _, a := range res.Artifacts {
			if strings.HasSuffix(a.Path, ".deb") {
				data, err := os.ReadFile(a.Path)
				if err != nil {
					t.Fatal(err)
				}
				m[filepath.Base(a.Path)] = data
			}
		}
		return m
	}
	want := debs(plain)
	for name, res := range map[string]*build.Result{"cold": cold, "warm": warm} {
		got := debs(res)
		if len(got) != len(want) {
			t.Errorf("%s cache: .debs %v, want those of the build without it", name, res.Artifacts)
		}
		for deb, data := range want {
			if !bytes.Equal(got[deb], data) {
				t.Errorf("%s cache: %s differs from the build without the cache", name, deb)
			}
		}
	}
}

// TestCcacheHostileLinks: a build plants links in its compiler cache to
// host files and directories (whose paths a build can guess), with old
// times so that they go first, and fills the cache beyond its bound. gc's
// trim deletes the links and the filler, never what they point at.
func TestCcacheHostileLinks(t *testing.T) {
	withCcache := ccacheTest(t)
	host := t.TempDir()
	victim, victimDir := filepath.Join(host, "victim"), filepath.Join(host, "dir")
	if err := os.MkdirAll(victimDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{victim, filepath.Join(victimDir, "inside")} {
		if err := os.WriteFile(f, []byte("host file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		old := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
	}
	res, err, _ := buildPkg(t, "hello-c", func(r *build.Request) {
		withCcache(r)
		// ccache's 272 statistics files take 1 MiB already.
		r.CcacheMaxSize = 2 << 20
		rules := "#!/usr/bin/make -f\n%:\n\tdh $@\noverride_dh_auto_build:\n\tdh_auto_build\n" +
			"\tln -s " + victim + " $(CCACHE_DIR)/evil-file\n" +
			"\tln -s " + victimDir + " $(CCACHE_DIR)/evil-dir\n" +
			"\tmkdir -p $(CCACHE_DIR)/0/0 && ln -s " + victimDir + " $(CCACHE_DIR)/0/0/evil-dir\n" +
			"\tdd if=/dev/urandom of=$(CCACHE_DIR)/0/filler bs=1M count=3\n" +
			"\ttouch -h -d 1998-01-01 $(CCACHE_DIR)/evil-file $(CCACHE_DIR)/evil-dir $(CCACHE_DIR)/0/0/evil-dir\n" +
			"\ttouch -d 2000-01-01 $(CCACHE_DIR)/0/filler\n"
		if err := os.WriteFile(filepath.Join(r.Source, "debian", "rules"), []byte(rules), 0o755); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	s := sharedStore(t)
	dir := res.Ccache.Dir
	if _, err := os.Lstat(filepath.Join(dir, "evil-dir")); err != nil {
		t.Fatalf("the build planted no link: %v", err)
	}
	g, err := s.TrimCcache(testenv.RootName, filepath.Base(dir), 0)
	if err != nil {
		t.Fatal(err)
	}
	if g == nil || g.After > 2<<20 {
		t.Fatalf("trim: %+v, want the cache trimmed to its 2 MiB bound", g)
	}
	for _, f := range []string{victim, filepath.Join(victimDir, "inside")} {
		if data, err := os.ReadFile(f); err != nil || string(data) != "host file\n" {
			t.Errorf("host file %s behind a link in the cache: %q, %v", f, data, err)
		}
	}
	for _, l := range []string{"evil-file", "evil-dir", "0/0/evil-dir", "0/filler"} {
		if _, err := os.Lstat(filepath.Join(dir, l)); err == nil {
			t.Errorf("%s, among the oldest files, is still in the cache", l)
		}
	}
}

// TestCcacheConcurrentHitRates: two builds of one root through one warm
// cache at once (as batch builds run) each report their own compilation:
// the counts come from each build's stats log, which the other's
// zeroing and compiling do not reach.
func TestCcacheConcurrentHitRates(t *testing.T) {
	withCcache := ccacheTest(t)
	s := sharedStore(t)
	req := func() *build.Request {
		r := &build.Request{Store: s, Source: testenv.CopyPackage(t, "hello-c"), Root: testenv.RootName, Jobs: 1}
		withCcache(r)
		return r
	}
	if _, err := build.Build(context.Background(), req()); err != nil {
		t.Fatalf("first build: %v", err)
	}
	var wg sync.WaitGroup
	results, errs := make([]*build.Result, 2), make([]error, 2)
	for i, r := range []*build.Request{req(), req()} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = build.Build(context.Background(), r)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		if c := results[i].Ccache; c == nil || c.Hits != 1 || c.Misses != 0 {
			t.Errorf("build %d: %+v; want its own one hit", i, c)
		}
	}
}
