// Package testenv gives pkgbox's tests what they need from the machine: a
// check for root, namespaces, the network and tools that skips with a reason
// (or fails, under PKGBOX_TEST_REQUIRE, so CI cannot go green by skipping),
// and one shared debootstrap root per machine, made once and reused.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pkgbox/bootstrap"
	"pkgbox/session"
	"pkgbox/store"
)

// RequireEnv names the variable that turns skips into failures: a comma
// list of needs (root, net, or "all").
const RequireEnv = "PKGBOX_TEST_REQUIRE"

// Need is one thing a test needs from the machine.
type Need string

// The needs a test can declare.
const (
	Root Need = "root" // uid 0 with namespaces and mounts
	Net  Need = "net"  // the package mirror is reachable
)

// Require skips t (or fails it, when RequireEnv asks for the need) unless
// the machine has every need.
func Require(t testing.TB, needs ...Need) {
	t.Helper()
	for _, n := range needs {
		if why := missing(n); why != "" {
			if required(n) {
				t.Fatalf("needs %s, which %s requires: %s", n, RequireEnv, why)
			}
			t.Skipf("needs %s: %s (set %s=%s to make this a failure)", n, why, RequireEnv, n)
		}
	}
}

// Available says whether the machine has every need, without skipping; a
// need that RequireEnv asks for counts as available, so that the test that
// uses it runs and fails loudly.
func Available(needs ...Need) bool {
	for _, n := range needs {
		if missing(n) != "" && !required(n) {
			return false
		}
	}
	return true
}

func required(n Need) bool {
	for _, r := range strings.Split(os.Getenv(RequireEnv), ",") {
		if r == string(n) || r == "all" {
			return true
		}
	}
	return false
}

var netOnce sync.Once
var netErr string

func missing(n Need) string {
	switch n {
	case Root:
		if os.Geteuid() != 0 {
			return "not running as root"
		}
		if _, err := os.Stat("/proc/self/ns/pid"); err != nil {
			return "no namespaces"
		}
		if _, err := exec.LookPath("debootstrap"); err != nil {
			return "debootstrap is not installed"
		}
	case Net:
		netOnce.Do(func() {
			if testing.Short() {
				netErr = "-short given"
			}
		})
		return netErr
	}
	return ""
}

// StoreDir is the shared test store, kept between runs so the test root is
// made once per machine: $PKGBOX_TEST_STORE, default /var/tmp/pkgbox-test-N.
// N is the version of what create makes: raise it when roots change (2: the
// build user's id), so that machines make their kept test root anew.
func StoreDir() string {
	if d := os.Getenv("PKGBOX_TEST_STORE"); d != "" {
		return d
	}
	return "/var/tmp/pkgbox-test-2"
}

// RootName is the shared test root's name in StoreDir.
const RootName = "test"

// SharedRoot returns the shared test store and the path of its root: a
// buildd root of the host's suite, made by the first test that asks (other
// test processes wait on a lock) and reused by all later ones.
func SharedRoot(t testing.TB) (*store.Store, string) {
	t.Helper()
	Require(t, Root, Net)
	s, err := store.Open(StoreDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	lock, err := s.LockRoot(ctx, RootName+"-create", true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	if r, err := s.Root(RootName); err == nil {
		return s, r.Path
	}
	if err := makeRoot(ctx, s); err != nil {
		t.Fatalf("make the shared test root: %v", err)
	}
	return s, s.RootPath(RootName)
}

// makeRoot makes the shared root the way `pkgbox create` does: a buildd
// root of the host's suite, from the host's mirror.
func makeRoot(ctx context.Context, s *store.Store) error {
	plan, err := bootstrap.NewPlan(ctx, &bootstrap.Request{Suite: session.HostSuite(), Name: RootName}, bootstrap.DefaultHost())
	if err != nil {
		return err
	}
	_, err = bootstrap.Create(ctx, s, plan, bootstrap.CreateOptions{})
	return err
}

// ProcessesIn lists host processes whose root directory, working
// directory or command line lies in dir, or that hold a file in it open:
// sandboxes on its roots and sessions (a sandbox's init holds its session's
// lock from before it enters the root), debootstrap, apt and dpkg working
// there.
func ProcessesIn(dir string) []string {
	var out []string
	self := fmt.Sprint(os.Getpid())
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if filepath.Base(p) == self {
			continue
		}
		root, _ := os.Readlink(p + "/root")
		cwd, _ := os.Readlink(p + "/cwd")
		cmdline, _ := os.ReadFile(p + "/cmdline")
		if strings.HasPrefix(root, dir) || strings.HasPrefix(cwd, dir) || bytes.Contains(cmdline, []byte(dir+"/")) || holdsFileIn(p, dir) {
			out = append(out, filepath.Base(p)+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

// holdsFileIn says whether process directory p has a file below dir open.
func holdsFileIn(p, dir string) bool {
	fds, _ := os.ReadDir(p + "/fd")
	for _, fd := range fds {
		if target, err := os.Readlink(p + "/fd/" + fd.Name()); err == nil && strings.HasPrefix(target, dir+"/") {
			return true
		}
	}
	return false
}

// LeakedSessions lists the sessions of the store in dir that are not in
// before and whose lock nobody holds: left behind by a pkgbox that is gone.
// A session of another test running meanwhile holds its lock, so it is no
// leak; kept sessions (build --keep) are left to the test that kept them.
func LeakedSessions(dir string, before map[string]bool) []string {
	entries, _ := os.ReadDir(filepath.Join(dir, "sessions"))
	var leaked []string
	for _, e := range entries {
		id := e.Name()
		if before[id] {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, "sessions", id, "kept")); err == nil {
			continue
		}
		f, err := os.Open(filepath.Join(dir, "sessions", id, "lock"))
		if err != nil {
			if _, serr := os.Lstat(filepath.Join(dir, "sessions", id)); serr == nil {
				leaked = append(leaked, id) // a session dir without its lock
			}
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			leaked = append(leaked, id)
		}
		f.Close()
	}
	return leaked
}

// CopyPackage copies testdata/packages/NAME into a fresh directory of t and
// returns the copy's path; its parent is a build's default output directory.
func CopyPackage(t testing.TB, name string) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "..", "..", "testdata", "packages", name)
	dst := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v: %s", name, err, out)
	}
	return dst
}
