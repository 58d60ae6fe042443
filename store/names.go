package store

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
)

// SourceNames returns the names of the source packages starting with prefix
// in the Sources indexes of the source cache (cache/source/SUITE-ARCH/lists,
// which `build NAME` fills), sorted and without repeats: those of suiteArch
// ("bookworm-amd64") or, when it is "", of every suite. It is for shell
// completion: it reads what is there and never fetches; a cache that is
// absent or unreadable gives no names.
func (s *Store) SourceNames(suiteArch, prefix string) []string {
	if suiteArch == "" {
		suiteArch = "*"
	}
	files, _ := filepath.Glob(filepath.Join(s.Cache, "source", suiteArch, "lists", "*_Sources"))
	seen := map[string]bool{}
	key := []byte("Package: " + prefix)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			if line := sc.Bytes(); bytes.HasPrefix(line, key) {
				seen[string(bytes.TrimSpace(line[len("Package: "):]))] = true
			}
		}
		f.Close()
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
