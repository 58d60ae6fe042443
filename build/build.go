// Package build builds a Debian source package in a fresh overlay session
// on a root: it installs the build dependencies (network on, through the
// store's shared apt cache), copies the source in (the host tree is never
// written), runs dpkg-buildpackage as the root's unprivileged build user with
// the network off, copies the artifacts out and writes the full log beside
// them.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"pkgbox/bootstrap"
	"pkgbox/debian"
	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

// Type is what dpkg-buildpackage builds.
type Type string

// The build types, as dpkg-buildpackage's flags name them.
const (
	Binary     Type = "binary"       // -b: every binary package (sbuild's default)
	BinaryArch Type = "binary-arch"  // -B: architecture-dependent ones only
	BinaryAll  Type = "binary-indep" // -A: Architecture: all ones only
	Source     Type = "source"       // -S: the source package only
	Full       Type = "full"         // source and every binary
)

func (t Type) flag() string {
	switch t {
	case BinaryArch:
		return "-B"
	case BinaryAll:
		return "-A"
	case Source:
		return "-S"
	case Full:
		return "-F"
	}
	return "-b"
}

// BuildUser is the root's unprivileged user that runs dpkg-buildpackage,
// made by pkgbox create.
const BuildUser = bootstrap.BuildUser

// Request says what to build and how.
type Request struct {
	Store *store.Store
	// Source is a directory holding debian/, or a .dsc file.
	Source string
	// Package, instead of Source, names a source (or binary) package of the
	// root's suite, NAME or NAME=VERSION, which is fetched and built.
	Package string
	// Root names the root (or a root's path); empty chooses as ChooseRoot
	// does, without making a missing default root.
	Root    string
	Profile string
	// Out is where artifacts and the log go; empty means the source's parent
	// directory (for a .dsc, the current directory).
	Out       string
	Jobs      int
	Type      Type
	Network   bool
	Keep      bool
	Overwrite bool
	// Profiles are build profiles (DEB_BUILD_PROFILES).
	Profiles []string
	// NoCheck skips the package's tests: DEB_BUILD_OPTIONS=nocheck and the
	// nocheck build profile, as Debian's policy pairs them.
	NoCheck bool
	// DebBuildOpts are more options for dpkg-buildpackage.
	DebBuildOpts []string
	// Dist is the distribution the .changes names (sbuild's -d), instead
	// of the changelog's; a root of that name, if any, is the default root.
	Dist string
	// ExtraPackages are .deb files installed before the build.
	ExtraPackages []string
	// ExtraRepositories are apt sources ("deb [OPTIONS] URI SUITE
	// COMPONENT...") added to the build's session for the dependency
	// install, and ExtraRepositoryKeys the OpenPGP keys (files) that sign
	// them; see repos.go.
	ExtraRepositories   []string
	ExtraRepositoryKeys []string
	// Host is the architecture to cross-build for; empty or the root's
	// own means a native build.
	Host string
	// Verbose streams the whole log to it.
	Verbose io.Writer
	// Progress, if set, hears of phases and of the dependency install.
	Progress func(Event)
	// Limits cap each step's processes and memory; zero means none.
	Limits sandbox.Limits
	// StrictLimits makes a machine whose cgroups cannot apply Limits an
	// error; otherwise the build warns and runs without them (for default
	// limits, which the user did not ask for).
	StrictLimits bool
	// Timeout stops the build when it runs longer; zero means no limit.
	Timeout time.Duration

	// Checks run after a successful build (see check.go).
	Checks []Check

	// NoLayers installs the build dependencies afresh, and keeps no layer
	// of them (see layer.go).
	NoLayers bool
	// Ccache compiles through the root's compiler cache (see ccache.go),
	// which CcacheMaxSize bounds (0: store.DefaultCcacheMaxSize).
	Ccache        bool
	CcacheMaxSize int64

	// layerSalt, mixed into layer keys, gives a test layers of its own.
	layerSalt string
	// ccacheSalt, added to the compiler cache's name, gives a test a cache
	// of its own.
	ccacheSalt string
	// dummyDeps installs the build dependencies through a dummy package, as
	// for apt without satisfy, whatever the root's apt (for tests).
	dummyDeps bool
}

// Event is a progress report.
type Event struct {
	Phase string
	// Percent is the progress of the phase, or -1 when unknown.
	Percent float64
	Detail  string
	// Done marks the end of a phase.
	Done bool
}

// Result is what a build did.
type Result struct {
	Source    string     `json:"source"`
	Version   string     `json:"version"`
	Arch      string     `json:"arch"`
	Root      string     `json:"root"`
	Phases    []Phase    `json:"phases"`
	Failed    string     `json:"failed_phase,omitempty"`
	Artifacts []Artifact `json:"artifacts"`
	Log       string     `json:"log"`
	Session   string     `json:"kept_session,omitempty"`
	// Layer says whether a build-dependency layer was reused or made.
	Layer *LayerUse `json:"layer,omitempty"`
	// Ccache says what the compiler cache did (--ccache).
	Ccache *CcacheUse `json:"ccache,omitempty"`
	// Checks are the results of Request.Checks.
	Checks []CheckResult `json:"checks,omitempty"`
	// Tail is the log's last lines, for a failure report.
	Tail []string `json:"-"`
}

// FailedError says the package's own build (or its dependency install)
// failed; the Result has the details.
type FailedError struct {
	Phase string
	Log   string
	// Reason says why, when pkgbox knows better than the log: a limit.
	Reason string
	// Err is pkgbox's own trouble that made the step fail, when the
	// package is not to blame: a *store.NoSpaceError for a full store.
	Err error
}

func (e *FailedError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s failed: %s; the full log is %s", e.Phase, e.Reason, e.Log)
	}
	return fmt.Sprintf("%s failed; the full log is %s", e.Phase, e.Log)
}

// Unwrap returns Err.
func (e *FailedError) Unwrap() error { return e.Err }

// limitError is a step that ran into one of Request.Limits.
type limitError struct{ reason string }

func (e *limitError) Error() string { return e.reason }

// Build builds req.Source. It returns a Result whenever the build got as far
// as writing a log, together with a *FailedError when the package failed.
func Build(ctx context.Context, req *Request) (_ *Result, retErr error) {
	var fetchedRoot string
	if req.Package != "" {
		root, err := chooseRoot(req.Store, req.Root, nil)
		if err != nil {
			return nil, err
		}
		dsc, err := Fetch(ctx, req.Store, root, req.Package)
		if err != nil {
			return nil, err
		}
		req.Source, fetchedRoot = dsc, root
	}
	src, err := readSource(req.Source)
	if err != nil {
		return nil, err
	}
	if req.Jobs <= 0 {
		req.Jobs = runtime.NumCPU()
	}
	if req.Type == "" {
		req.Type = Binary
	}
	if req.Profile == "" {
		req.Profile = "buildd"
	}
	if req.NoCheck && !slices.Contains(req.Profiles, "nocheck") {
		req.Profiles = append(req.Profiles, "nocheck")
	}
	out, err := outDir(req, src)
	if err != nil {
		return nil, err
	}
	for _, p := range req.ExtraPackages {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() || !strings.HasSuffix(p, ".deb") {
			return nil, fmt.Errorf("extra package %q is not a .deb file", p)
		}
	}
	// The host files the build reads are opened and checked now, before
	// anything is made, and bound from these descriptors (issue 11,
	// finding 6): see inputs.
	in, err := openInputs(src)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	rootName := fetchedRoot
	if rootName == "" {
		rootName, err = chooseRoot(req.Store, req.Root, withDist(src, req.Dist))
		if err != nil {
			return nil, err
		}
	}
	// The build's architecture is the root's: a root of a foreign
	// architecture builds for it.
	arch := bootstrap.HostArch()
	if meta, err := req.Store.Root(rootName); err == nil && meta.Arch != "" {
		arch = meta.Arch
	}
	buildArch := arch
	extra, err := openExtraSources(req, buildArch)
	if err != nil {
		return nil, err
	}
	defer extra.Close()
	if extra.host != "" {
		// A cross build, as sbuild --host makes it: the nocheck build
		// option and the cross and nocheck build profiles.
		arch = extra.host
		req.NoCheck = true
		for _, p := range []string{"cross", "nocheck"} {
			if !slices.Contains(req.Profiles, p) {
				req.Profiles = append(req.Profiles, p)
			}
		}
	}

	res := &Result{Source: src.Name, Version: src.Version.String(), Arch: arch, Root: rootName}
	// The output directory is held open and written only through its
	// descriptor (issue 11, findings 4 and 5): see output.
	uid, gid := invokingUser()
	outd, err := openOutput(out, uid, gid)
	if err != nil {
		return nil, err
	}
	defer outd.Close()
	log, err := newBuildLog(outd, fmt.Sprintf("%s_%s_%s.build", src.Name, src.VersionNoEpoch(), arch), req.Verbose)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	res.Log = log.Path
	log.Printf("pkgbox build of %s %s on %s, %s (%s)", src.Name, src.Version, rootName, arch, time.Now().UTC().Format(time.RFC3339))

	b := &builder{req: req, src: src, arch: arch, buildArch: buildArch, extra: extra, log: log, res: res, out: outd, in: in}
	if err := b.openCcache(ctx); err != nil {
		return nil, err
	}
	if b.ccache != nil {
		defer b.ccache.Close()
	}
	sess, err := session.Open(ctx, &session.Options{Store: req.Store, Root: rootName, Profile: req.Profile,
		Warn: func(w string) { log.Printf("warning: %s", w) }})
	if err != nil {
		return nil, err
	}
	b.sess = sess
	defer func() {
		if req.Keep {
			res.Session = sess.ID()
			if err := sess.Keep(); err != nil && retErr == nil {
				retErr = err
			}
			return
		}
		if err := sess.Close(); err != nil && retErr == nil {
			retErr = err
		}
	}()
	err = b.run(ctx)
	res.Tail = log.Tail()
	return res, err
}

// builder carries one build's state through its steps.
type builder struct {
	req *Request
	src *debian.Source
	// arch is the architecture built for (the host architecture);
	// buildArch the root's, which differs in a cross build.
	arch      string
	buildArch string
	// extra are the session's extra apt sources (repos.go).
	extra *extraSources
	log   *buildLog
	res   *Result
	sess  *session.Session
	out   *output
	in    *inputs
	// builddir is the unpacked source inside the session.
	builddir string
	// ccache is the root's compiler cache, locked for the build (--ccache).
	ccache *store.Ccache
}

// step runs one phase, timing it and marking it failed if it fails.
func (b *builder) step(name string, fn func() error) error {
	b.log.phase(name)
	b.progress(Event{Phase: name, Percent: -1})
	start := time.Now()
	err := fn()
	ph := Phase{Name: name, Duration: time.Since(start)}
	if err != nil {
		ph.Failed = true
		b.res.Failed = name
		b.log.Printf("pkgbox: %s: %v", name, err)
	}
	b.res.Phases = append(b.res.Phases, ph)
	b.progress(Event{Phase: name, Percent: 100, Done: true})
	return err
}

func (b *builder) progress(e Event) {
	if b.req.Progress != nil {
		b.req.Progress(e)
	}
}

func (b *builder) run(parent context.Context) error {
	ctx := parent
	if b.req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, b.req.Timeout)
		defer cancel()
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"install build dependencies", b.installDeps},
		{"unpack source", b.unpackSource},
		{"build", b.build},
		{"collect artifacts", b.collect},
	}
	for _, s := range steps {
		err := b.step(s.name, func() error { return s.fn(ctx) })
		if err == nil {
			continue
		}
		if parent.Err() != nil {
			return parent.Err()
		}
		failed := &FailedError{Phase: s.name, Log: b.log.Path}
		var le *limitError
		var re *RepositoryError
		var he *HostArchError
		if errors.As(err, &re) || errors.As(err, &he) {
			return err // the user's input, not the package's failure
		}
		switch {
		case errors.As(err, &le): // the cause, even when the timeout ended it
			failed.Reason = le.reason
		case ctx.Err() != nil:
			failed.Reason = fmt.Sprintf("it ran longer than the time limit (--timeout %s) and was stopped", b.req.Timeout)
		default:
			var ns *store.NoSpaceError
			if errors.As(b.req.Store.CheckSpace(err), &ns) {
				failed.Reason = fmt.Sprintf("no space left in the store %s, which holds the build's session", ns.Dir)
				failed.Err = ns
			}
		}
		if failed.Reason != "" {
			b.log.Printf("pkgbox: %s", failed.Reason)
		}
		var fe *FailedError
		if errors.As(err, &fe) || s.name != "collect artifacts" || failed.Reason != "" {
			return failed
		}
		return err
	}
	return b.runChecks(parent, ctx)
}

// sandboxRun runs args in a new sandbox on the build's session, its output
// going to the log; a non-zero exit is an error.
func (b *builder) sandboxRun(ctx context.Context, c *session.Command) error {
	res, err := b.sandboxExec(ctx, c)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return &exitStatusError{c.Args[0], res.ExitCode}
	}
	return nil
}

// sandboxExec is sandboxRun that leaves the exit status to the caller; a
// limit the command ran into is still an error. Standard error goes to
// the log unless c says where.
func (b *builder) sandboxExec(ctx context.Context, c *session.Command) (*sandbox.Result, error) {
	if c.Stdio.Stdout == nil {
		c.Stdio.Stdout = b.log
	}
	if c.Stdio.Stderr == nil {
		c.Stdio.Stderr = b.log
	}
	// Every step, root's included, runs confined (the sandbox's default,
	// never lifted here): a package's maintainer script cannot undo it.
	c.Limits = b.req.Limits
	b.log.Printf("$ %s", strings.Join(c.Args, " "))
	res, err := b.sess.Run(ctx, c)
	var ce *sandbox.CgroupError
	if errors.As(err, &ce) && !b.req.StrictLimits {
		b.log.Printf("warning: %v; building without process and memory limits", err)
		b.req.Limits, c.Limits = sandbox.Limits{}, sandbox.Limits{}
		res, err = b.sess.Run(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	switch res.Limit {
	case "pids":
		return nil, &limitError{fmt.Sprintf("it ran into the process limit (--pids %d)", b.req.Limits.Pids)}
	case "memory":
		return nil, &limitError{fmt.Sprintf("it used more than the memory limit (--memory %s) and the kernel killed part of it", FormatSize(b.req.Limits.Memory))}
	}
	return res, nil
}

// exitStatusError is a step's command that exited with a non-zero status.
type exitStatusError struct {
	cmd    string
	status int
}

func (e *exitStatusError) Error() string {
	return fmt.Sprintf("%s exited with status %d", e.cmd, e.status)
}

// outDir is where artifacts go; it must exist.
func outDir(req *Request, src *debian.Source) (string, error) {
	out := req.Out
	if out == "" {
		if src.Dsc != "" {
			out = "."
		} else {
			out = filepath.Dir(src.Dir)
		}
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("output directory %q does not exist", out)
	}
	return abs, nil
}

// buildArgs is dpkg-buildpackage's command line.
func (b *builder) buildArgs() []string {
	args := []string{"dpkg-buildpackage", "-us", "-uc", b.req.Type.flag()}
	if b.arch != b.buildArch && b.buildArch != "" {
		args = append(args, "--host-arch", b.arch)
	}
	if b.req.Dist != "" {
		args = append(args, "--changes-option=-DDistribution="+b.req.Dist)
	}
	return append(args, b.req.DebBuildOpts...)
}

// CheckDebBuildOpts refuses words that are not options of
// dpkg-buildpackage, and the options pkgbox sets itself.
func CheckDebBuildOpts(opts []string) error {
	for _, o := range opts {
		if !strings.HasPrefix(o, "-") {
			return fmt.Errorf("--debbuildopts: %q is not an option of dpkg-buildpackage", o)
		}
		name, _, _ := strings.Cut(o, "=")
		switch name {
		case "-b", "-B", "-A", "-S", "-F", "-g", "-G", "--build":
			return fmt.Errorf("--debbuildopts: %q chooses what to build: use pkgbox's -B, -A, -S or --full", o)
		case "-us", "-uc", "--sign-key", "-k", "--force-sign":
			return fmt.Errorf("--debbuildopts: %q: pkgbox builds unsigned; sign the .changes afterwards with debsign", o)
		}
	}
	return nil
}

// buildEnv is the environment of the build step.
func (b *builder) buildEnv() []string {
	opts := fmt.Sprintf("parallel=%d", b.req.Jobs)
	if b.req.NoCheck {
		opts = "nocheck " + opts
	}
	if user := os.Getenv("DEB_BUILD_OPTIONS"); user != "" {
		opts = user + " " + opts
	}
	env := []string{"DEB_BUILD_OPTIONS=" + opts, "HOME=/build", "USER=" + BuildUser, "LOGNAME=" + BuildUser}
	if len(b.req.Profiles) > 0 {
		env = append(env, "DEB_BUILD_PROFILES="+strings.Join(b.req.Profiles, " "))
	}
	return env
}
