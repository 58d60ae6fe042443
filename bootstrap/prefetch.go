package bootstrap

import (
	"bufio"
	"bytes"
	"sort"
	"strconv"
	"strings"
)

// A cold create spends much of its time in debootstrap's download of the
// packages, one wget after another, after it has spent as long again
// resolving dependencies in shell and perl. pkgbox fetches the same
// packages meanwhile, several at a time, into the cache directory
// debootstrap is given, under the names debootstrap looks for there
// (prefetch_linux.go). debootstrap still decides what to install, and
// every file it uses is checked against its Packages index (itself checked
// against the signed Release file): by pkgbox, as it fetches the file, or
// by debootstrap (see debootstrapDir). So a prefetch can only save time: a
// package pkgbox misses, debootstrap downloads itself; one it fetches in
// vain stays in the cache.

// debEntry is one package of a Packages index: what fetching it needs.
type debEntry struct {
	Package, Version, Arch string
	Filename               string
	Size                   int64
	SHA256                 string
	Priority               string
	// Seq is the stanza's place in the index: debootstrap fetches in
	// that order, and so does pkgbox, to stay ahead of it.
	Seq int
	// Deps are the first alternative of each Depends and Pre-Depends
	// group, without version or architecture qualifiers: what debootstrap
	// follows (its pkgdetails GETDEPS).
	Deps []string
}

// cacheName is the file name debootstrap gives the package in its cache
// directory (functions, download_debs): NAME_VERSION_ARCH.deb, the colon
// of an epoch escaped.
func (e *debEntry) cacheName() string {
	return strings.ReplaceAll(e.Package+"_"+e.Version+"_"+e.Arch+".deb", ":", "%3a")
}

// parsePackages reads a Packages index; the first stanza of a name wins,
// as in debootstrap. Stanzas without a file, a size or a SHA256 are
// skipped: nothing could check what would be fetched for them.
func parsePackages(data []byte, into map[string]*debEntry) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	var e debEntry
	flush := func() {
		if e.Package != "" && e.Filename != "" && e.Size > 0 && e.SHA256 != "" {
			if _, dup := into[e.Package]; !dup {
				c := e
				c.Seq = len(into)
				into[e.Package] = &c
			}
		}
		e = debEntry{}
	}
	for sc.Scan() {
		l := sc.Text()
		if l == "" {
			flush()
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			e.Package = v
		case "Version":
			e.Version = v
		case "Architecture":
			e.Arch = v
		case "Filename":
			e.Filename = v
		case "Size":
			e.Size, _ = strconv.ParseInt(v, 10, 64)
		case "SHA256":
			e.SHA256 = v
		case "Priority":
			e.Priority = v
		case "Depends", "Pre-Depends":
			for _, group := range strings.Split(v, ",") {
				d, _, _ := strings.Cut(group, "|")
				d, _, _ = strings.Cut(d, "(")
				d, _, _ = strings.Cut(strings.TrimSpace(d), ":")
				if d = strings.TrimSpace(d); d != "" {
					e.Deps = append(e.Deps, d)
				}
			}
		}
	}
	flush()
}

// prefetchSet is the packages debootstrap will most likely install, in
// the index's terms: the required ones, the variant's base, the included
// ones, and what they depend on (first alternatives that are real
// packages, as debootstrap's resolve_deps takes them). usrmerge is left
// out, as debootstrap leaves it out where it would follow it (bookworm and
// later); where it does want it, it fetches it itself.
func prefetchSet(index map[string]*debEntry, variant string, include []string, https bool) []*debEntry {
	var roots []string
	for name, e := range index {
		if e.Priority == "required" || (variant == "default" && e.Priority == "important") {
			roots = append(roots, name)
		}
	}
	switch variant {
	case "buildd":
		roots = append(roots, "apt", "build-essential")
	case "minbase":
		roots = append(roots, "apt")
	case "fakechroot":
		roots = append(roots, "binutils")
	}
	roots = append(roots, "usr-is-merged")
	if https {
		roots = append(roots, "ca-certificates")
	}
	roots = append(roots, include...)

	seen := map[string]bool{"usrmerge": true}
	var out []*debEntry
	for len(roots) > 0 {
		name := roots[len(roots)-1]
		roots = roots[:len(roots)-1]
		e, ok := index[name]
		if seen[name] || !ok {
			continue
		}
		seen[name] = true
		out = append(out, e)
		roots = append(roots, e.Deps...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}
