package debian

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseTests(t *testing.T) {
	data := `# a comment line
Tests: passes, fails
Restrictions: allow-stderr needs-root,
 superficial

Test-Command: echo hello
Depends: @, python3 (>= 3.9) |
  python3-minimal,
Features: test-name=hello

Tests: other
Tests-Directory: tests/smoke
Depends: @builddeps@
`
	got, err := ParseTests("debian/tests/control", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Test{
		{Name: "passes", Path: "debian/tests/passes", Depends: []string{"@"}, Restrictions: []string{"allow-stderr", "needs-root", "superficial"}, Line: 2},
		{Name: "fails", Path: "debian/tests/fails", Depends: []string{"@"}, Restrictions: []string{"allow-stderr", "needs-root", "superficial"}, Line: 2},
		{Name: "command1", Command: "echo hello", Depends: []string{"@", "python3 (>= 3.9) | python3-minimal"}, Features: []string{"test-name=hello"}, Line: 6},
		{Name: "other", Path: "tests/smoke/other", Depends: []string{"@builddeps@"}, Line: 11},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTests:\n got %+v\nwant %+v", got, want)
	}
	if !got[0].Has("needs-root") || got[2].Has("needs-root") {
		t.Errorf("Has: wrong")
	}
}

func TestParseTestsErrors(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{"Tests: a\nTest-Command: true\n", "debian/tests/control:2: a stanza has both Tests and Test-Command"},
		{"Depends: foo\n", "debian/tests/control:1: a stanza has neither Tests nor Test-Command"},
		{"Tests: a/b\n", "debian/tests/control:1: test name \"a/b\" is not a file name"},
		{"Tests: a\nTests-Directory: ../x\n", "debian/tests/control:2: Tests-Directory \"../x\" is not a path inside the source tree"},
		{"Tests: a\nnonsense\n", "debian/tests/control:2:"},
		{"Tests: a\nTests: b\n", "debian/tests/control:2: duplicate field"},
	} {
		_, err := ParseTests("debian/tests/control", []byte(c.data))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("ParseTests(%q) = %v, want an error starting %q", c.data, err, c.want)
		}
	}
}
