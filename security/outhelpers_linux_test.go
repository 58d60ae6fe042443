package security_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
)

// Helpers of the tests of what a build leaves, its inputs and the store
// (issue 11, findings 4, 5, 6 and 8). Their names start with "out" so that
// they cannot clash with the helpers of the package's other files.

// outRootFile makes a file only root can read, in a directory only root
// can enter: what a user of `sudo pkgbox` must never get at.
func outRootFile(t *testing.T, content string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root-only")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// outOwner is the owner of path (not following a symlink at its end).
func outOwner(t *testing.T, path string) uint32 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Uid
}

// outNames lists dir, sorted.
func outNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// outAsNobody is a command that runs as nobody (65534), without groups.
func outAsNobody(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	return c
}

// outSharedDir is a fresh directory every local user may enter, as
// /var/lib is: a store under t.TempDir() (0700) would be out of their
// reach whatever pkgbox did.
func outSharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "pkgbox-security-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
