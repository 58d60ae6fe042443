package cmd

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"pkgbox/build"
	"pkgbox/check"
)

// checkOptions are build's flags for the checks after the build (issue
// 14), apart from the build's own so that each side reads on its own.
type checkOptions struct {
	lintian       bool
	lintianFailOn string
	autopkgtest   bool
	autopkgFail   bool
	piuparts      bool
}

func (o *checkOptions) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.BoolVar(&o.lintian, "lintian", false, "run lintian on the new .changes, in a fresh session of the root with lintian installed (kept as a layer)")
	f.StringVar(&o.lintianFailOn, "lintian-fail-on", "", "fail (exit status 4) when lintian reports tags of this severity or worse: error or warning; implies --lintian")
	f.BoolVar(&o.autopkgtest, "autopkgtest", false, "run the package's autopkgtests (debian/tests/control) against the new .debs, each test in a fresh session of the root")
	f.BoolVar(&o.autopkgFail, "autopkgtest-fail", false, "fail (exit status 4) when an autopkgtest fails; implies --autopkgtest")
	f.BoolVar(&o.piuparts, "piuparts", false, "install (upgrading from the suite's version where it has one) and purge the new .debs in a fresh session, and report the files left behind")
}

// checks are the checks the flags ask for, in the order they run.
func (o *checkOptions) checks(c *cobra.Command) ([]build.Check, error) {
	var checks []build.Check
	if o.lintianFailOn != "" {
		if err := check.CheckFailOn(o.lintianFailOn); err != nil {
			return nil, &usageError{fmt.Errorf("--lintian-fail-on %w", err)}
		}
	}
	if o.lintian || (o.lintianFailOn != "" && !setByUser(c, "lintian")) {
		checks = append(checks, &check.Lintian{FailOn: o.lintianFailOn})
	}
	if o.autopkgtest || (o.autopkgFail && !setByUser(c, "autopkgtest")) {
		checks = append(checks, &check.Autopkgtest{Fail: o.autopkgFail})
	}
	if o.piuparts {
		checks = append(checks, &check.Piuparts{})
	}
	return checks, nil
}

// printBuildChecks adds the checks' results to the build's summary.
func printBuildChecks(out io.Writer, res *build.Result) {
	for _, c := range res.Checks {
		mark := ""
		if c.Failed {
			mark = "  FAILED"
		}
		fmt.Fprintf(out, "  %s: %s%s\n", c.Name, c.Summary, mark)
		if rep, ok := c.Details.(*check.LintianReport); ok {
			for _, t := range rep.Tags {
				if t.Severity == "E" || t.Severity == "W" {
					fmt.Fprintf(out, "    %s: %s %s\n", t.Severity, t.Package, strings.TrimSpace(t.Tag+" "+t.Info))
				}
			}
		}
		if rep, ok := c.Details.(*check.AutopkgtestReport); ok {
			for _, t := range rep.Tests {
				reason := ""
				if t.Reason != "" {
					reason = " (" + t.Reason + ")"
				}
				fmt.Fprintf(out, "    %-24s %s%s\n", t.Name, t.Result, reason)
			}
		}
		if rep, ok := c.Details.(*check.PiupartsReport); ok {
			for _, n := range rep.Notes {
				fmt.Fprintf(out, "    %s\n", n)
			}
			for _, f := range rep.Left {
				fmt.Fprintf(out, "    left after purge: %s\n", f)
			}
			for _, f := range rep.Missing {
				fmt.Fprintf(out, "    missing after purge: %s\n", f)
			}
		}
	}
}

// checksError is the exit status of a build that succeeded but whose
// checks failed as the user's fail policies say.
func checksError(w io.Writer, res *build.Result) error {
	failed := res.ChecksFailed()
	if len(failed) == 0 {
		return nil
	}
	fmt.Fprintf(w, "pkgbox: the package built, but %s failed; the full log is %s\n", strings.Join(failed, ", "), res.Log)
	return &exitError{code: ExitCheckFailed}
}
