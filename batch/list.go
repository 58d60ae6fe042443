// Package batch builds many sources, several at once, each as pkgbox build
// builds one (package build), on roots the caller has chosen and made: the
// list of sources (arguments and --from files), its deterministic shards
// for a scheduler's parallel jobs, the pool of builds, the record of each
// build (the same as build --json prints) and the report over records.
// It draws nothing: the caller hears of each build through Events.
package batch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Item is one source of a batch, as the user gave it.
type Item struct {
	// Input is the source as given: a directory, a .dsc, or NAME[=VERSION].
	Input string
	// Origin says where it was given, for messages: "list.txt:3", or
	// "argument 2".
	Origin string
	// Source and Package are Input read as build.SourceArg reads it, and
	// Root is the root it builds on; the caller fills them in (Resolve).
	Source, Package, Root string
}

// ReadList reads a list of sources from r, one a line; blank lines and
// everything from a # on are ignored. name is the list's name in messages.
func ReadList(name string, r io.Reader) ([]Item, error) {
	var items []Item
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, " \t") {
			return nil, fmt.Errorf("%s:%d: %q: want one source a line (a directory, a .dsc or a package name), with # for comments", name, n, line)
		}
		items = append(items, Item{Input: line, Origin: name + ":" + strconv.Itoa(n)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read list %s: %w", name, err)
	}
	return items, nil
}

// ReadListFile reads the list in file path ("-" for standard input).
func ReadListFile(path string, stdin io.Reader) ([]Item, error) {
	if path == "-" {
		return ReadList("standard input", stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read list: %w", err)
	}
	defer f.Close()
	return ReadList(path, f)
}

// ArgItems makes items of command-line arguments.
func ArgItems(args []string) []Item {
	items := make([]Item, len(args))
	for i, a := range args {
		items[i] = Item{Input: a, Origin: "argument " + strconv.Itoa(i+1)}
	}
	return items
}

// CheckDuplicates refuses a source listed twice: its two builds would write
// the same log and artifacts.
func CheckDuplicates(items []Item) error {
	seen := map[string]string{}
	for _, it := range items {
		if first, ok := seen[it.Input]; ok {
			return fmt.Errorf("%s: %q is listed already (%s)", it.Origin, it.Input, first)
		}
		seen[it.Input] = it.Origin
	}
	return nil
}

// Shard is one of N parts of a list: Index (from 1) of Count.
type Shard struct{ Index, Count int }

// ParseShard reads I/N, 1 <= I <= N.
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	sh := Shard{}
	var err1, err2 error
	sh.Index, err1 = strconv.Atoi(strings.TrimSpace(i))
	sh.Count, err2 = strconv.Atoi(strings.TrimSpace(n))
	if !ok || err1 != nil || err2 != nil || sh.Count < 1 || sh.Index < 1 || sh.Index > sh.Count {
		return Shard{}, errors.New("--shard " + strconv.Quote(s) + ": want I/N, the I-th of N parts, 1 <= I <= N (such as 2/8)")
	}
	return sh, nil
}

// Of returns the shard's part of items: every Count-th item from the
// Index-th on. The parts depend only on the list's order, so that every job
// of a scheduler, reading the same list, takes a part of its own, and all
// parts together are the list, each item in exactly one. Parts differ in
// length by one at most; neighbours in the list (often alike in size, as
// in a sorted list or a library's reverse dependencies) go to different
// parts.
func (s Shard) Of(items []Item) []Item {
	if s.Count <= 1 {
		return items
	}
	var part []Item
	for i := s.Index - 1; i < len(items); i += s.Count {
		part = append(part, items[i])
	}
	return part
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }
