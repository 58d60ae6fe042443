// Package bootstrap makes pkgbox's roots with debootstrap: it resolves the
// suite, mirror and keyring, checks every input before anything is
// downloaded, builds debootstrap's argument list (a pure function), runs it
// in private mount and PID namespaces with real progress, finishes the root
// for builds and installs it into the store atomically. It also lists,
// updates and removes roots.
package bootstrap

import (
	"fmt"
	"sort"
	"strings"
)

// Suite is one Debian release as pkgbox knows it.
type Suite struct {
	// Codename is the release's name (trixie, sid); roots record it, never
	// an alias, so a root does not change release when the aliases move.
	Codename string
	// Alias is the archive's moving name for it (stable, testing, ...), if any.
	Alias string
	// Version is the release number, empty for testing and unstable.
	Version string
	// Archived suites are only served by Debian's archive service: they need
	// its mirror, the removed-keys keyring, and apt without the Valid-Until
	// check (their Release files expired long ago).
	Archived bool
}

// RemovedKeysKeyring is the keyring (from the debian-archive-keyring package)
// holding the keys that signed archived releases.
const RemovedKeysKeyring = "/usr/share/keyrings/debian-archive-removed-keys.gpg"

// suites is Debian's release table as of 2026: trixie (13) is stable since
// August 2025, bookworm oldstable, bullseye oldoldstable (LTS), forky
// testing, buster and older are on the archive service only.
//
// UPDATE THIS TABLE AT EACH DEBIAN RELEASE: move every alias down one
// release, add the new testing codename, and mark a release Archived once it
// is removed from the regular mirrors. Only releases debootstrap has scripts
// for are listed.
var suites = []Suite{
	{Codename: "sid", Alias: "unstable"},
	{Codename: "forky", Alias: "testing", Version: "14"},
	{Codename: "trixie", Alias: "stable", Version: "13"},
	{Codename: "bookworm", Alias: "oldstable", Version: "12"},
	{Codename: "bullseye", Alias: "oldoldstable", Version: "11"},
	{Codename: "buster", Version: "10", Archived: true},
	{Codename: "stretch", Version: "9", Archived: true},
	{Codename: "jessie", Version: "8", Archived: true},
	{Codename: "wheezy", Version: "7", Archived: true},
	{Codename: "squeeze", Version: "6.0", Archived: true},
	{Codename: "lenny", Version: "5.0", Archived: true},
	{Codename: "etch", Version: "4.0", Archived: true},
	{Codename: "sarge", Version: "3.1", Archived: true},
	{Codename: "woody", Version: "3.0", Archived: true},
	{Codename: "potato", Version: "2.2", Archived: true},
}

// LookupSuite finds a suite by codename or alias (case-insensitive, as users
// type "Bookworm" or "Stable" too).
func LookupSuite(name string) (Suite, bool) {
	n := strings.ToLower(name)
	for _, s := range suites {
		if n == s.Codename || (s.Alias != "" && n == s.Alias) {
			return s, true
		}
	}
	return Suite{}, false
}

// KnownSuites lists the codenames and aliases pkgbox knows, current ones
// first, for error messages and shell completion.
func KnownSuites() []string {
	var names []string
	for _, s := range suites {
		names = append(names, s.Codename)
		if s.Alias != "" {
			names = append(names, s.Alias)
		}
	}
	return names
}

// suiteBase strips the names of the update and backport suites that share
// a release's mirror: bookworm-updates and bookworm-backports are served
// where bookworm is.
func suiteBase(suite string) string {
	for _, suf := range []string{"-proposed-updates", "-backports-sloppy", "-backports", "-updates"} {
		if b, ok := strings.CutSuffix(suite, suf); ok {
			return b
		}
	}
	return suite
}

// isSecuritySuite tells the security archive's suites (bookworm-security,
// and the older stretch/updates form), which live on another service that
// does not carry the release itself.
func isSecuritySuite(suite string) bool {
	return strings.HasSuffix(suite, "-security") || strings.Contains(suite, "/updates")
}

// UnknownSuiteError is returned for a suite that is neither a codename nor an
// alias pkgbox knows, when no --mirror says where to find it.
type UnknownSuiteError struct {
	Name string
}

func (e *UnknownSuiteError) Error() string {
	known := KnownSuites()
	sort.Strings(known)
	return fmt.Sprintf("unknown suite %q (known: %s)", e.Name, strings.Join(known, ", "))
}

// Hint says how to bootstrap a suite pkgbox does not know.
func (e *UnknownSuiteError) Hint() string {
	return "check the spelling, or give --mirror URL to pass a suite pkgbox does not know to debootstrap as it is"
}
