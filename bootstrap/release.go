package bootstrap

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Release is what a repository's Release file says of itself.
type Release struct {
	Origin, Suite, Codename string
}

// releaseOf reads the Release file apt downloaded for suite of the
// repository at uri, from apt's lists directory (/var/lib/apt/lists); false
// when apt has none (apt update never ran for it, or a flat repository).
func releaseOf(listsDir, uri, suite string) (Release, bool) {
	if listsDir == "" || strings.HasSuffix(suite, "/") {
		return Release{}, false
	}
	base := listsName(strings.TrimSuffix(uri, "/") + "/dists/" + suite + "/")
	if base == "" {
		return Release{}, false
	}
	for _, name := range []string{"InRelease", "Release"} {
		if r, err := readRelease(filepath.Join(listsDir, base+name)); err == nil {
			return r, true
		}
	}
	return Release{}, false
}

// listsName is the name apt gives the files it downloads from uri in its
// lists directory (apt-pkg's URItoFileName): the URI without scheme, user
// and password, some characters %-quoted, "/" made "_".
func listsName(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		return ""
	}
	var b strings.Builder
	for _, c := range []byte(u.Host + u.Path) {
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("\\|{}[]<>\"^~_=!@#$%&*", c) >= 0 {
			fmt.Fprintf(&b, "%%%02x", c)
			continue
		}
		b.WriteByte(c)
	}
	return strings.ReplaceAll(b.String(), "/", "_")
}

// readRelease reads the Origin, Suite and Codename fields of a Release or
// InRelease file (whose signature's armour it skips).
func readRelease(path string) (Release, error) {
	f, err := os.Open(path)
	if err != nil {
		return Release{}, err
	}
	defer f.Close()
	var r Release
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----BEGIN PGP SIGNATURE") {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") {
			continue
		}
		v = strings.TrimSpace(v)
		switch {
		case strings.EqualFold(k, "Origin") && r.Origin == "":
			r.Origin = v
		case strings.EqualFold(k, "Suite") && r.Suite == "":
			r.Suite = v
		case strings.EqualFold(k, "Codename") && r.Codename == "":
			r.Codename = v
		}
	}
	return r, sc.Err()
}

// Whether an apt source is Debian's own.
const (
	debianNot     = iota // shown to be another's: never used
	debianUnknown        // nothing says either way: its suite's name must do
	debianShown          // its Release file or its keyring says so
)

// debianOrigin is the Origin of the Release files of Debian's archive
// (every mirror of it, and its archive service).
const debianOrigin = "Debian"

// debianness tells whether suite of src at uri is Debian's own repository:
// by the Origin of its Release file, when apt has one; else by the keyring
// that checks it (debian-archive-keyring's files are named
// debian-archive-*); else nothing is known.
func debianness(src Source, uri, suite, listsDir string) int {
	if r, ok := releaseOf(listsDir, uri, suite); ok {
		if r.Origin == debianOrigin {
			return debianShown
		}
		return debianNot
	}
	if src.SignedBy == "" {
		return debianUnknown
	}
	for _, k := range strings.Fields(src.SignedBy) {
		if strings.HasPrefix(filepath.Base(k), "debian-archive-") {
			return debianShown
		}
	}
	if strings.Contains(src.SignedBy, "/") {
		return debianNot // keyring files, none of them Debian's
	}
	return debianUnknown // fingerprints: of any key
}
