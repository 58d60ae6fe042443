// Package check has the checks that run after a build (issue 14): lintian
// on the .changes, the package's autopkgtests, and a piuparts-like
// install, upgrade and purge test. Each is a build.Check: it runs in fresh
// overlay sessions of the build's root, never on the host, with what it
// needs installed through the build's dependency machinery.
package check

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"pkgbox/build"
	"pkgbox/sandbox"
	"pkgbox/session"
)

// Lintian runs lintian on the build's .changes.
type Lintian struct {
	// FailOn is the lowest severity that fails the build: "error",
	// "warning", or "" for none.
	FailOn string
}

// LintianFailOn are the values of Lintian.FailOn.
var LintianFailOn = []string{"error", "warning"}

// CheckFailOn refuses a value of --lintian-fail-on that is not one of
// LintianFailOn.
func CheckFailOn(v string) error {
	for _, f := range LintianFailOn {
		if v == f {
			return nil
		}
	}
	return fmt.Errorf("%q: want error or warning", v)
}

// LintianTag is one line of lintian's report.
type LintianTag struct {
	// Severity is lintian's letter: E, W, I, P (or X, experimental).
	Severity string `json:"severity"`
	Package  string `json:"package"`
	// Type is "source", "udeb", "changes" or "buildinfo" where lintian
	// says, "" for a binary package.
	Type string `json:"type,omitempty"`
	Tag  string `json:"tag"`
	Info string `json:"info,omitempty"`
}

// LintianReport is what lintian found.
type LintianReport struct {
	Tags []LintianTag `json:"tags"`
	// Counts are the tags by severity letter.
	Counts map[string]int `json:"counts"`
	// ExitCode is lintian's own exit status.
	ExitCode int `json:"exit_code"`
	// Layer says what the install of lintian did with a layer.
	Layer *build.LayerUse `json:"layer,omitempty"`
}

// Name is the check's phase name.
func (l *Lintian) Name() string { return "lintian" }

// Run installs lintian in a fresh session (a layer keeps it for the next
// run) and runs it as the build user, network off, on the .changes and
// the files it lists, bound read-only from the output directory.
func (l *Lintian) Run(ctx context.Context, env *build.CheckEnv) (res *build.CheckResult, err error) {
	rep := &LintianReport{Counts: map[string]int{}}
	res = &build.CheckResult{Details: rep}
	defer func() {
		res.Summary = rep.summary()
		res.Failed = l.failed(rep, err)
	}()
	sess, err := env.Open(ctx)
	if err != nil {
		return res, err
	}
	defer sess.Close()
	if err := sess.Install(ctx, "lintian", "lintian", nil, true); err != nil {
		return res, err
	}
	rep.Layer = sess.Layer()
	const dir = "/build/out"
	mounts, closeFiles, err := sess.ArtifactMounts(dir, env.Files)
	if err != nil {
		return res, err
	}
	defer closeFiles()
	var out bytes.Buffer
	// --fail-on none: the exit status says only whether lintian itself
	// worked; pkgbox applies --lintian-fail-on to the tags.
	r, err := sess.Exec(ctx, &session.Command{
		Args:   []string{"lintian", "--display-info", "--pedantic", "--fail-on", "none", dir + "/" + env.Changes},
		User:   build.BuildUser,
		Env:    []string{"HOME=/tmp", "USER=" + build.BuildUser, "LOGNAME=" + build.BuildUser},
		Mounts: mounts,
		Stdio:  sandbox.Stdio{Stdout: io.MultiWriter(env.Log(), &out)},
	})
	if err != nil {
		return res, err
	}
	rep.ExitCode = r.ExitCode
	rep.Tags = ParseLintian(&out)
	for _, t := range rep.Tags {
		rep.Counts[t.Severity]++
	}
	if r.ExitCode != 0 {
		return res, fmt.Errorf("lintian exited with status %d (see the build log)", r.ExitCode)
	}
	return res, nil
}

// failed applies the fail policy: tags at or above FailOn, or, with a
// policy set, lintian not running to its end (a check that was asked to
// guard the build and could not does not pass it).
func (l *Lintian) failed(rep *LintianReport, err error) bool {
	switch l.FailOn {
	case "error":
		return err != nil || rep.Counts["E"] > 0
	case "warning":
		return err != nil || rep.Counts["E"]+rep.Counts["W"] > 0
	}
	return false
}

func (r *LintianReport) summary() string {
	return fmt.Sprintf("%d errors, %d warnings, %d info, %d pedantic", r.Counts["E"], r.Counts["W"], r.Counts["I"], r.Counts["P"])
}

// lintianLine is a tag line: "E: pkg: tag info", "W: pkg source: tag
// info". Lines of other kinds (N: notes, O: overridden, M: masked) are
// not tags of the package.
var lintianLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([EWIPX]): ([a-z0-9][a-z0-9+.-]*)(?: (source|udeb|binary|changes|buildinfo))?: ([A-Za-z0-9][A-Za-z0-9_.+-]*)(?: (.*))?$`)
})

// ParseLintian reads lintian's report.
func ParseLintian(r io.Reader) []LintianTag {
	var tags []LintianTag
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := lintianLine().FindStringSubmatch(strings.TrimRight(sc.Text(), "\r"))
		if m == nil {
			continue
		}
		tags = append(tags, LintianTag{Severity: m[1], Package: m[2], Type: m[3], Tag: m[4], Info: m[5]})
	}
	return tags
}
