package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

// packageArg is a source or binary package name with an optional version,
// as apt-get source takes it: NAME or NAME=VERSION. It is compiled on first
// use, not when every pkgbox process starts.
var packageArg = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(=[0-9A-Za-z.+~:-]+)?$`)
})

// SourceArg reads build's argument: a directory or .dsc file that exists
// is the source; else an argument that reads as NAME[=VERSION] is a package
// to fetch from the root's suite (so a path always wins over a package of
// the same name); else it is a path, which Build reports as missing.
func SourceArg(arg string) (source, pkg string) {
	if _, err := os.Lstat(arg); err != nil && packageArg().MatchString(arg) {
		return "", arg
	}
	return arg, ""
}

// FetchError says a source package could not be fetched from the suite;
// Unavailable marks the case where the suite lists it but the mirror does
// not serve its files (a 404), which is the mirror's gap, not pkgbox's.
type FetchError struct {
	Package     string
	Suite       string
	Unavailable bool
	NotFound    bool
	// Tail is the end of apt's output.
	Tail string
}

func (e *FetchError) Error() string {
	switch {
	case e.NotFound:
		return fmt.Sprintf("fetch source %q: there is no such file or directory, and %s has no source package of that name (or version)", e.Package, e.Suite)
	case e.Unavailable:
		return fmt.Sprintf("fetch source %q: the mirror of %s does not serve its files (404)", e.Package, e.Suite)
	}
	return fmt.Sprintf("fetch source %q from %s: apt-get source failed: %s", e.Package, e.Suite, aptError(e.Tail))
}

// aptError is the line of apt's output that says what went wrong: its
// first "E:" line (the later ones sum it up), else its last line.
func aptError(output string) string {
	lines := strings.Split(strings.TrimSpace(output), "\n")
	for _, l := range lines {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "E: ") {
			return strings.TrimPrefix(l, "E: ")
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// Hint says what to do.
func (e *FetchError) Hint() string {
	if e.NotFound {
		return "check the name with apt-cache showsrc inside the root (pkgbox run ROOT -- apt-cache showsrc NAME), or give a path"
	}
	if e.Unavailable {
		return "choose another mirror with pkgbox create --mirror, or download the source yourself and build its .dsc"
	}
	return ""
}

// The fetch runs in a throw-away session of the root with the network on:
// apt reads the root's own sources (and keys), adds deb-src for each deb
// line, keeps its lists in the store's source cache (so the next fetch
// only checks for changes), and downloads into the cache's files, checking
// each file against the hashes of the signed Sources index. listsScript
// brings the lists up to date (rebuild-rdeps reads them); fetchScript goes
// on to fetch the source.
const listsScript = `set -e
mkdir -p /etc/apt/pkgbox-src/parts
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	if [ -f "$f" ]; then grep -h '^[[:space:]]*deb[[:space:]]' "$f" || true; fi
done > /etc/apt/pkgbox-src/binary.list
{ cat /etc/apt/pkgbox-src/binary.list; sed 's/^[[:space:]]*deb\([[:space:]]\)/deb-src\1/' /etc/apt/pkgbox-src/binary.list; } > /etc/apt/pkgbox-src/sources.list
for f in /etc/apt/sources.list.d/*.sources; do
	if [ -f "$f" ]; then sed 's/^Types:.*/Types: deb deb-src/' "$f" > "/etc/apt/pkgbox-src/parts/${f##*/}"; fi
done
APT="-q -o APT::Sandbox::User=root -o Dir::Etc::SourceList=/etc/apt/pkgbox-src/sources.list -o Dir::Etc::SourceParts=/etc/apt/pkgbox-src/parts -o Dir::State::Lists=/var/lib/pkgbox-src-lists -o Dir::Cache=/var/cache/pkgbox-src"
mkdir -p /var/cache/pkgbox-src
apt-get $APT update >&2
`

const fetchScript = listsScript + `# apt names only the files it would download: ask in an empty directory.
mkdir /tmp/pkgbox-uris && cd /tmp/pkgbox-uris
apt-get $APT source --print-uris -qq "$1" | sed -n "s/^'[^']*' \([^ ]*\.dsc\) .*/pkgbox-dsc: \1/p"
cd /srv/pkgbox-src
apt-get $APT source --download-only "$1" >&2
`

// Fetch downloads source package pkg (NAME[=VERSION]) of root's suite
// into the store's source cache and returns the path of its .dsc.
func Fetch(ctx context.Context, s *store.Store, root, pkg string) (string, error) {
	meta, err := s.Root(root)
	if err != nil {
		return "", fmt.Errorf("fetch source %q: %w", pkg, err)
	}
	cache, err := s.SourceCache(ctx, meta.Suite, meta.Arch)
	if err != nil {
		return "", err
	}
	defer cache.Unlock()
	sess, err := session.Open(ctx, &session.Options{Store: s, Root: root, Profile: "buildd"})
	if err != nil {
		return "", err
	}
	defer sess.Close()
	var out, log bytes.Buffer
	res, err := sess.Run(ctx, &session.Command{
		Args:    []string{"/bin/sh", "-c", fetchScript, "sh", pkg},
		Network: true,
		Mounts: []sandbox.Mount{
			{Type: sandbox.TypeBind, Source: cache.Files, Target: "/srv/pkgbox-src", Flags: sandbox.NoSuid | sandbox.NoDev},
			{Type: sandbox.TypeBind, Source: cache.Lists, Target: "/var/lib/pkgbox-src-lists", Flags: sandbox.NoSuid | sandbox.NoDev},
		},
		Env:   []string{"DEBIAN_FRONTEND=noninteractive"},
		Stdio: sandbox.Stdio{Stdout: &out, Stderr: &log},
	})
	if err != nil {
		return "", fmt.Errorf("fetch source %q: %w", pkg, err)
	}
	if res.ExitCode != 0 {
		return "", fetchFailure(pkg, meta.Suite, log.String())
	}
	var dsc string
	for _, l := range strings.Split(out.String(), "\n") {
		if name, ok := strings.CutPrefix(l, "pkgbox-dsc: "); ok {
			dsc = name
		}
	}
	if dsc == "" || dsc != filepath.Base(dsc) || strings.HasPrefix(dsc, ".") {
		return "", errors.New("fetch source " + fmt.Sprintf("%q", pkg) + ": apt named no .dsc file")
	}
	return filepath.Join(cache.Files, dsc), nil
}

// fetchFailure reads apt's output of a failed fetch.
func fetchFailure(pkg, suite, output string) *FetchError {
	lines := strings.Split(strings.TrimRight(output, "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	e := &FetchError{Package: pkg, Suite: suite, Tail: strings.Join(lines, "\n")}
	switch {
	case strings.Contains(output, "Unable to find a source package for"),
		strings.Contains(output, "Can not find version"):
		e.NotFound = true
	case strings.Contains(output, " 404 "):
		e.Unavailable = true
	}
	return e
}
