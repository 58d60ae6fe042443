package bootstrap

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// pkgbox runs debootstrap with a DEBOOTSTRAP_DIR of its own, to take
// costs off it that no option of debootstrap reaches, without changing
// what it decides:
//
//   - its Packages index reader (pkgdetails.go);
//   - checking, one shell loop at a time, the packages pkgbox has already
//     fetched and checked. debootstrap's get, given a file, a checksum and
//     a size, returns at once if the file is there and matches; finding
//     that out costs a dozen processes a package (sed, cut, sha256sum, wc)
//     in its download loop, 12 s for a buildd root on a slow machine. The
//     prefetch (prefetch_linux.go) marks each package of the cache whose
//     size and SHA256 it has checked against the index debootstrap
//     verified; get answers for a marked file without checking it again,
//     and says so as debootstrap's get does ("Validating ..."). Any other
//     file, an MD5SUM index (whose checksums pkgbox does not mark), or a
//     download goes to debootstrap's own get;
//   - a sed per package in the same loop, to name its file (aptDestDeb).

// checkedDir is the directory of the DEBOOTSTRAP_DIR where the prefetch
// marks the packages it has checked: one empty file per package, named
// SHA256-SIZE-NAME after the cache file NAME, made once the file is in
// place and never removed before debootstrap is done.
const checkedDir = "checked"

// checkedMark is the name of the mark for the cache file name whose
// contents have this SHA256 and size, or "" if that name would be too long
// for a file name.
func checkedMark(sha256 string, size int64, name string) string {
	m := fmt.Sprintf("%s-%d-%s", sha256, size, name)
	if len(m) > 255 {
		return ""
	}
	return m
}

// debootstrapDir makes dir (new and empty, pkgbox's own) a DEBOOTSTRAP_DIR
// that is debootstrap's own but for the functions above: each entry
// of the real one is linked in, and its functions file is sourced by one
// that then points PKGDETAILS at this binary, names packages' files
// without sed and, if cache is not "", wraps get for the packages of
// cache marked in dir/checked (checked, the directory it returns).
//
// Each override applies only where pkgbox recognises what it replaces:
// PKGDETAILS only if debootstrap chose perl's helper (it does so when perl
// is on its PATH, and has no option to choose another), and only for the
// modes pkgDetails knows; get and apt_dest only if debootstrap's are
// defined as pkgbox expects, in which case each is kept under another
// name for everything else. A debootstrap of another kind runs as it
// always did.
func debootstrapDir(dir, cache string) (checked string, err error) {
	orig := os.Getenv("DEBOOTSTRAP_DIR")
	if orig == "" {
		// debootstrap's own choice when the variable is unset.
		orig = "/usr/share/debootstrap"
		if st, err := os.Stat("/debootstrap/debootstrap"); err == nil && st.Mode()&0o111 != 0 {
			orig = "/debootstrap"
		}
	}
	functions, err := os.ReadFile(filepath.Join(orig, "functions"))
	if err != nil {
		return "", fmt.Errorf("read debootstrap's functions: %w", err)
	}
	if !bytes.Contains(functions, []byte("PKGDETAILS=pkgdetails_perl")) {
		return "", fmt.Errorf("read debootstrap's functions: %s picks its index reader in a way pkgbox does not know", filepath.Join(orig, "functions"))
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find pkgbox's own binary: %w", err)
	}
	entries, err := os.ReadDir(orig)
	if err != nil {
		return "", fmt.Errorf("read debootstrap's directory: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "functions" || e.Name() == "pkgdetails" || e.Name() == checkedDir {
			continue
		}
		if err := os.Symlink(filepath.Join(orig, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return "", fmt.Errorf("link debootstrap's %s: %w", e.Name(), err)
		}
	}
	script := fmt.Sprintf(`# Written by pkgbox create: debootstrap's functions, with the Packages
# index reader (pkgdetails) pkgbox's, which prints what perl's does.
. %s
if [ "$PKGDETAILS" = pkgdetails_perl ]; then
	pkgbox_pkgdetails () {
		case "$1" in
		GETDEPS|PKGS|FIELD|STANZAS|WGET%%) %s %s "$@" ;;
		*) pkgdetails_perl "$@" ;;
		esac
	}
	PKGDETAILS=pkgbox_pkgdetails
fi
`, shellQuote(filepath.Join(orig, "functions")), shellQuote(exe), pkgDetailsArg)
	get := shellFunc(functions, "get", "\t# args: from dest [checksum size] [alt {checksum size type}]")
	if cache != "" && get != "" {
		// A mark vouches for a file's bytes until debootstrap is done, so
		// nothing may rewrite a marked file in place. Where its cache
		// directory has a partial/, debootstrap's get downloads there and
		// renames the checked file into place, as apt does; without one,
		// another create of the suite (which shares the cache) would
		// download straight over the final name, truncating a file this
		// create has marked.
		if err := os.MkdirAll(filepath.Join(cache, "partial"), 0o755); err != nil {
			return "", fmt.Errorf("make debootstrap's download directory: %w", err)
		}
		checked = filepath.Join(dir, checkedDir)
		if err := os.Mkdir(checked, 0o755); err != nil {
			return "", fmt.Errorf("make %s: %w", checked, err)
		}
		script += strings.NewReplacer("@BODY@", get, "@CACHE@", shellQuote(cache), "@CHECKED@", shellQuote(checked)).Replace(getWrapper)
	}
	if aptDest := shellFunc(functions, "apt_dest", aptDestDeb); aptDest != "" {
		script += strings.NewReplacer("@BODY@", aptDest).Replace(aptDestWrapper)
	}
	f, err := os.OpenFile(filepath.Join(dir, "functions"), os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return "", fmt.Errorf("write debootstrap's functions: %w", err)
	}
	if _, err := f.WriteString(script); err != nil {
		f.Close()
		return "", fmt.Errorf("write debootstrap's functions: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write debootstrap's functions: %w", err)
	}
	return checked, nil
}

// aptDestDeb is the line of debootstrap's apt_dest that names a package's
// file in the root's apt cache, and aptDestWrapper an apt_dest that does
// the same without a sed started for every package (twice that of a
// 144-package buildd root took a second here); every other kind of name
// goes to debootstrap's apt_dest, kept under another name.
const (
	aptDestDeb     = "\t\techo \"/var/cache/apt/archives/${2}_${3}_${4}.deb\" | sed 's/:/%3a/'"
	aptDestWrapper = `
# debootstrap's apt_dest, as it defines it, under another name.
pkgbox_debootstrap_apt_dest () @BODY@
# A package's file in the apt cache, its first colon escaped, as
# debootstrap's apt_dest names it with sed.
apt_dest () {
	if [ "$1" = deb ]; then
		set -- "/var/cache/apt/archives/${2}_${3}_${4}.deb"
		case "$1" in *:*) set -- "${1%%:*}%3a${1#*:}" ;; esac
		echo "$1"
		return
	fi
	pkgbox_debootstrap_apt_dest "$@"
}
`
)

// getWrapper is the get of debootstrap's functions that pkgbox writes:
// debootstrap's own under another name (@BODY@), and a get that answers
// for the packages of the cache (@CACHE@) that have a mark in @CHECKED@.
// Its message and name are debootstrap's get's: the package's name and
// version from its file name, the epoch's colon unescaped.
const getWrapper = `
# debootstrap's get, as it defines it, under another name.
pkgbox_debootstrap_get () @BODY@
# A package of the cache that pkgbox has checked against this index is
# there already: what debootstrap's get returns after checking it itself.
get () {
	if [ $# -eq 4 ] && [ "${2%/*}" = @CACHE@ ] && [ -f "$2" ]; then
		case "$3$4" in
		*/*) ;;
		*)
			if [ -e @CHECKED@/"$3-$4-${2##*/}" ]; then
				set -- "${2##*/}"
				set -- "${1%%_*}" "${1#*_}"
				set -- "$1" "${2%%_*}"
				case "$2" in *%3a*) set -- "$1" "${2%%%3a*}:${2#*%3a}" ;; esac
				info VALIDATING "Validating %s %s" "$1" "$2"
				return 0
			fi
			;;
		esac
	fi
	pkgbox_debootstrap_get "$@"
}
`

// shellFunc is the body of function name in debootstrap's functions, from
// its opening to its closing brace, or "" if it is not defined there as
// pkgbox expects: "name () {" on a line of its own, once, ended by the
// first "}" at the start of a line, and holding each of the lines want.
func shellFunc(functions []byte, name string, want ...string) string {
	head := []byte("\n" + name + " () {\n")
	i := bytes.Index(functions, head)
	if i < 0 || bytes.Count(functions, head) != 1 {
		return ""
	}
	body := functions[i+len(head)-2:]
	j := bytes.Index(body, []byte("\n}\n"))
	if j < 0 {
		return ""
	}
	body = body[:j+2]
	for _, w := range want {
		if !bytes.Contains(body, []byte("\n"+w+"\n")) {
			return ""
		}
	}
	return string(body)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
