// Package rdeps finds the reverse build dependencies of a binary package in
// a suite's package lists, as Debian's ratt does: every source whose
// Build-Depends (with -Arch and -Indep), reduced for an architecture and
// build profiles, name the binary package or a name it provides. Lists are
// read through pault.ag/go/debian; only paragraphs that mention a name
// looked for are parsed, so a whole suite's 50 MB Sources index takes
// seconds.
package rdeps

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"pault.ag/go/debian/control"
	"pault.ag/go/debian/dependency"
	"pault.ag/go/debian/version"

	"pkgbox/debian"
)

// Source is a source package that build-depends on what was looked for.
type Source struct {
	Name    string
	Version version.Version
	// Via is the name its build dependencies use: the binary package or
	// one it provides.
	Via string
}

// Arg is the source as pkgbox build takes it: NAME=VERSION.
func (s Source) Arg() string { return s.Name + "=" + s.Version.String() }

// paragraphs calls fn with each paragraph of a deb822 list (its bytes,
// ending in a newline) for which keep says yes; name is the list's name
// in messages.
func paragraphs(name string, r io.Reader, keep func([]byte) bool, fn func([]byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var para bytes.Buffer
	flush := func() error {
		defer para.Reset()
		if para.Len() == 0 || !keep(para.Bytes()) {
			return nil
		}
		return fn(para.Bytes())
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			para.Write(line)
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			if ferr := flush(); ferr != nil {
				return ferr
			}
		} else {
			para.Write(line)
			if line[len(line)-1] != '\n' {
				para.WriteByte('\n')
			}
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
}

// List is a package list, with its name for messages.
type List struct {
	Name string
	R    io.Reader
}

// Provided returns binary and the names binary provides, as the Packages
// lists say (every version of it counts).
func Provided(binary string, lists []List) ([]string, error) {
	names := []string{binary}
	header := []byte("Package: " + binary + "\n")
	for _, l := range lists {
		name := l.Name
		err := paragraphs(name, l.R, func(p []byte) bool { return bytes.HasPrefix(p, header) },
			func(p []byte) error {
				idx, err := control.ParseBinaryIndex(bufio.NewReader(bytes.NewReader(p)))
				if err != nil || len(idx) != 1 {
					return fmt.Errorf("%s: the paragraph of %s: %v", name, binary, err)
				}
				more, err := providedNames(idx[0].Values["Provides"])
				if err != nil {
					return fmt.Errorf("%s: Provides of %s: %w", name, binary, err)
				}
				for _, n := range more {
					if !slices.Contains(names, n) {
						names = append(names, n)
					}
				}
				return nil
			})
		if err != nil {
			return nil, err
		}
	}
	return names, nil
}

// providedNames are the names a Provides field gives.
func providedNames(prov string) ([]string, error) {
	if strings.TrimSpace(prov) == "" {
		return nil, nil
	}
	dep, err := dependency.Parse(prov)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, rel := range dep.Relations {
		for _, p := range rel.Possibilities {
			names = append(names, p.Name)
		}
	}
	return names, nil
}

// Find reads Sources lists and returns, sorted by name, the newest version
// of each source whose build dependencies, reduced for arch and profiles,
// name one of names.
func Find(names []string, arch string, profiles []string, lists []List) ([]Source, error) {
	found := map[string]Source{}
	keep := func(p []byte) bool {
		for _, n := range names {
			if bytes.Contains(p, []byte(n)) {
				return true
			}
		}
		return false
	}
	for _, l := range lists {
		name := l.Name
		err := paragraphs(name, l.R, keep, func(p []byte) error {
			idx, err := control.ParseSourceIndex(bufio.NewReader(bytes.NewReader(p)))
			if err != nil || len(idx) != 1 {
				return fmt.Errorf("%s: a paragraph: %v", name, err)
			}
			si := &idx[0]
			src := &debian.Source{Name: si.Package, Version: si.Version}
			// Parsed here, not by the library's GetBuildDepends, which
			// takes a field it cannot parse for an empty one.
			for f, dep := range map[string]*dependency.Dependency{"Build-Depends": &src.BuildDepends,
				"Build-Depends-Arch": &src.BuildDependsArch, "Build-Depends-Indep": &src.BuildDependsIndep} {
				if v := strings.TrimSpace(si.Values[f]); v != "" {
					d, err := dependency.Parse(v)
					if err != nil {
						return fmt.Errorf("%s: source %s %s: %s: %w", name, si.Package, si.Version, f, err)
					}
					*dep = *d
				}
			}
			depends, _, err := src.BuildDeps(arch, profiles, true, true)
			if err != nil {
				return fmt.Errorf("%s: source %s %s: %w", name, si.Package, si.Version, err)
			}
			via := uses(depends, names)
			if via == "" {
				return nil
			}
			if old, ok := found[si.Package]; !ok || version.Compare(si.Version, old.Version) > 0 {
				found[si.Package] = Source{Name: si.Package, Version: si.Version, Via: via}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]Source, 0, len(found))
	for _, s := range found {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Source) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// uses returns the first of names that reduced dependencies (as
// debian.Source.BuildDeps writes them: "a (>= 1) | b:any, c") name, or "".
func uses(depends string, names []string) string {
	for _, rel := range strings.Split(depends, ", ") {
		for _, alt := range strings.Split(rel, " | ") {
			n, _, _ := strings.Cut(alt, " ")
			n, _, _ = strings.Cut(n, ":")
			if slices.Contains(names, n) {
				return n
			}
		}
	}
	return ""
}
