package corpus

import (
	"strings"
	"testing"
	"time"
)

func TestFormatTable(t *testing.T) {
	got := formatTable([]Result{
		{Name: "hello", Version: "2.10-3", Build: 41 * time.Second, Outcome: "match", Built: true, Match: 1, Total: 1},
		{Name: "bc", Version: "1.07.1-3", Build: 12 * time.Second, Outcome: "build-failed", Lines: []string{"pkgbox exited 3", "(full output: x)"}},
		{Name: "cmark", Version: "0.30.2-6", Build: 90 * time.Second, Outcome: "differ", Built: true, Match: 2, Total: 3, Lines: []string{"cmark: version 1, archive 2"}},
		{Name: "time", Version: "1.9-0.2", Outcome: "not-served", Lines: []string{"the mirror does not serve time_1.9.orig.tar.gz (404)"}},
	})
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if want := "corpus: 2/3 built, 3/4 binaries match (1 more not served by the mirror, not counted: time)"; lines[len(lines)-1] != want {
		t.Errorf("last line:\ngot  %q\nwant %q", lines[len(lines)-1], want)
	}
	for _, want := range []string{
		"hello                            2.10-3                          41s  match",
		"bc                               1.07.1-3                        12s  build-failed  pkgbox exited 3\n" +
			strings.Repeat(" ", continuation) + "(full output: x)\n",
		"hello                            2.10-3                          41s  match\n",
		"time                             1.9-0.2                           -  not-served    the mirror does not serve",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}

func TestFailureCause(t *testing.T) {
	for _, c := range []struct{ log, want string }{
		{"Setting up x\ndpkg: error processing package libxml-sax-perl (--configure):\n installed post-installation script returned 1\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n",
			"dpkg: error processing package libxml-sax-perl (--configure):"},
		{"   dh_auto_test\nFAIL: t1\nmake[1]: *** [Makefile:10: check] Error 1\ndh_auto_test: error: make -j2 check returned exit code 2\n",
			"dh_auto_test: error: make -j2 check returned exit code 2"},
		{"E: Unable to locate package nosuch\nE: Failed\n", "E: Unable to locate package nosuch"},
		{"all fine\n", ""},
	} {
		if got := FailureCause(c.log); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
