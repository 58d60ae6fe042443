package check

import (
	"strings"
	"testing"

	"pkgbox/debian"
)

// Tests that need what a session cannot give are skipped, with the
// reason, before anything is installed (a nil env would fail otherwise).
func TestAutopkgtestSkips(t *testing.T) {
	for _, c := range []struct {
		test debian.Test
		want string
	}{
		{debian.Test{Name: "vm", Restrictions: []string{"isolation-machine"}}, "isolation-machine: "},
		{debian.Test{Name: "reboot", Restrictions: []string{"allow-stderr", "needs-reboot"}}, "needs-reboot: "},
		{debian.Test{Name: "sudo", Restrictions: []string{"needs-sudo"}}, "needs-sudo: "},
		{debian.Test{Name: "built", Restrictions: []string{"build-needed"}}, "build-needed: "},
		{debian.Test{Name: "recommends", Depends: []string{"@", "@recommends@"}}, "@recommends@: "},
	} {
		r := runTest(t.Context(), nil, &c.test)
		if r.Result != TestSkip || !strings.HasPrefix(r.Reason, c.want) {
			t.Errorf("%s: %s (%s), want SKIP (%s...)", c.test.Name, r.Result, r.Reason, c.want)
		}
	}
}

func TestAutopkgtestSummary(t *testing.T) {
	r := &AutopkgtestReport{Tests: []TestResult{{Result: TestPass}, {Result: TestFail}, {Result: TestSkip}, {Result: TestFlaky}, {Result: TestPass}}}
	if got, want := r.summary(nil), "5 tests: 2 passed, 1 failed, 1 skipped, 1 flaky failed"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if got := (&AutopkgtestReport{}).summary(nil); got != "no tests (no debian/tests/control)" {
		t.Errorf("summary of none: %q", got)
	}
}
