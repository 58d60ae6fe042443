package corpus

import (
	"bufio"
	"bytes"
	"strings"
)

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

// stanzas splits apt-cache output into paragraphs of fields (continuation
// lines are joined to their field).
func stanzas(out []byte) []map[string]string {
	var res []map[string]string
	cur := map[string]string{}
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "":
			if len(cur) > 0 {
				res = append(res, cur)
			}
			cur, last = map[string]string{}, ""
		case l[0] == ' ' || l[0] == '\t':
			if last != "" {
				cur[last] += " " + strings.TrimSpace(l)
			}
		default:
			k, v, ok := strings.Cut(l, ":")
			if ok {
				last = k
				cur[k] = strings.TrimSpace(v)
			}
		}
	}
	if len(cur) > 0 {
		res = append(res, cur)
	}
	return res
}

// ArchiveBinaries picks from apt-cache show output the binary packages of
// source name at version ver built for arch or all, binNMUs (whose Source
// field names the source version) included, as package -> version.
func ArchiveBinaries(showOutput []byte, name, ver, arch string) map[string]string {
	want := map[string]string{}
	for _, s := range stanzas(showOutput) {
		if s["Architecture"] != arch && s["Architecture"] != "all" {
			continue
		}
		src, srcVer := s["Package"], s["Version"]
		if v := s["Source"]; v != "" {
			n, sv, ok := strings.Cut(v, " ")
			src = n
			if ok {
				srcVer = strings.Trim(sv, "() ")
			}
		}
		if src == name && srcVer == ver {
			want[s["Package"]] = s["Version"]
		}
	}
	return want
}

// SuiteVersions reads `apt-cache madison NAME` and returns the versions of
// source package name that suite (its codename, component aside) offers.
func SuiteVersions(madison []byte, name, suite string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(string(madison), "\n") {
		f := strings.Split(l, "|")
		if len(f) != 3 || strings.TrimSpace(f[0]) != name {
			continue
		}
		where := strings.Fields(f[2]) // URI SUITE/COMPONENT Sources
		if len(where) == 3 && where[2] == "Sources" && strings.SplitN(where[1], "/", 2)[0] == suite {
			out[strings.TrimSpace(f[1])] = true
		}
	}
	return out
}
