package check

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"pault.ag/go/debian/version"

	"pkgbox/build"
)

// Piuparts tests the built binary packages' install, upgrade and purge in
// a fresh session, as piuparts does: it lists the file system, installs
// the suite's version of the packages where the suite has an older one
// and upgrades it to the new .debs (else installs them), purges every
// package the test installed, dependencies included, and reports the
// files that are there after the purge but were not before, and those
// that were there before and are gone.
//
// It differs from the piuparts tool: it runs in an overlay session of the
// root rather than a chroot unpacked from a tarball; it compares file
// names and types only (piuparts also compares owners and modes); it
// runs no debsums, no check for running processes (the session's init
// kills them), and ignores fewer paths (see ignored).
type Piuparts struct{}

// PiupartsReport is what the install, upgrade and purge test found.
type PiupartsReport struct {
	// Packages are the binary packages tested.
	Packages []string `json:"packages"`
	// Upgraded maps the packages installed from the suite first to the
	// suite's version; Notes say why the upgrade was not tested.
	Upgraded map[string]string `json:"upgraded_from,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
	// Left are the paths present after the purge and not before the
	// install; Missing are those present before and gone after.
	Left    []string `json:"left_after_purge"`
	Missing []string `json:"missing_after_purge"`
}

// Name is the check's phase name.
func (p *Piuparts) Name() string { return "piuparts" }

// ignored are the paths whose changes are dpkg's, apt's and the system's
// own bookkeeping, not a package's leftovers (piuparts ignores these and
// more): each is ignored with everything under it.
var ignored = []string{
	"/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt", "/var/cache/debconf",
	"/var/cache/ldconfig", "/var/cache/man", "/var/log", "/var/cache/pkgbox-deps",
	"/etc/ld.so.cache", "/build", "/usr/share/info/dir", "/usr/share/info/dir.old",
	"/etc/passwd-", "/etc/group-", "/etc/shadow-", "/etc/gshadow-", "/etc/subuid-", "/etc/subgid-",
}

// listScript lists the session's file system, each path with its type
// (find's %y), within the root file system only: /proc, /dev, /sys and
// the tmpfs on /tmp and /run are mounts of their own.
func listScript() string {
	var prune []string
	for _, p := range ignored {
		prune = append(prune, "-path "+shellWord(p))
	}
	return "find / -xdev \\( " + strings.Join(prune, " -o ") + " \\) -prune -o -printf '%y %p\\n'"
}

// installedScript lists the installed packages' names.
const installedScript = `dpkg-query -W -f '${db:Status-Status} ${Package}:${Architecture}\n' | sed -n 's/^installed //p'`

// Run installs, upgrades and purges the build's .debs in a fresh session.
func (p *Piuparts) Run(ctx context.Context, env *build.CheckEnv) (res *build.CheckResult, err error) {
	rep := &PiupartsReport{Upgraded: map[string]string{}}
	res = &build.CheckResult{Details: rep}
	defer func() { res.Summary = rep.summary(err) }()
	debs := env.Debs()
	if len(debs) == 0 {
		rep.Notes = append(rep.Notes, "the build made no .deb")
		return res, nil
	}
	built := map[string]string{}
	for _, d := range debs {
		f := strings.SplitN(strings.TrimSuffix(d, ".deb"), "_", 3)
		rep.Packages = append(rep.Packages, f[0])
		built[f[0]] = f[1]
	}
	sess, err := env.Open(ctx)
	if err != nil {
		return res, err
	}
	defer sess.Close()
	before, err := sess.Output(ctx, listScript())
	if err != nil {
		return res, fmt.Errorf("list the files before the install: %w", err)
	}
	pkgsBefore, err := sess.Output(ctx, installedScript)
	if err != nil {
		return res, fmt.Errorf("list the installed packages: %w", err)
	}
	// The suite's versions, from the root's own lists.
	var q strings.Builder
	for _, name := range rep.Packages {
		fmt.Fprintf(&q, "printf '%%s %%s\\n' %s \"$(apt-cache madison %s 2>/dev/null | head -n1 | cut -d'|' -f2 | tr -d ' ')\"\n", shellWord(name), shellWord(name))
	}
	out, err := sess.Output(ctx, q.String())
	if err != nil {
		return res, fmt.Errorf("look up the suite's versions: %w", err)
	}
	var fromSuite []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, v, _ := strings.Cut(line, " ")
		if v == "" {
			continue
		}
		switch c := compareVersions(v, built[name]); {
		case c < 0:
			fromSuite = append(fromSuite, fmt.Sprintf("%s (= %s)", name, v))
			rep.Upgraded[name] = v
		case c == 0:
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the suite has this version (%s): no upgrade to test", name, v))
		default:
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the suite's version %s is newer: no upgrade to test", name, v))
		}
	}
	if len(fromSuite) > 0 {
		if err := sess.Install(ctx, "the suite's version of the packages", strings.Join(fromSuite, ", "), nil, false); err != nil {
			return res, err
		}
	}
	if err := sess.Install(ctx, "the new packages", "", debs, false); err != nil {
		return res, err
	}
	// Purge what the test installed, dependencies too, as piuparts does.
	had := map[string]bool{}
	for _, l := range strings.Fields(pkgsBefore) {
		had[l] = true
	}
	pkgsAfter, err := sess.Output(ctx, installedScript)
	if err != nil {
		return res, fmt.Errorf("list the installed packages: %w", err)
	}
	var purge []string
	for _, l := range strings.Fields(pkgsAfter) {
		if !had[l] {
			purge = append(purge, l)
		}
	}
	env.Printf("piuparts: purging %s", strings.Join(purge, " "))
	if len(purge) > 0 {
		script := "set -e\napt-get purge -y -q -o Dpkg::Use-Pty=0 -o APT::Get::Allow-Remove-Essential=false " + shellWords(purge) + " >&2\n"
		if _, err := sess.Output(ctx, script); err != nil {
			return res, fmt.Errorf("purge: %w", err)
		}
	}
	after, err := sess.Output(ctx, listScript())
	if err != nil {
		return res, fmt.Errorf("list the files after the purge: %w", err)
	}
	rep.Left, rep.Missing = diffLists(before, after)
	for _, f := range rep.Left {
		env.Printf("piuparts: left after purge: %s", f)
	}
	for _, f := range rep.Missing {
		env.Printf("piuparts: missing after purge: %s", f)
	}
	return res, nil
}

// diffLists compares two listScript outputs: the entries only in after,
// and those only in before ("TYPE PATH" each, a path whose type changed
// in both).
func diffLists(before, after string) (left, missing []string) {
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			if l != "" {
				m[l] = true
			}
		}
		return m
	}
	b, a := set(before), set(after)
	for l := range a {
		if !b[l] {
			left = append(left, l)
		}
	}
	for l := range b {
		if !a[l] {
			missing = append(missing, l)
		}
	}
	sort.Strings(left)
	sort.Strings(missing)
	return left, missing
}

// compareVersions compares two Debian versions: -1, 0 or 1; one that does
// not parse compares as a string.
func compareVersions(a, b string) int {
	va, errA := version.Parse(a)
	vb, errB := version.Parse(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	switch c := version.Compare(va, vb); {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

func (r *PiupartsReport) summary(err error) string {
	if err != nil {
		return "could not run: " + err.Error()
	}
	s := "installed"
	if len(r.Upgraded) > 0 {
		s += ", upgraded from the suite's version"
	}
	s += ", purged"
	switch {
	case len(r.Left) == 0 && len(r.Missing) == 0:
		return s + ": nothing left behind"
	case len(r.Missing) == 0:
		return s + fmt.Sprintf(": %d left behind", len(r.Left))
	}
	return s + fmt.Sprintf(": %d left behind, %d missing", len(r.Left), len(r.Missing))
}

func shellWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellWord(w)
	}
	return strings.Join(q, " ")
}
