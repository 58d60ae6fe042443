// Package corpus compares the binary packages pkgbox builds from real
// archive sources with the archive's own, which makes Debian's archive the
// oracle for pkgbox's build features (issue 10): a feature counts when real
// sources build and their .debs match the archive's.
//
// The comparison is pure: it reads .deb files (an ar archive holding
// control.tar.* and data.tar.*) with pault.ag/go/debian/deb and compares
// package names, versions, file lists (paths, types, modes, owners, link
// targets) and relation fields. The driver that builds the corpus is
// corpus_test.go, behind the build tag "corpus".
package corpus

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"pault.ag/go/debian/deb"
)

// relationFields are the control fields whose package names are compared.
var relationFields = []string{"Pre-Depends", "Depends", "Recommends", "Suggests", "Breaks", "Conflicts", "Replaces", "Provides", "Built-Using", "Static-Built-Using"}

// Binary is what the comparison needs of one binary package.
type Binary struct {
	File    string // base name of the .deb
	Package string
	Version string
	Arch    string
	// Source and SourceVersion name the source package ("hello", "2.10-3"),
	// from the Source field or, without one, the package itself.
	Source        string
	SourceVersion string
	// Relations maps a relation field (Depends, ...) to its raw value.
	Relations map[string]string
	Files     []File
}

// File is one member of a package's data tarball.
type File struct {
	Path  string // absolute, cleaned: "/usr/bin/hello"
	Type  byte   // tar type flag: '0' file, '5' directory, '2' symlink, '1' hard link
	Mode  int64  // permission bits with setuid, setgid and sticky
	Owner string // "user/group", names where the tarball has them, else numbers
	Link  string // symlink or hard link target
}

// IsDbgsym says whether b is an automatic debug symbols package.
func (b *Binary) IsDbgsym() bool { return strings.HasSuffix(b.Package, "-dbgsym") }

// ReadDeb reads the control and data file list of the .deb at file.
func ReadDeb(file string) (b *Binary, retErr error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := deb.Load(f, file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	defer func() {
		if err := d.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("read %s: %w", file, err)
		}
	}()
	c := d.Control
	b = &Binary{
		File:          filepath.Base(file),
		Package:       c.Package,
		Version:       c.Version.String(),
		Arch:          c.Architecture.String(),
		Source:        c.Package,
		SourceVersion: c.Version.String(),
		Relations:     map[string]string{},
	}
	if src := strings.TrimSpace(c.Source); src != "" {
		name, ver, ok := strings.Cut(src, " ")
		b.Source = name
		if ok {
			b.SourceVersion = strings.Trim(strings.TrimSpace(ver), "()")
		}
	}
	for _, k := range relationFields {
		if v, ok := c.Values[k]; ok {
			b.Relations[k] = v
		}
	}
	if b.Files, err = readFiles(d.Data); err != nil {
		return nil, fmt.Errorf("read the data of %s: %w", file, err)
	}
	return b, nil
}

func readFiles(r *tar.Reader) ([]File, error) {
	var files []File
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		owner := h.Uname + "/" + h.Gname
		if h.Uname == "" || h.Gname == "" {
			owner = fmt.Sprintf("%d/%d", h.Uid, h.Gid)
		}
		typ := h.Typeflag
		if typ == tar.TypeRegA {
			typ = tar.TypeReg
		}
		f := File{Path: cleanPath(h.Name), Type: typ, Mode: h.Mode & 0o7777, Owner: owner}
		if typ == tar.TypeSymlink {
			f.Link = h.Linkname
		} else if typ == tar.TypeLink {
			f.Link = cleanPath(h.Linkname)
		}
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// cleanPath turns a tar member name ("./usr/bin/", "usr/bin") into "/usr/bin".
func cleanPath(name string) string { return path.Clean("/" + name) }

// ReadDir reads every .deb and .ddeb in dir (udebs are left out: the
// archive keeps them apart, in the debian-installer component).
func ReadDir(dir string) ([]*Binary, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bins []*Binary
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".deb") || strings.HasSuffix(n, ".ddeb")) {
			continue
		}
		b, err := ReadDeb(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		bins = append(bins, b)
	}
	return bins, nil
}
