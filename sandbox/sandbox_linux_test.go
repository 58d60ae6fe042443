package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
	"pkgbox/store"
)

func TestMain(m *testing.M) {
	sandbox.MaybeInit()
	os.Exit(m.Run())
}

// session makes an overlay session on the shared root and returns a spec
// for it; the session is removed when the test ends.
func session(t testing.TB, args ...string) (*sandbox.Spec, *store.Session) {
	t.Helper()
	s, root := testenv.SharedRoot(t)
	sess, err := s.NewSession("sandbox-test", root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sess.Remove(); err != nil {
			t.Error(err)
		}
	})
	return &sandbox.Spec{
		Root:     root,
		Overlay:  &sandbox.Overlay{Upper: sess.Upper, Work: sess.Work, Merged: sess.Merged},
		Hostname: "pkgbox-test",
		Env:      []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8"},
		Args:     args,
		Hold:     []*os.File{sess.LockFile()},
	}, sess
}

// run runs spec and returns its output and result.
func run(t *testing.T, spec *sandbox.Spec) (string, *sandbox.Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("run %q: %v\noutput: %s", spec.Args, err, out.String())
	}
	return out.String(), res
}

func TestRunBasics(t *testing.T) {
	spec, _ := session(t, "/bin/sh", "-c", "hostname; echo pid=$$; ls /proc | grep -c '^[0-9]'; cat /etc/debian_version")
	out, res := run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	lines := strings.Fields(out)
	if lines[0] != "pkgbox-test" {
		t.Errorf("hostname = %q, want pkgbox-test", lines[0])
	}
	t.Log(out)
}

// token is a string unique to this test run, to find its processes and mounts.
func token(t *testing.T) string {
	return fmt.Sprintf("%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
}

// hostProcsWith lists host pids whose command line contains s.
func hostProcsWith(s string) []string {
	var pids []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(d + "/cmdline")
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			pids = append(pids, filepath.Base(d))
		}
	}
	return pids
}

// hostMountsWith lists the host's mountinfo lines that contain any of subs.
func hostMountsWith(subs ...string) []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var found []string
	for _, line := range strings.Split(string(data), "\n") {
		for _, s := range subs {
			if s != "" && strings.Contains(line, s) {
				found = append(found, line)
				break
			}
		}
	}
	return found
}

// The seed's promise: a daemon started inside (setsid, double fork,
// ignoring SIGTERM) is gone from the host within a second after Run returns.
func TestDaemonDoesNotOutliveSandbox(t *testing.T) {
	tok := token(t)
	script := fmt.Sprintf(`
( ( setsid sh -c 'trap "" TERM HUP INT; exec sleep 1000 0.%[1]s' & ) & )
until grep -qs 0.%[1]s /proc/[0-9]*/cmdline; do sleep 0.02; done
echo started`, tok)
	spec, _ := session(t, "/bin/sh", "-c", script)
	out, res := run(t, spec)
	if res.ExitCode != 0 || !strings.Contains(out, "started") {
		t.Fatalf("payload: exit %d: %s", res.ExitCode, out)
	}
	deadline := time.Now().Add(time.Second)
	for len(hostProcsWith("0."+tok)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("daemon still running on the host 1s after the sandbox ended: pids %v", hostProcsWith("0."+tok))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// No mount of the sandbox (overlay, profile mounts, a tmpfs mounted by the
// payload) is visible on the host, during the run or after it.
func TestMountsNeverVisibleOnHost(t *testing.T) {
	tok := token(t)
	spec, sess := session(t, "/bin/sh", "-c", fmt.Sprintf(
		`mount -t tmpfs payload-%s /mnt && grep -c payload-%s /proc/self/mountinfo && echo ready && sleep 1`, tok, tok))
	spec.Mounts = []sandbox.Mount{{Type: "tmpfs", Source: "profile-" + tok, Target: "/srv/profile", Flags: sandbox.NoSuid}}
	// Only a privileged payload can mount at all; it must not leak either.
	spec.Privileged = true
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		res, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{Stdout: pw, Stderr: pw})
		if err == nil && res.ExitCode != 0 {
			err = fmt.Errorf("exit %d", res.ExitCode)
		}
		pw.CloseWithError(err)
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	ready := false
	for sc.Scan() {
		if sc.Text() == "ready" {
			ready = true
			if m := hostMountsWith(tok, sess.Dir, spec.Root); len(m) > 0 {
				t.Errorf("during the run the host sees: %q", m)
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !ready {
		t.Fatal("payload never got ready")
	}
	if m := hostMountsWith(tok, sess.Dir, spec.Root); len(m) > 0 {
		t.Errorf("after the run the host sees: %q", m)
	}
}

func TestProcHostnameAndNetwork(t *testing.T) {
	spec, _ := session(t, "/bin/sh", "-c", `
echo procs $(ls -d /proc/[0-9]* | wc -l)
echo pid1 $(tr '\0' ' ' < /proc/1/cmdline)
echo host $(hostname)
echo ifaces $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ')
perl -MIO::Socket::INET -e '
  my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0) or die "listen: $!";
  my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $l->sockport) or die "connect: $!";
  my $a = $l->accept; print $c "pong\n"; print "tcp ", scalar <$a>;'
`)
	out, res := run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	for _, want := range []string{"pid1 /proc/self/exe " + sandbox.InitArg, "host pkgbox-test", "ifaces lo\n", "tcp pong"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// sh, the subshells and ls: a handful, never the host's hundreds.
	var procs int
	fmt.Sscanf(out[strings.Index(out, "procs "):], "procs %d", &procs)
	if procs < 2 || procs > 8 {
		t.Errorf("/proc shows %d processes, want only the sandbox's few:\n%s", procs, out)
	}

	// With the network: a namespace of its own all the same (issue 11), with
	// lo and pasta's one interface, never the host's namespace.
	spec, _ = session(t, "/bin/sh", "-c", `echo ns $(readlink /proc/self/ns/net); echo ifaces $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ')`)
	spec.Network = true
	out, _ = run(t, spec)
	hostNS, _ := os.Readlink("/proc/self/ns/net")
	if !strings.Contains(out, "ns net:[") || strings.Contains(out, "ns "+hostNS+"\n") {
		t.Errorf("with the network on, the sandbox is in the host's network namespace %s:\n%s", hostNS, out)
	}
	if f := strings.Fields(out[strings.Index(out, "ifaces"):]); len(f) != 3 || !slices.Contains(f, "lo") {
		t.Errorf("with the network on, want lo and pasta's interface only: %q", out)
	}
}

func TestEphemeralAndWrite(t *testing.T) {
	tok := token(t)
	spec, sess := session(t, "/bin/sh", "-c", "echo x > /etc/ephemeral-"+tok)
	if out, res := run(t, spec); res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	if _, err := os.Stat(filepath.Join(spec.Root, "etc", "ephemeral-"+tok)); err == nil {
		t.Error("an ephemeral write reached the root")
	}
	if _, err := os.Stat(filepath.Join(sess.Upper, "etc", "ephemeral-"+tok)); err != nil {
		t.Errorf("the write is not in the session's upper layer: %v", err)
	}
	// A second sandbox on the same session sees the first one's changes
	// (builds run several steps on one session; the overlay is volatile).
	spec.Args = []string{"cat", "/etc/ephemeral-" + tok}
	if out, res := run(t, spec); res.ExitCode != 0 || out != "x\n" {
		t.Errorf("second run on the session: exit %d, output %q", res.ExitCode, out)
	}

	// Write mode changes the root itself: a root of the test's own, a
	// hard-linked copy of the shared one, never the shared root, where a
	// run killed before its clean-up would leave the file for good.
	shared := spec.Root
	spec.Root = ownRoot(t, shared)
	marker := filepath.Join(spec.Root, "root", "write-"+tok)
	spec.Overlay = nil
	spec.Args = []string{"/bin/sh", "-c", "echo kept > /root/write-" + tok}
	if out, res := run(t, spec); res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	if data, err := os.ReadFile(marker); err != nil || string(data) != "kept\n" {
		t.Errorf("a --write write did not persist: %q, %v", data, err)
	}
	if _, err := os.Lstat(filepath.Join(shared, "root", "write-"+tok)); err == nil {
		t.Errorf("the write reached the shared root %s", shared)
	}
}

// ownRoot makes a hard-linked copy of root for a test that writes into a
// root: new files land in the copy's own directories, and the originals'
// files are only ever read. It is removed when the test ends.
func ownRoot(t *testing.T, root string) string {
	t.Helper()
	// Beside the store (STORE/roots/NAME), on its file system.
	dir, err := os.MkdirTemp(filepath.Dir(filepath.Dir(filepath.Dir(root))), "pkgbox-own-root-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.RemoveTree(dir); err != nil {
			t.Error(err)
		}
	})
	if out, err := exec.Command("cp", "-al", root, filepath.Join(dir, "root")).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v: %s", root, err, out)
	}
	return filepath.Join(dir, "root")
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		script string
		code   int
		sig    syscall.Signal
	}{
		{"exit 0", 0, 0},
		{"exit 7", 7, 0},
		{"exit 255", 255, 0},
		{"kill -TERM $$", 143, syscall.SIGTERM},
		{"kill -KILL $$", 137, syscall.SIGKILL},
		{"exec /nonexistent-but-sh-reports", 127, 0},
	} {
		spec, _ := session(t, "/bin/sh", "-c", tc.script)
		_, res := run(t, spec)
		if res.ExitCode != tc.code || (tc.sig != 0 && res.Signal != tc.sig) {
			t.Errorf("%q: got exit %d signal %v, want %d %v", tc.script, res.ExitCode, res.Signal, tc.code, tc.sig)
		}
	}
}

func TestCommandNotFound(t *testing.T) {
	spec, _ := session(t, "no-such-command")
	_, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{})
	var se *sandbox.SetupError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `"no-such-command"`) {
		t.Fatalf("got %v, want a setup error naming the command", err)
	}
}

func TestSignalsForwarded(t *testing.T) {
	old := sandbox.KillGrace
	sandbox.KillGrace = time.Second
	t.Cleanup(func() { sandbox.KillGrace = old })
	for _, tc := range []struct {
		name   string
		script string
		sig    syscall.Signal
		code   int
	}{
		{"INT trapped", `trap 'echo got-INT; exit 3' INT; echo ready; while :; do sleep 0.05; done`, syscall.SIGINT, 3},
		{"TERM kills", `echo ready; exec sleep 100`, syscall.SIGTERM, 143},
		{"TERM ignored, killed after the grace", `trap '' TERM; echo ready; exec sleep 100`, syscall.SIGTERM, 137},
		{"HUP", `echo ready; exec sleep 100`, syscall.SIGHUP, 129},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, _ := session(t, "/bin/sh", "-c", tc.script)
			pr, pw := io.Pipe()
			done := make(chan *sandbox.Result, 1)
			go func() {
				res, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{Stdout: pw, Stderr: pw})
				if err != nil {
					t.Error(err)
				}
				pw.Close()
				done <- res
			}()
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				if sc.Text() == "ready" {
					syscall.Kill(os.Getpid(), tc.sig)
				}
			}
			res := <-done
			if res == nil || res.ExitCode != tc.code {
				t.Errorf("got %+v, want exit %d", res, tc.code)
			}
		})
	}
}
