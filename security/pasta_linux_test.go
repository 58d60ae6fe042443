package security_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pkgbox/internal/testenv"
)

// pasta's life: it must die with the sandbox, and without it there is no
// network at all.

// pastaChildren lists the pasta processes whose parent is pid.
func pastaChildren(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		data, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// "PID (COMM) STATE PPID ...": COMM may hold spaces; cut after ')'.
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(st), "cmdline"))
		if exe, _, _ := bytes.Cut(cmdline, []byte{0}); filepath.Base(string(exe)) == "pasta" {
			out = append(out, child)
		}
	}
	return out
}

// alive says whether pid is a process that has not ended (a zombie has).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// TestPastaDiesWithTheSandbox: no pasta is left after a run, after a
// failing run, or after pkgbox itself is killed with SIGKILL.
func TestPastaDiesWithTheSandbox(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	testenv.SharedRoot(t)
	for _, tc := range []struct {
		name   string
		script string
		kill   bool
		exit   int
	}{
		{"run", "sleep 1", false, 0},
		{"failing run", "sleep 1; exit 3", false, 3},
		{"SIGKILL of pkgbox", "sleep 60", true, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := pkgboxCmd(t, "run", testenv.RootName, "--network", "--", "/bin/sh", "-c", tc.script)
			var out bytes.Buffer
			c.Stdout, c.Stderr = &out, &out
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			// pasta runs from before the payload starts until it ends.
			var pastas []int
			for deadline := time.Now().Add(10 * time.Second); len(pastas) == 0 && time.Now().Before(deadline); {
				pastas = pastaChildren(c.Process.Pid)
				time.Sleep(20 * time.Millisecond)
			}
			if len(pastas) != 1 {
				t.Errorf("pasta processes of pkgbox: %v, want one", pastas)
			}
			if tc.kill {
				_ = c.Process.Kill()
			}
			err := <-done
			var ee *exec.ExitError
			switch {
			case tc.kill:
			case tc.exit == 0 && err != nil, tc.exit != 0 && (!errors.As(err, &ee) || ee.ExitCode() != tc.exit):
				t.Errorf("pkgbox run: %v, want exit %d\n%s", err, tc.exit, out.String())
			}
			// After SIGKILL, Pdeathsig kills pasta at once; give the host's
			// reaper a moment.
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				var left []int
				for _, p := range pastas {
					if alive(p) {
						left = append(left, p)
					}
				}
				if len(left) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("pasta %v outlived the sandbox", left)
				}
			}
			if tc.kill {
				// The session the killed pkgbox left behind.
				_ = pkgboxCmd(t, "gc").Run()
			}
		})
	}
}

// TestNetworkWithoutPasta: no pasta, no network, and a clear error; never
// the host's namespace instead.
func TestNetworkWithoutPasta(t *testing.T) {
	testenv.Require(t, testenv.Root)
	testenv.SharedRoot(t)
	c := pkgboxCmd(t, "run", testenv.RootName, "--network", "--", "/bin/true")
	c.Env = append(c.Env, "PATH="+t.TempDir())
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("pkgbox run --network without pasta: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"network: pasta is not installed; apt-get install passt", "hint: "} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestNetworkPastaFails: a pasta that cannot set the namespace up stops the
// sandbox before the init even has its configuration, with what pasta said.
func TestNetworkPastaFails(t *testing.T) {
	testenv.Require(t, testenv.Root)
	testenv.SharedRoot(t)
	dir := t.TempDir()
	fake := "#!/bin/sh\necho \"Couldn't open network namespace (fake)\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "pasta"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	c := pkgboxCmd(t, "run", testenv.RootName, "--network", "--", "/bin/true")
	c.Env = append(c.Env, "PATH="+dir+":/usr/sbin:/usr/bin:/sbin:/bin")
	out, err := c.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("pkgbox run --network with a failing pasta: %v, want exit 1\n%s", err, out)
	}
	want := "pkgbox: network: set up the sandbox's network: pasta ended before the namespace was ready (exit status 1): pasta said: Couldn't open network namespace (fake)"
	if !bytes.Contains(out, []byte(want)) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}
