package build_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"pkgbox/bootstrap"
	"pkgbox/build"
	"pkgbox/internal/testenv"
)

// Debian's own packages are the oracle: these build real sources of the
// root's suite, fetched from its mirror, the three ways a user gives them.

// buildArchive builds req and checks that it made the source's .changes
// and at least one .deb of the version built.
func buildArchive(t *testing.T, req *build.Request) *build.Result {
	t.Helper()
	s := sharedStore(t)
	req.Store, req.Jobs = s, 2
	if req.Root == "" {
		req.Root = testenv.RootName
	}
	if req.Out == "" {
		req.Out = t.TempDir()
	}
	res, err := build.Build(context.Background(), req)
	if err != nil {
		var tail string
		if res != nil {
			tail = strings.Join(res.Tail, "\n")
		}
		t.Fatalf("build: %v\n%s", err, tail)
	}
	var debs int
	for _, a := range res.Artifacts {
		if strings.HasSuffix(a.Path, ".deb") && strings.Contains(filepath.Base(a.Path), "_"+noEpoch(res.Version)+"_") {
			debs++
		}
	}
	if debs == 0 {
		t.Errorf("no .deb of %s %s among %v", res.Source, res.Version, res.Artifacts)
	}
	return res
}

func noEpoch(v string) string {
	if _, after, ok := strings.Cut(v, ":"); ok {
		return after
	}
	return v
}

// fetchedDsc fetches source pkg into the store's source cache and returns
// the .dsc's path.
func fetchedDsc(t *testing.T, pkg string) string {
	t.Helper()
	s := sharedStore(t)
	dsc, err := build.Fetch(context.Background(), s, testenv.RootName, pkg)
	if err != nil {
		t.Fatalf("fetch %s: %v", pkg, err)
	}
	return dsc
}

// hello is one build of Debian's hello by name, without its test suite,
// for every test that needs a plain one: a build of hello takes a minute
// or two, and the suite should not pay for the same one twice.
var hello struct {
	once sync.Once
	res  *build.Result
}

// helloOut holds hello's build until the tests are done (TestMain).
var helloOut string

// helloByName is the shared build of hello, made by the first test that
// asks; it fails every test that asks if that build failed.
func helloByName(t *testing.T) *build.Result {
	t.Helper()
	hello.once.Do(func() {
		out, err := os.MkdirTemp("", "pkgbox-test-hello-")
		if err != nil {
			t.Fatal(err)
		}
		helloOut = out
		hello.res = buildArchive(t, &build.Request{Package: "hello", NoCheck: true, Out: out})
	})
	if hello.res == nil {
		t.Fatal("Debian's hello did not build (see the first test that built it)")
	}
	return hello.res
}

func TestArchiveByName(t *testing.T) {
	res := helloByName(t)
	if res.Source != "hello" {
		t.Errorf("built %q, want hello", res.Source)
	}
}

func TestArchiveFromTree(t *testing.T) {
	dsc := fetchedDsc(t, "bc")
	dir := t.TempDir()
	// The tree and its orig tarball side by side, as dpkg-source -x leaves them.
	for _, f := range mustGlob(t, filepath.Join(filepath.Dir(dsc), "bc_*")) {
		if out, err := exec.Command("cp", f, dir).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v: %s", err, out)
		}
	}
	if out, err := exec.Command("dpkg-source", "--no-check", "-x", filepath.Join(dir, filepath.Base(dsc)), filepath.Join(dir, "bc")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-source -x: %v: %s", err, out)
	}
	res := buildArchive(t, &build.Request{Source: filepath.Join(dir, "bc")})
	log, _ := os.ReadFile(res.Log)
	if !strings.Contains(string(log), "texinfo") {
		t.Errorf("bc's build did not install texinfo: the test no longer covers it")
	}
}

func TestArchiveFromDsc(t *testing.T) {
	buildArchive(t, &build.Request{Source: fetchedDsc(t, "libtry-tiny-perl")})
}

func TestArchiveNotFound(t *testing.T) {
	s := sharedStore(t)
	_, err := build.Build(context.Background(), &build.Request{Store: s, Root: testenv.RootName, Package: "pkgbox-no-such-source", Out: t.TempDir()})
	var fe *build.FetchError
	if !errors.As(err, &fe) || !fe.NotFound {
		t.Fatalf("got %v, want a FetchError saying there is no such source", err)
	}
}

// TestArchiveSuites builds Debian's hello on a root of each suite that
// PKGBOX_TEST_SUITES names (such as bullseye,trixie,sid), from that suite's
// own source. Each root ("suite-NAME" in the shared store) is made once per
// machine, which costs a debootstrap: the test runs only when asked.
func TestArchiveSuites(t *testing.T) {
	suites := os.Getenv("PKGBOX_TEST_SUITES")
	if suites == "" {
		t.Skip("set PKGBOX_TEST_SUITES=bullseye,trixie,sid to build hello on roots of those suites")
	}
	s := sharedStore(t)
	for _, suite := range strings.Split(suites, ",") {
		t.Run(suite, func(t *testing.T) {
			name := "suite-" + suite
			ctx := context.Background()
			if _, err := s.Root(name); err != nil {
				// A mirror may be a frozen copy, whose sid Release has
				// expired (this machine's has): the root accepts that.
				plan, err := bootstrap.NewPlan(ctx, &bootstrap.Request{Suite: suite, Name: name, NoCheckValidUntil: true}, bootstrap.DefaultHost())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := bootstrap.Create(ctx, s, plan, bootstrap.CreateOptions{}); err != nil {
					t.Fatalf("create %s: %v", name, err)
				}
			}
			req := &build.Request{Package: "hello", Root: name}
			var fe *build.FetchError
			if _, err := build.Fetch(ctx, s, name, "hello"); errors.As(err, &fe) && fe.Unavailable {
				// The mirror lists the suite's hello but does not serve
				// it: the default suite's hello stands in, on this root.
				t.Logf("%s: %v; building the shared root's hello instead", suite, err)
				req = &build.Request{Source: fetchedDsc(t, "hello"), Root: name}
			}
			res := buildArchive(t, req)
			t.Logf("%s: hello %s built in %v", suite, res.Version, res.Phases)
		})
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("nothing matches %s", pattern)
	}
	return m
}
