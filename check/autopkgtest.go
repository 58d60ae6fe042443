package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"pkgbox/build"
	"pkgbox/debian"
	"pkgbox/sandbox"
	"pkgbox/session"
)

// Autopkgtest runs the source's autopkgtests (debian/tests/control)
// against the built binary packages. pkgbox is the testbed itself, as
// autopkgtest's null virtualisation would be, but each test gets a fresh
// overlay session of the root of its own: what a test breaks or leaves
// never reaches the next one.
type Autopkgtest struct {
	// Fail makes a failed test fail the build.
	Fail bool
}

// The results of one test, as autopkgtest names them.
const (
	TestPass  = "PASS"
	TestFail  = "FAIL"
	TestSkip  = "SKIP"
	TestFlaky = "FLAKY" // failed, but the test is marked flaky
)

// TestResult is one test's outcome.
type TestResult struct {
	Name   string `json:"name"`
	Result string `json:"result"`
	// Reason says why a test failed or was skipped.
	Reason   string `json:"reason,omitempty"`
	ExitCode int    `json:"exit_code"`
	// User is who ran it: root (needs-root) or the build user.
	User string `json:"user"`
	// Network says whether it had the network (needs-internet).
	Network  bool          `json:"network"`
	Duration time.Duration `json:"duration_ns"`
}

// AutopkgtestReport is what the tests did.
type AutopkgtestReport struct {
	Tests []TestResult `json:"tests"`
}

// Name is the check's phase name.
func (a *Autopkgtest) Name() string { return "autopkgtest" }

// unsupported are the restrictions a pkgbox session cannot give, with
// why; a test that lists one is skipped, as autopkgtest skips tests its
// testbed cannot run.
var unsupported = map[string]string{
	"isolation-machine": "it needs a machine of its own (a VM); a pkgbox session is a container",
	"needs-reboot":      "it reboots the testbed, which a pkgbox session cannot do",
	"needs-sudo":        "it needs a user with sudo rights, which the build user has not",
	"build-needed":      "it needs the source tree built first, which pkgbox's autopkgtest does not do yet",
	"needs-recommends":  "it needs Recommends installed, which pkgbox's installs leave out",
}

// Run reads debian/tests/control from the unpacked source in a fresh
// session and runs each test in a session of its own.
func (a *Autopkgtest) Run(ctx context.Context, env *build.CheckEnv) (res *build.CheckResult, err error) {
	rep := &AutopkgtestReport{}
	res = &build.CheckResult{Details: rep}
	defer func() {
		res.Summary = rep.summary(err)
		res.Failed = a.Fail && (err != nil || rep.failed() > 0)
	}()
	tests, err := readTests(ctx, env)
	if err != nil || tests == nil {
		return res, err
	}
	for _, t := range tests {
		r := runTest(ctx, env, &t)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		env.Printf("autopkgtest %s: %s%s", r.Name, r.Result, reasonSuffix(r.Reason))
		rep.Tests = append(rep.Tests, r)
	}
	return res, nil
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}

// maxControl bounds what is read of debian/tests/control.
const maxControl = 1 << 20

// readTests unpacks the source in a fresh session and parses its
// debian/tests/control; nil tests and no error mean the source has none.
func readTests(ctx context.Context, env *build.CheckEnv) ([]debian.Test, error) {
	sess, err := env.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	dir, err := sess.UnpackSource(ctx)
	if err != nil {
		return nil, err
	}
	// Read inside the sandbox: the tree is the package's, and a symlink in
	// it resolves within the root, never on the host.
	out, err := sess.Output(ctx, "f="+shellWord(dir+"/debian/tests/control")+
		"\nif [ -f \"$f\" ]; then echo yes; head -c "+fmt.Sprint(maxControl)+" \"$f\"; else echo no; fi")
	if err != nil {
		return nil, fmt.Errorf("read debian/tests/control: %w", err)
	}
	has, data, _ := strings.Cut(out, "\n")
	if has != "yes" {
		env.Printf("autopkgtest: the source has no debian/tests/control")
		return nil, nil
	}
	return debian.ParseTests("debian/tests/control", []byte(data))
}

// runTest runs one test in a session of its own.
func runTest(ctx context.Context, env *build.CheckEnv, t *debian.Test) TestResult {
	r := TestResult{Name: t.Name, User: build.BuildUser, Network: t.Has("needs-internet")}
	if t.Has("needs-root") {
		r.User = "root"
	}
	for _, restriction := range t.Restrictions {
		if why, ok := unsupported[restriction]; ok {
			r.Result, r.Reason = TestSkip, restriction+": "+why
			return r
		}
	}
	for _, d := range t.Depends {
		if d == "@recommends@" {
			r.Result, r.Reason = TestSkip, "@recommends@: it needs the Recommends of the built packages, which pkgbox's installs leave out"
			return r
		}
	}
	start := time.Now()
	defer func() { r.Duration = time.Since(start) }()
	fail := func(format string, args ...any) TestResult {
		r.Result, r.Reason = TestFail, fmt.Sprintf(format, args...)
		if t.Has("flaky") {
			r.Result = TestFlaky
		}
		return r
	}
	sess, err := env.Open(ctx)
	if err != nil {
		return fail("open a session: %v", err)
	}
	defer sess.Close()
	packages, debs, err := testDepends(env, t)
	if err != nil {
		return fail("%v", err)
	}
	if err := sess.Install(ctx, "the dependencies of test "+t.Name, packages, debs, false); err != nil {
		return fail("%v", err)
	}
	dir, err := sess.UnpackSource(ctx)
	if err != nil {
		return fail("unpack the source: %v", err)
	}
	var stderr bytes.Buffer
	c := &session.Command{
		Args:    []string{"/bin/sh", "-c", testScript, "autopkgtest", t.Path, t.Command},
		Dir:     dir,
		Network: r.Network,
		Env:     []string{"DEBIAN_FRONTEND=noninteractive"},
		Stdio:   sandbox.Stdio{Stderr: io.MultiWriter(env.Log(), &stderr)},
	}
	if r.User != "root" {
		c.User = build.BuildUser
		c.Env = append(c.Env, "USER="+build.BuildUser, "LOGNAME="+build.BuildUser)
	}
	env.Printf("autopkgtest %s: as %s, network %s", t.Name, r.User, onOff(r.Network))
	res, err := sess.Exec(ctx, c)
	if err != nil {
		return fail("%v", err)
	}
	r.ExitCode = res.ExitCode
	switch {
	case res.ExitCode == 77 && t.Has("skippable"):
		r.Result, r.Reason = TestSkip, "the test skipped itself (exit status 77, skippable)"
	case res.ExitCode != 0:
		return fail("exit status %d", res.ExitCode)
	case stderr.Len() > 0 && !t.Has("allow-stderr"):
		line, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		return fail("it wrote to standard error, without allow-stderr: %q", line)
	default:
		r.Result = TestPass
	}
	return r
}

// testScript runs one test: $1 is a test program's path in the source
// tree, or $2 a Test-Command. Each test gets fresh AUTOPKGTEST_TMP and
// AUTOPKGTEST_ARTIFACTS directories (and their old ADT names) and a HOME
// of its own, as autopkgtest gives them.
const testScript = `set -e
export AUTOPKGTEST_TMP="$(mktemp -d /tmp/autopkgtest.XXXXXX)"
export AUTOPKGTEST_ARTIFACTS="$(mktemp -d /tmp/autopkgtest-artifacts.XXXXXX)"
export ADTTMP="$AUTOPKGTEST_TMP" ADT_ARTIFACTS="$AUTOPKGTEST_ARTIFACTS"
export HOME="$(mktemp -d /tmp/autopkgtest-home.XXXXXX)"
set +e
if [ -n "$1" ]; then
	[ -x "$1" ] || chmod +x "$1"
	exec "./$1"
fi
exec sh -c "$2"
`

// testDepends splits a test's Depends into packages for apt and the
// built .debs ("@"); "@builddeps@" becomes the build dependencies.
func testDepends(env *build.CheckEnv, t *debian.Test) (string, []string, error) {
	var pkgs []string
	var debs []string
	for _, d := range t.Depends {
		switch d {
		case "@":
			debs = env.Debs()
			if len(debs) == 0 {
				return "", nil, errors.New("it depends on the built packages (@), but the build made no .deb")
			}
		case "@builddeps@":
			bd, err := env.BuildDepends()
			if err != nil {
				return "", nil, err
			}
			pkgs = append(pkgs, bd)
		default:
			pkgs = append(pkgs, d)
		}
	}
	return strings.Join(pkgs, ", "), debs, nil
}

func (r *AutopkgtestReport) count(result string) int {
	n := 0
	for _, t := range r.Tests {
		if t.Result == result {
			n++
		}
	}
	return n
}

func (r *AutopkgtestReport) failed() int { return r.count(TestFail) }

func (r *AutopkgtestReport) summary(err error) string {
	if err == nil && len(r.Tests) == 0 {
		return "no tests (no debian/tests/control)"
	}
	s := fmt.Sprintf("%d tests: %d passed, %d failed, %d skipped", len(r.Tests), r.count(TestPass), r.failed(), r.count(TestSkip))
	if n := r.count(TestFlaky); n > 0 {
		s += fmt.Sprintf(", %d flaky failed", n)
	}
	return s
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// shellWord quotes s for sh.
func shellWord(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
