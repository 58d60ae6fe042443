package cmd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"pkgbox/batch"
	"pkgbox/build"
	"pkgbox/check"
)

// Which checks the flags ask for: a fail option implies its check, unless
// the check is turned off explicitly; a bad value is a usage error.
func TestBuildCheckFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"--lintian"}, "lintian()"},
		{[]string{"--lintian-fail-on", "warning"}, "lintian(warning)"},
		{[]string{"--lintian-fail-on", "error", "--lintian=false"}, ""},
		{[]string{"--autopkgtest"}, "autopkgtest(false)"},
		{[]string{"--autopkgtest-fail"}, "autopkgtest(true)"},
		{[]string{"--autopkgtest-fail", "--autopkgtest=false"}, ""},
		{[]string{"--piuparts", "--lintian", "--autopkgtest"}, "lintian() autopkgtest(false) piuparts"},
	} {
		cmd := newBuildCommand(&globalOptions{})
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		o := &checkOptions{}
		o.lintian, _ = cmd.Flags().GetBool("lintian")
		o.lintianFailOn, _ = cmd.Flags().GetString("lintian-fail-on")
		o.autopkgtest, _ = cmd.Flags().GetBool("autopkgtest")
		o.autopkgFail, _ = cmd.Flags().GetBool("autopkgtest-fail")
		o.piuparts, _ = cmd.Flags().GetBool("piuparts")
		checks, err := o.checks(cmd)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		var got []string
		for _, ch := range checks {
			switch v := ch.(type) {
			case *check.Lintian:
				got = append(got, fmt.Sprintf("lintian(%s)", v.FailOn))
			case *check.Autopkgtest:
				got = append(got, fmt.Sprintf("autopkgtest(%v)", v.Fail))
			default:
				got = append(got, ch.Name())
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%v: checks %q, want %q", c.args, strings.Join(got, " "), c.want)
		}
	}
	cmd := newBuildCommand(&globalOptions{})
	o := &checkOptions{lintianFailOn: "info"}
	_, err := o.checks(cmd)
	var out bytes.Buffer
	if code := report(&out, err, false); code != ExitUsage || out.String() != "pkgbox: --lintian-fail-on \"info\": want error or warning\n" {
		t.Errorf("--lintian-fail-on info: exit status %d, %q", code, out.String())
	}
}

// A check that failed as its fail option says is exit status 4, after one
// line naming it and the log; one that did not fail changes nothing.
func TestChecksExitStatus(t *testing.T) {
	var out bytes.Buffer
	res := &build.Result{Log: "/o/p.build", Checks: []build.CheckResult{{Name: "lintian", Failed: true}, {Name: "piuparts"}}}
	code := report(&out, checksError(&out, res), false)
	if code != ExitCheckFailed || out.String() != "pkgbox: the package built, but lintian failed; the full log is /o/p.build\n" {
		t.Errorf("exit status %d, output %q", code, out.String())
	}
	if err := checksError(&out, &build.Result{Checks: []build.CheckResult{{Name: "lintian"}}}); err != nil {
		t.Errorf("a check that did not fail: %v", err)
	}
}

// In a batch, a failed check makes exit status 4 only when every package
// built: a package's failure (3) says more.
func TestBatchChecksExitStatus(t *testing.T) {
	checked := &batch.Record{Input: "a", Outcome: batch.Built,
		Result: &build.Result{Log: "/o/a.build", Checks: []build.CheckResult{{Name: "lintian", Failed: true}}}}
	clean := &batch.Record{Input: "b", Outcome: batch.Built, Result: &build.Result{}}
	failed := &batch.Record{Input: "c", Outcome: batch.Failed, Result: &build.Result{}}
	var out bytes.Buffer
	if code := report(&out, batchExit(&out, []*batch.Record{clean, checked}), false); code != ExitCheckFailed ||
		!strings.Contains(out.String(), "lintian failed; the full log is /o/a.build") {
		t.Errorf("built, one check failed: exit status %d, %q", code, out.String())
	}
	out.Reset()
	if code := report(&out, batchExit(&out, []*batch.Record{checked, failed}), false); code != ExitBuildFailed {
		t.Errorf("one package failed too: exit status %d, %q", code, out.String())
	}
	if err := batchExit(&out, []*batch.Record{clean}); err != nil {
		t.Errorf("all built and checked: %v", err)
	}
}
