package check_test

import (
	"context"
	"os"
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
