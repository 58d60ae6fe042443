package check

import (
	"reflect"
	"strings"
	"testing"
)

func TestDiffLists(t *testing.T) {
	before := "d /\nd /etc\nf /etc/kept\nf /etc/gone\nf /etc/retyped\n"
	after := "d /\nd /etc\nf /etc/kept\nd /etc/retyped\nd /var/lib/x\nf /var/lib/x/state\n"
	left, missing := diffLists(before, after)
	if want := []string{"d /etc/retyped", "d /var/lib/x", "f /var/lib/x/state"}; !reflect.DeepEqual(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
	if want := []string{"f /etc/gone", "f /etc/retyped"}; !reflect.DeepEqual(missing, want) {
		t.Errorf("missing %q, want %q", missing, want)
	}
}

func TestListScriptPrunesBookkeeping(t *testing.T) {
	s := listScript()
	for _, p := range []string{"'/var/lib/dpkg'", "'/var/lib/apt'", "'/var/log'", "'/etc/ld.so.cache'"} {
		if !strings.Contains(s, "-path "+p) {
			t.Errorf("listScript does not prune %s: %s", p, s)
		}
	}
	if !strings.HasPrefix(s, "find / -xdev ") {
		t.Errorf("listScript leaves the root file system: %s", s)
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"2.10-3", "2.10-3", 0},
		{"2.10-3", "2.10-3+pkgbox1", -1},
		{"1:1.0", "2.0", 1},
		{"1.0~rc1", "1.0", -1},
	} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
