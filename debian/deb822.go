package debian

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"pault.ag/go/debian/control"
)

// maxFileSize bounds what pkgbox reads of a control file, changelog, .dsc or
// .changes: the library holds them in memory whole (clearsigned ones twice).
const maxFileSize = 16 << 20

// errTooLarge is wrapped by reads that hit maxFileSize.
var errTooLarge = fmt.Errorf("larger than %d MiB", maxFileSize>>20)

// readFile reads a small regular file. O_NONBLOCK keeps a FIFO planted in a
// source tree from hanging the open; noFollow refuses a symlink as the last
// component (debian/control in an untrusted tree pointing at /etc/shadow,
// read as root, would otherwise end up quoted in our errors).
func readFile(path string, noFollow bool) ([]byte, error) {
	flags := os.O_RDONLY | syscall.O_NONBLOCK
	if noFollow {
		flags |= syscall.O_NOFOLLOW
	}
	// Errors leave the path out: callers put it in front (FileError).
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		if noFollow && errors.Is(err, syscall.ELOOP) {
			return nil, errors.New("is a symlink: refusing to follow it")
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	b, err := readLimited(f)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return b, nil
}

// readLimited reads r whole, up to maxFileSize.
func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, errTooLarge
	}
	return b, nil
}

// field is one field of a paragraph, its name in canonical case.
type field struct {
	name  string
	value string
	line  int // 0 when the line is unknown
}

// paragraph is one deb822 paragraph with the line of each field.
type paragraph struct {
	line   int // line of the first field
	fields []field
}

// get returns the field called name (canonical case) and whether it is there.
func (p *paragraph) get(name string) (field, bool) {
	for _, f := range p.fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// document is a parsed deb822 file: the library's paragraphs, plus the raw
// lines, which we only scan to say where things are.
type document struct {
	file  string
	lines []string
	paras []paragraph
}

// parseDocument reads a deb822 document (debian/control, .dsc, .changes)
// with pault.ag/go/debian/control. A clearsigned document is decoded with a
// nil keyring, which the library documents as "all OpenPGP signature
// checking disabled, including that the contents match": its text is read
// as if unsigned, and nothing here may claim it was verified.
//
// The library reports no line numbers, takes field names case-sensitively
// (deb822 says they are not) and keeps the last of duplicate fields
// silently; parseDocument adds lines, canonicalises names and rejects
// duplicates.
func parseDocument(file string, data []byte) (doc *document, err error) {
	defer func() {
		// Our boundary promises errors, never panics, whatever the input.
		if r := recover(); r != nil {
			doc, err = nil, errAt(file, 0, "parse: internal error in control file parser: %v", r)
		}
	}()
	doc = &document{file: file, lines: splitLines(data)}
	idx := indexLines(doc.lines)

	pr, err := control.NewParagraphReader(bytes.NewReader(data), nil)
	if err != nil {
		return nil, &FileError{File: file, Err: fmt.Errorf("decode clearsigned document: %w", libError{err})}
	}
	for n := 0; ; n++ {
		lp, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			// The one parse error the reader has: a line that is neither
			// "Field: value" nor a continuation.
			if idx.noColon > 0 {
				return nil, errAt(file, idx.noColon, "line is not \"Field: value\" nor an indented continuation line")
			}
			return nil, &FileError{File: file, Err: libError{err}}
		}
		var ip *rawPara
		if n < len(idx.paras) && len(idx.paras[n].keys) == len(lp.Order) {
			ip = &idx.paras[n]
		}
		p := paragraph{}
		if ip != nil {
			p.line = ip.line
		}
		if _, ok := lp.Values[""]; ok && !contains(lp.Order, "") {
			line := 0
			if ip != nil {
				line = ip.orphan
			}
			return nil, errAt(file, line, "continuation line outside any field")
		}
		seen := map[string]int{}
		for i, key := range lp.Order {
			line := 0
			if ip != nil {
				line = ip.keys[i]
			}
			if !validFieldName(key) {
				return nil, errAt(file, line, "invalid field name %q", key)
			}
			name := canonicalField(key)
			if first, dup := seen[name]; dup {
				if first > 0 {
					return nil, errAt(file, line, "duplicate field %q (first at line %d)", key, first)
				}
				return nil, errAt(file, line, "duplicate field %q", key)
			}
			seen[name] = line
			p.fields = append(p.fields, field{name: name, value: lp.Values[key], line: line})
		}
		if p.line == 0 && len(p.fields) > 0 {
			p.line = p.fields[0].line
		}
		doc.paras = append(doc.paras, p)
	}
	return doc, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validFieldName follows deb822(5): printable US-ASCII but no colon, not
// starting with '#' or '-'.
func validFieldName(s string) bool {
	if s == "" || s[0] == '#' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == ':' {
			return false
		}
	}
	return true
}

// canonicalField spells a field name the way our lookups do:
// "build-depends-ARCH" and "Build-Depends-Arch" are one field.
func canonicalField(s string) string {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		}
	}
	return strings.Join(parts, "-")
}

// splitLines splits data into lines without their "\n" (and "\r").
func splitLines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// rawPara is where a paragraph's fields are, by line number.
type rawPara struct {
	line   int   // first line
	keys   []int // line of each field, in order
	orphan int   // first continuation line before any field, 0 if none
}

// lineIndex locates, by scanning lines the way the library splits them,
// what the library itself does not say: where each field starts, and the
// first line that is neither a field nor a continuation. It parses no
// values.
type lineIndex struct {
	paras   []rawPara
	noColon int
	signed  bool
}

func indexLines(lines []string) lineIndex {
	var idx lineIndex
	start, end := 0, len(lines)
	if len(lines) > 0 && strings.HasPrefix(lines[0], "-----BEGIN PGP ") {
		// Clearsigned: the text starts after the armor headers' blank line
		// and ends at the signature.
		idx.signed = true
		start = end
		for i, l := range lines {
			if l == "" {
				start = i + 1
				break
			}
		}
		for i := start; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], "-----BEGIN PGP SIGNATURE") {
				end = i
				break
			}
		}
	}
	cur := rawPara{}
	for i := start; i < end; i++ {
		l, n := lines[i], i+1
		if idx.signed {
			l = strings.TrimPrefix(l, "- ") // dash-escaping, RFC 4880 7.1
		}
		switch {
		case l == "":
			// Like the library: a blank line ends a paragraph that has a field.
			if len(cur.keys) > 0 {
				idx.paras = append(idx.paras, cur)
				cur = rawPara{}
			}
		case l[0] == '#':
		case l[0] == ' ' || l[0] == '\t':
			if len(cur.keys) == 0 && cur.orphan == 0 {
				cur.orphan = n
			}
		default:
			if !strings.Contains(l, ":") {
				if idx.noColon == 0 {
					idx.noColon = n
				}
				continue
			}
			if len(cur.keys) == 0 {
				cur.line = n
			}
			cur.keys = append(cur.keys, n)
		}
	}
	if len(cur.keys) > 0 {
		idx.paras = append(idx.paras, cur)
	}
	return idx
}

// entryLine finds the line of the entry naming name in the multi-line
// field f (Files, Checksums-Sha256), or f's own line.
func (d *document) entryLine(f field, name string) int {
	if f.line <= 0 {
		return 0
	}
	for i := f.line; i < len(d.lines); i++ { // lines[f.line] is the line after f's
		l := d.lines[i]
		if l == "" || (l[0] != ' ' && l[0] != '\t') {
			break
		}
		if w := strings.Fields(l); len(w) > 0 && w[len(w)-1] == name {
			return i + 1
		}
	}
	return f.line
}
