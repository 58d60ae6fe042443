package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"pkgbox/sandbox"
	"pkgbox/session"
)

// listsMaxAge is how old the root's apt lists may be before a build runs
// apt-get update in its session (the update lands in the overlay only).
var listsMaxAge = 24 * time.Hour

// listsStale says whether the root's apt lists are missing or older than
// listsMaxAge.
func (b *builder) listsStale() bool {
	root := b.sess.Root.Path
	files, _ := filepath.Glob(filepath.Join(root, "var/lib/apt/lists", "*_Packages*"))
	if len(files) == 0 {
		return true
	}
	newest := time.Time{}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return time.Since(newest) > listsMaxAge
}

// unpackSource puts the source into the session at /build/NAME-VERSION,
// owned by the build user. The host's files are bound read-only, from the
// descriptors openInputs checked, and copied inside the sandbox: the host
// tree is never written, and a symlink in it stays a symlink, resolved
// inside the root, never a host file copied in.
func (b *builder) unpackSource(ctx context.Context) error {
	dest := "/build/" + b.src.Name + "-" + b.src.UpstreamVersion()
	var mounts []sandbox.Mount
	script := "set -e\ninstall -d -o " + BuildUser + " -g " + BuildUser + " /build\n"
	bind := func(host *os.File, inside string) {
		mounts = append(mounts, sandbox.Mount{Type: sandbox.TypeBind, Source: host.Name(), File: host, Target: inside, Flags: sandbox.ReadOnly | sandbox.NoSuid | sandbox.NoDev})
	}
	if b.src.Dsc != "" {
		for _, f := range b.in.files { // the .dsc, then what it lists
			bind(f.File, "/build/.in/"+f.Name)
			script += shellQuote([]string{"cp", "/build/.in/" + f.Name, "/build/" + f.Name}) + "\n"
		}
		script += shellQuote([]string{"dpkg-source", "--no-check", "-x", "/build/" + filepath.Base(b.src.Dsc), dest}) + "\n"
	} else {
		bind(b.in.dir, "/build/.src")
		script += shellQuote([]string{"cp", "-a", "--no-preserve=ownership", "/build/.src/.", dest + "/"}) + "\n"
		// A non-native source builds its source package from the upstream
		// tarball beside it, as dpkg-source expects.
		for _, f := range b.in.files {
			bind(f.File, "/build/.orig/"+f.Name)
			script += shellQuote([]string{"cp", "/build/.orig/" + f.Name, "/build/"}) + "\n"
		}
	}
	script += "chown -R " + BuildUser + ":" + BuildUser + " " + shellQuote([]string{dest}) + "\n"
	script += "find /build -maxdepth 1 -type f -exec chown " + BuildUser + ":" + BuildUser + " {} +\n"
	if b.ccache != nil {
		// The cache directory itself (the mount point), not what builds
		// left in it, is given to the build user, who writes it.
		m, f, err := b.ccacheMount()
		if err != nil {
			return err
		}
		defer f.Close()
		mounts = append(mounts, m)
		script += "chown " + BuildUser + ":" + BuildUser + " " + ccacheDir + "\n"
	}
	b.builddir = dest
	return b.sandboxRun(ctx, &session.Command{Args: []string{"/bin/sh", "-c", script}, Mounts: mounts})
}

// build runs dpkg-buildpackage as the build user, network off unless asked.
func (b *builder) build(ctx context.Context) error {
	if b.req.Network {
		b.log.Printf("warning: the build runs with the network on (--network)")
	}
	c := &session.Command{Args: b.buildArgs(), User: BuildUser, Dir: b.builddir, Network: b.req.Network, Env: b.buildEnv()}
	if b.ccache == nil {
		return b.sandboxRun(ctx, c)
	}
	// The counters are zeroed for a ccache that keeps no stats log (see
	// ccacheStats); they then count any build of the root meanwhile too.
	if err := b.ccacheRun(ctx, nil, "ccache", "-z"); err != nil {
		return fmt.Errorf("zero the compiler cache's statistics: %w", err)
	}
	m, f, err := b.ccacheMount()
	if err != nil {
		return err
	}
	defer f.Close()
	c.Mounts = append(c.Mounts, m)
	c.Env = append(c.Env, ccacheEnv(b.res.Ccache.MaxSize)...)
	err = b.sandboxRun(ctx, c)
	if err == nil {
		b.ccacheStats(ctx)
	}
	return err
}

// aptStatus splits apt's output: its Status-Fd lines ("pmstatus:PKG:PERCENT:TEXT",
// "dlstatus:...") drive the progress report; every other line goes to the log.
type aptStatus struct {
	log      io.Writer
	progress func(Event)
	phase    string
	buf      []byte
}

func (a *aptStatus) Write(p []byte) (int, error) {
	a.buf = append(a.buf, p...)
	for {
		i := strings.IndexByte(string(a.buf), '\n')
		if i < 0 {
			break
		}
		a.line(string(a.buf[:i]))
		a.buf = a.buf[i+1:]
	}
	return len(p), nil
}

func (a *aptStatus) flush() {
	if len(a.buf) > 0 {
		a.line(string(a.buf))
		a.buf = nil
	}
}

func (a *aptStatus) line(l string) {
	if e, ok := parseAptStatus(l); ok {
		e.Phase = a.phase
		if a.progress != nil {
			a.progress(e)
		}
		return
	}
	fmt.Fprintln(a.log, l)
}

// parseAptStatus reads one APT::Status-Fd line. Downloads count for the
// first half of the bar and dpkg's work for the second, as apt's own
// progress does not say how the two compare.
func parseAptStatus(l string) (Event, bool) {
	kind, rest, ok := strings.Cut(l, ":")
	if !ok || (kind != "pmstatus" && kind != "dlstatus") {
		return Event{}, false
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) != 3 {
		return Event{}, false
	}
	pct, err := strconv.ParseFloat(parts[1], 64)
	if err != nil {
		return Event{}, false
	}
	if kind == "dlstatus" {
		pct /= 2
	} else {
		pct = 50 + pct/2
	}
	return Event{Percent: pct, Detail: parts[2]}, true
}

// shellQuote quotes args for sh.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
	}
	return strings.Join(q, " ")
}

func joinDeps(a, b string) string {
	if strings.TrimSpace(b) == "" {
		return a
	}
	return a + ", " + b
}
