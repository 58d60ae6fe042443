package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pkgbox/profiles"
)

// runProfiles runs `pkgbox profiles ARGS` and returns its output, its errors
// as Main prints them, and its exit code.
func runProfiles(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRootCommand()
	root.SetArgs(append([]string{"profiles"}, args...))
	root.SetOut(&out)
	root.SetErr(&errOut)
	code = report(&errOut, root.Execute(), false)
	return out.String(), errOut.String(), code
}

func TestProfilesCommand(t *testing.T) {
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	old := profiles.SystemDir
	profiles.SystemDir = t.TempDir()
	t.Cleanup(func() { profiles.SystemDir = old })
	user := filepath.Join(config, "pkgbox", "profiles")
	if err := os.MkdirAll(user, 0o755); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(user, "buildd.fstab")
	if err := os.WriteFile(mine, []byte("/proc /proc none bind\n/srv/a\\040b /a none bind,ro\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.fstab")
	if err := os.WriteFile(bad, []byte("# ok\ntmpfs /tmp tmpfs mode=1799\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		args           []string
		stdout, stderr []string // lines each output must contain
		code           int
	}{
		{nil, []string{"NAME     SOURCE\n", "buildd   " + mine + "\n", "buildd   built-in  (shadowed)\n", "minimal  built-in\n"}, nil, 0},
		{[]string{"list"}, []string{"default  built-in\n"}, nil, 0},
		{[]string{"show", "buildd"}, []string{
			"# " + mine + "\n/proc /proc none bind\n",
			"\"/srv/a b\"  /a      ro,nosuid,nodev  -     " + mine + ":2\n",
			"warnings:\n  " + mine + ":1: the sandbox has its own /proc; not binding the host's (that would show the host's processes)\n",
		}, nil, 0},
		{[]string{"show", "minimal"}, []string{"mounts: none beyond"}, nil, 0},
		{[]string{"show", "nope"}, nil, []string{
			"pkgbox: unknown profile \"nope\" (known: buildd, default, minimal)\nhint: see them with `pkgbox profiles list`",
		}, 1},
		{[]string{"check", mine}, []string{mine + ": 1 mount OK\n"}, []string{"warning: " + mine + ":1: the sandbox has its own /proc"}, 0},
		{[]string{"check", bad}, nil, []string{"pkgbox: " + bad + ":2: option \"mode=1799\": not an octal mode; write one such as 1777 or 0755\n"}, 1},
		{[]string{"check"}, nil, []string{"accepts 1 arg(s), received 0"}, 2},
		{[]string{"frob"}, nil, []string{"unknown command \"frob\""}, 2},
	}
	for _, tt := range tests {
		stdout, stderr, code := runProfiles(t, tt.args...)
		if code != tt.code {
			t.Errorf("pkgbox profiles %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, stdout, stderr)
		}
		for _, want := range tt.stdout {
			if !strings.Contains(stdout, want) {
				t.Errorf("pkgbox profiles %q: stdout lacks %q:\n%s", tt.args, want, stdout)
			}
		}
		for _, want := range tt.stderr {
			if !strings.Contains(stderr, want) {
				t.Errorf("pkgbox profiles %q: stderr lacks %q:\n%s", tt.args, want, stderr)
			}
		}
		if tt.stderr == nil && stderr != "" {
			t.Errorf("pkgbox profiles %q: unexpected stderr:\n%s", tt.args, stderr)
		}
	}
}
