// Package debian reads Debian source packages (an unpacked tree or a .dsc)
// and .changes files for pkgbox. It wraps pault.ag/go/debian and hardens
// its boundary: errors name the file and line, every file a .dsc lists must
// be a bare base name with a matching size and SHA-256 before anything uses
// it, and PGP signatures are never checked, so never reported as valid.
package debian

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"pault.ag/go/debian/dependency"
	"pault.ag/go/debian/version"
)

// Source is a source package as pkgbox needs it.
type Source struct {
	Name    string
	Version version.Version
	// Distribution is the top changelog entry's distribution for a tree,
	// "" for a .dsc (which has no such field).
	Distribution string
	Dir          string   // absolute path of the unpacked tree holding debian/; "" for a .dsc
	Dsc          string   // absolute path of the .dsc; "" for a tree
	DscFiles     []string // base names the .dsc lists, each checked: bare name, beside the .dsc, size and SHA-256 match

	BuildDepends, BuildDependsArch, BuildDependsIndep       dependency.Dependency
	BuildConflicts, BuildConflictsArch, BuildConflictsIndep dependency.Dependency

	RulesRequiresRoot string   // the raw field, "" if absent
	Architectures     []string // the binary packages' Architecture values, each once, in order
	// Binaries are the binary packages' names: the Package fields of
	// debian/control, or a .dsc's Binary field.
	Binaries []string
}

// VersionNoEpoch is the version without its epoch, as used in file names
// ("1.0-1" for "2:1.0-1").
func (s *Source) VersionNoEpoch() string { return s.Version.StringWithoutEpoch() }

// UpstreamVersion is the upstream part of the version, without epoch and
// revision ("1.0" for "2:1.0-1").
func (s *Source) UpstreamVersion() string { return s.Version.Version }

// ReadSource reads the source package at path: a directory holding
// debian/control and debian/changelog, or a .dsc file. For a .dsc, every
// listed file is checked before ReadSource returns (see Source.DscFiles). A
// clearsigned .dsc is read without checking its signature.
func ReadSource(path string) (*Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read source: %w", err)
	}
	switch {
	case fi.IsDir():
		return readTree(path)
	case fi.Mode().IsRegular() && strings.HasSuffix(path, ".dsc"):
		return readDsc(path)
	}
	return nil, fmt.Errorf("read source %q: neither a directory nor a .dsc file", path)
}

// readTree reads an unpacked source tree.
func readTree(dir string) (*Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("read source %q: %w", dir, err)
	}
	read := func(name string) (string, []byte, error) {
		file := filepath.Join(dir, "debian", name)
		b, err := readFile(file, true)
		if errors.Is(err, fs.ErrNotExist) {
			return file, nil, &notSourceError{dir: dir, file: "debian/" + name, err: err}
		}
		if err != nil {
			return file, nil, &FileError{File: file, Err: err}
		}
		return file, b, nil
	}
	cfile, cdata, err := read("control")
	if err != nil {
		return nil, err
	}
	lfile, ldata, err := read("changelog")
	if err != nil {
		return nil, err
	}
	s, err := parseControl(cfile, cdata)
	if err != nil {
		return nil, err
	}
	top, err := parseChangelog(lfile, ldata)
	if err != nil {
		return nil, err
	}
	if top.Source != s.Name {
		return nil, errAt(lfile, top.Line, "source %q differs from %q in %s", top.Source, s.Name, cfile)
	}
	s.Version = top.Version
	s.Distribution = top.Distribution
	s.Dir = abs
	return s, nil
}

// notSourceError says a directory lacks debian/control or debian/changelog.
// It wraps the fs.ErrNotExist of the open.
type notSourceError struct {
	dir, file string
	err       error
}

func (e *notSourceError) Error() string {
	return fmt.Sprintf("no %s in %q: is this a Debian source tree?", e.file, e.dir)
}

func (e *notSourceError) Unwrap() error { return e.err }

// parseControl reads a debian/control: the source paragraph's name and
// build relations, and the binary paragraphs' architectures. Version,
// Distribution, Dir are left for the caller. file names the file in errors.
func parseControl(file string, data []byte) (*Source, error) {
	doc, err := parseDocument(file, data)
	if err != nil {
		return nil, err
	}
	if len(doc.paras) == 0 {
		return nil, errAt(file, 0, "empty control file: no source paragraph")
	}
	src := &doc.paras[0]
	s, err := sourceFields(doc, src)
	if err != nil {
		return nil, err
	}
	if len(doc.paras) == 1 {
		return nil, errAt(file, 0, "no binary package paragraph after the source paragraph")
	}
	for i := range doc.paras[1:] {
		p := &doc.paras[1+i]
		name, ok := p.get("Package")
		if !ok {
			return nil, errAt(file, p.line, "binary paragraph has no Package field")
		}
		s.Binaries = append(s.Binaries, name.value)
		f, ok := p.get("Architecture")
		if !ok {
			return nil, errAt(file, p.line, "binary paragraph has no Architecture field")
		}
		if s.Architectures, err = addArchitectures(s.Architectures, f.value); err != nil {
			return nil, errAt(file, f.line, "invalid Architecture: %w", err)
		}
	}
	return s, nil
}

// sourceFields takes what a debian/control source paragraph and a .dsc
// share: Source, the build relations, Rules-Requires-Root.
func sourceFields(doc *document, p *paragraph) (*Source, error) {
	f, ok := p.get("Source")
	if !ok {
		return nil, errAt(doc.file, p.line, "no Source field in the first paragraph")
	}
	if !packageName().MatchString(f.value) {
		return nil, errAt(doc.file, f.line, "invalid Source %q", f.value)
	}
	s := &Source{Name: f.value}
	deps := []*dependency.Dependency{
		&s.BuildDepends, &s.BuildDependsArch, &s.BuildDependsIndep,
		&s.BuildConflicts, &s.BuildConflictsArch, &s.BuildConflictsIndep,
	}
	for i, name := range depFields {
		f, ok := p.get(name)
		if !ok {
			continue
		}
		d, err := parseDeps(f.value)
		if err != nil {
			return nil, errAt(doc.file, f.line, "invalid %s: %w", name, err)
		}
		*deps[i] = d
	}
	if f, ok := p.get("Rules-Requires-Root"); ok {
		s.RulesRequiresRoot = f.value
	}
	return s, nil
}

// addArchitectures appends the architectures in value (space separated)
// not yet in list.
func addArchitectures(list []string, value string) ([]string, error) {
	words := strings.Fields(value)
	if len(words) == 0 {
		return nil, errors.New("empty")
	}
	for _, a := range words {
		if !archName().MatchString(a) {
			return nil, fmt.Errorf("invalid architecture %q", a)
		}
		if !contains(list, a) {
			list = append(list, a)
		}
	}
	return list, nil
}
