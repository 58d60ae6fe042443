package debian

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"pault.ag/go/debian/changelog"
	"pault.ag/go/debian/version"
)

// changelogTop is what pkgbox takes from a changelog: its top entry's header.
type changelogTop struct {
	Source       string
	Version      version.Version
	Distribution string
	Line         int // line of the header
}

// parseChangelog reads the top entry of a debian/changelog with
// pault.ag/go/debian/changelog. The library gives no line numbers and
// terse, capitalised messages ("Error! Didn't get ending line!"); on error
// parseChangelog scans the lines itself to say where and what.
func parseChangelog(file string, data []byte) (top *changelogTop, err error) {
	defer func() {
		// Our boundary promises errors, never panics, whatever the input.
		if r := recover(); r != nil {
			top, err = nil, errAt(file, 0, "internal error in changelog parser: %v", r)
		}
	}()
	lines := splitLines(data)
	h := -1 // index of the header line
	for i, l := range lines {
		if l != "" {
			h = i
			break
		}
	}
	if h < 0 {
		return nil, errAt(file, 0, "empty changelog")
	}
	if lines[h][0] == ' ' {
		return nil, errAt(file, h+1, "indented line before the first entry's header \"SOURCE (VERSION) DISTRIBUTION; urgency=...\"")
	}
	// The library takes a trailer line without its "\n" for a truncated
	// entry; an editor that leaves no final newline should not break us.
	if !bytes.HasSuffix(data, []byte("\n")) {
		data = append(bytes.Clone(data), '\n')
	}
	e, err := changelog.ParseOne(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, explainChangelog(file, lines, h, err)
	}
	top = &changelogTop{Source: e.Source, Version: e.Version, Distribution: e.Target, Line: h + 1}
	if !packageName().MatchString(e.Source) {
		return nil, errAt(file, h+1, "invalid source package name %q", e.Source)
	}
	// The version as written: the parsed one has lost a trailing "-".
	raw, _ := headerVersion(lines[h])
	if err := checkVersion(raw); err != nil {
		return nil, errAt(file, h+1, "invalid version %q: %w", raw, err)
	}
	if e.Target == "" {
		return nil, errAt(file, h+1, "no distribution after the version")
	}
	return top, nil
}

// explainChangelog turns an error of changelog.ParseOne on the entry whose
// header is lines[h] into one naming the line.
func explainChangelog(file string, lines []string, h int, err error) error {
	// The header's only check in the library is the version between the
	// parentheses.
	v, ok := headerVersion(lines[h])
	if !ok {
		return errAt(file, h+1, "no \"(VERSION)\" in the entry header")
	}
	if _, verr := version.Parse(v); verr != nil {
		return errAt(file, h+1, "invalid version %q: %w", v, libError{verr})
	}
	for i := h + 1; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, " -- "):
			return errAt(file, i+1, "invalid trailer line: want \" -- NAME <EMAIL>  DATE\" with a date like %q", "Mon, 02 Jan 2006 15:04:05 -0700")
		case strings.TrimSpace(l) != "" && l[0] != ' ':
			return errAt(file, i+1, "entry starting at line %d has no trailer line \" -- NAME <EMAIL>  DATE\" before this line", h+1)
		}
	}
	if errors.Is(err, io.EOF) {
		return errAt(file, len(lines), "unexpected end of file: entry starting at line %d has no trailer line \" -- NAME <EMAIL>  DATE\"", h+1)
	}
	return &FileError{File: file, Line: h + 1, Err: fmt.Errorf("parse entry: %w", libError{err})}
}

// headerVersion returns the text between the parentheses of an entry
// header, found the way the library finds it (first "(", then first ")").
func headerVersion(hdr string) (string, bool) {
	if i := strings.Index(hdr, ";"); i >= 0 {
		hdr = hdr[:i]
	}
	i := strings.Index(hdr, "(")
	if i < 0 {
		return "", false
	}
	v := hdr[i+1:]
	if j := strings.Index(v, ")"); j >= 0 {
		v = v[:j]
	}
	return strings.TrimSpace(v), true
}
