package bootstrap

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// scriptInfo is what a debootstrap suite script declares at its top level.
type scriptInfo struct {
	mirror  string // default_mirror, if the script names one
	keyring string // keyring, if the script names one
}

// readScript reads debootstrap's script for suite from dir. Only top-level
// declarations count: Ubuntu's scripts set default_mirror inside
// conditionals, per architecture, which a plain reader cannot evaluate.
func readScript(path string) (scriptInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return scriptInfo{}, err
	}
	defer f.Close()
	var info scriptInfo
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || strings.HasPrefix(sc.Text(), " ") || strings.HasPrefix(sc.Text(), "\t") {
			continue
		}
		switch f[0] {
		case "default_mirror":
			info.mirror = f[1]
		case "keyring":
			info.keyring = f[1]
		}
	}
	return info, sc.Err()
}

// debootstrapArchiveMirror is where debootstrap itself fetches archived
// Debian releases from: the default_mirror of its scripts that check
// against the removed-keys keyring (etch, lenny, squeeze, ...). debootstrap
// only uses it for those few scripts; pkgbox uses it for every archived
// release, since Debian's archive service carries them all. The script that
// names it is returned for messages.
func debootstrapArchiveMirror(scriptsDir string) (mirror, script string) {
	paths, _ := filepath.Glob(filepath.Join(scriptsDir, "*"))
	sort.Strings(paths)
	for _, p := range paths {
		info, err := readScript(p)
		if err == nil && info.mirror != "" && info.keyring == RemovedKeysKeyring && usableURI(info.mirror) {
			return strings.TrimSuffix(info.mirror, "/"), p
		}
	}
	return "", ""
}

// NeedMirrorError is returned when pkgbox cannot tell where an archived
// suite is served from: neither --mirror, the host's apt sources nor
// debootstrap's scripts name an archive mirror.
type NeedMirrorError struct {
	Suite string
}

func (e *NeedMirrorError) Error() string {
	return fmt.Sprintf("suite %q is archived and no archive mirror is known: the host's apt sources and debootstrap's scripts name none", e.Suite)
}

// Hint shows the command to run.
func (e *NeedMirrorError) Hint() string {
	return fmt.Sprintf("give the URL of Debian's archive service (or a mirror of it): pkgbox create %s --mirror URL", e.Suite)
}

// chooseMirror decides where suite is bootstrapped from, and says why, in
// this order: the user's --mirror; the host's apt sources (see HostMirror);
// for archived suites, debootstrap's own script for the suite, then the
// archive mirror of its other archived-release scripts. A current suite with
// none of these gets "" and debootstrap's built-in default. No mirror host
// name is written in pkgbox: every URL comes from the user or the host.
func chooseMirror(flag string, suite Suite, sources []Source, scriptsDir, listsDir string) (mirror, origin string, err error) {
	if flag != "" {
		if !usableURI(flag) {
			return "", "", fmt.Errorf("mirror %q is not an http, https, ftp or file URL", flag)
		}
		return strings.TrimSuffix(flag, "/"), "--mirror", nil
	}
	if uri, from := HostMirror(sources, suite, listsDir); uri != "" {
		return uri, from, nil
	}
	if !suite.Archived {
		return "", "debootstrap's default", nil
	}
	if info, err := readScript(filepath.Join(scriptsDir, suite.Codename)); err == nil && info.mirror != "" && usableURI(info.mirror) {
		return strings.TrimSuffix(info.mirror, "/"), "debootstrap's script for " + suite.Codename, nil
	}
	if uri, script := debootstrapArchiveMirror(scriptsDir); uri != "" {
		return uri, "debootstrap's archive mirror, from " + script, nil
	}
	return "", "", &NeedMirrorError{Suite: suite.Codename}
}
