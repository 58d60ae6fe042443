package debian

import (
	"fmt"
	"strings"
)

// Test is one test of a source's debian/tests/control, as autopkgtest's
// README.package-tests.rst defines them.
type Test struct {
	// Name is the test's name: its Tests name, or "command1", "command2"
	// ... for Test-Command stanzas, numbered in the file's order as
	// autopkgtest numbers them.
	Name string
	// Command is the Test-Command, "" for a test of Tests.
	Command string
	// Path is the test program's path in the source tree, "" for a
	// Test-Command.
	Path string
	// Depends are the stanza's dependencies, one alternative group each,
	// whitespace normalised; "@" (the default) stands for the source's
	// binary packages and "@builddeps@" for its build dependencies.
	Depends []string
	// Restrictions and Features as listed.
	Restrictions []string
	Features     []string
	// Line is the stanza's first line.
	Line int
}

// Has says whether the test lists restriction r.
func (t *Test) Has(r string) bool { return contains(t.Restrictions, r) }

// ParseTests reads debian/tests/control (its contents data, named file in
// errors) with pault.ag/go/debian; errors name the file and line.
func ParseTests(file string, data []byte) ([]Test, error) {
	doc, err := parseDocument(file, data)
	if err != nil {
		return nil, err
	}
	var tests []Test
	commands := 0
	for _, p := range doc.paras {
		t := Test{Line: p.line, Depends: []string{"@"}}
		names, hasTests := p.get("Tests")
		cmd, hasCmd := p.get("Test-Command")
		switch {
		case hasTests && hasCmd:
			return nil, errAt(file, cmd.line, "a stanza has both Tests and Test-Command; autopkgtest wants one of them")
		case !hasTests && !hasCmd:
			return nil, errAt(file, p.line, "a stanza has neither Tests nor Test-Command")
		}
		if f, ok := p.get("Restrictions"); ok {
			t.Restrictions = listWords(f.value)
		}
		if f, ok := p.get("Features"); ok {
			t.Features = listWords(f.value)
		}
		if f, ok := p.get("Depends"); ok {
			t.Depends = nil
			for _, d := range strings.Split(f.value, ",") {
				if d = strings.Join(strings.Fields(d), " "); d != "" {
					t.Depends = append(t.Depends, d)
				}
			}
		}
		dir := "debian/tests"
		if f, ok := p.get("Tests-Directory"); ok {
			dir = strings.TrimSpace(f.value)
			if dir == "" || strings.HasPrefix(dir, "/") || contains(strings.Split(dir, "/"), "..") {
				return nil, errAt(file, f.line, "Tests-Directory %q is not a path inside the source tree", dir)
			}
		}
		if hasCmd {
			commands++
			t.Name = fmt.Sprintf("command%d", commands)
			t.Command = strings.TrimSpace(cmd.value)
			tests = append(tests, t)
			continue
		}
		list := listWords(names.value)
		if len(list) == 0 {
			return nil, errAt(file, names.line, "Tests names no test")
		}
		for _, n := range list {
			if n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
				return nil, errAt(file, names.line, "test name %q is not a file name", n)
			}
			tt := t
			tt.Name, tt.Path = n, dir+"/"+n
			tests = append(tests, tt)
		}
	}
	return tests, nil
}

// listWords splits a field that lists words by commas, white space or both.
func listWords(v string) []string {
	return strings.Fields(strings.ReplaceAll(v, ",", " "))
}
