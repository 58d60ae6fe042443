package chain

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"pault.ag/go/debian/dependency"

	"pkgbox/debian"
)

// node makes a source named name that makes binaries and build-depends
// on deps.
func node(t *testing.T, name, binaries, deps string) Node {
	t.Helper()
	src := &debian.Source{Name: name, Binaries: strings.Fields(binaries)}
	if deps != "" {
		d, err := dependency.Parse(deps)
		if err != nil {
			t.Fatal(err)
		}
		src.BuildDepends = *d
	}
	return Node{Name: name, Source: src, Arch: "amd64"}
}

func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes [][3]string // name, binaries, Build-Depends
		order []string
		needs map[string][]string
	}{
		{"given order kept", [][3]string{{"a", "a", "debhelper"}, {"b", "b", ""}}, []string{"a", "b"}, nil},
		{"app after its library", [][3]string{{"app", "app", "libx-dev (>= 1)"}, {"x", "libx1 libx-dev", "debhelper"}},
			[]string{"x", "app"}, map[string][]string{"app": {"x"}}},
		{"three in a line", [][3]string{{"c", "c", "b-dev"}, {"b", "b-dev", "a-dev"}, {"a", "a-dev", ""}},
			[]string{"a", "b", "c"}, map[string][]string{"b": {"a"}, "c": {"b"}}},
		{"an alternative counts", [][3]string{{"b", "b", "other | a-dev"}, {"a", "a-dev", ""}},
			[]string{"a", "b"}, map[string][]string{"b": {"a"}}},
		{"independents keep their place", [][3]string{{"b", "b", "a-dev"}, {"c", "c", ""}, {"a", "a-dev", ""}},
			[]string{"c", "a", "b"}, map[string][]string{"b": {"a"}}},
		{"other architecture's dependency dropped", [][3]string{{"b", "b", "a-dev [arm64]"}, {"a", "a-dev", ""}},
			[]string{"b", "a"}, nil},
		{"nocheck-only dependency counts without the profile", [][3]string{{"b", "b", "a-dev <!nocheck>"}, {"a", "a-dev", ""}},
			[]string{"a", "b"}, map[string][]string{"b": {"a"}}},
		{"own binaries come from the suite", [][3]string{{"a", "a-dev", "a-dev"}}, []string{"a"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var nodes []Node
			for _, n := range tc.nodes {
				nodes = append(nodes, node(t, n[0], n[1], n[2]))
			}
			order, needs, err := Order(nodes)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, i := range order {
				got = append(got, nodes[i].Name)
			}
			if !slices.Equal(got, tc.order) {
				t.Errorf("order %q, want %q", got, tc.order)
			}
			for i, n := range nodes {
				var names []string
				for _, j := range needs[i] {
					names = append(names, nodes[j].Name)
				}
				if !slices.Equal(names, tc.needs[n.Name]) {
					t.Errorf("%s needs %q, want %q", n.Name, names, tc.needs[n.Name])
				}
			}
		})
	}
}

func TestOrderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes [][3]string
		want  string
	}{
		{"two", [][3]string{{"a", "a-dev", "b-dev"}, {"b", "b-dev", "a-dev"}}, "build-dependency cycle: a needs b needs a"},
		{"three, after a free one", [][3]string{{"free", "ff", ""}, {"x", "xx", "zz"}, {"y", "yy", "xx, ff"}, {"z", "zz", "yy"}},
			"build-dependency cycle: x needs z needs y needs x"},
		{"cycle behind a dependent", [][3]string{{"app", "app", "a-dev"}, {"a", "a-dev", "b-dev"}, {"b", "b-dev", "a-dev"}},
			"build-dependency cycle: a needs b needs a"}, // app is not in it
		{"two make one binary", [][3]string{{"a", "xx", ""}, {"b", "xx", ""}}, `a and b both make binary package "xx"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var nodes []Node
			for _, n := range tc.nodes {
				nodes = append(nodes, node(t, n[0], n[1], n[2]))
			}
			_, _, err := Order(nodes)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			var ce *CycleError
			if strings.Contains(tc.want, "cycle") && (!errors.As(err, &ce) || ce.Hint() == "") {
				t.Errorf("%v is not a *CycleError with a hint", err)
			}
		})
	}
}
