package cmd_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pkgbox/batch"
	"pkgbox/internal/testenv"
	"pkgbox/store"
)

// runBatch runs pkgbox build with args and returns its records (stdout,
// --json), its stderr and its exit status, checking that it left no
// session or mount behind.
func runBatch(t *testing.T, args ...string) (map[string]*batch.Record, string, int) {
	t.Helper()
	before := testenv.LeakedSessions(testenv.StoreDir(), nil)
	known := map[string]bool{}
	for _, id := range before {
		known[id] = true
	}
	for id := range sessions(t) {
		known[id] = true
	}
	c := pkgbox(t, append([]string{"build", "--root", testenv.RootName, "--json"}, args...)...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	recs := map[string]*batch.Record{}
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r batch.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("stdout line %q: %v\nstderr:\n%s", l, err, stderr.String())
		}
		recs[filepath.Base(r.Input)] = &r
	}
	for _, id := range testenv.LeakedSessions(testenv.StoreDir(), known) {
		t.Errorf("session %s left behind", id)
	}
	if m, _ := store.MountsUnder(testenv.StoreDir()); len(m) > 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
	return recs, stderr.String(), code
}

// TestBatchBuild builds four test sources, -J 2, one of which fails: three
// are built, one failed, exit status 3, a table, nothing left behind; run
// again with --skip-built, it builds none of the three again.
func TestBatchBuild(t *testing.T) {
	testenv.SharedRoot(t)
	var srcs []string
	for _, name := range []string{"hello-all", "fails", "hello-c", "needs-deps"} {
		srcs = append(srcs, testenv.CopyPackage(t, name))
	}
	out := t.TempDir()
	list := filepath.Join(t.TempDir(), "list")
	// Two on the command line, two from a list with a comment.
	if err := os.WriteFile(list, []byte("# the rest\n"+srcs[2]+"\n\n"+srcs[3]+"  # needs build dependencies\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, stderr, code := runBatch(t, srcs[0], srcs[1], "--from", list, "-J", "2", "--out", out)
	if code != 3 {
		t.Errorf("exit status %d, want 3; stderr:\n%s", code, stderr)
	}
	want := map[string]batch.Outcome{"hello-all": batch.Built, "fails": batch.Failed, "hello-c": batch.Built, "needs-deps": batch.Built}
	for name, o := range want {
		r := recs[name]
		if r == nil {
			t.Errorf("no record of %s; stderr:\n%s", name, stderr)
			continue
		}
		if r.Outcome != o {
			t.Errorf("%s: %s (%s), want %s", name, r.Outcome, r.Error, o)
		}
		if r.Source != name || r.Version != "1.0" || r.Log == "" || filepath.Dir(r.Log) != out {
			t.Errorf("%s: record %+v", name, r.Result)
		}
	}
	if r := recs["fails"]; r != nil && r.Failed != "build" {
		t.Errorf("fails failed in %q, want build", r.Failed)
	}
	if len(recs) != 4 {
		t.Errorf("%d records, want 4", len(recs))
	}
	// Off a terminal: a line per event; two builds ran at once (the second
	// started before the first ended); the table ends it.
	lines := strings.Split(stderr, "\n")
	started, firstEnd := 0, -1
	for i, l := range lines {
		if strings.HasSuffix(l, ": started") {
			started++
		}
		if firstEnd < 0 && regexp.MustCompile(`^pkgbox: \S+ 1\.0: (built|FAILED)`).MatchString(l) {
			firstEnd = i
			if started < 2 {
				t.Errorf("the first build ended before a second started:\n%s", stderr)
			}
		}
	}
	for _, re := range []string{
		`(?m)^pkgbox: 4 sources, 2 at once, each with -j 1$`,
		`(?m)^SOURCE +VERSION +RESULT +FAILED PHASE +TIME +LOG$`,
		`(?m)^fails +1\.0 +failed +build +[0-9.]+m?s +` + regexp.QuoteMeta(out) + `/fails_1\.0_\w+\.build$`,
		`(?m)^hello-c +1\.0 +built +- +`,
		`(?m)^3 built, 1 failed in `,
	} {
		if !regexp.MustCompile(re).MatchString(stderr) {
			t.Errorf("stderr lacks %s:\n%s", re, stderr)
		}
	}
	helloLog := recs["hello-c"].Log
	logInfo, err := os.Stat(helloLog)
	if err != nil {
		t.Fatal(err)
	}

	// Resumed: the three built are skipped; the failed one is tried again.
	recs, stderr, code = runBatch(t, srcs[0], srcs[1], "--from", list, "-J", "2", "--out", out, "--skip-built")
	if code != 3 {
		t.Errorf("resumed: exit status %d, want 3; stderr:\n%s", code, stderr)
	}
	for name, o := range map[string]batch.Outcome{"hello-all": batch.Skipped, "fails": batch.Failed, "hello-c": batch.Skipped, "needs-deps": batch.Skipped} {
		if r := recs[name]; r == nil || r.Outcome != o {
			t.Errorf("resumed: %s: %+v, want %s", name, r, o)
		}
	}
	if strings.Count(stderr, ": started") != 4 || !strings.Contains(stderr, "3 skipped, 1 failed in ") {
		t.Errorf("resumed: stderr:\n%s", stderr)
	}
	if after, err := os.Stat(helloLog); err != nil || !after.ModTime().Equal(logInfo.ModTime()) {
		t.Errorf("hello-c's log was written again, or removed (%v)", err)
	}
}

// TestBatchInterrupt interrupts a batch of three, -J 2, while two builds
// run: exit status 130, both builds' processes gone, no session or mount
// left, and the summary says what became of each source.
func TestBatchInterrupt(t *testing.T) {
	testenv.SharedRoot(t)
	tok := fmt.Sprintf("0.%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
	var srcs []string
	for range 2 {
		src := testenv.CopyPackage(t, "hello-all")
		rules := "#!/usr/bin/make -f\n%:\n\tdh $@\n\noverride_dh_auto_build:\n\tsleep 1000 " + tok + "\n"
		if err := os.WriteFile(filepath.Join(src, "debian", "rules"), []byte(rules), 0o755); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	srcs = append(srcs, testenv.CopyPackage(t, "hello-c"))
	known := sessions(t)
	c := pkgbox(t, append([]string{"build", "--root", testenv.RootName, "-J", "2"}, srcs...)...)
	var stdout, stderr testenv.SyncBuffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two builds sleep", 60*time.Second, func() bool {
		n := 0
		for _, pid := range procsWith(tok) {
			if b, _ := os.ReadFile("/proc/" + pid + "/comm"); string(b) == "sleep\n" {
				n++
			}
		}
		return n == 2
	})
	c.Process.Signal(os.Interrupt)
	err := c.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("pkgbox after SIGINT: %v, want exit status 130; stderr:\n%s", err, stderr.String())
	}
	if p := procsWith(tok); len(p) > 0 {
		t.Errorf("processes left: %v", p)
	}
	for _, id := range testenv.LeakedSessions(testenv.StoreDir(), known) {
		t.Errorf("session %s left behind", id)
	}
	if m, _ := store.MountsUnder(testenv.StoreDir()); len(m) > 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
	for _, re := range []string{
		`(?m)^hello-all +1\.0 +interrupted +build +`,
		`(?m)^\S+/hello-c +- +not-built +- +`,
		`(?m)^2 interrupted, 1 not-built in `,
	} {
		if !regexp.MustCompile(re).MatchString(stdout.String()) {
			t.Errorf("stdout lacks %s:\n%s\nstderr:\n%s", re, stdout.String(), stderr.String())
		}
	}
}

// TestRebuildRdepsList finds the reverse build dependencies of a library
// of the test root's suite in its real lists: bookworm's libsigsegv-dev
// is build-depended on by asymptote, clisp, gawk, m4 and maude (as a grep
// of its Sources index says).
func TestRebuildRdepsList(t *testing.T) {
	testenv.SharedRoot(t)
	out, err := pkgbox(t, "rebuild-rdeps", "--root", testenv.RootName, "libsigsegv-dev", "--list").Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, version, ok := strings.Cut(l, "=")
		if !ok || version == "" {
			t.Errorf("line %q: want NAME=VERSION", l)
		}
		names = append(names, name)
	}
	if got := strings.Join(names, " "); got != "asymptote clisp gawk m4 maude" {
		if suite, _ := os.ReadFile(filepath.Join(testenv.StoreDir(), "roots", testenv.RootName+".json")); !strings.Contains(string(suite), `"bookworm"`) {
			t.Skipf("the test root is not bookworm, whose list this test knows: got %s", got)
		}
		t.Errorf("got %s", got)
	}
}

// TestRebuildRdepsExtraPackage rebuilds the one source of bookworm that
// build-depends on libmath-sparsevector-perl, libmath-sparsematrix-perl (small, and
// served by the mirror), with a "new"
// .deb made here whose /usr/local/bin/make fails (first on the build's
// PATH): it fails with it, builds without it, and pkgbox says it fails only
// with the new .debs; exit status 3.
func TestRebuildRdepsExtraPackage(t *testing.T) {
	testenv.SharedRoot(t)
	if suite, _ := os.ReadFile(filepath.Join(testenv.StoreDir(), "roots", testenv.RootName+".json")); !strings.Contains(string(suite), `"bookworm"`) {
		t.Skip("the test root is not bookworm, whose lists this test knows")
	}
	pkg := filepath.Join(t.TempDir(), "breaker")
	for name, content := range map[string]string{
		"DEBIAN/control":     "Package: pkgbox-test-breaker\nVersion: 1.0\nArchitecture: all\nMaintainer: pkgbox tests <pkgbox@example.invalid>\nDescription: a make that fails\n",
		"usr/local/bin/make": "#!/bin/sh\necho 'pkgbox-test-breaker: this make always fails' >&2\nexit 1\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(pkg, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkg, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(t.TempDir(), "pkgbox-test-breaker_1.0_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", pkg, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v: %s", err, out)
	}
	out := t.TempDir()
	known := sessions(t)
	c := pkgbox(t, "rebuild-rdeps", "--root", testenv.RootName, "libmath-sparsevector-perl", "--extra-package", deb, "--out", out, "-J", "1")
	var stdout, stderr testenv.SyncBuffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("exit: %v, want status 3", err)
	}
	for _, re := range []string{
		`(?m)^libmath-sparsematrix-perl +\S+ +failed +build +`,
		`(?m)^libmath-sparsematrix-perl +\S+ +built +- +\S+ +` + regexp.QuoteMeta(out) + `/without-new-debs/`,
		`(?m)^fail only with the new \.debs \(built without them\): libmath-sparsematrix-perl=\S+$`,
	} {
		if !regexp.MustCompile(re).MatchString(stdout.String()) {
			t.Errorf("stdout lacks %s:\n%s\nstderr:\n%s", re, stdout.String(), stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "pkgbox: 1 source of bookworm build-depends on libmath-sparsevector-perl") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	logs, _ := filepath.Glob(filepath.Join(out, "libmath-sparsematrix-perl_*.build"))
	if len(logs) != 1 {
		t.Fatalf("logs: %v", logs)
	}
	if log, _ := os.ReadFile(logs[0]); !strings.Contains(string(log), "pkgbox-test-breaker: this make always fails") {
		t.Errorf("%s does not show the new .deb's make failing", logs[0])
	}
	for _, id := range testenv.LeakedSessions(testenv.StoreDir(), known) {
		t.Errorf("session %s left behind", id)
	}
	if m, _ := store.MountsUnder(testenv.StoreDir()); len(m) > 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
}
