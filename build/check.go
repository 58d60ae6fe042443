package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"pkgbox/debian"
	"pkgbox/sandbox"
	"pkgbox/session"
)

// Checks after the build (issue 14): lintian, autopkgtest and piuparts
// live in package check; this file is the build's side of them. A check
// runs once the artifacts are collected, in fresh overlay sessions of the
// build's root (never on the host, never in the build's own session), with
// the build's log, limits and apt cache, and tools it needs installed
// through the build's dependency machinery, layers included.

// Check tests what a build made.
type Check interface {
	// Name names the check's phase: "lintian".
	Name() string
	// Run runs the check. An error says the check could not run; the
	// result, when there is one, says what it found and whether the
	// user's fail policy counts that as a failure.
	Run(ctx context.Context, env *CheckEnv) (*CheckResult, error)
}

// CheckResult is what one check found.
type CheckResult struct {
	Name string `json:"name"`
	// Summary is one line for the build's summary.
	Summary string `json:"summary"`
	// Failed says the check's fail policy (--lintian-fail-on,
	// --autopkgtest-fail) counts what it found as a failure.
	Failed bool `json:"failed"`
	// Error is why the check could not run to its end.
	Error string `json:"error,omitempty"`
	// Details are the check's own findings: tags, tests, files.
	Details any `json:"details,omitempty"`
}

// CheckEnv is what a check gets of the build.
type CheckEnv struct {
	b *builder
	// Source is the built source package.
	Source *debian.Source
	// Arch is the build's architecture.
	Arch string
	// Changes is the base name of the build's .changes in the output
	// directory.
	Changes string
	// Files are the base names of the artifacts, the .changes last.
	Files []string
	// phase is the running check's name, the phase its installs report.
	phase string
}

// Log is the build log.
func (e *CheckEnv) Log() io.Writer { return e.b.log }

// Printf writes a line to the build log.
func (e *CheckEnv) Printf(format string, args ...any) { e.b.log.Printf(format, args...) }

// Debs are the base names of the binary packages the build made.
func (e *CheckEnv) Debs() []string {
	var debs []string
	for _, f := range e.Files {
		if strings.HasSuffix(f, ".deb") {
			debs = append(debs, f)
		}
	}
	return debs
}

// BuildDepends is the build's reduced Build-Depends, for autopkgtest's
// @builddeps@.
func (e *CheckEnv) BuildDepends() (string, error) {
	depends, _, err := buildDeps(e.b.src, e.b.arch, e.b.req.Profiles, e.b.req.Type)
	return joinDeps("build-essential, fakeroot", depends), err
}

// Open opens a fresh overlay session on the build's root.
func (e *CheckEnv) Open(ctx context.Context) (*CheckSession, error) {
	req := *e.b.req
	// The check's installs key their layers on what they install only.
	req.Profiles, req.ExtraPackages = nil, nil
	sess, err := session.Open(ctx, &session.Options{Store: req.Store, Root: e.b.res.Root, Profile: req.Profile,
		Warn: func(w string) { e.b.log.Printf("warning: %s", w) }})
	if err != nil {
		return nil, err
	}
	nb := *e.b
	// A result of its own: what its installs did with layers is the
	// check's, not the build's.
	nb.req, nb.sess, nb.builddir, nb.res = &req, sess, "", &Result{Root: e.b.res.Root}
	return &CheckSession{b: &nb, phase: e.phase}, nil
}

// CheckSession is one fresh session of a check.
type CheckSession struct {
	b     *builder
	phase string
}

// Install installs packages (a Depends field's value) and the build's
// binary packages debs (base names in the output directory), network on
// for the download only, as the build's dependencies are installed. what
// names them in messages. A layer keeps packages (never debs, which are
// new with every build) when layer is set and the build uses layers.
func (s *CheckSession) Install(ctx context.Context, what, packages string, debs []string, layer bool) error {
	if strings.TrimSpace(packages) == "" {
		// Only debs: apt needs some dependency to satisfy, and every
		// root has dpkg.
		packages = "dpkg"
	}
	plan := &depsPlan{Source: s.b.src.Name, Arch: s.b.arch, Depends: packages, What: what, UpdateLists: s.b.listsStale()}
	mounts, closeAll, err := s.debMounts(debs, "/build/.extra/")
	if err != nil {
		return err
	}
	defer closeAll()
	for _, m := range mounts {
		plan.Extra = append(plan.Extra, m.Target)
	}
	noLayers := s.b.req.NoLayers
	if !layer || len(debs) > 0 {
		s.b.req.NoLayers = true
	}
	defer func() { s.b.req.NoLayers = noLayers }()
	return s.b.installPlan(ctx, plan, mounts, s.phase)
}

// debMounts binds the artifacts names read-only under dir, each opened
// in the output directory without following links.
func (s *CheckSession) debMounts(names []string, dir string) ([]sandbox.Mount, func(), error) {
	var mounts []sandbox.Mount
	closeAll := func() {
		for _, m := range mounts {
			m.File.Close()
		}
	}
	for _, n := range names {
		f, err := openArtifact(s.b.out.dir, n)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		mounts = append(mounts, sandbox.Mount{Type: sandbox.TypeBind, Source: s.b.out.path(n), File: f,
			Target: dir + n, Flags: sandbox.ReadOnly | sandbox.NoSuid | sandbox.NoDev})
	}
	return mounts, closeAll, nil
}

// ArtifactMounts binds the artifacts names read-only into dir inside the
// sandbox; close releases them once the sandboxes that use them are done.
func (s *CheckSession) ArtifactMounts(dir string, names []string) (mounts []sandbox.Mount, close func(), err error) {
	return s.debMounts(names, strings.TrimSuffix(dir, "/")+"/")
}

// UnpackSource unpacks the built source into the session as the build
// did, owned by the build user, and returns its directory.
func (s *CheckSession) UnpackSource(ctx context.Context) (string, error) {
	if err := s.b.unpackSource(ctx); err != nil {
		return "", err
	}
	return s.b.builddir, nil
}

// Exec runs c in a new sandbox of the session and returns its result; its
// standard output and error go to the log unless c says otherwise.
func (s *CheckSession) Exec(ctx context.Context, c *session.Command) (*sandbox.Result, error) {
	return s.b.sandboxExec(ctx, c)
}

// Run is Exec where any exit status but 0 is an error.
func (s *CheckSession) Run(ctx context.Context, c *session.Command) error {
	return s.b.sandboxRun(ctx, c)
}

// Output runs script with sh as root, network off, and returns its
// standard output; its standard error goes to the log.
func (s *CheckSession) Output(ctx context.Context, script string) (string, error) {
	var out bytes.Buffer
	err := s.b.sandboxRun(ctx, &session.Command{Args: []string{"/bin/sh", "-c", script},
		Env: []string{"DEBIAN_FRONTEND=noninteractive"}, Stdio: sandbox.Stdio{Stdout: &out}})
	return out.String(), err
}

// Layer says what the session's last install did with a layer, if
// anything.
func (s *CheckSession) Layer() *LayerUse { return s.b.res.Layer }

// Close drops the session.
func (s *CheckSession) Close() error { return s.b.sess.Close() }

// runChecks runs the request's checks after a successful build, each as a
// phase of its own. A check that cannot run is reported in its result and
// in the log; it fails the build only where its fail policy says so,
// which the command turns into its exit status.
// ctx carries the build's time limit, parent only the user's interrupt.
func (b *builder) runChecks(parent, ctx context.Context) error {
	if len(b.req.Checks) == 0 {
		return nil
	}
	env := &CheckEnv{b: b, Source: b.src, Arch: b.arch, Changes: changesName(b.src, b.arch, b.req.Type)}
	for _, a := range b.res.Artifacts {
		env.Files = append(env.Files, filepath.Base(a.Path))
	}
	for _, c := range b.req.Checks {
		env.phase = c.Name()
		b.log.phase(c.Name())
		b.progress(Event{Phase: c.Name(), Percent: -1})
		start := time.Now()
		res, err := c.Run(ctx, env)
		if parent.Err() != nil {
			return parent.Err()
		}
		if ctx.Err() != nil {
			// The time limit counts the checks too: the build is stopped
			// as it would be in any of its steps.
			reason := fmt.Sprintf("it ran longer than the time limit (--timeout %s) and was stopped", b.req.Timeout)
			b.log.Printf("pkgbox: %s", reason)
			b.res.Failed = c.Name()
			b.res.Phases = append(b.res.Phases, Phase{Name: c.Name(), Duration: time.Since(start), Failed: true})
			return &FailedError{Phase: c.Name(), Log: b.log.Path, Reason: reason}
		}
		if res == nil {
			res = &CheckResult{Name: c.Name()}
		}
		res.Name = c.Name()
		if err != nil {
			res.Error = err.Error()
			if res.Summary == "" {
				res.Summary = "could not run: " + err.Error()
			}
			b.log.Printf("pkgbox: %s could not run: %v", c.Name(), err)
		}
		b.log.Printf("%s: %s", c.Name(), res.Summary)
		b.res.Phases = append(b.res.Phases, Phase{Name: c.Name(), Duration: time.Since(start)})
		b.res.Checks = append(b.res.Checks, *res)
		b.progress(Event{Phase: c.Name(), Percent: 100, Done: true})
	}
	return nil
}

// ChecksFailed says whether a check's fail policy failed the build.
func (r *Result) ChecksFailed() []string {
	var names []string
	for _, c := range r.Checks {
		if c.Failed {
			names = append(names, c.Name)
		}
	}
	return names
}
