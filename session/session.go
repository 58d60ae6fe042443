// Package session opens a sandbox session on a root for `pkgbox run`,
// `pkgbox shell` and builds: it finds the root (a store name or a path),
// takes the root's lock, makes the overlay session, turns the profile into
// mounts, runs the sandbox and removes the session afterwards.
package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pkgbox/profiles"
	"pkgbox/sandbox"
	"pkgbox/store"
)

// Options describe one session.
type Options struct {
	Store *store.Store
	// Root is a root's name in the store, or a path to a directory holding
	// a Debian root; empty means the default root.
	Root string
	// Session names a kept session (see Session.Keep) to enter again,
	// instead of a new one; Root is then taken from the session.
	Session string
	// Profile names the profile whose mounts the sandbox gets; FstabFile,
	// when set, is read instead.
	Profile   string
	FstabFile string
	// Write works on the root itself, holding its exclusive lock, instead of
	// a throw-away overlay.
	Write    bool
	Hostname string
	// Warn receives warnings (a profile's replaced entries, waiting for a lock).
	Warn func(string)
	// LockWait limits how long Open waits for the root's lock while another
	// pkgbox holds it; 0 waits as long as ctx allows.
	LockWait time.Duration
}

// Command is one run of a program in a session.
type Command struct {
	Args    []string
	Network bool
	User    string
	// Env adds to (or overrides) the clean default environment.
	Env []string
	Dir string
	TTY bool
	// Privileged lifts the sandbox's default confinement (see
	// sandbox.Spec.Privileged); only `run` and `shell` offer it.
	Privileged bool
	// Limits cap the command's processes and memory.
	Limits sandbox.Limits
	// Mounts come after the profile's.
	Mounts []sandbox.Mount
	// Stdio is the payload's standard input and outputs.
	Stdio sandbox.Stdio
}

// Root is a resolved root.
type Root struct {
	// Name is the store name, or the directory's base name for a path.
	Name string
	// Path is the root's directory.
	Path string
	// lockName is the name under locks/ that guards it.
	lockName string
	// inStore says the root is one of the store's, with metadata.
	inStore bool
}

// NotDebianRootError says a directory does not hold a Debian root.
type NotDebianRootError struct{ Path string }

func (e *NotDebianRootError) Error() string {
	return fmt.Sprintf("%q is not a Debian root (it has no /etc/debian_version)", e.Path)
}

// Hint says how to get a root.
func (e *NotDebianRootError) Hint() string {
	return "give a root's name (see `pkgbox list`) or make one with `pkgbox create SUITE`"
}

// ResolveRoot finds the root that arg names: a root of the store, or, when
// arg looks like a path (holds a slash, or is "."), any directory holding a
// Debian root, so pkgbox also serves existing chroots.
func ResolveRoot(s *store.Store, arg string) (*Root, error) {
	if arg == "" {
		name, err := DefaultRootName(s)
		if err != nil {
			return nil, err
		}
		arg = name
	}
	if !strings.Contains(arg, "/") && arg != "." && arg != ".." {
		r, err := s.Root(arg)
		if err != nil {
			return nil, err
		}
		return &Root{Name: r.Name, Path: r.Path, lockName: r.Name, inStore: true}, nil
	}
	abs, err := filepath.Abs(arg)
	if err != nil {
		return nil, fmt.Errorf("resolve root %q: %w", arg, err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("resolve root %q: %w", arg, errors.Unwrap(err))
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("root %q is not a directory", arg)
	}
	if _, err := os.Lstat(filepath.Join(abs, "etc", "debian_version")); err != nil {
		return nil, &NotDebianRootError{Path: arg}
	}
	sum := sha256.Sum256([]byte(abs))
	return &Root{Name: filepath.Base(abs), Path: abs, lockName: "path-" + hex.EncodeToString(sum[:8])}, nil
}

// DefaultRootName is the root used when none is named: the one named after
// the host's own suite (VERSION_CODENAME in /etc/os-release), as `pkgbox
// create` names it by default.
func DefaultRootName(s *store.Store) (string, error) {
	suite := HostSuite()
	if suite == "" {
		return "", errors.New("no root given, and the host's suite is unknown (no VERSION_CODENAME in /etc/os-release)")
	}
	if _, err := s.Root(suite); err != nil {
		return "", fmt.Errorf("no root given, and the default root %q does not exist: %w", suite, store.ErrNoRoot)
	}
	return suite, nil
}

// HostSuite is the host's Debian codename, or "".
func HostSuite() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// Session is an open session on a root: its lock held, its overlay
// directories made. Any number of commands can run in it, one at a time,
// each in a sandbox of its own over the same overlay.
type Session struct {
	Root    *Root
	opts    Options
	profile *profiles.Profile
	lock    *store.Lock
	dirs    *store.Session // nil with Write
	// layerLocks are the shared locks of the layers stacked in the
	// overlay, held as long as the session is open.
	layerLocks []*store.Lock
}

// Open opens a session as opts say.
func Open(ctx context.Context, opts *Options) (_ *Session, retErr error) {
	s := &Session{opts: *opts}
	if s.opts.Warn == nil {
		s.opts.Warn = func(string) {}
	}
	var err error
	if opts.Session != "" {
		if opts.Write {
			return nil, errors.New("a kept session cannot be entered with --write")
		}
		s.dirs, err = opts.Store.OpenSession(opts.Session)
		if err != nil {
			return nil, err
		}
		defer func() {
			if retErr != nil {
				_ = s.dirs.Keep()
			}
		}()
		s.Root, err = ResolveRoot(opts.Store, s.dirs.RootPath)
	} else {
		s.Root, err = ResolveRoot(opts.Store, opts.Root)
	}
	if err != nil {
		return nil, err
	}
	if s.profile, err = loadProfile(opts); err != nil {
		return nil, err
	}
	for _, w := range s.profile.Warnings {
		s.opts.Warn(w)
	}
	if s.lock, err = lockRoot(ctx, opts.Store, s.Root, opts.Write, opts.LockWait, s.opts.Warn); err != nil {
		return nil, err
	}
	if opts.Write && s.Root.inStore {
		// Whatever this session changes, the layers made on the root
		// before no longer fit it.
		if err := opts.Store.BumpGeneration(s.Root.Name); err != nil {
			s.lock.Unlock()
			return nil, err
		}
	}
	if s.dirs != nil && len(s.dirs.Lower) > 0 {
		if err := s.lockLayers(); err != nil {
			s.lock.Unlock()
			return nil, err
		}
	}
	if !opts.Write && s.dirs == nil {
		if s.dirs, err = opts.Store.NewSession(s.Root.lockName, s.Root.Path); err != nil {
			s.lock.Unlock()
			return nil, err
		}
	}
	return s, nil
}

// ID is the session's name in the store ("" with Write).
func (s *Session) ID() string {
	if s.dirs == nil {
		return ""
	}
	return s.dirs.ID
}

// Upper is the overlay's upper directory on the host ("" with Write): what
// the session's commands changed. Anything in it was made by the sandbox and
// is untrusted.
func (s *Session) Upper() string {
	if s.dirs == nil {
		return ""
	}
	return s.dirs.Upper
}

// Run runs one command in a new sandbox on the session.
func (s *Session) Run(ctx context.Context, c *Command) (*sandbox.Result, error) {
	spec := &sandbox.Spec{
		Root:       s.Root.Path,
		Mounts:     append(s.profile.Mounts(c.Network), c.Mounts...),
		Hostname:   s.opts.Hostname,
		Network:    c.Network,
		User:       c.User,
		Env:        Environment(c.Env, c.TTY),
		Args:       c.Args,
		Dir:        c.Dir,
		TTY:        c.TTY,
		Privileged: c.Privileged,
		Limits:     c.Limits,
		Hold:       []*os.File{s.lock.File()},
	}
	if spec.Hostname == "" {
		spec.Hostname = Hostname(s.Root.Name)
	}
	if os.Geteuid() != 0 {
		// Rootless mode: the user's own user namespace, the user as
		// root inside and its subordinate ids for the rest.
		var err error
		if spec.UIDMap, spec.GIDMap, err = sandbox.RootlessMaps(); err != nil {
			return nil, err
		}
	}
	if s.dirs != nil {
		spec.Overlay = &sandbox.Overlay{Lower: s.dirs.Lower, Upper: s.dirs.Upper, Work: s.dirs.Work, Merged: s.dirs.Merged}
		spec.Hold = append(spec.Hold, s.dirs.LockFile())
		for _, l := range s.layerLocks {
			spec.Hold = append(spec.Hold, l.File())
		}
	}
	return sandbox.Run(ctx, spec, c.Stdio)
}

// Close removes the session's directories and releases the root.
func (s *Session) Close() error {
	var err error
	if s.dirs != nil {
		err = s.dirs.Remove()
	}
	s.unlockLayers()
	if uerr := s.lock.Unlock(); err == nil {
		err = uerr
	}
	return err
}

// Keep releases the root and leaves the session's directories for a later
// `pkgbox shell --session ID`.
func (s *Session) Keep() error {
	var err error
	if s.dirs != nil {
		err = s.dirs.Keep()
	}
	s.unlockLayers()
	if uerr := s.lock.Unlock(); err == nil {
		err = uerr
	}
	return err
}

// Run opens a session, runs one command in it and closes it, whatever
// happens; a kept session (opts.Session) is kept.
func Run(ctx context.Context, opts *Options, c *Command) (_ *sandbox.Result, retErr error) {
	s, err := Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		var err error
		if opts.Session != "" {
			err = s.Keep()
		} else {
			err = s.Close()
		}
		if err != nil && retErr == nil {
			retErr = err
		}
	}()
	return s.Run(ctx, c)
}

func loadProfile(opts *Options) (*profiles.Profile, error) {
	if opts.FstabFile != "" {
		return profiles.LoadFile(opts.FstabFile)
	}
	name := opts.Profile
	if name == "" {
		name = "default"
	}
	return profiles.Find(name)
}

// lockRoot takes the root's lock, shared for an overlay session and
// exclusive for --write, waiting (and saying so) while another pkgbox holds
// it, for at most limit when limit is set.
func lockRoot(ctx context.Context, s *store.Store, root *Root, exclusive bool, limit time.Duration, warn func(string)) (*store.Lock, error) {
	lock, err := s.LockRoot(ctx, root.lockName, exclusive, false)
	if !errors.Is(err, store.ErrBusy) {
		return lock, err
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if limit > 0 {
		warn(fmt.Sprintf("root %q is in use by another pkgbox; waiting up to %s for it", root.Name, limit))
		wctx, cancel = context.WithTimeout(ctx, limit)
	} else {
		warn(fmt.Sprintf("root %q is in use by another pkgbox; waiting for it", root.Name))
	}
	defer cancel()
	lock, err = s.LockRoot(wctx, root.lockName, exclusive, true)
	if errors.Is(err, store.ErrBusy) && ctx.Err() == nil {
		return nil, &BusyError{Root: root.Name, Waited: limit}
	}
	return lock, err
}

// BusyError is a root still in use by another pkgbox after waiting for it.
type BusyError struct {
	Root   string
	Waited time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("root %q is still in use by another pkgbox after %s", e.Root, e.Waited)
}

func (e *BusyError) Unwrap() error { return store.ErrBusy }

// Hint says what to do.
func (e *BusyError) Hint() string {
	return "try again when its sessions and builds have ended, or wait longer with --wait SECONDS"
}

// DefaultPath is the PATH of the payload's clean environment.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Environment is the payload's clean environment: PATH, TERM, LANG and
// LC_ALL, then extra (KEY=VALUE) on top. HOME, USER and LOGNAME are set by
// the sandbox from the user's passwd entry unless given here.
func Environment(extra []string, tty bool) []string {
	term := os.Getenv("TERM")
	if term == "" || !tty {
		term = "dumb"
	}
	env := map[string]string{
		"PATH":   DefaultPath,
		"TERM":   term,
		"LANG":   "C.UTF-8",
		"LC_ALL": "C.UTF-8",
	}
	order := []string{"PATH", "TERM", "LANG", "LC_ALL"}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		if _, seen := env[k]; !seen {
			order = append(order, k)
		}
		env[k] = v
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

// Hostname is the sandbox's host name for a root: pkgbox-NAME, reduced to
// the characters a host name may hold.
func Hostname(name string) string {
	var b strings.Builder
	b.WriteString("pkgbox-")
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	h := b.String()
	if len(h) > 63 {
		h = h[:63]
	}
	return strings.TrimRight(h, "-")
}
