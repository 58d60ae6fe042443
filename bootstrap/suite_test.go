package bootstrap

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestLookupSuite(t *testing.T) {
	tests := []struct {
		name     string
		codename string // "" = not found
		archived bool
	}{
		{"sid", "sid", false},
		{"unstable", "sid", false},
		{"testing", "forky", false},
		{"forky", "forky", false},
		{"stable", "trixie", false},
		{"trixie", "trixie", false},
		{"oldstable", "bookworm", false},
		{"bookworm", "bookworm", false},
		{"oldoldstable", "bullseye", false},
		{"bullseye", "bullseye", false},
		{"Bookworm", "bookworm", false},
		{"STABLE", "trixie", false},
		{"SqUeEzE", "squeeze", true},
		{"buster", "buster", true},
		{"stretch", "stretch", true},
		{"jessie", "jessie", true},
		{"wheezy", "wheezy", true},
		{"squeeze", "squeeze", true},
		{"lenny", "lenny", true},
		{"etch", "etch", true},
		{"sarge", "sarge", true},
		{"woody", "woody", true},
		{"potato", "potato", true},
		{"", "", false},
		{"noble", "", false},
		{"bookworm-updates", "", false},
		{"bookworm-security", "", false},
		{" bookworm", "", false},
		{"stable/updates", "", false},
		{"experimental", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := LookupSuite(tt.name)
			if ok != (tt.codename != "") {
				t.Fatalf("LookupSuite(%q) found = %v, want %v", tt.name, ok, tt.codename != "")
			}
			if !ok {
				if s != (Suite{}) {
					t.Errorf("LookupSuite(%q) = %+v with false, want the zero Suite", tt.name, s)
				}
				return
			}
			if s.Codename != tt.codename || s.Archived != tt.archived {
				t.Errorf("LookupSuite(%q) = %+v, want codename %q archived %v", tt.name, s, tt.codename, tt.archived)
			}
		})
	}
}

// TestSuiteTable pins the table's shape: every alias names one release,
// current releases come first, and only the archived ones lack an alias.
func TestSuiteTable(t *testing.T) {
	seen := map[string]bool{}
	archived := false
	for _, s := range suites {
		for _, n := range []string{s.Codename, s.Alias} {
			if n == "" {
				continue
			}
			if seen[n] {
				t.Errorf("name %q appears twice in the suite table", n)
			}
			seen[n] = true
			if n != strings.ToLower(n) {
				t.Errorf("name %q is not lower case; LookupSuite lowers what users type", n)
			}
		}
		if archived && !s.Archived {
			t.Errorf("current suite %q listed after an archived one", s.Codename)
		}
		archived = archived || s.Archived
		if s.Archived && s.Alias != "" {
			t.Errorf("archived suite %q still has alias %q", s.Codename, s.Alias)
		}
		if s.Archived && s.Version == "" {
			t.Errorf("archived suite %q has no version", s.Codename)
		}
	}
	for _, alias := range []string{"unstable", "testing", "stable", "oldstable"} {
		if !seen[alias] {
			t.Errorf("alias %q is missing", alias)
		}
	}
}

func TestKnownSuites(t *testing.T) {
	got := KnownSuites()
	golden(t, "known-suites.golden", strings.Join(got, "\n")+"\n")
	for _, n := range got {
		if _, ok := LookupSuite(n); !ok {
			t.Errorf("KnownSuites lists %q, which LookupSuite does not find", n)
		}
	}
	// Current releases first, for completion.
	if i, j := slices.Index(got, "bookworm"), slices.Index(got, "squeeze"); i < 0 || j < 0 || i > j {
		t.Errorf("KnownSuites = %v, want bookworm before squeeze", got)
	}
	// The caller may sort or change the list without changing the table.
	got[0] = "changed"
	if KnownSuites()[0] == "changed" {
		t.Error("KnownSuites returns the table's own storage")
	}
}

func TestUnknownSuiteError(t *testing.T) {
	var err error = &UnknownSuiteError{Name: "bookwrom"}
	msg := err.Error()
	if !strings.HasPrefix(msg, `unknown suite "bookwrom" (known: `) || !strings.HasSuffix(msg, ")") {
		t.Errorf("Error() = %q", msg)
	}
	for _, n := range KnownSuites() {
		if !strings.Contains(msg, n) {
			t.Errorf("Error() = %q does not list %q", msg, n)
		}
	}
	// Listed sorted, so the reader finds a name.
	list := strings.TrimSuffix(strings.SplitN(msg, "(known: ", 2)[1], ")")
	names := strings.Split(list, ", ")
	if !slices.IsSorted(names) {
		t.Errorf("known suites not sorted: %v", names)
	}
	golden(t, "unknown-suite-error.golden", msg+"\nhint: "+err.(*UnknownSuiteError).Hint()+"\n")

	var hinter interface{ Hint() string }
	if !errors.As(err, &hinter) || !strings.Contains(hinter.Hint(), "--mirror") {
		t.Errorf("Hint() should name --mirror, got %v", hinter)
	}
	// Error() must not reorder the table KnownSuites reads.
	if KnownSuites()[0] != "sid" {
		t.Errorf("KnownSuites()[0] = %q after Error(), want sid", KnownSuites()[0])
	}
}

func TestSuiteBase(t *testing.T) {
	tests := map[string]string{
		"bookworm":                  "bookworm",
		"bookworm-updates":          "bookworm",
		"bookworm-backports":        "bookworm",
		"bookworm-backports-sloppy": "bookworm",
		"bookworm-proposed-updates": "bookworm",
		"bookworm-security":         "bookworm-security",
		"stable-updates":            "stable",
		"sid":                       "sid",
	}
	for in, want := range tests {
		if got := suiteBase(in); got != want {
			t.Errorf("suiteBase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsSecuritySuite(t *testing.T) {
	for in, want := range map[string]bool{
		"bookworm-security": true,
		"stretch/updates":   true,
		"bookworm-updates":  false,
		"bookworm":          false,
		"security":          false,
	} {
		if got := isSecuritySuite(in); got != want {
			t.Errorf("isSecuritySuite(%q) = %v, want %v", in, got, want)
		}
	}
}
