package corpus

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Status is the outcome for one binary package.
type Status string

// The statuses, from best to worst.
const (
	// Match: same version, files, modes, owners and relations.
	Match Status = "match"
	// VersionOnly: as Match, but some relation's version constraints
	// differ, as they do where the suite's libraries moved since the
	// archive built the package.
	VersionOnly Status = "version-only"
	// Unchecked: a -dbgsym package only pkgbox has because the archive's
	// debug suite was not given; it is neither a match nor a difference.
	Unchecked Status = "unchecked"
	// Differ: something a user would see differs.
	Differ Status = "differ"
	// OnlyPkgbox and OnlyArchive: the package is missing on one side.
	OnlyPkgbox  Status = "only-pkgbox"
	OnlyArchive Status = "only-archive"
)

// Options tune a comparison.
type Options struct {
	// NoArchiveDbgsym says the archive's -dbgsym packages (which live in
	// a separate debug suite) were not fetched: a -dbgsym only pkgbox
	// built is then Unchecked rather than OnlyPkgbox.
	NoArchiveDbgsym bool
}

// PackageResult is the comparison of one binary package.
type PackageResult struct {
	Package string
	Status  Status
	// Diffs are the differences that make it Differ; VersionDiffs the
	// version-only ones.
	Diffs        []string
	VersionDiffs []string
	// Notes say what was deliberately not compared.
	Notes []string
}

// Report is the comparison of all binary packages of one source.
type Report struct {
	Packages []PackageResult
}

// Counts returns how many binary packages were compared (Unchecked ones
// are not) and how many of those match, version-only ones included.
func (r *Report) Counts() (match, total int) {
	for _, p := range r.Packages {
		switch p.Status {
		case Unchecked:
			continue
		case Match, VersionOnly:
			match++
		}
		total++
	}
	return match, total
}

// Status is the worst status of the report's packages (Unchecked aside),
// or Differ for an empty report: no binary package is no match.
func (r *Report) Status() Status {
	rank := map[Status]int{Match: 0, VersionOnly: 1, Differ: 2, OnlyPkgbox: 2, OnlyArchive: 2}
	worst, seen := Match, false
	for _, p := range r.Packages {
		if p.Status == Unchecked {
			continue
		}
		seen = true
		if rank[p.Status] > rank[worst] {
			worst = p.Status
		}
	}
	if !seen {
		return Differ
	}
	if worst == OnlyPkgbox || worst == OnlyArchive {
		return Differ
	}
	return worst
}

// Lines describes every package that is not a plain match, one line each.
func (r *Report) Lines() []string {
	var out, unchecked []string
	for _, p := range r.Packages {
		switch p.Status {
		case Match:
			continue
		case Unchecked:
			unchecked = append(unchecked, p.Package)
		case VersionOnly:
			out = append(out, fmt.Sprintf("%s: version-only: %s", p.Package, strings.Join(p.VersionDiffs, "; ")))
		case Differ:
			out = append(out, fmt.Sprintf("%s: %s", p.Package, strings.Join(p.Diffs, "; ")))
		default:
			out = append(out, fmt.Sprintf("%s: %s", p.Package, strings.Join(append(append([]string{string(p.Status)}, p.Diffs...), p.Notes...), "; ")))
		}
	}
	if len(unchecked) > 0 {
		out = append(out, "unchecked, the archive's debug suite was not fetched: "+strings.Join(unchecked, ", "))
	}
	return out
}

// Compare compares the binary packages pkgbox built (ours) with the
// archive's of the same source version.
func Compare(ours, archive []*Binary, opt Options) *Report {
	byName := func(bs []*Binary) map[string]*Binary {
		m := map[string]*Binary{}
		for _, b := range bs {
			m[b.Package] = b
		}
		return m
	}
	o, a := byName(ours), byName(archive)
	names := map[string]bool{}
	for n := range o {
		names[n] = true
	}
	for n := range a {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	r := &Report{}
	for _, n := range sorted {
		ob, ab := o[n], a[n]
		switch {
		case ab == nil && ob.IsDbgsym() && opt.NoArchiveDbgsym:
			r.Packages = append(r.Packages, PackageResult{Package: n, Status: Unchecked,
				Notes: []string{fmt.Sprintf("the archive's debug suite was not fetched; %d build-id files", countBuildIDs(ob.Files))}})
		case ab == nil:
			r.Packages = append(r.Packages, PackageResult{Package: n, Status: OnlyPkgbox, Diffs: []string{"not in the archive"}})
		case ob == nil:
			r.Packages = append(r.Packages, PackageResult{Package: n, Status: OnlyArchive, Diffs: []string{"pkgbox did not build it"}})
		default:
			r.Packages = append(r.Packages, compareBinary(ob, ab))
		}
	}
	return r
}

var binNMU = regexp.MustCompile(`\+b[0-9]+$`)

// buildIDPrefix holds debug files named after the content hash of the
// binary they belong to, which no two builds share.
const buildIDPrefix = "/usr/lib/debug/.build-id/"

func compareBinary(o, a *Binary) PackageResult {
	res := PackageResult{Package: o.Package}
	isBinNMU := false
	switch {
	case o.Version == a.Version:
	case binNMU.MatchString(a.Version) && binNMU.ReplaceAllString(a.Version, "") == o.Version:
		isBinNMU = true
		res.Notes = append(res.Notes, fmt.Sprintf("the archive's %s is a binNMU", a.Version))
	default:
		res.Diffs = append(res.Diffs, fmt.Sprintf("version %s, archive %s", o.Version, a.Version))
	}
	if o.Arch != a.Arch {
		res.Diffs = append(res.Diffs, fmt.Sprintf("architecture %s, archive %s", o.Arch, a.Arch))
	}
	afiles := a.Files
	if isBinNMU {
		// A binNMU adds its own changelog entry in a file of its own.
		skip := fmt.Sprintf("/usr/share/doc/%s/changelog.Debian.%s.gz", a.Package, a.Arch)
		afiles = nil
		for _, f := range a.Files {
			if f.Path != skip {
				afiles = append(afiles, f)
			}
		}
	}
	res.Diffs = append(res.Diffs, compareFiles(o.Files, afiles)...)
	d, v := compareRelations(o.Relations, a.Relations)
	res.Diffs = append(res.Diffs, d...)
	res.VersionDiffs = v
	switch {
	case len(res.Diffs) > 0:
		res.Status = Differ
	case len(res.VersionDiffs) > 0:
		res.Status = VersionOnly
	default:
		res.Status = Match
	}
	return res
}

// maxListed is how many paths one difference line names before "and N more".
const maxListed = 5

func compareFiles(ours, archive []File) []string {
	index := func(fs []File) (map[string]File, int) {
		m := map[string]File{}
		ids := 0
		for _, f := range fs {
			if strings.HasPrefix(f.Path, buildIDPrefix) {
				if f.Type != '5' {
					ids++
				}
				continue
			}
			m[f.Path] = f
		}
		return m, ids
	}
	o, oids := index(ours)
	a, aids := index(archive)
	var diffs, onlyO, onlyA, changed []string
	if oids != aids {
		diffs = append(diffs, fmt.Sprintf("%d build-id files, archive %d", oids, aids))
	}
	for p, of := range o {
		af, ok := a[p]
		if !ok {
			onlyO = append(onlyO, p)
			continue
		}
		if c := describeChange(of, af); c != "" {
			changed = append(changed, p+" "+c)
		}
	}
	for p := range a {
		if _, ok := o[p]; !ok {
			onlyA = append(onlyA, p)
		}
	}
	if len(onlyO) > 0 {
		diffs = append(diffs, "only pkgbox has "+listSome(onlyO))
	}
	if len(onlyA) > 0 {
		diffs = append(diffs, "only the archive has "+listSome(onlyA))
	}
	if len(changed) > 0 {
		diffs = append(diffs, "differ: "+listSome(changed))
	}
	return diffs
}

func describeChange(o, a File) string {
	var c []string
	if o.Type != a.Type {
		c = append(c, fmt.Sprintf("type %s, archive %s", typeName(o.Type), typeName(a.Type)))
	}
	if o.Mode != a.Mode {
		c = append(c, fmt.Sprintf("mode %04o, archive %04o", o.Mode, a.Mode))
	}
	if o.Owner != a.Owner {
		c = append(c, fmt.Sprintf("owner %s, archive %s", o.Owner, a.Owner))
	}
	if o.Link != a.Link && o.Type == a.Type {
		c = append(c, fmt.Sprintf("link %s, archive %s", o.Link, a.Link))
	}
	if len(c) == 0 {
		return ""
	}
	return "(" + strings.Join(c, ", ") + ")"
}

func typeName(t byte) string {
	switch t {
	case '0':
		return "file"
	case '1':
		return "hardlink"
	case '2':
		return "symlink"
	case '5':
		return "dir"
	}
	return fmt.Sprintf("type %q", t)
}

func listSome(items []string) string {
	sort.Strings(items)
	if len(items) <= maxListed {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:maxListed], ", "), len(items)-maxListed)
}

func countBuildIDs(fs []File) int {
	n := 0
	for _, f := range fs {
		if strings.HasPrefix(f.Path, buildIDPrefix) && f.Type != '5' {
			n++
		}
	}
	return n
}

// compareRelations compares relation fields by package names (the
// differences that matter) and then by their full text (version-only).
func compareRelations(ours, archive map[string]string) (diffs, versionDiffs []string) {
	fields := map[string]bool{}
	for k := range ours {
		fields[k] = true
	}
	for k := range archive {
		fields[k] = true
	}
	for _, f := range relationFields {
		if !fields[f] {
			continue
		}
		o, a := parseRelations(ours[f]), parseRelations(archive[f])
		var onlyO, onlyA, vers []string
		for names, full := range o {
			af, ok := a[names]
			switch {
			case !ok:
				onlyO = append(onlyO, full)
			case af != full:
				vers = append(vers, fmt.Sprintf("%s, archive %s", full, af))
			}
		}
		for names, full := range a {
			if _, ok := o[names]; !ok {
				onlyA = append(onlyA, full)
			}
		}
		if len(onlyO) > 0 {
			sort.Strings(onlyO)
			diffs = append(diffs, fmt.Sprintf("%s: only pkgbox has %s", f, strings.Join(onlyO, ", ")))
		}
		if len(onlyA) > 0 {
			sort.Strings(onlyA)
			diffs = append(diffs, fmt.Sprintf("%s: only the archive has %s", f, strings.Join(onlyA, ", ")))
		}
		if len(vers) > 0 {
			sort.Strings(vers)
			versionDiffs = append(versionDiffs, fmt.Sprintf("%s: %s", f, strings.Join(vers, "; ")))
		}
	}
	return diffs, versionDiffs
}

// parseRelations maps each relation of a field, by its package names alone
// ("libc6", "a | b"), to its full text with spacing normalized.
func parseRelations(value string) map[string]string {
	m := map[string]string{}
	for _, rel := range strings.Split(value, ",") {
		rel = strings.Join(strings.Fields(rel), " ")
		if rel == "" {
			continue
		}
		var names, fulls []string
		for _, alt := range strings.Split(rel, "|") {
			alt = strings.TrimSpace(alt)
			fulls = append(fulls, alt)
			names = append(names, relationName(alt))
		}
		m[strings.Join(names, " | ")] = strings.Join(fulls, " | ")
	}
	return m
}

// relationName is the package name of one alternative ("libc6 (>= 2.34)"
// gives "libc6"; "python3:any" stays as it is).
func relationName(alt string) string {
	if i := strings.IndexAny(alt, " ([<"); i >= 0 {
		return alt[:i]
	}
	return alt
}
