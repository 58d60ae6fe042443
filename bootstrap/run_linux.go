package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"pkgbox/sandbox"
)

// tailLines is how much of debootstrap's log an error shows.
const tailLines = 15

// DebootstrapError is a debootstrap run that failed: its own error message
// (from its E: report) and the last lines of its log.
type DebootstrapError struct {
	Suite   string
	Message string
	Tail    []string
	Err     error
	// noSpace: a tool in debootstrap said the disk was full.
	noSpace bool
}

func (e *DebootstrapError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "debootstrap %s: ", e.Suite)
	if e.Message != "" {
		fmt.Fprintf(&b, "%s: ", e.Message)
	}
	b.WriteString(e.Err.Error())
	if len(e.Tail) > 0 {
		b.WriteString("\nlast lines of its log:")
		for _, l := range e.Tail {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

func (e *DebootstrapError) Unwrap() error { return e.Err }

// Is makes a debootstrap that ran out of space count as ENOSPC.
func (e *DebootstrapError) Is(target error) bool { return target == unix.ENOSPC && e.noSpace }

// Hint guesses what to do from debootstrap's message.
func (e *DebootstrapError) Hint() string {
	m := strings.ToLower(e.Message)
	switch {
	case strings.Contains(m, "release file") || strings.Contains(m, "couldn't download") || strings.Contains(m, "couldn't retrieve"):
		return "check the mirror URL (--mirror) and the network; the mirror must serve this suite and architecture"
	case strings.Contains(m, "signature") || strings.Contains(m, "keyring"):
		return "the Release file could not be verified: give the right keyring with --keyring"
	case strings.Contains(m, "no space") || errors.Is(e.Err, unix.ENOSPC):
		return "the file system holding the store is full: free space or point --store elsewhere"
	}
	return "rerun with -v to see debootstrap's whole output"
}

// runOptions are the outputs of a debootstrap run.
type runOptions struct {
	// Progress receives the parsed fd 3 reports; may be nil.
	Progress func(Event)
	// Log receives debootstrap's full log (stdout and stderr); may be nil.
	Log io.Writer
	// Target is the directory debootstrap fills.
	Target string
	// DebootstrapDir, when set, is debootstrap's DEBOOTSTRAP_DIR.
	DebootstrapDir string
}

// runDebootstrap runs argv (from Plan.Args) and waits for it.
//
// debootstrap runs as PID 1 of a new PID namespace in a new, private mount
// namespace (Go makes / recursively private in the child after unshare).
// Its /proc and /sys mounts in the target therefore never reach the host,
// whatever happens, and killing it (on ctx cancel, or through Pdeathsig
// when pkgbox dies) makes the kernel kill every process it started, dpkg
// and maintainer scripts included; the mounts die with the last of them.
// It gets its own process group so that a terminal's Ctrl-C reaches only
// pkgbox, which then stops it in order.
func runDebootstrap(ctx context.Context, suite string, argv []string, opts runOptions) error {
	progR, progW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("run debootstrap: %w", err)
	}
	defer progR.Close()
	logR, logW, err := os.Pipe()
	if err != nil {
		progW.Close()
		return fmt.Errorf("run debootstrap: %w", err)
	}
	defer logR.Close()

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if argv[0] == "debootstrap" {
		if p, err := LookDebootstrap(); err == nil {
			cmd.Path, cmd.Err = p, nil
		}
	}
	cmd.Env = debootstrapEnv(os.Environ())
	if opts.DebootstrapDir != "" {
		cmd.Env = append(cmd.Env, "DEBOOTSTRAP_DIR="+opts.DebootstrapDir)
	}
	cmd.Stdout, cmd.Stderr = logW, logW
	cmd.ExtraFiles = []*os.File{progW} // fd 3, for --debian-installer
	cmd.SysProcAttr = &unix.SysProcAttr{
		Cloneflags:   unix.CLONE_NEWPID,
		Unshareflags: unix.CLONE_NEWNS,
		Setpgid:      true,
		Pdeathsig:    unix.SIGKILL,
	}
	// Cancel kills PID 1, and with it the namespace; the pipes then close.
	cmd.WaitDelay = 10 * time.Second
	// Rootless: debootstrap runs as root of a user namespace with the
	// user's maps, finding the host's device nodes bound in the target
	// (it may not mknod there).
	release, releaseDone := func() error { return nil }, func() {}
	rootless := os.Geteuid() != 0
	if rootless {
		// debootstrap's check that the target allows device nodes
		// (mknod test-dev-null) cannot pass in a user namespace; as in an
		// lxc container it then skips it, and its own mknods find the
		// bound nodes in place.
		cmd.Env = append(cmd.Env, "container=lxc")
		uidMap, gidMap, err := sandbox.RootlessMaps()
		if err == nil {
			release, releaseDone, err = sandbox.UserCommand(cmd, uidMap, gidMap, opts.Target)
		}
		if err != nil {
			progW.Close()
			logW.Close()
			return err
		}
	}
	defer releaseDone()

	var wg sync.WaitGroup
	var lastErr string
	var mu sync.Mutex
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = ParseProgress(progR, func(e Event) {
			if e.Kind == KindError {
				mu.Lock()
				lastErr = e.Text
				mu.Unlock()
			}
			if opts.Progress != nil {
				opts.Progress(e)
			}
		})
		_, _ = io.Copy(io.Discard, progR)
	}()
	tail := newTail(tailLines)
	go func() {
		defer wg.Done()
		var w io.Writer = tail
		if opts.Log != nil {
			w = io.MultiWriter(tail, opts.Log)
		}
		_, _ = io.Copy(w, logR)
	}()

	// Pdeathsig fires when the thread that started the child exits
	// (golang/go#27505): start and wait on one locked thread. That thread
	// also carries the no-sync filter (see suppressSync), so it is never
	// unlocked: it dies with the goroutine rather than go back to the
	// runtime's pool with the filter on.
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Rootless, a seccomp filter needs no_new_privs on this thread,
		// which would take newuidmap's setuid away: debootstrap syncs.
		if !rootless {
			if err := suppressSync(); err != nil && opts.Log != nil {
				fmt.Fprintf(opts.Log, "pkgbox: %v; debootstrap syncs as usual\n", err)
			}
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		if err := release(); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	err = <-started
	// Our copies of the write ends must go, or the readers never see EOF.
	progW.Close()
	logW.Close()
	if err != nil {
		wg.Wait()
		return fmt.Errorf("start debootstrap: %w", err)
	}
	err = <-done
	wg.Wait()

	if ctx.Err() != nil {
		return fmt.Errorf("debootstrap %s: interrupted: %w", suite, ctx.Err())
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("run debootstrap: %w", err)
		}
		lines := tail.lines()
		if lastErr == "" {
			// debootstrap reports some early errors (a noexec target, a
			// missing tool) on stderr rather than fd 3: look there.
			_ = ParseProgress(strings.NewReader(strings.Join(lines, "\n")), func(e Event) {
				if e.Kind == KindError {
					lastErr = e.Text
				}
			})
		}
		de := &DebootstrapError{Suite: suite, Message: lastErr, Tail: lines, Err: err}
		for _, l := range lines {
			de.noSpace = de.noSpace || strings.Contains(l, "No space left on device")
		}
		return de
	}
	return nil
}

// debootstrapEnv is the environment debootstrap runs with: the caller's,
// with a C locale so its log reads the same everywhere (and perl in the
// target does not warn about a locale it lacks), and a PATH with the sbin
// directories it needs for chroot and friends.
func debootstrapEnv(env []string) []string {
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C")
}

// tail keeps the last n lines written to it.
type tail struct {
	mu      sync.Mutex
	n       int
	buf     []string
	partial string
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(t.partial+string(p), "\n")
	t.partial = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		t.buf = append(t.buf, l)
		if len(t.buf) > t.n {
			t.buf = t.buf[1:]
		}
	}
	return len(p), nil
}

func (t *tail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.buf...)
	if t.partial != "" {
		out = append(out, t.partial)
		if len(out) > t.n {
			out = out[1:]
		}
	}
	return out
}
