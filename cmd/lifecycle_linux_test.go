package cmd_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pkgbox/internal/testenv"
	"pkgbox/session"
	"pkgbox/store"
)

// pkgbox returns a command that runs this test binary as pkgbox (through a
// symlink named pkgbox: testscript.RunMain dispatches on argv[0]).
func pkgbox(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "pkgbox")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(link, args...)
	// No configuration file of the machine or of whoever runs the tests.
	c.Env = append(os.Environ(), "PKGBOX_STORE="+testenv.StoreDir(),
		"XDG_CONFIG_HOME="+t.TempDir(), "TEST_SYSTEM_CONFIG="+os.DevNull)
	return c
}

func procsWith(s string) []string {
	var pids []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if b, err := os.ReadFile(d + "/cmdline"); err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, filepath.Base(d))
		}
	}
	return pids
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sessions lists the sessions on the shared root "test"; other test
// packages make sessions of their own in the same store at the same time.
func sessions(t *testing.T) map[string]bool {
	entries, _ := os.ReadDir(filepath.Join(testenv.StoreDir(), "sessions"))
	m := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), testenv.RootName+"-") {
			m[e.Name()] = true
		}
	}
	return m
}

func mountsWith(s string) []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// startSleeper starts `pkgbox run test -- sleep` with a unique argument and
// waits until the sleep runs; it returns the command and that argument.
func startSleeper(t *testing.T) (*exec.Cmd, string) {
	tok := fmt.Sprintf("0.%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
	c := pkgbox(t, "run", "test", "--", "sleep", "1000", tok)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sleep starts in the sandbox", 10*time.Second, func() bool {
		for _, pid := range procsWith(tok) {
			if b, _ := os.ReadFile("/proc/" + pid + "/comm"); string(b) == "sleep\n" {
				return true
			}
		}
		return false
	})
	return c, tok
}

// SIGKILL to pkgbox: the sandbox's processes are gone within 2 s, no mount
// remains, and `pkgbox gc` removes the session it could not remove itself.
func TestSIGKILLKillsSandbox(t *testing.T) {
	testenv.SharedRoot(t)
	before := sessions(t)
	c, tok := startSleeper(t)
	var mine string
	for s := range sessions(t) {
		if !before[s] {
			mine = s
		}
	}
	if mine == "" {
		t.Fatal("no session directory appeared")
	}
	if err := c.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	waitFor(t, "sandbox processes gone after SIGKILL", 2*time.Second, func() bool { return len(procsWith(tok)) == 0 })
	if m := mountsWith(mine); len(m) > 0 {
		t.Errorf("mounts left on the host: %q", m)
	}
	var out []byte
	waitFor(t, "gc removes the dead session", 5*time.Second, func() bool {
		var err error
		out, err = pkgbox(t, "gc").CombinedOutput()
		if err != nil {
			t.Fatalf("pkgbox gc: %v: %s", err, out)
		}
		return !sessions(t)[mine]
	})
	if !strings.Contains(string(out), mine) {
		t.Errorf("gc did not say it removed %s: %s", mine, out)
	}
}

// SIGTERM to pkgbox ends the payload, and pkgbox cleans up after itself.
func TestSIGTERMCleansUp(t *testing.T) {
	testenv.SharedRoot(t)
	before := sessions(t)
	c, tok := startSleeper(t)
	c.Process.Signal(syscall.SIGTERM)
	err := c.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 {
		t.Errorf("pkgbox after SIGTERM: %v, want exit status 143", err)
	}
	if p := procsWith(tok); len(p) > 0 {
		t.Errorf("processes left: %v", p)
	}
	for _, s := range testenv.LeakedSessions(testenv.StoreDir(), before) {
		t.Errorf("session %s left behind", s)
	}
}

// terminal is the user's side of a pseudo-terminal, with what it has shown.
type terminal struct {
	master *os.File
	mu     sync.Mutex
	seen   bytes.Buffer
}

func newTerminal(t *testing.T) (*terminal, *os.File) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120})
	term := &terminal{master: m}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			term.mu.Lock()
			term.seen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { m.Close() })
	return term, s
}

// expect waits until the terminal has shown a match of re after what an
// earlier expect consumed.
func (term *terminal) expect(t *testing.T, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		term.mu.Lock()
		loc := rx.FindIndex(term.seen.Bytes())
		if loc != nil {
			term.seen.Next(loc[1])
		}
		term.mu.Unlock()
		if loc != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.mu.Lock()
	defer term.mu.Unlock()
	t.Fatalf("terminal never showed %q; it shows:\n%s", re, term.seen.String())
}

func (term *terminal) send(s string) { term.master.WriteString(s) }

// The interactive shell under a pseudo-terminal: a command runs, Ctrl-C
// stops a sleep and returns to the prompt, exit returns to the host.
func TestInteractiveShell(t *testing.T) {
	testenv.SharedRoot(t)
	term, slave := newTerminal(t)
	c := pkgbox(t, "shell", "test")
	c.Env = append(c.Env, "TERM=xterm")
	c.Stdin, c.Stdout, c.Stderr = slave, slave, slave
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()

	term.send("echo tty=$(tty) sum=$((40+2))\r")
	term.expect(t, `tty=/dev/pts/0 sum=42`)
	term.send("sleep 100\r")
	time.Sleep(500 * time.Millisecond)
	term.send("\x03") // Ctrl-C
	term.send("echo after-sleep=$?\r")
	term.expect(t, `after-sleep=130`)
	term.send("echo still-here\r")
	term.expect(t, `still-here`)
	term.send("exit 5\r")
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 {
			t.Errorf("pkgbox shell after exit 5: %v", err)
		}
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		t.Fatal("pkgbox shell did not return after exit")
	}
}

// Two first builds at once on a fresh store: the second waits for the
// default root the first is making, then builds on it, instead of failing
// because the root is being made by another pkgbox.
func TestFirstBuildWaitsForDefaultRoot(t *testing.T) {
	shared, sharedRoot := testenv.SharedRoot(t)
	suite := session.HostSuite()
	dir, err := os.MkdirTemp("/var/tmp", "pkgbox-first-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.RemoveTree(dir); err != nil {
			t.Error(err)
		}
	})
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The packages the build needs, from the shared cache.
	if out, err := exec.Command("cp", "-al", filepath.Join(shared.Dir, "cache", "apt"), filepath.Join(dir, "cache")).CombinedOutput(); err != nil {
		t.Fatalf("copy the cache: %v: %s", err, out)
	}
	// Not apt's lock files: another test's apt may hold the originals.
	locks, _ := filepath.Glob(filepath.Join(dir, "cache", "apt", "*", "lock"))
	for _, l := range locks {
		if err := os.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	// The first build, making the default root.
	making, err := s.LockRoot(t.Context(), suite, true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer making.Unlock()

	src := filepath.Join(t.TempDir(), "hello-all")
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "testdata", "packages", "hello-all"), src).CombinedOutput(); err != nil {
		t.Fatalf("copy hello-all: %v: %s", err, out)
	}
	second := pkgbox(t, "build", src)
	second.Env = append(second.Env, "PKGBOX_STORE="+dir)
	var out testenv.SyncBuffer
	second.Stdout, second.Stderr = &out, &out
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	waitFor(t, "the second build says it waits", 30*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("the second build ended while the root was being made: %v\n%s", err, out.String())
		default:
		}
		return strings.Contains(out.String(), fmt.Sprintf("root %q is being made by another pkgbox: waiting for it", suite))
	})

	// The first build's create succeeds: the root appears (the shared
	// one, linked), and its lock is released.
	meta, err := shared.Root(testenv.RootName)
	if err != nil {
		t.Fatal(err)
	}
	meta.Name = suite
	if err := os.Symlink(sharedRoot, s.RootPath(suite)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRoot(meta); err != nil {
		t.Fatal(err)
	}
	making.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the second build: %v\n%s", err, out.String())
		}
	case <-time.After(5 * time.Minute):
		second.Process.Kill()
		t.Fatalf("the second build did not end:\n%s", out.String())
	}
	if want := fmt.Sprintf("hello-all 1.0 on %s", suite); !strings.Contains(out.String(), want) {
		t.Errorf("the second build says:\n%s\nwant %q", out.String(), want)
	}
}
