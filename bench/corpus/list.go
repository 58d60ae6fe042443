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

// DebSrc turns one of the host's apt source files into the same sources
// with deb-src added, so that apt-get source can fetch from the mirror the
// host already uses (its name is read at run time, never written down).
// name tells the format: one-line ".list" or deb822 ".sources"; ok is
// false for any other file (apt ignores those too).
func DebSrc(name, content string) (out string, ok bool) {
	var b strings.Builder
	switch {
	case strings.HasSuffix(name, ".list"):
		for _, l := range strings.Split(content, "\n") {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "deb ") || strings.HasPrefix(t, "deb\t") {
				b.WriteString(t + "\n")
				b.WriteString("deb-src" + t[3:] + "\n")
			}
		}
	case strings.HasSuffix(name, ".sources"):
		for _, l := range strings.Split(content, "\n") {
			k, v, found := strings.Cut(l, ":")
			if found && strings.EqualFold(strings.TrimSpace(k), "Types") && !strings.HasPrefix(l, " ") {
				types := strings.Fields(v)
				if contains(types, "deb") && !contains(types, "deb-src") {
					types = append(types, "deb-src")
				}
				l = "Types: " + strings.Join(types, " ")
			}
			b.WriteString(l + "\n")
		}
	default:
		return "", false
	}
	return b.String(), true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
