package check

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseLintian(t *testing.T) {
	out := `E: lint-planted: no-copyright-file
W: lint-planted: no-manual-page [usr/bin/lint-planted]
I: lint-planted source: out-of-date-standards-version 4.6.2 (released 2022-12-20) (current is 4.7.0)
P: lint-planted source: silent-on-rules-requiring-root
N:
N:   The package has no manual page.
O: lint-planted: some-overridden-tag
X: lint-planted changes: experimental-tag extra words
not a tag line at all
`
	got := ParseLintian(strings.NewReader(out))
	want := []LintianTag{
		{Severity: "E", Package: "lint-planted", Tag: "no-copyright-file"},
		{Severity: "W", Package: "lint-planted", Tag: "no-manual-page", Info: "[usr/bin/lint-planted]"},
		{Severity: "I", Package: "lint-planted", Type: "source", Tag: "out-of-date-standards-version", Info: "4.6.2 (released 2022-12-20) (current is 4.7.0)"},
		{Severity: "P", Package: "lint-planted", Type: "source", Tag: "silent-on-rules-requiring-root"},
		{Severity: "X", Package: "lint-planted", Type: "changes", Tag: "experimental-tag", Info: "extra words"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseLintian:\n got %+v\nwant %+v", got, want)
	}
}

func TestLintianFailOn(t *testing.T) {
	errs := &LintianReport{Counts: map[string]int{"E": 1}}
	warns := &LintianReport{Counts: map[string]int{"W": 2, "I": 3}}
	clean := &LintianReport{Counts: map[string]int{"I": 1, "P": 4}}
	broke := errors.New("lintian exited with status 2")
	for _, c := range []struct {
		failOn string
		rep    *LintianReport
		err    error
		want   bool
	}{
		{"", errs, nil, false},
		{"", clean, broke, false},
		{"error", errs, nil, true},
		{"error", warns, nil, false},
		{"error", clean, broke, true},
		{"warning", warns, nil, true},
		{"warning", errs, nil, true},
		{"warning", clean, nil, false},
	} {
		if got := (&Lintian{FailOn: c.failOn}).failed(c.rep, c.err); got != c.want {
			t.Errorf("FailOn %q, counts %v, err %v: failed = %v, want %v", c.failOn, c.rep.Counts, c.err, got, c.want)
		}
	}
	for _, v := range []string{"error", "warning"} {
		if err := CheckFailOn(v); err != nil {
			t.Errorf("CheckFailOn(%q): %v", v, err)
		}
	}
	for _, v := range []string{"", "info", "Error", "pedantic"} {
		if CheckFailOn(v) == nil {
			t.Errorf("CheckFailOn(%q) accepted it", v)
		}
	}
}
