package cmd_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"pkgbox/internal/testenv"
)

// TestRootlessCommands runs pkgbox as an ordinary user with subordinate
// ranges (the test user, made once per machine) on its own store, whose
// root "test" is owned through the user's map: run, build, gc and remove
// as a packager without sudo would use them.
func TestRootlessCommands(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	u := testenv.TestUser(t)
	storeDir, _ := testenv.RootlessStore(t, u)
	work := filepath.Join(testenv.RootlessDir, fmt.Sprintf("work-%d", os.Getpid()))
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chown(work, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	pkgbox := func(args ...string) (string, int) {
		t.Helper()
		out, err := testenv.UserPkgbox(t, u, storeDir, args...).CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("pkgbox %q: %v", args, err)
		}
		return string(out), 0
	}
	noLeftovers := func(t *testing.T) {
		t.Helper()
		if s, _ := os.ReadDir(filepath.Join(storeDir, "sessions")); len(s) > 0 {
			t.Errorf("sessions left in the store: %v", s)
		}
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(mi, []byte(storeDir)) {
			t.Errorf("a mount of the user's store is on the host:\n%s", mi)
		}
	}

	t.Run("run", func(t *testing.T) {
		tok := fmt.Sprintf("pkgbox-rootless-%d", os.Getpid())
		out, code := pkgbox("run", "test", "--", "sh", "-c",
			"id -u; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; setsid sh -c 'exec sleep 1000 "+tok+"' </dev/null >/dev/null 2>&1 & exit 3")
		if code != 3 || strings.Fields(out)[0] != "0" || strings.Fields(out)[1] != "lo" || len(strings.Fields(out)) != 2 {
			t.Errorf("exit %d, output %q; want 3, root inside, lo alone", code, out)
		}
		if p := procsWith(tok); len(p) > 0 {
			t.Errorf("the daemon outlived the sandbox: %v", p)
		}
		noLeftovers(t)
	})

	t.Run("build hello-c, gc of the kept session", func(t *testing.T) {
		testenv.OpenTun(t)
		src := filepath.Join(work, "hello-c")
		if out, err := exec.Command("cp", "-a", testenv.CopyPackage(t, "hello-c"), src).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", u.UID, u.GID), src).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		out, code := pkgbox("build", "--root", "test", "--keep", src)
		if code != 0 {
			t.Fatalf("build: exit %d:\n%s", code, out)
		}
		for _, name := range []string{"hello-c_1.0_amd64.deb", "hello-c_1.0_amd64.changes", "hello-c_1.0_amd64.build"} {
			var st syscall.Stat_t
			if err := syscall.Lstat(filepath.Join(work, name), &st); err != nil {
				t.Errorf("%s: %v\n%s", name, err, out)
			} else if int(st.Uid) != u.UID || int(st.Gid) != u.GID {
				t.Errorf("%s is owned by %d:%d, want the user's %d:%d", name, st.Uid, st.Gid, u.UID, u.GID)
			}
		}
		// The kept session holds files of the build user, a subordinate
		// id: gc removes them all the same.
		sessions, _ := os.ReadDir(filepath.Join(storeDir, "sessions"))
		if len(sessions) != 1 {
			t.Fatalf("sessions after build --keep: %v", sessions)
		}
		if out, code := pkgbox("gc", "--kept"); code != 0 {
			t.Fatalf("gc --kept: exit %d:\n%s", code, out)
		}
		noLeftovers(t)
	})

	t.Run("remove a root of subordinate ids", func(t *testing.T) {
		root := filepath.Join(storeDir, "roots", "gone")
		deep := filepath.Join(root, "var", "lib", "x")
		if err := os.MkdirAll(deep, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(deep, "f"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		// / is the user's (root inside), the rest ids 100 and 101 inside.
		sub := strconv.Itoa(int(u.SubUID) + 99)
		if out, err := exec.Command("chown", "-R", sub+":"+sub, filepath.Join(root, "var")).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		meta := filepath.Join(storeDir, "roots", "gone.json")
		if err := os.WriteFile(meta, []byte(`{"name":"gone","suite":"bookworm","arch":"amd64","variant":"buildd"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{root, meta} {
			if err := os.Chown(p, u.UID, u.GID); err != nil {
				t.Fatal(err)
			}
		}
		if out, code := pkgbox("remove", "gone"); code != 0 {
			t.Fatalf("remove: exit %d:\n%s", code, out)
		}
		if _, err := os.Lstat(root); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the root is still there: %v", err)
		}
	})

	t.Run("build Debian's hello", func(t *testing.T) {
		testenv.OpenTun(t)
		out, code := pkgbox("build", "--root", "test", "--out", work, "hello")
		if code != 0 {
			t.Fatalf("build hello: exit %d:\n%s", code, out)
		}
		debs, _ := filepath.Glob(filepath.Join(work, "hello_*.deb"))
		if len(debs) != 1 {
			t.Fatalf("debs %v:\n%s", debs, out)
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(debs[0], &st); err != nil || int(st.Uid) != u.UID {
			t.Errorf("%s: owner %d, %v; want %d", debs[0], st.Uid, err, u.UID)
		}
		noLeftovers(t)
	})
}
