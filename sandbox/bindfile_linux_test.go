package sandbox_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pkgbox/sandbox"
)

// A bind from Mount.File binds the open file, whatever its path names by
// the time the sandbox starts (issue 11, finding 6): here a symlink to
// another file, swapped in after the open.
func TestBindFromFile(t *testing.T) {
	dir := t.TempDir()
	checked, other := filepath.Join(dir, "checked"), filepath.Join(dir, "other")
	if err := os.WriteFile(checked, []byte("checked content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("other content\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(checked, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := os.Rename(checked, checked+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, checked); err != nil {
		t.Fatal(err)
	}
	spec, _ := session(t, "/bin/sh", "-c", "cat /in/file; ls /in/dir; touch /in/file 2>/dev/null && echo writable")
	spec.Mounts = []sandbox.Mount{
		{Type: sandbox.TypeBind, Source: checked, File: f, Target: "/in/file", Flags: sandbox.ReadOnly | sandbox.NoSuid | sandbox.NoDev},
		{Type: sandbox.TypeBind, Source: dir, File: d, Target: "/in/dir", Flags: sandbox.ReadOnly},
	}
	out, res := run(t, spec)
	if res.ExitCode != 0 && res.ExitCode != 1 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	if !strings.HasPrefix(out, "checked content\n") || strings.Contains(out, "other content") || strings.Contains(out, "writable") {
		t.Errorf("the sandbox saw %q, want the checked file's content, read-only", out)
	}
	if !strings.Contains(out, "checked.old") {
		t.Errorf("the bound directory lacks its entries: %q", out)
	}
}
