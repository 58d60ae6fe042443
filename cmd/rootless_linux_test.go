package cmd_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

	t.Run("SIGKILL of pkgbox kills the sandbox", func(t *testing.T) {
		tok := fmt.Sprintf("pkgbox-rootless-kill-%d", os.Getpid())
		// "; :" keeps the shell from exec'ing sleep: it stays, named by tok.
		c := testenv.UserPkgbox(t, u, storeDir, "run", "test", "--", "sh", "-c", "sleep 1000; :", tok)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// The payload itself, not pkgbox, whose arguments hold the same.
		payload := func() bool {
			cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range cmdlines {
				if b, _ := os.ReadFile(p); string(b) == "sh\x00-c\x00sleep 1000; :\x00"+tok+"\x00" {
					return true
				}
			}
			return false
		}
		waitFor(t, "the payload", 10*time.Second, payload)
		_ = c.Process.Kill() // setpriv exec'd pkgbox: the same process
		_ = c.Wait()
		waitFor(t, "the payload's death", 10*time.Second, func() bool { return !payload() })
		// Its session is left, unlocked, for gc.
		if out, code := pkgbox("gc"); code != 0 {
			t.Fatalf("gc: exit %d:\n%s", code, out)
		}
		noLeftovers(t)
	})

	t.Run("shell", func(t *testing.T) {
		// script(1) gives pkgbox a terminal, as a user at one would.
		c := testenv.UserPkgbox(t, u, storeDir, "shell", "test")
		i := slices.Index(c.Args, "--")
		c.Args = append(c.Args[:i+1:i+1], "script", "-qec", strings.Join(c.Args[i+1:], " "), "/dev/null")
		c.Env = append(c.Env, "TERM=dumb")
		c.Stdin = strings.NewReader("id -u; tty; exit 5\n")
		out, err := c.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 5 || !strings.Contains(string(out), "/dev/pts/0") {
			t.Errorf("shell: %v, want exit 5 on the sandbox's own /dev/pts/0:\n%s", err, out)
		}
		noLeftovers(t)
	})

	t.Run("build hello-c, gc of the kept session", func(t *testing.T) {
		// Through pasta, which needs /dev/net/tun open to the user; the
		// build of Debian's hello below goes through the HTTP proxy that
		// replaces it where it is closed (as on this project's machines).
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
		testenv.LockTun(t) // as the machine has it: closed here, so through the proxy
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

// TestRootlessCreate makes a root as the test user: debootstrap in a user
// namespace, the host's device nodes bound, every file owned through the
// user's map; an interrupted create leaves nothing. The user's store for
// it is kept per machine, so that its bootstrap image makes every create
// after the first one quick (restored and upgraded in the user namespace).
func TestRootlessCreate(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	u := testenv.TestUser(t)
	// The upgrade of a restored image fetches: through pasta where
	// /dev/net/tun is open to users, else pkgbox's HTTP proxy.
	storeDir := filepath.Join(testenv.RootlessDir, "store-create")
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(storeDir, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	pkgbox := func(args ...string) *exec.Cmd { return testenv.UserPkgbox(t, u, storeDir, args...) }
	name := fmt.Sprintf("rl%d", os.Getpid())
	nothingLeft := func(t *testing.T, what string) {
		t.Helper()
		tmp, _ := os.ReadDir(filepath.Join(storeDir, "tmp"))
		if len(tmp) > 0 {
			t.Errorf("%s: left in tmp/: %v", what, tmp)
		}
		if _, err := os.Lstat(filepath.Join(storeDir, "roots", name)); err == nil {
			t.Errorf("%s: the root is there", what)
		}
		if p := testenv.ProcessesIn(storeDir); len(p) > 0 {
			t.Errorf("%s: processes left: %v", what, p)
		}
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(mi, []byte(storeDir)) {
			t.Errorf("%s: a mount of the store is on the host", what)
		}
	}

	t.Run("interrupted", func(t *testing.T) {
		c := pkgbox("create", "bookworm", "--name", name, "--fresh")
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		// Once debootstrap installs packages (its second stage), so
		// that files of subordinate ids are there to remove.
		waitFor(t, "debootstrap at work", 4*time.Minute, func() bool {
			lists, _ := filepath.Glob(filepath.Join(storeDir, "tmp", name+".*", "var", "lib", "dpkg", "info", "*.list"))
			return len(lists) > 20
		})
		_ = c.Process.Signal(syscall.SIGINT)
		err := c.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("exit %v, want 130:\n%s", err, out.String())
		}
		nothingLeft(t, "after ^C")
	})

	t.Run("create, run, remove", func(t *testing.T) {
		out, err := pkgbox("create", "bookworm", "--name", name).CombinedOutput()
		if err != nil {
			t.Fatalf("create: %v:\n%s", err, out)
		}
		root := filepath.Join(storeDir, "roots", name)
		var st syscall.Stat_t
		for path, uid := range map[string]int{
			"etc/passwd":              u.UID, // root inside
			"var/cache/apt":           u.UID, // root inside
			"var/log/apt/eipp.log.xz": -1,    // whatever apt made, never host root
		} {
			if err := syscall.Lstat(filepath.Join(root, path), &st); err != nil {
				if uid >= 0 {
					t.Errorf("%s: %v", path, err)
				}
				continue
			}
			if uid >= 0 && int(st.Uid) != uid || st.Uid == 0 {
				t.Errorf("%s is owned by %d, want %d", path, st.Uid, uid)
			}
		}
		if err := syscall.Lstat(filepath.Join(root, "dev", "null"), &st); err == nil {
			t.Errorf("the root keeps a /dev/null of mode %o", st.Mode)
		}
		// Subordinate ids: /var/mail belongs to the group mail (from
		// debootstrap, or the restored image); a fresh root has no file of
		// a user other than root, so a --write session gives apt's
		// lists/partial/ to _apt, as apt itself does when it first runs.
		if out, err := pkgbox("run", "--write", name, "--", "chown", "_apt", "/var/lib/apt/lists/partial").CombinedOutput(); err != nil {
			t.Fatalf("run --write: %v:\n%s", err, out)
		}
		run, err := pkgbox("run", name, "--", "sh", "-c", "id -u pkgbox; stat -c %u /var/lib/dpkg/status; "+
			"id -u _apt; stat -c %u /var/lib/apt/lists/partial; getent group mail | cut -d: -f3; stat -c %g /var/mail").CombinedOutput()
		f := strings.Fields(string(run))
		if err != nil || len(f) != 6 || f[0] != "65100" || f[1] != "0" || f[2] != f[3] || f[4] != f[5] {
			t.Fatalf("run: %v: %q, want the build user 65100, dpkg's status root's, lists/partial _apt's, /var/mail mail's", err, run)
		}
		apt, _ := strconv.Atoi(f[2])
		mail, _ := strconv.Atoi(f[4])
		if err := syscall.Lstat(filepath.Join(root, "var", "lib", "apt", "lists", "partial"), &st); err != nil || st.Uid != u.SubUID+uint32(apt)-1 {
			t.Errorf("lists/partial/ is owned by %d on the host (%v), want %d", st.Uid, err, u.SubUID+uint32(apt)-1)
		}
		if err := syscall.Lstat(filepath.Join(root, "var", "mail"), &st); err != nil || st.Gid != u.SubGID+uint32(mail)-1 {
			t.Errorf("/var/mail's group is %d on the host (%v), want %d", st.Gid, err, u.SubGID+uint32(mail)-1)
		}
		if out, err := pkgbox("remove", name).CombinedOutput(); err != nil {
			t.Fatalf("remove: %v:\n%s", err, out)
		}
		nothingLeft(t, "after remove")
	})
}
