package build_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
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
// reproducible in Debian) without the cache, then twice with a cache of
// its own, cold and warm, and compares the .debs byte for byte. It logs
// the build step's time of each: what a warm cache saves.
func TestCcacheHelloReproducible(t *testing.T) {
	withCcache := ccacheTest(t)
	dsc := fetchedDsc(t, "hello")
	run := func(mod func(*build.Request)) (*build.Result, time.Duration) {
		t.Helper()
		req := &build.Request{Source: dsc, NoCheck: true}
		if mod != nil {
			mod(req)
		}
		start := time.Now()
		res := buildArchive(t, req)
		return res, time.Since(start)
	}
	plain, tPlain := run(nil)
	cold, tCold := run(withCcache)
	warm, tWarm := run(withCcache)
	t.Logf("hello, build step (whole build): without ccache %v (%v), cold cache %v (%v), warm cache %v (%v); warm/without %.2f",
		phase(plain, "build").Round(10*time.Millisecond), tPlain.Round(100*time.Millisecond),
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
