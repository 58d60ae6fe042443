package check_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pkgbox/build"
	"pkgbox/check"
	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
	"pkgbox/store"
)

func TestMain(m *testing.M) {
	sandbox.MaybeInit()
	os.Exit(m.Run())
}

// buildWith builds a copy of testdata package name on the shared root
// with checks, and checks that nothing is left behind.
func buildWith(t *testing.T, name string, checks ...build.Check) *build.Result {
	t.Helper()
	s, _ := testenv.SharedRoot(t)
	src := testenv.CopyPackage(t, name)
	entries, _ := os.ReadDir(s.Dir + "/sessions")
	before := map[string]bool{}
	for _, e := range entries {
		before[e.Name()] = true
	}
	res, err := build.Build(context.Background(), &build.Request{Store: s, Source: src, Root: testenv.RootName,
		Jobs: 2, Out: t.TempDir(), Checks: checks})
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	for _, id := range testenv.LeakedSessions(s.Dir, before) {
		t.Errorf("session %s left behind", id)
	}
	if m, _ := store.MountsUnder(s.Dir); len(m) > 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
	if len(res.Checks) != len(checks) {
		t.Fatalf("got %d check results, want %d: %+v", len(res.Checks), len(checks), res.Checks)
	}
	return res
}

// TestLintianPlanted builds a package with planted tags and runs lintian
// twice: the first run finds them and fails the build as --lintian-fail-on
// asks; the second reuses the layer that holds lintian and installs nothing.
func TestLintianPlanted(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	res := buildWith(t, "lint-planted", &check.Lintian{FailOn: "error"}, &check.Lintian{})
	for i, c := range res.Checks {
		rep := c.Details.(*check.LintianReport)
		if c.Error != "" {
			t.Fatalf("lintian run %d: %s", i+1, c.Error)
		}
		found := false
		for _, tag := range rep.Tags {
			if tag.Severity == "E" && tag.Package == "lint-planted" && tag.Tag == "no-copyright-file" {
				found = true
			}
		}
		if !found {
			t.Errorf("lintian run %d did not report the planted no-copyright-file error; tags: %+v", i+1, rep.Tags)
		}
		counts := map[string]int{}
		for _, tag := range rep.Tags {
			counts[tag.Severity]++
		}
		if counts["E"] != rep.Counts["E"] || counts["W"] != rep.Counts["W"] || rep.Counts["E"] < 1 || rep.Counts["W"] < 1 {
			t.Errorf("lintian run %d: counts %v, tags counted %v; want at least one E and one W", i+1, rep.Counts, counts)
		}
		if rep.Layer == nil {
			t.Errorf("lintian run %d used no layer", i+1)
		}
		t.Logf("lintian run %d: %s; layer %+v", i+1, c.Summary, rep.Layer)
	}
	if !res.Checks[0].Failed || res.Checks[1].Failed {
		t.Errorf("failed = %v, %v; want true with FailOn error, false without", res.Checks[0].Failed, res.Checks[1].Failed)
	}
	if l := res.Checks[1].Details.(*check.LintianReport).Layer; l == nil || l.Action != "reused" {
		t.Errorf("the second lintian run did not reuse the first one's layer: %+v", l)
	}
	if got := res.ChecksFailed(); len(got) != 1 || got[0] != "lintian" {
		t.Errorf("ChecksFailed = %v", got)
	}
}

// TestAutopkgtestDemo runs the testdata package's autopkgtests: one
// passes as the build user, one fails, one passes as root (needs-root),
// the network is there only for the needs-internet one, and a test that
// needs a machine of its own is skipped.
func TestAutopkgtestDemo(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	res := buildWith(t, "autotest-demo", &check.Autopkgtest{Fail: true})
	c := res.Checks[0]
	if c.Error != "" {
		t.Fatalf("autopkgtest: %s", c.Error)
	}
	rep := c.Details.(*check.AutopkgtestReport)
	want := map[string]struct{ result, user string }{
		"passes":   {check.TestPass, "pkgbox"},
		"fails":    {check.TestFail, "pkgbox"},
		"command1": {check.TestPass, "root"},
		"offline":  {check.TestPass, "pkgbox"},
		"online":   {check.TestPass, "pkgbox"},
		"on-a-vm":  {check.TestSkip, "pkgbox"},
	}
	if len(rep.Tests) != len(want) {
		t.Errorf("got %d tests, want %d: %+v", len(rep.Tests), len(want), rep.Tests)
	}
	for _, r := range rep.Tests {
		w, ok := want[r.Name]
		if !ok || r.Result != w.result || r.User != w.user {
			t.Errorf("test %s: %s as %s (%s), want %+v", r.Name, r.Result, r.User, r.Reason, w)
		}
		if r.Name == "fails" && (r.Reason != "exit status 1" || r.ExitCode != 1) {
			t.Errorf("test fails: %q, exit status %d; want exit status 1", r.Reason, r.ExitCode)
		}
		if r.Network != (r.Name == "online") {
			t.Errorf("test %s: network %v", r.Name, r.Network)
		}
	}
	if c.Summary != "6 tests: 4 passed, 1 failed, 1 skipped" || !c.Failed {
		t.Errorf("summary %q, failed %v; want 4 passed, 1 failed, 1 skipped, and failed", c.Summary, c.Failed)
	}
}

// TestPiupartsLeftFile installs and purges a package whose postinst
// leaves a file: the file and its directory are reported, and nothing
// else (what dpkg and apt change is ignored).
func TestPiupartsLeftFile(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	res := buildWith(t, "leaves-file", &check.Piuparts{})
	c := res.Checks[0]
	if c.Error != "" {
		t.Fatalf("piuparts: %s", c.Error)
	}
	rep := c.Details.(*check.PiupartsReport)
	want := []string{"d /var/lib/leaves-file", "f /var/lib/leaves-file/state"}
	if !reflect.DeepEqual(rep.Left, want) || len(rep.Missing) != 0 {
		t.Errorf("left after purge %q, missing %q; want left %q", rep.Left, rep.Missing, want)
	}
	if len(rep.Upgraded) != 0 || c.Summary != "installed, purged: 2 left behind" {
		t.Errorf("summary %q, upgraded from %v", c.Summary, rep.Upgraded)
	}
}

// TestHelloChecks builds Debian's hello, fetched from the root's suite, as
// a newer version than the suite's, with two checks: its autopkgtests (a
// Test-Command and the upstream tests) pass against the new .debs, and
// piuparts installs the suite's hello, upgrades it to the new one and
// purges it, leaving nothing behind. One build for both keeps the test
// short.
func TestHelloChecks(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	s, _ := testenv.SharedRoot(t)
	dsc, err := build.Fetch(context.Background(), s, testenv.RootName, "hello=2.10-3")
	if err != nil {
		t.Fatalf("fetch hello: %v", err)
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "hello")
	if out, err := exec.Command("dpkg-source", "--no-check", "-x", dsc, tree).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-source -x: %v: %s", err, out)
	}
	changelog := filepath.Join(tree, "debian", "changelog")
	old, err := os.ReadFile(changelog)
	if err != nil {
		t.Fatal(err)
	}
	entry := "hello (2.10-3+pkgbox1) bookworm; urgency=medium\n\n  * Rebuilt by pkgbox's tests of the checks.\n\n" +
		" -- pkgbox tests <pkgbox@example.invalid>  Mon, 01 Jan 2024 00:00:00 +0000\n\n"
	if err := os.WriteFile(changelog, append([]byte(entry), old...), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := build.Build(context.Background(), &build.Request{Store: s, Source: tree, Root: testenv.RootName,
		Jobs: 2, NoCheck: true, Out: dir, Checks: []build.Check{&check.Autopkgtest{Fail: true}, &check.Piuparts{}}})
	if err != nil {
		t.Fatalf("build hello: %v", err)
	}
	if len(res.Checks) != 2 {
		t.Fatalf("checks: %+v", res.Checks)
	}

	c := res.Checks[0]
	got := map[string]string{}
	for _, r := range c.Details.(*check.AutopkgtestReport).Tests {
		got[r.Name] = r.Result + " " + r.Reason
	}
	if c.Failed || c.Error != "" || len(got) != 2 || got["command1"] != "PASS " || got["upstream-tests"] != "PASS " {
		t.Errorf("hello's autopkgtests: %s (error %q): %v", c.Summary, c.Error, got)
	}

	c = res.Checks[1]
	rep := c.Details.(*check.PiupartsReport)
	if c.Error != "" || rep.Upgraded["hello"] != "2.10-3" || len(rep.Left) != 0 || len(rep.Missing) != 0 {
		t.Errorf("piuparts of hello 2.10-3+pkgbox1: %s (error %q); upgraded from %v, left %q, missing %q",
			c.Summary, c.Error, rep.Upgraded, rep.Left, rep.Missing)
	}
	if log, _ := os.ReadFile(res.Log); !strings.Contains(string(log), "Unpacking hello (2.10-3+pkgbox1) over (2.10-3) ...") {
		t.Errorf("the log %s shows no upgrade of the suite's hello to the new one", res.Log)
	}
}
