package bootstrap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

// CreateOptions say where a create reports to.
type CreateOptions struct {
	// Progress receives debootstrap's progress and messages, and pkgbox's
	// own notes; may be nil.
	Progress func(Event)
	// Log receives the full output of debootstrap and of the commands that
	// finish the root; may be nil.
	Log io.Writer
	// Fresh runs debootstrap even when the cache holds an image of an
	// earlier bootstrap of the same plan.
	Fresh bool
	// Wait, while another pkgbox makes the same root, waits for it to
	// finish instead of failing; then Create returns ExistsError if that
	// create succeeded, or makes the root itself if it failed. For the
	// default root that two first builds at once both need.
	Wait bool
}

// ExistsError is a create of a name the store already has.
type ExistsError struct{ Name string }

func (e *ExistsError) Error() string { return fmt.Sprintf("root %q already exists", e.Name) }

// Hint says how to get past it.
func (e *ExistsError) Hint() string {
	return fmt.Sprintf("pick another name with --name, or delete it first with `pkgbox remove %s`", e.Name)
}

// NoDebootstrapError is a host without debootstrap.
type NoDebootstrapError struct{ Err error }

func (e *NoDebootstrapError) Error() string { return fmt.Sprintf("find debootstrap: %v", e.Err) }
func (e *NoDebootstrapError) Unwrap() error { return e.Err }

// Hint names the package.
func (e *NoDebootstrapError) Hint() string { return "install it: apt-get install debootstrap" }

// BuildUser is the unprivileged user every root gets for builds, as
// sbuild's roots have theirs. Its home does not exist, as on Debian's build
// daemons, so that a build writing to $HOME fails here as it would there.
// Its id is chosen by hostBuildID.
const BuildUser = "pkgbox"

// LookDebootstrap finds debootstrap in PATH, else in /usr/sbin and /sbin:
// an ordinary user's PATH on Debian has no sbin directory, and rootless
// mode runs it as such a user.
func LookDebootstrap() (string, error) {
	p, err := exec.LookPath("debootstrap")
	if err == nil {
		return p, nil
	}
	for _, q := range DebootstrapSbin {
		if q, lerr := exec.LookPath(q); lerr == nil {
			return q, nil
		}
	}
	return "", err
}

// Create makes root p.Name in s: debootstrap into a temporary directory of
// the store, with its downloads in the store's apt cache for the suite and
// architecture, and its result kept as an image in the cache; or, when the
// cache has a recent image of the same plan (and not o.Fresh), that image
// unpacked and upgraded with apt, which is much quicker. Then the finishing
// touches that make it ready for builds; only a complete root is renamed
// into roots/ and recorded. A failed or interrupted create leaves no root,
// no temporary directory and no mount.
func Create(ctx context.Context, s *store.Store, p *Plan, o CreateOptions) (_ *store.Root, retErr error) {
	note := func(format string, args ...any) {
		if o.Progress != nil {
			o.Progress(Event{Kind: KindNote, Text: fmt.Sprintf(format, args...)})
		}
	}
	if _, err := s.Root(p.Name); err == nil {
		return nil, &ExistsError{Name: p.Name}
	} else if !errors.Is(err, store.ErrNoRoot) {
		return nil, err
	}
	debootstrap, err := LookDebootstrap()
	if err != nil {
		return nil, &NoDebootstrapError{Err: err}
	}
	// The root's exclusive lock keeps a second create of the same name (or
	// a session on a root of that name made meanwhile) out until we are done.
	lock, err := lockToMake(ctx, s, p.Name, o.Wait, note)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	// Another create may have finished between the first check and the lock.
	if _, err := s.Root(p.Name); err == nil {
		return nil, &ExistsError{Name: p.Name}
	}

	cache, err := s.CacheDir(p.Suite, p.Arch)
	if err != nil {
		return nil, err
	}
	tmp, err := s.TempDir(p.Name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := tmp.Remove(); err != nil && retErr == nil {
			retErr = err
		}
	}()

	for _, n := range p.Notes {
		note("%s", n)
	}
	// The temporary directory is private (0700) until it is complete; a
	// root's / must let everyone in, or the build user could not run a thing.
	if err := os.Chmod(tmp.Path, 0o755); err != nil {
		return nil, fmt.Errorf("create root %q: %w", p.Name, err)
	}
	version := debootstrapVersion(debootstrap)
	im := imageFor(s, p, version)
	f, made, ok := im.open()
	if ok {
		defer f.Close()
	}
	if ok && !o.Fresh {
		note("reusing the bootstrap of %s from the cache, then upgrading it (--fresh runs debootstrap instead)", made.Local().Format("2006-01-02 15:04"))
		if err := im.restore(ctx, f, tmp.Path); err != nil {
			return nil, s.CheckSpace(err)
		}
		// Finished first: apt's settings (Valid-Until for archived suites)
		// and policy-rc.d must hold for the upgrade too.
		if err := finish(ctx, s, tmp.Path, p, o); err != nil {
			return nil, err
		}
		note("upgrading: apt-get update, dist-upgrade")
		opts := &session.Options{Store: s, Root: tmp.Path, Write: true, Profile: "buildd"}
		if err := upgrade(ctx, opts, p.Suite, p.Arch, p.Name, o.Log); err != nil {
			return nil, s.CheckSpace(err)
		}
	} else {
		// debootstrap's directory with pkgbox's index reader (see
		// debootstrapDir), beside the root being made.
		aux, err := s.TempDir(p.Name + ".debootstrap")
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := aux.Remove(); err != nil && retErr == nil {
				retErr = err
			}
		}()
		if err := bootstrapInto(ctx, tmp.Path, aux.Path, cache, p, o); err != nil {
			return nil, s.CheckSpace(err)
		}
		// A failure to keep the image costs the next create time, not
		// this one its root.
		if err := im.save(ctx, tmp.Path); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			note("warning: %v", err)
		}
		if err := finish(ctx, s, tmp.Path, p, o); err != nil {
			return nil, err
		}
		// debootstrap synced nothing (see suppressSync): the root, and the
		// image beside it, reach the disk here, once, before the root is
		// renamed into the store.
		if err := syncFS(tmp.Path); err != nil {
			return nil, s.CheckSpace(fmt.Errorf("create root %q: %w", p.Name, err))
		}
	}
	r := &store.Root{
		Name: p.Name, Suite: p.Suite, Arch: p.Arch, Variant: p.Variant, Mirror: p.Mirror,
		Components: p.Components, Created: time.Now().UTC(), Debootstrap: version,
	}
	if err := s.Install(tmp.Path, r); err != nil {
		return nil, err
	}
	r.Path = s.RootPath(p.Name)
	return r, nil
}

// lockToMake takes root name's exclusive lock for a create. While another
// pkgbox holds it, it fails, or with wait waits for that create to end:
// with a shared lock, so as not to wait as well for the sessions that then
// start on the new root. A root that exists then is an ExistsError; if
// there is none, the other create failed, and this one tries again.
func lockToMake(ctx context.Context, s *store.Store, name string, wait bool, note func(string, ...any)) (*store.Lock, error) {
	for {
		lock, err := s.LockRoot(ctx, name, true, false)
		if !errors.Is(err, store.ErrBusy) {
			return lock, err
		}
		if !wait {
			return nil, fmt.Errorf("root %q is being made or used by another pkgbox", name)
		}
		note("root %q is being made by another pkgbox: waiting for it", name)
		shared, err := s.LockRoot(ctx, name, false, true)
		if err != nil {
			return nil, err
		}
		_, err = s.Root(name)
		shared.Unlock()
		if err == nil {
			return nil, &ExistsError{Name: name}
		}
	}
}

// finish runs finishRoot, saying so.
func finish(ctx context.Context, s *store.Store, dir string, p *Plan, o CreateOptions) error {
	if o.Progress != nil {
		o.Progress(Event{Kind: KindNote, Text: fmt.Sprintf("finishing the root: apt settings, policy-rc.d, build user %q", BuildUser)})
	}
	if err := finishRoot(ctx, s, dir, p, o.Log); err != nil {
		return s.CheckSpace(fmt.Errorf("finish root %q: %w", p.Name, err))
	}
	return nil
}

// unsafeIOConf makes dpkg skip its fsync calls while debootstrap installs
// the packages: a root being made is thrown away whole if anything goes
// wrong, so per-file durability buys nothing (mmdebstrap and sbuild do the
// same). debootstrap has no option for it, but dpkg reads its configuration
// directory when it starts, and debootstrap unpacks into the directory as
// it finds it.
const unsafeIOConf = "/etc/dpkg/dpkg.cfg.d/pkgbox-unsafe-io"

// bootstrapInto runs debootstrap for p into dir, with dpkg's unsafe I/O
// while it does (see unsafeIOConf), its sync calls made no-ops (see
// suppressSync), its packages fetched in parallel beside it (see
// prefetcher) and its indexes read by pkgbox (see debootstrapDir, made in
// aux, an empty directory of pkgbox's own).
func bootstrapInto(ctx context.Context, dir, aux, cache string, p *Plan, o CreateOptions) error {
	fs, err := openRootFS(dir)
	if err != nil {
		return err
	}
	defer fs.Close()
	if err := fs.WriteFile(unsafeIOConf, []byte("# pkgbox create: removed when debootstrap is done\nforce-unsafe-io\n"), 0o644, 0, 0); err != nil {
		return err
	}
	ro := runOptions{Log: o.Log, Target: dir, DebootstrapDir: aux}
	checked, err := debootstrapDir(aux, cache)
	if err != nil {
		ro.DebootstrapDir = ""
		if o.Log != nil {
			fmt.Fprintf(o.Log, "pkgbox: %v; debootstrap reads its indexes with its own helper\n", err)
		}
	}
	pf := newPrefetcher(fs, cache, checked, p, o.Log)
	ro.Progress = func(e Event) {
		pf.event(ctx, e)
		if o.Progress != nil {
			o.Progress(e)
		}
	}
	err = runDebootstrap(ctx, p.Suite, p.Args(cache, dir), ro)
	pf.stop()
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		if err := sandbox.RemoveDevFiles(dir); err != nil {
			return err
		}
	}
	// From now on dpkg syncs as usual; builds ask for unsafe I/O
	// themselves, in their throw-away sessions.
	return fs.Remove(unsafeIOConf)
}

// aptConf is what every root's apt gets: builds install exactly their
// dependencies (no recommends, as on Debian's build daemons) and fetch no
// translations nobody reads.
const aptConf = `// Written by pkgbox create.
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
`

// archivedAptConf is added for archived suites, whose Release files expired
// long ago.
const archivedAptConf = `// The suite is archived: its Release file's Valid-Until passed long ago.
Acquire::Check-Valid-Until "false";
`

// noValidUntilAptConf is added where the user asked for it (pkgbox create
// --no-check-valid-until): a snapshot or frozen copy of testing or sid.
const noValidUntilAptConf = `// pkgbox create --no-check-valid-until: the mirror's Release files may have expired.
Acquire::Check-Valid-Until "false";
`

// policyRCD keeps package installs in the root from starting services
// (invoke-rc.d asks it; 101 means "action forbidden").
const policyRCD = `#!/bin/sh
# Written by pkgbox create: no package install in a pkgbox root starts a
# service.
exit 101
`

// finishRoot makes a bootstrapped root ready for builds. The files are
// written through rootFS, which resolves every path inside the root; the
// build user is made by the root's own useradd, and debconf told to keep
// man-db's index as it is, in a sandbox on the root.
func finishRoot(ctx context.Context, s *store.Store, dir string, p *Plan, log io.Writer) error {
	fs, err := openRootFS(dir)
	if err != nil {
		return err
	}
	defer fs.Close()
	conf := aptConf
	switch {
	case p.Archived:
		conf += archivedAptConf
	case p.NoCheckValidUntil:
		conf += noValidUntilAptConf
	}
	if err := fs.WriteFile("/etc/apt/apt.conf.d/90pkgbox", []byte(conf), 0o644, 0, 0); err != nil {
		return err
	}
	if err := fs.WriteFile("/usr/sbin/policy-rc.d", []byte(policyRCD), 0o755, 0, 0); err != nil {
		return err
	}
	if log == nil {
		log = io.Discard
	}
	var out bytes.Buffer
	w := io.MultiWriter(log, &out)
	// man-db rebuilds its index whenever a package ships a manual page,
	// which costs every build seconds for a database nobody reads there.
	id, err := hostBuildID()
	if err != nil {
		return err
	}
	// --no-log-init: a high uid would make lastlog a sparse file of many MB.
	script := fmt.Sprintf(`set -e
getent group %[1]s >/dev/null || groupadd --gid %[2]d %[1]s
getent passwd %[1]s >/dev/null || useradd --uid %[2]d --gid %[2]d --no-log-init --no-create-home --home-dir /nonexistent --shell /bin/sh --comment 'pkgbox build user' %[1]s
echo "man-db man-db/auto-update boolean false" | debconf-set-selections
`, BuildUser, id)
	res, err := session.Run(ctx, &session.Options{Store: s, Root: dir, Write: true, Profile: "minimal"},
		&session.Command{Args: []string{"/bin/sh", "-c", script}, Stdio: sandbox.Stdio{Stdout: w, Stderr: w}})
	if err != nil {
		return fmt.Errorf("add build user: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("add build user: exit status %d: %s", res.ExitCode, strings.TrimSpace(out.String()))
	}
	return nil
}

// debootstrapVersion reads the version debootstrap declares at its top
// (VERSION='1.0.128'), for the root's record; "" when it cannot tell.
func debootstrapVersion(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan() && i < 50; i++ {
		if v, ok := strings.CutPrefix(sc.Text(), "VERSION="); ok {
			return strings.Trim(v, `'"`)
		}
	}
	return ""
}

// syncFS writes out everything the file system holding dir has cached.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
