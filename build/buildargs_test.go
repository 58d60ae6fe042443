package build

import (
	"slices"
	"strings"
	"testing"
)

func TestBuildArgsAndEnv(t *testing.T) {
	t.Setenv("DEB_BUILD_OPTIONS", "noopt")
	b := &builder{req: &Request{Type: BinaryArch, Jobs: 3, NoCheck: true, Dist: "unstable",
		DebBuildOpts: []string{"-v2.0-1", "--no-pre-clean"}, Profiles: []string{"nocheck"}}}
	want := []string{"dpkg-buildpackage", "-us", "-uc", "-B", "--changes-option=-DDistribution=unstable", "-v2.0-1", "--no-pre-clean"}
	if got := b.buildArgs(); !slices.Equal(got, want) {
		t.Errorf("buildArgs = %q, want %q", got, want)
	}
	env := strings.Join(b.buildEnv(), "\n")
	for _, w := range []string{"DEB_BUILD_OPTIONS=noopt nocheck parallel=3", "DEB_BUILD_PROFILES=nocheck"} {
		if !strings.Contains(env, w) {
			t.Errorf("environment lacks %q:\n%s", w, env)
		}
	}
}

func TestCheckDebBuildOpts(t *testing.T) {
	for _, c := range []struct {
		opts []string
		ok   bool
	}{
		{nil, true},
		{[]string{"-v1.0-1", "--no-pre-clean", "--changes-option=-DUrgency=high", "-nc"}, true},
		{[]string{"notanoption"}, false},
		{[]string{"-b"}, false},
		{[]string{"--build=source"}, false},
		{[]string{"--sign-key=ABCD"}, false},
	} {
		if err := CheckDebBuildOpts(c.opts); (err == nil) != c.ok {
			t.Errorf("CheckDebBuildOpts(%q) = %v, want ok %v", c.opts, err, c.ok)
		}
	}
}
