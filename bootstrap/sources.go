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
	// SignedBy is the entry's Signed-By (signed-by= in the one-line
	// format): keyring files or fingerprints; "" for none, or for a key
	// given inline, which says nothing of whose repository it is.
	SignedBy string
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
		if sb := strings.TrimSpace(get("Signed-By")); !strings.Contains(sb, "BEGIN PGP") {
			s.SignedBy = strings.Join(strings.Fields(sb), " ")
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
		signedBy := ""
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: options have no closing ]", name, n)
			}
			for _, opt := range strings.Fields(rest[1:end]) {
				if v, ok := strings.CutPrefix(opt, "signed-by="); ok {
					signedBy = strings.ReplaceAll(v, ",", " ")
				}
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
			Enabled: true, SignedBy: signedBy, Origin: fmt.Sprintf("%s:%d", name, n),
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
// suite from, and says which entry it came from. Only Debian's own
// repositories count (see debianness): listsDir is apt's lists directory,
// whose Release files say whose each repository is. In order of
// preference, among entries shown to be Debian's, then among those nothing
// is known against: an entry that serves the suite itself (by codename,
// then alias); else one that serves another release of the same kind,
// since Debian's mirrors carry every current release and its archive
// service every archived one. Entries of the security archive never count:
// it does not carry the releases. It returns "" when nothing fits.
func HostMirror(sources []Source, suite Suite, listsDir string) (uri, origin string) {
	type candidate struct {
		uri, suite string
		src        Source
	}
	var shown, unknown []candidate
	for _, s := range sources {
		if !s.Enabled || !contains(s.Types, "deb") {
			continue
		}
		for _, u := range s.URIs {
			if !usableURI(u) {
				continue
			}
			for _, name := range s.Suites {
				switch debianness(s, u, name, listsDir) {
				case debianShown:
					shown = append(shown, candidate{u, name, s})
				case debianUnknown:
					unknown = append(unknown, candidate{u, name, s})
				}
			}
			break // an entry's first usable URI speaks for it
		}
	}
	// Codenames first: third-party repositories often call their only
	// suite "stable" (deb https://vendor.example/apt stable main), and
	// apt reads their files before a debian.sources named after them.
	matches := []func(name string) bool{
		func(name string) bool { return name == suite.Codename },
		func(name string) bool { return suite.Alias != "" && name == suite.Alias },
		func(name string) bool {
			if isSecuritySuite(name) {
				return false
			}
			other, ok := LookupSuite(suiteBase(name))
			return ok && other.Archived == suite.Archived
		},
	}
	for _, cands := range [][]candidate{shown, unknown} {
		for _, match := range matches {
			for _, c := range cands {
				if match(c.suite) {
					return strings.TrimSuffix(c.uri, "/"), c.src.Origin
				}
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
