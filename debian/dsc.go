package debian

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"pault.ag/go/debian/control"
)

// dscEntry is one file a .dsc lists, from Files and Checksums-Sha256.
type dscEntry struct {
	name    string
	size    int64
	md5     string
	sha256  string
	line    int // the Checksums-Sha256 line
	md5Line int // the Files line
}

// readDsc reads a .dsc and checks every file it lists.
func readDsc(path string) (*Source, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("read source %q: %w", path, err)
	}
	s, files, err := openDsc(path, abs)
	if err != nil {
		return nil, err
	}
	closeAll(files)
	return s, nil
}

// parseDsc reads the fields of a .dsc and the list of its files, checked
// for form (bare names, both lists agree) but not yet against the disk.
func parseDsc(file string, data []byte) (*Source, []dscEntry, error) {
	doc, err := parseDocument(file, data)
	if err != nil {
		return nil, nil, err
	}
	if len(doc.paras) == 0 {
		return nil, nil, errAt(file, 0, "empty .dsc")
	}
	p := &doc.paras[0]
	s, err := sourceFields(doc, p)
	if err != nil {
		return nil, nil, err
	}
	f, ok := p.get("Version")
	if !ok {
		return nil, nil, errAt(file, p.line, "no Version field")
	}
	if err := checkVersion(f.value); err != nil {
		return nil, nil, errAt(file, f.line, "invalid Version %q: %w", f.value, err)
	}
	if err := s.Version.UnmarshalControl(f.value); err != nil { // cannot fail after checkVersion
		return nil, nil, errAt(file, f.line, "invalid Version %q: %w", f.value, libError{err})
	}
	f, ok = p.get("Architecture")
	if !ok {
		return nil, nil, errAt(file, p.line, "no Architecture field")
	}
	if s.Architectures, err = addArchitectures(nil, f.value); err != nil {
		return nil, nil, errAt(file, f.line, "invalid Architecture: %w", err)
	}
	if f, ok := p.get("Binary"); ok {
		for _, b := range strings.Split(f.value, ",") {
			if b = strings.TrimSpace(b); b != "" {
				s.Binaries = append(s.Binaries, b)
			}
		}
	}

	md5s := map[string]control.FileHash{}
	md5Lines := map[string]int{}
	var order []string
	err = eachHash(doc, p, "Files", "MD5", 32, func(line int, h control.FileHash) error {
		if _, dup := md5s[h.Filename]; dup {
			return fmt.Errorf("%q listed twice", h.Filename)
		}
		md5s[h.Filename], md5Lines[h.Filename] = h, line
		order = append(order, h.Filename)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sums := map[string]dscEntry{}
	err = eachHash(doc, p, "Checksums-Sha256", "SHA256", 64, func(line int, h control.FileHash) error {
		if _, dup := sums[h.Filename]; dup {
			return fmt.Errorf("%q listed twice", h.Filename)
		}
		m, ok := md5s[h.Filename]
		if !ok {
			return fmt.Errorf("%q is not listed in Files", h.Filename)
		}
		if m.Size != h.Size {
			return fmt.Errorf("size of %q is %d here but %d in Files", h.Filename, h.Size, m.Size)
		}
		sums[h.Filename] = dscEntry{name: h.Filename, size: h.Size, md5: m.Hash, sha256: strings.ToLower(h.Hash), line: line, md5Line: md5Lines[h.Filename]}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	entries := make([]dscEntry, 0, len(order))
	for _, name := range order {
		e, ok := sums[name]
		if !ok {
			ff, _ := p.get("Files")
			return nil, nil, errAt(file, doc.entryLine(ff, name), "%q has no Checksums-Sha256 entry", name)
		}
		entries = append(entries, e)
	}
	return s, entries, nil
}

// eachEntry calls fn for each line of the multi-line field name, split
// into words. The field must be there and list at least one entry; errors
// from fn get the entry's line.
func eachEntry(doc *document, p *paragraph, name string, fn func(line int, words []string) error) error {
	f, ok := p.get(name)
	if !ok {
		return errAt(doc.file, p.line, "no %s field", name)
	}
	n := 0
	for _, entry := range strings.Split(f.value, "\n") {
		words := strings.Fields(entry)
		if len(words) == 0 {
			continue
		}
		n++
		line := doc.entryLine(f, words[len(words)-1])
		if err := fn(line, words); err != nil {
			return errAt(doc.file, line, "invalid %s entry: %w", name, err)
		}
	}
	if n == 0 {
		return errAt(doc.file, f.line, "empty %s field", name)
	}
	return nil
}

// checkEntry checks a parsed Files/Checksums line: a hash of hexLen hex
// digits, a size, and a bare base name. The library's AbsFiles and
// GetDSC join names to the .dsc's directory blindly, so a name such as
// "../../etc/shadow" would reach outside it.
// eachHash calls fn for each "HASH SIZE NAME" entry of field name, parsed
// by the library (as algo, with a hash of hexLen digits) and checked with
// checkEntry.
func eachHash(doc *document, p *paragraph, name, algo string, hexLen int, fn func(line int, h control.FileHash) error) error {
	return eachEntry(doc, p, name, func(line int, words []string) error {
		if len(words) != 3 {
			return fmt.Errorf("want \"%s SIZE NAME\"", algo)
		}
		h, err := unmarshalHash(algo, strings.Join(words, " "))
		if err != nil {
			return libError{err}
		}
		if err := checkEntry(h, hexLen); err != nil {
			return err
		}
		return fn(line, h)
	})
}

// unmarshalHash parses one entry with the library's type for algo, which
// sets the entry's Algorithm.
func unmarshalHash(algo, entry string) (control.FileHash, error) {
	if algo == "MD5" {
		var m control.MD5FileHash
		err := m.UnmarshalControl(entry)
		return m.FileHash, err
	}
	var m control.SHA256FileHash
	err := m.UnmarshalControl(entry)
	return m.FileHash, err
}

func checkEntry(h control.FileHash, hexLen int) error {
	if err := checkBaseName(h.Filename); err != nil {
		return err
	}
	if _, err := hex.DecodeString(h.Hash); err != nil || len(h.Hash) != hexLen {
		return fmt.Errorf("invalid %s hash %q", h.Algorithm, h.Hash)
	}
	if h.Size < 0 {
		return fmt.Errorf("invalid size %d", h.Size)
	}
	return nil
}

// checkBaseName accepts a plain file name in the listing file's directory.
func checkBaseName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("file name %q is not a bare base name", name)
	}
	return nil
}
