package corpus

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Entry is one source package of the corpus list.
type Entry struct {
	Name   string
	Covers string // what the entry is in the corpus for
	Line   int
}

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// ParseList reads the corpus list: one source package name a line, then
// "#" and what it covers; blank lines and lines that are only a comment
// are skipped.
func ParseList(name string, r io.Reader) ([]Entry, error) {
	var out []Entry
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line, comment, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) > 1 || !sourceName.MatchString(f[0]) {
			return nil, fmt.Errorf("%s:%d: want one source package name and a # comment, got %q", name, n, strings.TrimSpace(line))
		}
		if prev, ok := seen[f[0]]; ok {
			return nil, fmt.Errorf("%s:%d: %q is already on line %d", name, n, f[0], prev)
		}
		seen[f[0]] = n
		out = append(out, Entry{Name: f[0], Covers: strings.TrimSpace(comment), Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// Select keeps the entries named in subset (comma-separated, as CORPUS=
// hello,bc gives it); an empty subset keeps all. A name not on the list is
// an error, so a typo cannot shrink a run silently.
func Select(entries []Entry, subset string) ([]Entry, error) {
	if strings.TrimSpace(subset) == "" {
		return entries, nil
	}
	idx := map[string]Entry{}
	for _, e := range entries {
		idx[e.Name] = e
	}
	var out []Entry
	for _, n := range strings.Split(subset, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		e, ok := idx[n]
		if !ok {
			return nil, fmt.Errorf("%q is not on the corpus list", n)
		}
		out = append(out, e)
	}
	return out, nil
}
