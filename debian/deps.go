package debian

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"pault.ag/go/debian/dependency"
	"pault.ag/go/debian/version"
)

// The patterns are compiled on first use, not at package initialisation,
// which every pkgbox process pays, the sandbox's init included (issue 12).
var (
	// Debian Policy 5.6.1 (Source) and 5.6.7 (Package).
	packageName = lazyRegexp(`^[a-z0-9][a-z0-9+.-]+$`)
	// Architecture names and wildcards (amd64, linux-any, any-i386, musl-linux-any).
	archName = lazyRegexp(`^[a-z0-9][a-z0-9-]*$`)
	// Build profile names, BuildProfileSpec: lowercase alphanumerics, '-', '.' and '+'.
	profileName = lazyRegexp(`^[a-z0-9][a-z0-9.+-]*$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// depFields are the source fields holding build relations, in the order the
// fields of Source are declared.
var depFields = []string{
	"Build-Depends", "Build-Depends-Arch", "Build-Depends-Indep",
	"Build-Conflicts", "Build-Conflicts-Arch", "Build-Conflicts-Indep",
}

// parseDeps parses a relation field with pault.ag/go/debian/dependency and
// checks what that parser lets through.
//
// The library ends a package name only at ' ', ':', '(', ',', '|': a line
// break or tab right after a name becomes part of it ("foo\n, bar" gives a
// package "foo\n"), so folding whitespace is turned into spaces first. It
// accepts any bytes as names, versions, architectures and profiles, empty
// alternatives ("foo | | bar"), empty "[ ]" and "< >", and substitution
// variables; those are rejected here so that BuildDeps only ever emits
// well-formed relations.
func parseDeps(value string) (dep dependency.Dependency, err error) {
	defer func() {
		if r := recover(); r != nil {
			dep, err = dependency.Dependency{}, fmt.Errorf("internal error in relation parser: %v", r)
		}
	}()
	value = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, value)
	d, err := dependency.Parse(value)
	if err != nil {
		return dependency.Dependency{}, libError{err}
	}
	for _, rel := range d.Relations {
		if len(rel.Possibilities) == 0 {
			return dependency.Dependency{}, errors.New("empty alternative")
		}
		for _, p := range rel.Possibilities {
			if err := checkPossibility(p); err != nil {
				return dependency.Dependency{}, err
			}
		}
	}
	return *d, nil
}

func checkPossibility(p dependency.Possibility) error {
	if p.Substvar {
		return fmt.Errorf("substitution variable %q is not allowed here", "${"+p.Name+"}")
	}
	if !packageName().MatchString(p.Name) {
		return fmt.Errorf("invalid package name %q", p.Name)
	}
	if p.Arch != nil {
		q := p.Arch.String()
		if !archName().MatchString(q) {
			return fmt.Errorf("invalid architecture qualifier %q on %q", q, p.Name)
		}
		// The library prints "linux-any" as "any": a wildcard other than
		// "any" itself would come out as a different qualifier.
		if p.Arch.IsWildcard() && *p.Arch != dependency.Any {
			return fmt.Errorf("wildcard architecture qualifier on %q: want \":any\", \":native\" or an architecture name", p.Name)
		}
	}
	if p.Version != nil {
		switch p.Version.Operator {
		case "<<", "<=", "=", ">=", ">>":
		default:
			return fmt.Errorf("invalid version operator %q on %q", p.Version.Operator, p.Name)
		}
		if err := checkVersion(p.Version.Number); err != nil {
			return fmt.Errorf("invalid version %q on %q: %w", p.Version.Number, p.Name, err)
		}
	}
	if p.Architectures != nil {
		for _, a := range p.Architectures.Architectures {
			if s := a.String(); !archName().MatchString(s) {
				return fmt.Errorf("invalid architecture %q in restriction on %q", s, p.Name)
			}
		}
	}
	for _, set := range p.StageSets {
		if len(set.Stages) == 0 {
			return fmt.Errorf("empty build profile restriction on %q", p.Name)
		}
		for _, st := range set.Stages {
			if !profileName().MatchString(st.Name) {
				return fmt.Errorf("invalid build profile %q on %q", st.Name, p.Name)
			}
		}
	}
	return nil
}

// checkVersion checks a version string with the library and adds what dpkg
// rejects but the library lets through (an empty upstream part in "0:-1", an
// empty revision in "1.0-", characters that have no place in a file name).
func checkVersion(s string) error {
	v, err := version.Parse(s)
	if err != nil {
		return libError{err}
	}
	if v.Version == "" {
		return errors.New("empty upstream version")
	}
	if strings.HasSuffix(s, "-") {
		return errors.New("empty revision")
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune(".+~-:", r)) {
			return fmt.Errorf("invalid character %q", r)
		}
	}
	return nil
}

// BuildDeps reduces the build dependencies for a build on arch with build
// profiles (DEB_BUILD_PROFILES style names, e.g. "nocheck") and says which
// fields apply: archDep includes Build-Depends-Arch and Build-Conflicts-Arch,
// indep the -Indep ones; Build-Depends and Build-Conflicts always apply.
//
// It returns strings ready for "apt-get satisfy": relations separated by
// ", ", alternatives by " | ", versions as "(>= 1.0)". Architecture
// restrictions ("[amd64]", "[!i386]") and profile restrictions
// ("<!nocheck> <stage1 cross>") are evaluated and left out; an alternative
// they exclude is dropped, and a relation left with no alternative is
// dropped. A ":any" qualifier is kept (apt understands it), ":native" is
// dropped since pkgbox builds natively, so native is arch itself. An empty
// result is "".
func (s *Source) BuildDeps(arch string, profiles []string, archDep, indep bool) (depends, conflicts string, err error) {
	return s.buildDeps(arch, profiles, archDep, indep, false)
}

// CrossBuildDeps is BuildDeps for a cross build for the host architecture
// host: restrictions are evaluated for host, and ":native" qualifiers are
// kept, for apt's --host-architecture to resolve to the build architecture
// (as sbuild --host and dpkg-checkbuilddeps -a do).
func (s *Source) CrossBuildDeps(host string, profiles []string, archDep, indep bool) (depends, conflicts string, err error) {
	return s.buildDeps(host, profiles, archDep, indep, true)
}

func (s *Source) buildDeps(arch string, profiles []string, archDep, indep, keepNative bool) (depends, conflicts string, err error) {
	host, err := hostArch(arch)
	if err != nil {
		return "", "", err
	}
	active := map[string]bool{}
	for _, p := range profiles {
		if p == "" {
			continue
		}
		if !profileName().MatchString(p) {
			return "", "", fmt.Errorf("invalid build profile %q", p)
		}
		active[p] = true
	}
	type part struct {
		dep  *dependency.Dependency
		use  bool
		name string
	}
	reduceAll := func(parts []part) (string, error) {
		var out []string
		for _, p := range parts {
			if !p.use {
				continue
			}
			rels, err := reduce(p.dep, host, active, keepNative)
			if err != nil {
				return "", fmt.Errorf("reduce %s: %w", p.name, err)
			}
			out = append(out, rels...)
		}
		return strings.Join(out, ", "), nil
	}
	depends, err = reduceAll([]part{
		{&s.BuildDepends, true, "Build-Depends"},
		{&s.BuildDependsArch, archDep, "Build-Depends-Arch"},
		{&s.BuildDependsIndep, indep, "Build-Depends-Indep"},
	})
	if err != nil {
		return "", "", err
	}
	conflicts, err = reduceAll([]part{
		{&s.BuildConflicts, true, "Build-Conflicts"},
		{&s.BuildConflictsArch, archDep, "Build-Conflicts-Arch"},
		{&s.BuildConflictsIndep, indep, "Build-Conflicts-Indep"},
	})
	if err != nil {
		return "", "", err
	}
	return depends, conflicts, nil
}

// hostArch parses the architecture of a build: a concrete Debian
// architecture, not a wildcard, not "all" (the library's ParseArch accepts
// even "" and compares two wildcards as never equal).
func hostArch(arch string) (*dependency.Arch, error) {
	if !archName().MatchString(arch) || arch == "all" {
		return nil, fmt.Errorf("invalid build architecture %q", arch)
	}
	a, err := dependency.ParseArch(arch)
	if err != nil {
		return nil, fmt.Errorf("invalid build architecture %q: %w", arch, libError{err})
	}
	if a.IsWildcard() {
		return nil, fmt.Errorf("build architecture %q is a wildcard, want a concrete one such as \"amd64\"", arch)
	}
	return a, nil
}

// reduce evaluates the restrictions of every alternative of dep and formats
// what is left, one string per relation kept.
//
// The library's Dependency.GetPossibilities is not used: it keeps only the
// first alternative of each relation that matches the architecture and
// ignores build profiles altogether.
func reduce(dep *dependency.Dependency, host *dependency.Arch, profiles map[string]bool, keepNative bool) ([]string, error) {
	var rels []string
	for _, rel := range dep.Relations {
		var alts []string
		for _, p := range rel.Possibilities {
			if err := checkPossibility(p); err != nil {
				return nil, err
			}
			if p.Architectures != nil && !p.Architectures.Matches(host) {
				continue
			}
			if !profilesMatch(p.StageSets, profiles) {
				continue
			}
			alts = append(alts, formatPossibility(p, keepNative))
		}
		if len(alts) > 0 {
			rels = append(rels, strings.Join(alts, " | "))
		}
	}
	return rels, nil
}

// profilesMatch evaluates a restriction formula, deb-src-control(5):
// "<a !b> <c>" holds if every term of some list holds (an OR of ANDs); a
// term "p" holds if profile p is active, "!p" if it is not. No lists, no
// restriction.
func profilesMatch(sets []dependency.StageSet, active map[string]bool) bool {
	if len(sets) == 0 {
		return true
	}
	for _, set := range sets {
		all := true
		for _, st := range set.Stages {
			if active[st.Name] == st.Not {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// formatPossibility writes one alternative for apt-get satisfy: name,
// architecture qualifier (":native" only if keepNative), version.
func formatPossibility(p dependency.Possibility, keepNative bool) string {
	s := p.Name
	if p.Arch != nil {
		if q := p.Arch.String(); q != "native" || keepNative {
			s += ":" + q
		}
	}
	if p.Version != nil {
		s += " (" + p.Version.Operator + " " + p.Version.Number + ")"
	}
	return s
}

// CheckArch checks the name of an architecture to build for: a concrete
// Debian architecture, not a wildcard, not "all".
func CheckArch(arch string) error {
	_, err := hostArch(arch)
	return err
}
