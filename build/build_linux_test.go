package build_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"pkgbox/build"
	"pkgbox/debian"
	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

func TestMain(m *testing.M) {
	sandbox.MaybeInit()
	code := m.Run()
	if helloOut != "" {
		os.RemoveAll(helloOut)
	}
	os.Exit(code)
}

// treeHash hashes every path, mode, link target and content under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		io.WriteString(h, rel+"\x00"+fi.Mode().String()+"\x00")
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			io.WriteString(h, target)
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			io.Copy(h, f)
			f.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sharedStore(t *testing.T) *store.Store {
	s, _ := testenv.SharedRoot(t)
	return s
}

// buildPkg builds a copy of testdata package name and checks what every
// build must leave: an unchanged source tree and no session, mount or
// sandbox process.
func buildPkg(t *testing.T, name string, mod func(*build.Request)) (*build.Result, error, string) {
	t.Helper()
	s := sharedStore(t)
	src := testenv.CopyPackage(t, name)
	req := &build.Request{Store: s, Source: src, Root: testenv.RootName, Jobs: 2}
	if mod != nil {
		mod(req) // which may also change the copy, before it is hashed
	}
	before := treeHash(t, src)
	sessionsBefore := sessionsOf(t, s)
	res, err := build.Build(context.Background(), req)
	if after := treeHash(t, src); after != before {
		t.Errorf("the source tree of %s changed during the build", name)
	}
	if !req.Keep {
		for _, id := range testenv.LeakedSessions(s.Dir, sessionsBefore) {
			t.Errorf("session %s left behind", id)
		}
	}
	if m, _ := store.MountsUnder(s.Dir); len(m) > 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
	return res, err, src
}

func sessionsOf(t *testing.T, s *store.Store) map[string]bool {
	entries, _ := os.ReadDir(filepath.Join(s.Dir, "sessions"))
	m := map[string]bool{}
	for _, e := range entries {
		m[e.Name()] = true
	}
	return m
}

// checkDebs checks the artifacts: each .deb names the right package and
// version and holds the files, and the .changes lists every artifact.
func checkDebs(t *testing.T, res *build.Result, version string, debs map[string][]string) {
	t.Helper()
	var changes string
	got := map[string]bool{}
	for _, a := range res.Artifacts {
		got[filepath.Base(a.Path)] = true
		if strings.HasSuffix(a.Path, ".changes") {
			changes = a.Path
		}
	}
	if changes == "" {
		t.Fatalf("no .changes among the artifacts: %v", res.Artifacts)
	}
	listed, err := debian.ChangesFiles(changes)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range listed {
		if !got[f] {
			t.Errorf("%s lists %s, which was not collected", changes, f)
		}
	}
	for deb, files := range debs {
		path := filepath.Join(filepath.Dir(changes), deb)
		if !got[deb] {
			t.Errorf("artifact %s missing; got %v", deb, sortedKeys(got))
			continue
		}
		info, err := exec.Command("dpkg-deb", "--field", path, "Package", "Version").Output()
		if err != nil {
			t.Fatalf("dpkg-deb --field %s: %v", path, err)
		}
		pkg := strings.SplitN(deb, "_", 2)[0]
		if want := "Package: " + pkg + "\nVersion: " + version + "\n"; string(info) != want {
			t.Errorf("%s: fields %q, want %q", deb, info, want)
		}
		contents, err := exec.Command("dpkg-deb", "--contents", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !strings.Contains(string(contents), " ."+f+"\n") {
				t.Errorf("%s lacks %s:\n%s", deb, f, contents)
			}
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func TestBuildArchAny(t *testing.T) {
	t.Setenv("SUDO_UID", "4242")
	t.Setenv("SUDO_GID", "4343")
	res, err, _ := buildPkg(t, "hello-c", nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	checkDebs(t, res, "1.0", map[string][]string{"hello-c_1.0_" + res.Arch + ".deb": {"/usr/bin/hello-c"}})
	for _, a := range append(res.Artifacts, build.Artifact{Path: res.Log}) {
		var st syscallStat
		if err := statOwner(a.Path, &st); err != nil || st.uid != 4242 || st.gid != 4343 {
			t.Errorf("%s belongs to %d:%d, want SUDO_UID:SUDO_GID 4242:4343 (%v)", a.Path, st.uid, st.gid, err)
		}
	}
	log, _ := os.ReadFile(res.Log)
	for _, want := range []string{"dpkg-buildpackage", "make", "check"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}

func TestBuildArchAll(t *testing.T) {
	res, err, _ := buildPkg(t, "hello-all", nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	checkDebs(t, res, "1.0", map[string][]string{"hello-all_1.0_all.deb": {"/usr/bin/hello-all"}})
}

func TestBuildInstallsDependencies(t *testing.T) {
	res, err, _ := buildPkg(t, "needs-deps", nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	checkDebs(t, res, "1.0", map[string][]string{"needs-deps_1.0_" + res.Arch + ".deb": {"/usr/bin/needs-deps"}})
}

func TestBuildNetwork(t *testing.T) {
	res, err, _ := buildPkg(t, "net-test", nil)
	var fe *build.FailedError
	if !errors.As(err, &fe) || res.Failed != "build" {
		t.Fatalf("without --network: got %v (failed phase %q), want the build to fail", err, res.Failed)
	}
	res, err, _ = buildPkg(t, "net-test", func(r *build.Request) { r.Network = true })
	if err != nil {
		t.Fatalf("with --network: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
}

func TestBuildFails(t *testing.T) {
	res, err, _ := buildPkg(t, "fails", nil)
	var fe *build.FailedError
	if !errors.As(err, &fe) || res.Failed != "build" {
		t.Fatalf("got %v, want a failed build", err)
	}
	if len(res.Tail) == 0 || len(res.Artifacts) != 0 {
		t.Errorf("tail %d lines, artifacts %v", len(res.Tail), res.Artifacts)
	}
	if _, err := os.Stat(res.Log); err != nil {
		t.Errorf("the log is gone: %v", err)
	}
}

func TestBuildDsc(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("sh", filepath.Join("..", "testdata", "packages", "make-dsc.sh"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make-dsc.sh: %v: %s", err, out)
	}
	dscs, _ := filepath.Glob(filepath.Join(dir, "*.dsc"))
	if len(dscs) != 1 {
		t.Fatalf("make-dsc.sh made %v", dscs)
	}
	outDir := t.TempDir()
	res, err := build.Build(context.Background(), &build.Request{Store: sharedStore(t), Source: dscs[0], Root: testenv.RootName, Out: outDir, Jobs: 2})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	checkDebs(t, res, "1.0", map[string][]string{"hello-c_1.0_" + res.Arch + ".deb": {"/usr/bin/hello-c"}})
}

// Two builds of different packages on the same root at the same time.
func TestBuildConcurrent(t *testing.T) {
	s := sharedStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"hello-c", "hello-all"} {
		src := testenv.CopyPackage(t, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = build.Build(context.Background(), &build.Request{Store: s, Source: src, Root: testenv.RootName, Jobs: 1})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("build %d: %v", i, err)
		}
	}
}

// --keep leaves the session for `pkgbox shell --session ID`, in which the
// build tree is there; gc leaves it alone until asked with --kept.
func TestBuildKeep(t *testing.T) {
	res, err, _ := buildPkg(t, "hello-all", func(r *build.Request) { r.Keep = true })
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	if res.Session == "" {
		t.Fatal("no session ID in the result of a build with Keep")
	}
	s := sharedStore(t)
	if _, err := s.GC(false); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r, err := session.Run(context.Background(), &session.Options{Store: s, Session: res.Session, Profile: "minimal"},
		&session.Command{Args: []string{"/bin/sh", "-c", "ls /build/hello-all-1.0/debian/control"}, Stdio: sandbox.Stdio{Stdout: &out, Stderr: &out}})
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("shell --session %s: %v %+v\n%s", res.Session, err, r, out.String())
	}
	removed, err := s.GC(true)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range removed {
		found = found || filepath.Base(d) == res.Session
	}
	if !found {
		t.Errorf("gc --kept removed %v, not the kept session %s", removed, res.Session)
	}
}

// TestBuildNoCheckAndDist: a package whose tests fail builds with
// --nocheck only; --dist names the .changes' distribution, and
// --debbuildopts reaches dpkg-buildpackage.
func TestBuildNoCheckAndDist(t *testing.T) {
	failTests := func(r *build.Request) {
		mk := filepath.Join(r.Source, "Makefile")
		data, err := os.ReadFile(mk)
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.Replace(string(data), "test \"$$(./hello-c)\"", "false && test \"$$(./hello-c)\"", 1))
		if err := os.WriteFile(mk, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err, _ := buildPkg(t, "hello-c", failTests)
	var fe *build.FailedError
	if !errors.As(err, &fe) || res.Failed != "build" {
		t.Fatalf("a failing test suite: got %v, want the build to fail", err)
	}
	res, err, _ = buildPkg(t, "hello-c", func(r *build.Request) {
		failTests(r)
		r.NoCheck, r.Dist = true, "pkgbox-test-dist"
		r.DebBuildOpts = []string{"--changes-option=-DUrgency=high"}
	})
	if err != nil {
		t.Fatalf("with --nocheck: %v\n%s", err, strings.Join(res.Tail, "\n"))
	}
	for _, a := range res.Artifacts {
		if strings.HasSuffix(a.Path, ".changes") {
			data, _ := os.ReadFile(a.Path)
			for _, want := range []string{"\nDistribution: pkgbox-test-dist\n", "\nUrgency: high\n"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("%s lacks %q:\n%s", a.Path, strings.TrimSpace(want), data)
				}
			}
		}
	}
}
