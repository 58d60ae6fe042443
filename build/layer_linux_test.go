package build_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pkgbox/build"
	"pkgbox/internal/testenv"
	"pkgbox/store"
)

// layerTest gives a test layers of its own in the shared store, through
// a salt in their keys (so a first build makes one, whatever earlier runs
// left), and removes them when the test ends.
type layerTest struct {
	t    *testing.T
	salt string
	mu   sync.Mutex
	keys map[string]bool
}

func newLayerTest(t *testing.T) *layerTest {
	var b [8]byte
	rand.Read(b[:])
	lt := &layerTest{t: t, salt: hex.EncodeToString(b[:]), keys: map[string]bool{}}
	s := sharedStore(t)
	t.Cleanup(func() {
		for key := range lt.keys {
			if err := s.RemoveLayer(key); err != nil {
				t.Errorf("remove the test's layer: %v", err)
			}
		}
	})
	return lt
}

// salted is a build request option: the test's salt.
func (lt *layerTest) salted(r *build.Request) { build.LayerSalt(lt.salt)(r) }

func (lt *layerTest) record(res *build.Result) {
	if res != nil && res.Layer != nil && res.Layer.Action == "made" {
		lt.mu.Lock()
		lt.keys[res.Layer.Key] = true
		lt.mu.Unlock()
	}
}

func listLayers(t *testing.T, s *store.Store) []*store.Layer {
	t.Helper()
	layers, err := s.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return layers
}

// build builds testdata package name, salted unless noLayers, and
// returns its result and how long it took.
func (lt *layerTest) build(name string, mods ...func(*build.Request)) (*build.Result, time.Duration) {
	t := lt.t
	t.Helper()
	start := time.Now()
	res, err, _ := buildPkg(t, name, func(r *build.Request) {
		r.Jobs = 1
		lt.salted(r)
		for _, m := range mods {
			m(r)
		}
	})
	took := time.Since(start)
	lt.record(res)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	return res, took
}

// buildEnvironment is the "Build environment" list of a build's log: the
// packages installed when dpkg-buildpackage ran, as pkgbox recorded them.
func buildEnvironment(t *testing.T, res *build.Result) string {
	t.Helper()
	data, err := os.ReadFile(res.Log)
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), "Build environment: ")
	if !ok {
		t.Fatalf("%s has no build environment", res.Log)
	}
	var env []string
	for _, l := range strings.Split(after, "\n")[1:] {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		env = append(env, l)
	}
	return strings.Join(env, "\n")
}

// dpkgInBuild is what dpkg-query said in a build of needs-deps (its
// debian/rules asks): every package dpkg knew of and its state when
// dpkg-buildpackage ran, seen from inside the build, not as recorded.
func dpkgInBuild(t *testing.T, res *build.Result) string {
	t.Helper()
	data, err := os.ReadFile(res.Log)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, l := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(l, "dpkg-in-build: "); ok {
			env = append(env, p)
		}
	}
	if len(env) == 0 {
		t.Fatalf("%s has no dpkg-in-build lines", res.Log)
	}
	return strings.Join(env, "\n")
}

// debContents is what dpkg-deb -c says of each .deb, dates left out.
func debContents(t *testing.T, res *build.Result) string {
	t.Helper()
	var b strings.Builder
	for _, a := range res.Artifacts {
		if !strings.HasSuffix(a.Path, ".deb") {
			continue
		}
		out, err := exec.Command("dpkg-deb", "-c", a.Path).Output()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(filepath.Base(a.Path) + "\n")
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(l)
			if len(f) >= 6 {
				b.WriteString(strings.Join(append(f[:3:3], f[5:]...), " ") + "\n")
			}
		}
	}
	return b.String()
}

func phase(res *build.Result, name string) time.Duration {
	for _, p := range res.Phases {
		if p.Name == name {
			return p.Duration
		}
	}
	return 0
}

// A second build of the same source reuses the first one's layer and
// installs nothing; its build environment and its packages are those of
// a build without layers.
func TestLayerReuse(t *testing.T) {
	lt := newLayerTest(t)
	first, t1 := lt.build("needs-deps")
	if first.Layer == nil || first.Layer.Action != "made" || first.Layer.Packages == 0 {
		t.Fatalf("first build: layer %+v, want one made with packages", first.Layer)
	}
	second, t2 := lt.build("needs-deps")
	if second.Layer == nil || second.Layer.Action != "reused" || second.Layer.Key != first.Layer.Key {
		t.Fatalf("second build: layer %+v, want %s reused", second.Layer, first.Layer.Key)
	}
	log, _ := os.ReadFile(second.Log)
	for _, unwanted := range []string{"apt-get satisfy $APT --download-only", "Unpacking ", "Setting up "} {
		if strings.Contains(string(log), unwanted) {
			t.Errorf("the second build's log shows an install (%q)", unwanted)
		}
	}
	want := "install build dependencies: reused layer " + first.Layer.Key
	if !strings.Contains(string(log), want) {
		t.Errorf("the second build's log lacks %q", want)
	}
	plain, t3 := lt.build("needs-deps", func(r *build.Request) { r.NoLayers = true })
	if plain.Layer != nil {
		t.Errorf("--no-layers build: layer %+v", plain.Layer)
	}
	t.Logf("needs-deps: made layer %s (%d packages): build %s, install %s; reused: build %s, install %s; --no-layers: build %s, install %s",
		first.Layer.Key, first.Layer.Packages, t1.Round(time.Millisecond), phase(first, "install build dependencies").Round(time.Millisecond),
		t2.Round(time.Millisecond), phase(second, "install build dependencies").Round(time.Millisecond),
		t3.Round(time.Millisecond), phase(plain, "install build dependencies").Round(time.Millisecond))

	envPlain, recPlain := dpkgInBuild(t, plain), buildEnvironment(t, plain)
	for _, res := range []*build.Result{first, second} {
		if env := dpkgInBuild(t, res); env != envPlain {
			t.Errorf("dpkg in the build with layer %s (%s) differs from --no-layers':\n%s\n---\n%s", res.Layer.Action, res.Log, env, envPlain)
		}
		if rec := buildEnvironment(t, res); rec != recPlain {
			t.Errorf("the build environment recorded with layer %s (%s) differs from --no-layers':\n%s\n---\n%s", res.Layer.Action, res.Log, rec, recPlain)
		}
		if c, p := debContents(t, res), debContents(t, plain); c != p {
			t.Errorf("the packages built with layer %s differ from --no-layers':\n%s\n---\n%s", res.Layer.Action, c, p)
		}
	}
}

// Other build dependencies make (and later reuse) another layer, never the
// first one.
func TestLayerChangedBuildDepends(t *testing.T) {
	lt := newLayerTest(t)
	first, _ := lt.build("needs-deps")
	src := testenv.CopyPackage(t, "needs-deps")
	control := filepath.Join(src, "debian", "control")
	data, err := os.ReadFile(control)
	if err != nil {
		t.Fatal(err)
	}
	// make is in every buildd root: the install is the same, the
	// declared dependencies are not.
	data = []byte(strings.Replace(string(data), "zlib1g-dev", "zlib1g-dev, make", 1))
	if err := os.WriteFile(control, data, 0o644); err != nil {
		t.Fatal(err)
	}
	req := &build.Request{Store: sharedStore(t), Source: src, Root: testenv.RootName, Jobs: 1}
	lt.salted(req)
	changed, err := build.Build(context.Background(), req)
	lt.record(changed)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if first.Layer == nil || changed.Layer == nil {
		t.Fatalf("layers %+v and %+v", first.Layer, changed.Layer)
	}
	if changed.Layer.Key == first.Layer.Key || changed.Layer.Action != "made" {
		t.Errorf("changed Build-Depends: layer %+v, want a new one (not %s)", changed.Layer, first.Layer.Key)
	}
}

// Two first builds of the same source at once: both succeed, and the store
// ends with one layer.
func TestLayerConcurrentFirstBuilds(t *testing.T) {
	lt := newLayerTest(t)
	var wg sync.WaitGroup
	results := make([]*build.Result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sharedStore(t)
			src := testenv.CopyPackage(t, "needs-deps")
			req := &build.Request{Store: s, Source: src, Root: testenv.RootName, Jobs: 1}
			lt.salted(req)
			res, err := build.Build(context.Background(), req)
			lt.record(res)
			if err != nil {
				t.Errorf("build %d: %v", i, err)
				return
			}
			results[i] = res
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	keys := map[string]int{}
	for i, res := range results {
		if res.Layer != nil {
			keys[res.Layer.Key]++
			t.Logf("build %d: layer %s %s", i, res.Layer.Action, res.Layer.Key)
		} else {
			t.Logf("build %d: no layer (another build made it meanwhile)", i)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("layers of the two builds: %v, want one", keys)
	}
	n := 0
	for _, l := range listLayers(t, sharedStore(t)) {
		if keys[l.Key] > 0 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the store has %d layers of the two builds, want 1", n)
	}
}

// An extra package is part of the layer: the same .deb again reuses it,
// a .deb of other contents makes another.
func TestLayerExtraPackage(t *testing.T) {
	lt := newLayerTest(t)
	deb := makeDeb(t, "pkgbox-test-extra", "#!/bin/sh\necho 'extra postinst ran'\n")
	extra := func(deb string) func(*build.Request) {
		return func(r *build.Request) { r.ExtraPackages = []string{deb} }
	}
	first, _ := lt.build("hello-c", extra(deb))
	second, _ := lt.build("hello-c", extra(deb))
	if first.Layer == nil || first.Layer.Action != "made" || second.Layer == nil || second.Layer.Action != "reused" || second.Layer.Key != first.Layer.Key {
		t.Fatalf("layers %+v then %+v, want one made then reused", first.Layer, second.Layer)
	}
	if env := buildEnvironment(t, second); !strings.Contains(env, "pkgbox-test-extra:all 1.0") {
		t.Errorf("the reused layer lacks the extra package:\n%s", env)
	}
	other := makeDeb(t, "pkgbox-test-extra", "#!/bin/sh\necho 'another postinst ran'\n")
	third, _ := lt.build("hello-c", extra(other))
	if third.Layer == nil || third.Layer.Action != "made" || third.Layer.Key == first.Layer.Key {
		t.Errorf("another extra package: layer %+v, want a new one", third.Layer)
	}
}

// A layer whose record of installed packages was changed is not used: the
// build installs as without layers, removes it and keeps its own install
// as the layer instead.
func TestLayerDamagedRecord(t *testing.T) {
	lt := newLayerTest(t)
	first, _ := lt.build("hello-c")
	if first.Layer == nil || first.Layer.Action != "made" {
		t.Fatalf("first build: layer %+v, want one made", first.Layer)
	}
	meta := filepath.Join(sharedStore(t).Dir, "layers", first.Layer.Key, "layer.json")
	data, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	list, _ := rec["installed"].([]any)
	if len(list) == 0 {
		t.Fatalf("%s records no installed packages", meta)
	}
	rec["installed"] = list[1:]
	if data, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// The damaged layer is not used, but removed and made anew by the
	// build that found it, and the next build reuses the new one.
	second, _ := lt.build("hello-c")
	if second.Layer == nil || second.Layer.Action != "made" || second.Layer.Key != first.Layer.Key {
		t.Errorf("second build: layer %+v, want %s made anew", second.Layer, first.Layer.Key)
	}
	log, _ := os.ReadFile(second.Log)
	for _, want := range []string{"does not fit: its list of installed packages is missing or damaged; removed it", "Setting up "} {
		if !strings.Contains(string(log), want) {
			t.Errorf("the second build's log lacks %q", want)
		}
	}
	third, _ := lt.build("hello-c")
	if third.Layer == nil || third.Layer.Action != "reused" {
		t.Errorf("third build: layer %+v, want the new one reused", third.Layer)
	}
}
