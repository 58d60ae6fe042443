package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"pkgbox/debian"
	"pkgbox/sandbox"
	"pkgbox/session"
)

// Extra repositories (--extra-repository) and a foreign host architecture
// (--host) change the apt sources of the build's session only: the root
// stays as it is. Before the dependency install, one sandbox with the
// network on (the "sources" step) writes the extra sources with their keys
// (signed-by, so a key vouches for the extra repositories only, never for
// the root's own suite), adds the host architecture to dpkg, and runs
// apt-get update; it prints a hash of every file of apt's lists, which
// goes into the layer key, so that a layer is never reused once a
// repository has changed. The sources, keys and lists are in the
// session's upper directory, so a layer made by the build holds them too.
//
// A local repository, file:///path, is bound read-only into every apt
// step at /var/lib/pkgbox-extra/repo-N, and its line names that path.

// extraDir is where the extra repositories' files live inside the session.
const extraDir = "/var/lib/pkgbox-extra"

// Repository is one extra repository, a one-line apt source:
// "deb [OPTIONS] URI SUITE [COMPONENT...]".
type Repository struct {
	// Line is the line as given.
	Line string
	// Options are the "key=value" words between [ and ].
	Options []string
	URI     string
	// Suite is a suite or codename, or a path ending in "/" for a flat
	// repository (which has no components).
	Suite      string
	Components []string
}

// RepositoryError says an extra repository or its key cannot be used.
type RepositoryError struct {
	// Line is the repository's line, or Key the key file's name.
	Line, Key string
	Err       error
}

func (e *RepositoryError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("extra repository key %q: %v", e.Key, e.Err)
	}
	return fmt.Sprintf("extra repository %q: %v", e.Line, e.Err)
}

func (e *RepositoryError) Unwrap() error { return e.Err }

// ParseRepository reads one extra repository line.
func ParseRepository(line string) (*Repository, error) {
	bad := func(format string, a ...any) (*Repository, error) {
		return nil, &RepositoryError{Line: line, Err: fmt.Errorf(format, a...)}
	}
	if strings.ContainsFunc(line, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		return bad("a control character: give one line")
	}
	words := strings.Fields(line)
	if len(words) == 0 || words[0] != "deb" {
		return bad("want \"deb [OPTIONS] URI SUITE COMPONENT...\", as a line of sources.list(5)")
	}
	r := &Repository{Line: line}
	words = words[1:]
	if len(words) > 0 && strings.HasPrefix(words[0], "[") {
		// Options: "[a=b c=d]", the brackets on the first and last word.
		var opts []string
		closed := false
		for len(words) > 0 && !closed {
			w := words[0]
			words = words[1:]
			w = strings.TrimPrefix(w, "[")
			if strings.HasSuffix(w, "]") {
				w, closed = strings.TrimSuffix(w, "]"), true
			}
			if w != "" {
				opts = append(opts, w)
			}
		}
		if !closed {
			return bad("the options' \"[\" has no \"]\"")
		}
		for _, o := range opts {
			name, _, ok := strings.Cut(o, "=")
			if !ok || name == "" || strings.ContainsAny(o, "[]") {
				return bad("option %q: want key=value", o)
			}
			if strings.HasPrefix(name, "signed-by") {
				return bad("option %q: give the key as a file with the key flag instead; pkgbox sets signed-by", o)
			}
		}
		r.Options = opts
	}
	if len(words) < 2 {
		return bad("want a URI and a suite after \"deb\"")
	}
	r.URI, r.Suite, r.Components = words[0], words[1], words[2:]
	u, err := url.Parse(r.URI)
	if err != nil {
		return bad("URI %q: %v", r.URI, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return bad("URI %q has no host", r.URI)
		}
	case "file":
		if u.Host != "" || !filepath.IsAbs(u.Path) {
			return bad("URI %q: a local repository is file:///ABSOLUTE/PATH", r.URI)
		}
	default:
		return bad("URI %q: want http://, https:// or file:///", r.URI)
	}
	if strings.HasSuffix(r.Suite, "/") != (len(r.Components) == 0) {
		return bad("want components after the suite, or a suite ending in \"/\" (a flat repository) without them")
	}
	return r, nil
}

// local is the host path of a file:// repository, or "".
func (r *Repository) local() string {
	if u, err := url.Parse(r.URI); err == nil && u.Scheme == "file" {
		return filepath.Clean(u.Path)
	}
	return ""
}

// sourceLine is the line written into the session: with the keys as
// signed-by, and a local repository's path inside the session.
func (r *Repository) sourceLine(n int, keys []string) string {
	opts := append([]string(nil), r.Options...)
	if len(keys) > 0 && !r.trusted() {
		opts = append(opts, "signed-by="+strings.Join(keys, ","))
	}
	uri := r.URI
	if r.local() != "" {
		uri = fmt.Sprintf("file://%s/repo-%d", extraDir, n)
	}
	words := []string{"deb"}
	if len(opts) > 0 {
		words = append(words, "["+strings.Join(opts, " ")+"]")
	}
	words = append(words, uri, r.Suite)
	return strings.Join(append(words, r.Components...), " ")
}

func (r *Repository) trusted() bool {
	for _, o := range r.Options {
		if o == "trusted=yes" {
			return true
		}
	}
	return false
}

// keyExt is the file name extension apt wants for a key file: ".asc" for
// an ASCII-armored key, ".gpg" for a binary one. It refuses what is
// neither: apt would only say later that nothing is signed.
func keyExt(data []byte) (string, error) {
	switch {
	case bytes.Contains(data[:min(len(data), 1024)], []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")):
		return ".asc", nil
	// An OpenPGP public key packet (tag 6): old format 0x98-0x9b,
	// new format 0xc6 (RFC 4880, 4.2).
	case len(data) > 0 && (data[0]&0xfc == 0x98 || data[0] == 0xc6):
		return ".gpg", nil
	}
	return "", errors.New("not an OpenPGP public key, armored or binary (export one with gpg --export KEYID)")
}

// CheckRepositoryKey checks that file can be read and holds an OpenPGP
// public key.
func CheckRepositoryKey(file string) error {
	f, err := openUserFile(file, "key")
	if err != nil {
		return &RepositoryError{Key: file, Err: unwrapPath(err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err == nil {
		_, err = keyExt(data)
	}
	if err != nil {
		return &RepositoryError{Key: file, Err: err}
	}
	return nil
}

// unwrapPath drops the path an error repeats: the cause of an open that
// failed is the system's error alone.
func unwrapPath(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// extraSources is what a build adds to its session's apt sources.
type extraSources struct {
	repos []*Repository
	// lines are the repositories' lines as written into the session.
	lines []string
	// keys are the key files' SHA256, and mounts bind the keys and the
	// local repositories.
	keySums []string
	keys    []sandbox.Mount
	repoMnt []sandbox.Mount
	files   []*os.File
	// host is the foreign host architecture of a cross build, or "".
	host string
	// caMnt binds the host's CA certificates, for https repositories.
	caMnt *sandbox.Mount
	// listsCache binds the store's apt cache of the suite into the
	// sources step of a cross build (see hostListsSeed).
	listsCache *sandbox.Mount
}

// hostCABundle is the host's CA certificates, as ca-certificates makes them.
const hostCABundle = "/etc/ssl/certs/ca-certificates.crt"

// openExtraSources opens the keys and local repositories of req, each
// once, and says what the session's sources become.
func openExtraSources(req *Request, buildArch string) (_ *extraSources, retErr error) {
	x := &extraSources{}
	defer func() {
		if retErr != nil {
			x.Close()
		}
	}()
	if req.Host != "" && req.Host != buildArch {
		x.host = req.Host
	}
	var keyPaths []string
	for i, k := range req.ExtraRepositoryKeys {
		f, err := openUserFile(k, "key")
		if err != nil {
			return nil, &RepositoryError{Key: k, Err: unwrapPath(err)}
		}
		x.files = append(x.files, f)
		data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
		if err != nil {
			return nil, &RepositoryError{Key: k, Err: err}
		}
		ext, err := keyExt(data)
		if err != nil {
			return nil, &RepositoryError{Key: k, Err: err}
		}
		sum, err := fileSHA256(f)
		if err != nil {
			return nil, &RepositoryError{Key: k, Err: err}
		}
		x.keySums = append(x.keySums, sum)
		inside := fmt.Sprintf("%s/keys/%d%s", extraDir, i, ext)
		keyPaths = append(keyPaths, "/etc/apt/keyrings/pkgbox-extra-"+fmt.Sprint(i)+ext)
		x.keys = append(x.keys, sandbox.Mount{Type: sandbox.TypeBind, Source: f.Name(), File: f, Target: inside, Flags: sandbox.ReadOnly | sandbox.NoSuid | sandbox.NoDev})
	}
	for n, line := range req.ExtraRepositories {
		r, err := ParseRepository(line)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(r.URI, "https:") && x.caMnt == nil {
			// A buildd root has no CA certificates (ca-certificates is
			// not in it): apt checks an https repository against the
			// host's, bound read-only into the steps that fetch.
			ca, err := openUserFile(hostCABundle, "CA certificates")
			if err != nil {
				return nil, &RepositoryError{Line: line, Err: fmt.Errorf("https needs the host's CA certificates, %s (package ca-certificates): %w", hostCABundle, unwrapPath(err))}
			}
			x.files = append(x.files, ca)
			x.caMnt = &sandbox.Mount{Type: sandbox.TypeBind, Source: ca.Name(), File: ca, Target: extraDir + "/ca.crt",
				Flags: sandbox.ReadOnly | sandbox.NoSuid | sandbox.NoDev | sandbox.NoExec}
			x.repoMnt = append(x.repoMnt, *x.caMnt)
		}
		if p := r.local(); p != "" {
			d, err := os.OpenFile(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, &RepositoryError{Line: line, Err: fmt.Errorf("local repository %q: %w", p, unwrapPath(err))}
			}
			x.files = append(x.files, d)
			x.repoMnt = append(x.repoMnt, sandbox.Mount{Type: sandbox.TypeBind, Source: d.Name(), File: d,
				Target: fmt.Sprintf("%s/repo-%d", extraDir, n), Flags: sandbox.ReadOnly | sandbox.NoSuid | sandbox.NoDev | sandbox.NoExec})
		}
		x.repos = append(x.repos, r)
		x.lines = append(x.lines, r.sourceLine(n, keyPaths))
	}
	return x, nil
}

// active says whether the session's sources change at all.
func (x *extraSources) active() bool { return x != nil && (len(x.repos) > 0 || x.host != "") }

// Close closes the keys and repositories.
func (x *extraSources) Close() {
	for _, f := range x.files {
		f.Close()
	}
	x.files = nil
}

// aptMounts are the mounts every apt step of the build needs: the local
// repositories, and the host's CA certificates for https ones.
func (x *extraSources) aptMounts() []sandbox.Mount {
	if x == nil {
		return nil
	}
	return x.repoMnt
}

// sourcesMounts are the mounts of the sources step.
func (x *extraSources) sourcesMounts() []sandbox.Mount {
	m := append(append([]sandbox.Mount(nil), x.keys...), x.repoMnt...)
	if x.listsCache != nil {
		m = append(m, *x.listsCache)
	}
	return m
}

// keyText is what the layer key adds for the extra sources; lists is the
// hash of apt's lists after the sources step.
func (x *extraSources) keyText(lists string) []string {
	if !x.active() {
		return nil
	}
	return []string{
		"host " + x.host,
		"extra-repositories " + strings.Join(x.lines, " | "),
		"extra-keys " + strings.Join(x.keySums, " "),
		"extra-lists " + lists,
	}
}

// sourcesScript is the sources step's shell script; its standard output
// is the hash of apt's lists.
func (x *extraSources) sourcesScript() string {
	var s strings.Builder
	s.WriteString("set -e\n")
	s.WriteString("APT=" + shellQuote([]string{"-q -o APT::Sandbox::User=root"}) + "\n")
	if len(x.keys) > 0 {
		s.WriteString("mkdir -p /etc/apt/keyrings\n")
		for i, k := range x.keys {
			fmt.Fprintf(&s, "install -m 644 %s /etc/apt/keyrings/pkgbox-extra-%d%s\n", k.Target, i, filepath.Ext(k.Target))
		}
	}
	if x.caMnt != nil {
		fmt.Fprintf(&s, "echo 'Acquire::https::CAInfo \"%s\";' > /etc/apt/apt.conf.d/99pkgbox-extra-ca\n", x.caMnt.Target)
	}
	list := "/etc/apt/sources.list.d/pkgbox-extra.list"
	if len(x.lines) > 0 {
		fmt.Fprintf(&s, "printf '%%s\\n' %s > %s\n", shellQuote(x.lines), list)
	}
	// --error-on=any (apt 2.1.16) makes a repository apt cannot fetch,
	// or whose signature it cannot check, an error, not a warning.
	s.WriteString(`if dpkg --compare-versions "$(dpkg-query -W -f '${Version}' apt)" ge 2.1.16; then APT="$APT --error-on=any"; fi` + "\n")
	if x.host != "" {
		// A foreign architecture needs the root's own suite's lists of it
		// too: a full update.
		fmt.Fprintf(&s, "dpkg --add-architecture %s\n", shellQuote([]string{x.host}))
		if x.listsCache != nil {
			s.WriteString(strings.ReplaceAll(strings.ReplaceAll(hostListsSeed, "HOST", x.host), "CACHE", x.listsCache.Target))
		}
		s.WriteString("apt-get update $APT >&2\n")
		if x.listsCache != nil {
			s.WriteString(strings.ReplaceAll(strings.ReplaceAll(hostListsKeep, "HOST", x.host), "CACHE", x.listsCache.Target))
		}
		// apt skips an architecture the suite's Release does not list.
		fmt.Fprintf(&s, "ls /var/lib/apt/lists/*_binary-%s_Packages* >/dev/null 2>&1 || exit %d\n", x.host, noHostPackages)
	} else {
		// Only the extra repositories' lists; the root's stay as they are.
		fmt.Fprintf(&s, "apt-get update $APT -o Dir::Etc::SourceList=%s -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0 >&2\n", list)
	}
	s.WriteString("cd /var/lib/apt/lists && find . -maxdepth 1 -type f ! -name lock -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum\n")
	return s.String()
}

// A cross build's update would download the suite's package lists of the
// host architecture every time (8.7 MB for bookworm's arm64). The store's
// apt cache of the suite keeps the last ones, in pkgbox-lists-HOST/, and
// the sources step seeds the session with each one whose SHA-256 a
// Release file of the root's lists (signed, checked when the root got
// them) names for binary-HOST/Packages; apt then fetches only what
// changed. The copy is checked in the session, not in the cache, which
// another build may be writing (it renames into place, so a reader never
// sees half a file).
const hostListsSeed = `mkdir -p CACHE/pkgbox-lists-HOST
for f in CACHE/pkgbox-lists-HOST/*_binary-HOST_Packages; do
	[ -f "$f" ] || continue
	l=/var/lib/apt/lists/${f##*/}
	cp "$f" "$l"
	sum=$(sha256sum < "$l" | cut -d' ' -f1)
	if ! grep -qsE "^ $sum +[0-9]+ ([^ ]*/)?binary-HOST/Packages$" /var/lib/apt/lists/*Release; then rm -f "$l"; fi
done
`

// hostListsKeep puts the host architecture's lists apt has now into the
// cache, for the next cross build.
const hostListsKeep = `for f in /var/lib/apt/lists/*_binary-HOST_Packages; do
	[ -f "$f" ] || continue
	c=CACHE/pkgbox-lists-HOST/${f##*/}
	if ! cmp -s "$f" "$c"; then cp "$f" "$c.new.$$" && mv -f "$c.new.$$" "$c"; fi
done
`

// addSources runs the sources step in the build's session and returns the
// hash of apt's lists it leaves. A repository apt cannot use is a
// *RepositoryError with apt's own words.
func (b *builder) addSources(ctx context.Context) (string, error) {
	x := b.extra
	if x.host != "" {
		if meta, err := b.req.Store.Root(b.res.Root); err == nil && meta.Suite != "" {
			dir, err := b.req.Store.CacheDir(meta.Suite, meta.Arch)
			if err != nil {
				return "", err
			}
			x.listsCache = &sandbox.Mount{Type: sandbox.TypeBind, Source: dir, Target: extraDir + "/apt-cache",
				Flags: sandbox.NoSuid | sandbox.NoDev | sandbox.NoExec}
		}
		b.log.Printf("pkgbox: cross build for %s: the architecture is added to dpkg in the session only", x.host)
	}
	for _, l := range x.lines {
		b.log.Printf("pkgbox: extra repository, in the session only: %s", l)
	}
	var out bytes.Buffer
	err := b.sandboxRun(ctx, &session.Command{
		Args:    []string{"/bin/sh", "-c", x.sourcesScript()},
		Network: true,
		Env:     []string{"DEBIAN_FRONTEND=noninteractive"},
		Mounts:  x.sourcesMounts(),
		Stdio:   sandbox.Stdio{Stdout: &out},
	})
	var exit *exitStatusError
	if errors.As(err, &exit) && exit.status == noHostPackages && x.host != "" {
		return "", &HostArchError{Arch: x.host}
	}
	if errors.As(err, &exit) {
		return "", x.updateError(aptError(strings.Join(b.log.Tail(), "\n")))
	}
	if err != nil {
		return "", err
	}
	sum, _, _ := strings.Cut(strings.TrimSpace(out.String()), " ")
	return sum, nil
}

// updateError says which repository apt-get update failed on, from apt's
// error line: the one it names, else the first.
func (x *extraSources) updateError(aptSays string) error {
	if len(x.repos) == 0 {
		return fmt.Errorf("apt-get update with host architecture %s: %s", x.host, aptSays)
	}
	r := x.repos[0]
	for i, c := range x.repos {
		where := strings.TrimSuffix(c.URI, "/")
		if c.local() != "" {
			where = fmt.Sprintf("%s/repo-%d", extraDir, i)
		}
		if strings.Contains(aptSays, where) {
			r = c
			break
		}
	}
	return &RepositoryError{Line: r.Line, Err: fmt.Errorf("apt cannot use it: %s", aptSays)}
}

// noHostPackages is the sources step's exit status when apt has no
// package list of the host architecture.
const noHostPackages = 3

// HostArchError says the root's suite has no packages for the host
// architecture of a cross build.
type HostArchError struct{ Arch string }

func (e *HostArchError) Error() string {
	return fmt.Sprintf("host architecture %q: the root's suite has no packages for it", e.Arch)
}

// openUserFile opens a file the user names on the command line: a regular
// file, not a symbolic link (pkgbox reads it as root).
func openUserFile(p, what string) (*os.File, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	dir, err := os.OpenFile(filepath.Dir(abs), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s %q: %w", what, p, err)
	}
	defer dir.Close()
	return debian.OpenRegular(dir, filepath.Base(abs), what)
}

// CheckArch checks an architecture name given for a cross build.
func CheckArch(arch string) error {
	return debian.CheckArch(arch)
}
