package bootstrap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"pault.ag/go/debian/control"
)

// Source is one entry of an apt sources file, in either format.
type Source struct {
	// Types are "deb" and/or "deb-src".
	Types []string
	// URIs are the repositories' base URLs.
	URIs []string
	// Suites are the distributions (bookworm, bookworm-updates, ...).
	Suites []string
	// Components are main, contrib, ...; empty for a flat repository.
	Components []string
	// Enabled is false for deb822 entries with "Enabled: no".
	Enabled bool
	// Origin says where the entry was read ("FILE:LINE" or "FILE entry N").
	Origin string
}

// ParseDeb822Sources reads a deb822 .sources file (apt's sources.list(5)
// DEB822-STYLE FORMAT). name is used in errors and Origin.
func ParseDeb822Sources(r io.Reader, name string) ([]Source, error) {
	pr, err := control.NewParagraphReader(r, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	paras, err := pr.All()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var out []Source
	for i, p := range paras {
		// apt compares field names without regard to case; the library does not.
		get := func(key string) string {
			for k, v := range p.Values {
				if strings.EqualFold(k, key) {
					return v
				}
			}
			return ""
		}
		s := Source{
			Types:      strings.Fields(get("Types")),
			URIs:       strings.Fields(get("URIs")),
			Suites:     strings.Fields(get("Suites")),
			Components: strings.Fields(get("Components")),
			Enabled:    !strings.EqualFold(strings.TrimSpace(get("Enabled")), "no"),
			Origin:     fmt.Sprintf("%s entry %d", name, i+1),
		}
		if len(s.Types) == 0 || len(s.URIs) == 0 || len(s.Suites) == 0 {
			return nil, fmt.Errorf("read %s: entry %d needs Types, URIs and Suites", name, i+1)
		}
		out = append(out, s)
	}
	return out, nil
}

// ParseOneLineSources reads a one-line-style .list file: lines of
// "deb [options] URI SUITE [COMPONENT...]", with # comments.
func ParseOneLineSources(r io.Reader, name string) ([]Source, error) {
	var out []Source
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		// apt separates the fields with any blanks, tabs included.
		typ, rest := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			typ, rest = line[:i], line[i+1:]
		}
		if typ != "deb" && typ != "deb-src" {
			return nil, fmt.Errorf("%s:%d: unknown type %q (want deb or deb-src)", name, n, typ)
		}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: options have no closing ]", name, n)
			}
			rest = rest[end+1:]
		}
		rest = strings.TrimSpace(rest)
		var f []string
		if strings.HasPrefix(rest, "cdrom:[") {
			// A disc's label, in brackets, holds blanks:
			// cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ ...]/ bookworm main
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: cdrom label has no closing ]", name, n)
			}
			if sp := strings.IndexAny(rest[end:], " \t"); sp >= 0 {
				end += sp
			} else {
				end = len(rest)
			}
			f = append(f, rest[:end])
			rest = rest[end:]
		}
		f = append(f, strings.Fields(rest)...)
		if len(f) < 2 {
			return nil, fmt.Errorf("%s:%d: want URI and suite after %q", name, n, typ)
		}
		// A suite ending in "/" names a flat repository, which has no components.
		if len(f) == 2 && !strings.HasSuffix(f[1], "/") {
			return nil, fmt.Errorf("%s:%d: suite %q has no components", name, n, f[1])
		}
		out = append(out, Source{
			Types: []string{typ}, URIs: f[:1], Suites: f[1:2], Components: f[2:],
			Enabled: true, Origin: fmt.Sprintf("%s:%d", name, n),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// ReadHostSources reads the apt sources under aptDir (normally /etc/apt):
// sources.list, then sources.list.d/*.list and *.sources in name order, as
// apt does. Unreadable or malformed files are skipped and reported in the
// joined error; the sources of the good ones are returned all the same,
// since one broken third-party file should not stop a create.
func ReadHostSources(aptDir string) ([]Source, error) {
	files := []string{filepath.Join(aptDir, "sources.list")}
	parts, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", "*"))
	sort.Strings(parts)
	for _, p := range parts {
		if strings.HasSuffix(p, ".list") || strings.HasSuffix(p, ".sources") {
			files = append(files, p)
		}
	}
	var all []Source
	var errs []error
	for _, name := range files {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var got []Source
		if strings.HasSuffix(name, ".sources") {
			got, err = ParseDeb822Sources(f, name)
		} else {
			got, err = ParseOneLineSources(f, name)
		}
		f.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, got...)
	}
	return all, errors.Join(errs...)
}

// debootstrapSchemes are the URL schemes debootstrap can fetch from; apt's
// others (mirror+file:, cdrom:, tor+http:) are apt methods it does not have.
var debootstrapSchemes = map[string]bool{"http": true, "https": true, "ftp": true, "file": true}

// usableURI tells whether debootstrap can use uri as a mirror.
func usableURI(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && debootstrapSchemes[u.Scheme]
}

// HostMirror picks, from the host's apt sources, the mirror to bootstrap
// suite from, and says which entry it came from. In order of preference:
// an entry that serves the suite itself (by codename or alias); else one
// that serves another release of the same kind, since Debian's mirrors carry
// every current release and its archive service every archived one. Entries
// of the security archive never count: it does not carry the releases. It
// returns "" when nothing fits.
func HostMirror(sources []Source, suite Suite) (uri, origin string) {
	usable := func(s Source) bool {
		if !s.Enabled || !contains(s.Types, "deb") {
			return false
		}
		for _, u := range s.URIs {
			if usableURI(u) {
				return true
			}
		}
		return false
	}
	first := func(s Source) string {
		for _, u := range s.URIs {
			if usableURI(u) {
				return strings.TrimSuffix(u, "/")
			}
		}
		return ""
	}
	// Codenames first: third-party repositories often call their only
	// suite "stable" (deb https://vendor.example/apt stable main), and
	// apt reads their files before a debian.sources named after them.
	for _, want := range []string{suite.Codename, suite.Alias} {
		if want == "" {
			continue
		}
		for _, s := range sources {
			if usable(s) && contains(s.Suites, want) {
				return first(s), s.Origin
			}
		}
	}
	for _, s := range sources {
		if !usable(s) {
			continue
		}
		for _, name := range s.Suites {
			if isSecuritySuite(name) {
				continue
			}
			if other, ok := LookupSuite(suiteBase(name)); ok && other.Archived == suite.Archived {
				return first(s), s.Origin
			}
		}
	}
	return "", ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
