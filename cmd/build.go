package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"pkgbox/batch"
	"pkgbox/bootstrap"
	"pkgbox/build"
	"pkgbox/sandbox"
	"pkgbox/store"
)

type buildOptions struct {
	root          string
	profile       string
	out           string
	jobs          int
	binaryOnly    bool
	archAll       bool
	sourceOnly    bool
	full          bool
	network       bool
	keep          bool
	noLayers      bool
	ccache        bool
	ccacheMaxSize string
	overwrite     bool
	jsonOut       bool
	profiles      []string
	nocheck       bool
	debbuildopts  string
	dist          string
	extraPackages []string
	extraRepos    []string
	extraKeys     []string
	host          string
	pids          int
	memory        string
	timeout       time.Duration
	// checks are the flags of the checks after the build (buildchecks.go).
	checks checkOptions
	batch  batchOptions
}

func (o *buildOptions) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.root, "root", "", "root to build on (default: the changelog's distribution if such a root exists, else the host's suite, made on first use)")
	f.StringVarP(&o.profile, "profile", "p", "buildd", "mount profile of the build's sandbox")
	f.StringVar(&o.out, "out", "", "directory for the artifacts and the log (default: the source's parent; for a .dsc, the current directory)")
	f.IntVarP(&o.jobs, "jobs", "j", 0, "parallel jobs, as DEB_BUILD_OPTIONS=parallel=N (default: the number of CPUs)")
	f.BoolVarP(&o.binaryOnly, "binary-only", "B", false, "build architecture-dependent binary packages only (dpkg-buildpackage -B)")
	f.BoolVarP(&o.archAll, "arch-all", "A", false, "build Architecture: all packages only (dpkg-buildpackage -A)")
	f.BoolVarP(&o.sourceOnly, "source-only", "S", false, "build the source package only (dpkg-buildpackage -S)")
	f.BoolVar(&o.full, "full", false, "build the source package and every binary package (dpkg-buildpackage -F)")
	f.BoolVar(&o.network, "network", false, "leave the network on during the build (default: only lo)")
	f.BoolVar(&o.keep, "keep", false, "keep the session afterwards, to enter it with 'pkgbox shell --session ID'")
	f.BoolVar(&o.noLayers, "no-layers", false, "install the build dependencies afresh, neither reusing nor keeping a layer of them")
	f.BoolVar(&o.ccache, "ccache", false, "compile through the root's compiler cache (ccache), kept in the store; a build can poison it for later builds of the root")
	f.StringVar(&o.ccacheMaxSize, "ccache-max-size", build.FormatSize(store.DefaultCcacheMaxSize), "most space the root's compiler cache may take, such as 5G; gc trims it to that")
	f.BoolVar(&o.overwrite, "overwrite", false, "replace artifacts of the same name in the output directory")
	f.BoolVar(&o.jsonOut, "json", false, "print a machine-readable result instead of the summary")
	f.StringSliceVar(&o.profiles, "profiles", nil, "build profiles (DEB_BUILD_PROFILES), comma-separated")
	f.BoolVar(&o.nocheck, "nocheck", false, "skip the package's tests: DEB_BUILD_OPTIONS=nocheck and the nocheck build profile")
	f.StringVar(&o.debbuildopts, "debbuildopts", "", "more options for dpkg-buildpackage, separated by spaces, such as '-v1.0-1 --no-pre-clean'")
	f.StringVarP(&o.dist, "dist", "d", "", "the distribution the .changes names (default: the changelog's); a root of that name is the default root")
	f.StringArrayVar(&o.extraPackages, "extra-package", nil, "a .deb to install before the build (repeatable)")
	f.StringArrayVar(&o.extraRepos, "extra-repository", nil, "an apt source for the build's session only, 'deb [OPTIONS] URI SUITE COMPONENT...' (repeatable; file:///PATH for a local one)")
	f.StringArrayVar(&o.extraKeys, "extra-repository-key", nil, "an OpenPGP key file, armored or binary, that signs the extra repositories (repeatable)")
	f.StringVar(&o.host, "host", "", "cross-build for this architecture, such as arm64, with the suite's cross toolchain")
	f.IntVar(&o.pids, "pids", build.DefaultPids, "most processes and threads the build may have at once (0: no limit)")
	f.StringVar(&o.memory, "memory", build.FormatSize(build.DefaultMemory()), "most memory the build may use, such as 4G (0: no limit; the default is 3/4 of the machine's)")
	f.DurationVar(&o.timeout, "timeout", 0, "stop the build when it runs longer, such as 2h (default: no limit)")
	o.checks.addFlags(c)
}

// limits turns the limit flags into the build's limits.
func (o *buildOptions) limits() (sandbox.Limits, error) {
	mem, err := build.ParseSize(o.memory)
	if err != nil {
		return sandbox.Limits{}, &usageError{fmt.Errorf("--memory: %w", err)}
	}
	if o.pids < 0 {
		return sandbox.Limits{}, &usageError{fmt.Errorf("--pids %d: want a number of processes, 0 for no limit", o.pids)}
	}
	if o.timeout < 0 {
		return sandbox.Limits{}, &usageError{fmt.Errorf("--timeout %s: want a positive duration", o.timeout)}
	}
	return sandbox.Limits{Pids: o.pids, Memory: mem}, nil
}

func (o *buildOptions) buildType() (build.Type, error) {
	n := 0
	t := build.Binary
	for _, c := range []struct {
		set bool
		t   build.Type
	}{{o.binaryOnly, build.BinaryArch}, {o.archAll, build.BinaryAll}, {o.sourceOnly, build.Source}, {o.full, build.Full}} {
		if c.set {
			n++
			t = c.t
		}
	}
	if n > 1 {
		return "", &usageError{errors.New("--binary-only, --arch-all, --source-only and --full exclude each other")}
	}
	return t, nil
}

func newBuildCommand(g *globalOptions) *cobra.Command {
	o := &buildOptions{}
	c := &cobra.Command{
		Use:   "build [SRC|NAME[=VERSION]]... [flags]",
		Short: "Build a source package in a fresh sandbox",
		Long: `Build SRC (a directory holding debian/, default ".", or a .dsc file) in a
throw-away overlay session: the build dependencies are installed with the
network on, then dpkg-buildpackage runs as an unprivileged user with only lo.
Artifacts and SOURCE_VERSION_ARCH.build (the full log) land in --out.

What the dependency install changed is kept in the store as a read-only
layer; the next build on the same root (same generation) whose dependencies
resolve the same way mounts it and installs nothing. --no-layers installs
afresh; ` + "`pkgbox list --layers`" + ` shows the layers, ` + "`pkgbox gc`" + ` trims them.

--ccache compiles through a ccache directory that the store keeps per root
and architecture (ccache is then installed with the build dependencies);
the summary shows its hit rate. Builds write that cache, so a build can
poison it for the later builds of the same root: use it for your own
packages, not to rebuild what you do not trust. ` + "`pkgbox gc`" + ` trims it to
--ccache-max-size and removes the caches of removed roots.

NAME or NAME=VERSION, where no file or directory of that name exists (a path
always wins), is a source package (or a binary package, for its source) of
the root's suite: apt-get source fetches it from the root's mirror, checked
against the suite's signed Sources index, into the store's cache, and it is
built as its .dsc would be; the artifacts go to the current directory.

--extra-repository adds an apt source, signed by the --extra-repository-key
files, to this build's session only (the root stays as it is); with a
NotAutomatic one such as experimental, only what the root's suite cannot
satisfy comes from it. --host ARCH cross-builds with the suite's cross
toolchain, with the cross and nocheck build profiles, as sbuild --host.

On a fresh machine the default root (the host's suite) is made first.

` + batchHelp,
		Example: `  sudo pkgbox build ./hello
  sudo pkgbox build hello_2.10-3.dsc --out /tmp/out -j4
  sudo pkgbox build hello                     # Debian's hello, from the root's suite
  sudo pkgbox build bc=1.07.1-3 --root bookworm
  sudo pkgbox build --from list.txt -J 2 --skip-built --out /srv/out
  sudo pkgbox build . --extra-repository 'deb [trusted=yes] file:///srv/repo ./'
  sudo pkgbox build hello --host arm64`,
		RunE: func(c *cobra.Command, args []string) error {
			s, tmpl, err := o.request(c, g)
			if err != nil {
				return err
			}
			if o.batch.wanted(c, args) {
				return runBatch(c, g, o, s, tmpl, args)
			}
			if len(args) > 1 {
				return &usageError{errors.New("more than one SRC: give them all with -J or --keep-going, or see pkgbox build --help")}
			}
			src := "."
			if len(args) == 1 {
				src = args[0]
			}
			src, pkg := build.SourceArg(src)
			root, missing, err := build.ChooseRoot(s, src, o.root, o.dist)
			if err != nil {
				return err
			}
			if missing {
				if err := ensureDefaultRoot(c.Context(), g, s, c.ErrOrStderr(), root); err != nil {
					return err
				}
			}
			ui := newBuildUI(c.ErrOrStderr(), g.verbose || o.jsonOut)
			req := tmpl
			req.Source, req.Package, req.Root, req.Progress = src, pkg, root, ui.event
			if g.verbose && !o.jsonOut {
				req.Verbose = c.ErrOrStderr()
			}
			start := time.Now()
			res, err := build.Build(c.Context(), req)
			ui.done()
			if o.jsonOut && res != nil {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(batch.NewRecord(src+pkg, res, err, time.Since(start))); jerr != nil {
					return jerr
				}
			} else if res != nil {
				printSummary(c.OutOrStdout(), c.ErrOrStderr(), res, err)
			}
			if err == nil {
				return checksError(c.ErrOrStderr(), res)
			}
			return buildError(c.ErrOrStderr(), err)
		},
	}
	o.addFlags(c)
	o.batch.addFlags(c)
	return c
}

// request checks the build flags and makes the request every build of
// the command starts from: the source, its root and the progress display
// are set per source.
func (o *buildOptions) request(c *cobra.Command, g *globalOptions) (*store.Store, *build.Request, error) {
	typ, err := o.buildType()
	if err != nil {
		return nil, nil, err
	}
	if err := build.CheckDebBuildOpts(strings.Fields(o.debbuildopts)); err != nil {
		return nil, nil, &usageError{err}
	}
	if o.dist != "" && store.ValidateName(o.dist) != nil {
		return nil, nil, &usageError{fmt.Errorf("--dist %q: want a distribution name such as unstable or bookworm-backports", o.dist)}
	}
	limits, err := o.limits()
	if err != nil {
		return nil, nil, err
	}
	ccacheMax, err := build.ParseSize(o.ccacheMaxSize)
	if err != nil || ccacheMax <= 0 {
		return nil, nil, &usageError{fmt.Errorf("--ccache-max-size %q: want a size such as 2G", o.ccacheMaxSize)}
	}
	checks, err := o.checks.checks(c)
	if err != nil {
		return nil, nil, err
	}
	if err := o.checkSources(); err != nil {
		return nil, nil, err
	}
	s, err := g.openStore()
	if err != nil {
		return nil, nil, err
	}
	req := &build.Request{
		Store: s, Profile: o.profile, Out: o.out, Jobs: o.jobs,
		Type: typ, Network: o.network, Keep: o.keep, Overwrite: o.overwrite, NoLayers: o.noLayers,
		Profiles: o.profiles, ExtraPackages: o.extraPackages, Limits: limits, Timeout: o.timeout,
		NoCheck: o.nocheck, DebBuildOpts: strings.Fields(o.debbuildopts), Dist: o.dist,
		Ccache: o.ccache, CcacheMaxSize: ccacheMax,
		ExtraRepositories: o.extraRepos, ExtraRepositoryKeys: o.extraKeys, Host: o.host,
		StrictLimits: setByUser(c, "pids") || setByUser(c, "memory"),
		Checks:       checks,
	}
	return s, req, nil
}

// checkSources checks --extra-repository, --extra-repository-key and
// --host before anything runs.
func (o *buildOptions) checkSources() error {
	for _, r := range o.extraRepos {
		if _, err := build.ParseRepository(r); err != nil {
			return &usageError{repositoryError(err)}
		}
	}
	for _, k := range o.extraKeys {
		if err := build.CheckRepositoryKey(k); err != nil {
			return &usageError{repositoryError(err)}
		}
	}
	if o.host != "" && build.CheckArch(o.host) != nil {
		return &usageError{fmt.Errorf("--host %q: want a Debian architecture name, such as arm64 or armhf", o.host)}
	}
	return nil
}

// flagError is a flag's bad value, with what to do.
type flagError struct {
	msg, hint string
	err       error
}

func (e *flagError) Error() string { return e.msg }
func (e *flagError) Hint() string  { return e.hint }
func (e *flagError) Unwrap() error { return e.err }

// repositoryError names the flag of a *build.RepositoryError.
func repositoryError(err error) error {
	var re *build.RepositoryError
	var he *build.HostArchError
	if errors.As(err, &he) {
		return &flagError{fmt.Sprintf("--host %q: the root's suite has no packages for that architecture", he.Arch),
			"choose one that the Architectures field of the suite's Release file lists, such as arm64", err}
	}
	if !errors.As(err, &re) {
		return err
	}
	if re.Key != "" {
		return &flagError{fmt.Sprintf("--extra-repository-key %q: %v", re.Key, re.Err),
			"give a readable OpenPGP public key file, such as one written by gpg --export", err}
	}
	return &flagError{fmt.Sprintf("--extra-repository %q: %v", re.Line, re.Err),
		"check its URI, suite and components, and give the key that signs it with --extra-repository-key (or [trusted=yes] for a repository you trust, such as your own local one)", err}
}

// buildError turns a build's error into the command's: the package's own
// failure is said here and is exit status 3; pkgbox's failures, a full
// store among them, go to Main as errors (exit status 1, with a hint).
func buildError(w io.Writer, err error) error {
	var fe *build.FailedError
	var ns *store.NoSpaceError
	if errors.As(err, &fe) && !errors.As(err, &ns) {
		fmt.Fprintf(w, "pkgbox: %s\n", err)
		return &exitError{code: ExitBuildFailed}
	}
	return repositoryError(err)
}

// printSummary tells what the build did: phases with their times, artifacts,
// and on failure the log's last lines.
func printSummary(out, errw io.Writer, res *build.Result, err error) {
	if err != nil && len(res.Tail) > 0 {
		fmt.Fprintf(errw, "--- last %d lines of %s ---\n", len(res.Tail), res.Log)
		for _, l := range res.Tail {
			fmt.Fprintln(errw, l)
		}
		fmt.Fprintln(errw, "---")
	}
	fmt.Fprintf(out, "%s %s on %s (%s)\n", res.Source, res.Version, res.Root, res.Arch)
	for _, p := range res.Phases {
		mark := "ok"
		if p.Failed {
			mark = "FAILED"
		}
		fmt.Fprintf(out, "  %-28s %8s  %s\n", p.Name, p.Duration.Round(10*time.Millisecond), mark)
	}
	if l := res.Layer; l != nil {
		fmt.Fprintf(out, "  build dependencies: %s layer %s (%d packages)\n", l.Action, l.Key, l.Packages)
	}
	if c := res.Ccache; c != nil {
		fmt.Fprintf(out, "  compiler cache: %d hits, %d misses (%.0f%% hit rate), %s of %s used\n",
			c.Hits, c.Misses, 100*c.HitRate, build.FormatSize(c.Size), build.FormatSize(c.MaxSize))
	}
	for _, a := range res.Artifacts {
		fmt.Fprintf(out, "  %s\n", a.Path)
	}
	printBuildChecks(out, res)
	fmt.Fprintf(out, "  log: %s\n", res.Log)
	if res.Session != "" {
		fmt.Fprintf(out, "  session kept: pkgbox shell --session %s\n", res.Session)
	}
}

// buildUI shows a build's progress on stderr: a bar for the dependency
// install on a terminal, a line per phase otherwise.
type buildUI struct {
	w     io.Writer
	quiet bool
	tty   bool
	bar   *bar
	phase string
}

func newBuildUI(w io.Writer, quiet bool) *buildUI {
	f, ok := w.(*os.File)
	return &buildUI{w: w, quiet: quiet, tty: ok && isTerminal(f)}
}

func (u *buildUI) event(e build.Event) {
	if u.quiet {
		return
	}
	if e.Phase != u.phase {
		u.finishBar()
		u.phase = e.Phase
		if !u.tty {
			fmt.Fprintf(u.w, "pkgbox: %s\n", e.Phase)
		}
	}
	if !u.tty {
		return
	}
	if e.Done {
		u.finishBar()
		return
	}
	if u.bar == nil {
		u.bar = newBar(u.w, e.Phase)
	}
	u.bar.set(e.Percent, strings.TrimSpace(e.Detail))
}

func (u *buildUI) finishBar() {
	if u.bar != nil {
		u.bar.finish()
		u.bar = nil
	}
}

func (u *buildUI) done() { u.finishBar() }

// ensureDefaultRoot makes the default root, named after the host's suite,
// when a build on a fresh machine needs it, with create's progress display.
// Another pkgbox making it already (a second first build) is waited for.
func ensureDefaultRoot(ctx context.Context, g *globalOptions, s *store.Store, w io.Writer, name string) error {
	plan, err := bootstrap.NewPlan(ctx, &bootstrap.Request{Suite: name}, bootstrap.DefaultHost())
	if err != nil {
		return fmt.Errorf("make the default root: %w", err)
	}
	fmt.Fprintf(w, "pkgbox: no root %q yet: making it first, as `pkgbox create %s` would\n", name, name)
	_, err = createRoot(ctx, g, s, plan, bootstrap.CreateOptions{Wait: true})
	var exists *bootstrap.ExistsError
	if errors.As(err, &exists) {
		return nil // made meanwhile, by the pkgbox waited for
	}
	return err
}
