package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
)

// TestRootless runs as root and starts its other half (rootlessChild) as
// the test user, an ordinary user with subordinate ranges, on a root owned
// through that user's map.
func TestRootless(t *testing.T) {
	if testenv.IsChild() {
		rootlessChild(t)
		return
	}
	u := testenv.TestUser(t)
	_, root := testenv.RootlessStore(t, u)
	// The child tests pasta where /dev/net/tun is open to users and the
	// refusal where it is not: no other test may change it meanwhile.
	testenv.LockTun(t)
	out, err := testenv.RunAsUser(t, u, "TestRootless", "PKGBOX_TEST_ROOT="+root)
	t.Log(out)
	if err != nil {
		t.Fatalf("as %s: %v", u.Name, err)
	}
	if !strings.Contains(out, "--- PASS: TestRootless") {
		t.Fatalf("as %s: the test did not pass", u.Name)
	}
	// What the sandboxes left on the host.
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(mi, []byte(root)) {
		t.Errorf("a mount of the rootless root is on the host:\n%s", mi)
	}
}

// hostAddr is the host's first address that is not a loopback one.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	t.Skip("the host has no address besides its loopback")
	return ""
}

// rootlessSpec is a throw-away overlay sandbox on the test user's root.
func rootlessSpec(t *testing.T, args ...string) *sandbox.Spec {
	t.Helper()
	uidMap, gidMap, err := sandbox.RootlessMaps()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Registered after TempDir's own, so run before it: the sandbox left
	// files of subordinate ids, which only the namespace's root removes.
	t.Cleanup(func() {
		if err := sandbox.RemoveTree(dir, uidMap, gidMap); err != nil {
			t.Error(err)
		}
	})
	o := &sandbox.Overlay{Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work"), Merged: filepath.Join(dir, "merged")}
	for _, d := range []string{o.Upper, o.Work, o.Merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &sandbox.Spec{
		Root:     os.Getenv("PKGBOX_TEST_ROOT"),
		Overlay:  o,
		Hostname: "pkgbox-rootless",
		Env:      []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8"},
		Args:     args,
		UIDMap:   uidMap,
		GIDMap:   gidMap,
	}
}

func rootlessChild(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Fatal("the rootless half runs as root")
	}
	uidMap, _, err := sandbox.RootlessMaps()
	if err != nil {
		t.Fatal(err)
	}
	sub := uidMap[1].Outside

	t.Run("ids", func(t *testing.T) {
		spec := rootlessSpec(t, "/bin/sh", "-c", "id -u; id -g; id -G; hostname; cat /proc/self/uid_map; touch /etc/by-root")
		out, res := run(t, spec)
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, out)
		}
		f := strings.Fields(out)
		want := []string{"0", "0", "0", "pkgbox-rootless", "0", fmt.Sprint(os.Getuid()), "1", "1", fmt.Sprint(sub), "65535"}
		if strings.Join(f, " ") != strings.Join(want, " ") {
			t.Errorf("got %q, want %q", f, want)
		}
		// Root inside writes as the caller.
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(spec.Overlay.Upper, "etc", "by-root"), &st); err != nil {
			t.Fatal(err)
		} else if int(st.Uid) != os.Getuid() {
			t.Errorf("a file of root inside is owned by %d on the host, want %d", st.Uid, os.Getuid())
		}
	})

	t.Run("build user maps to a subordinate id", func(t *testing.T) {
		spec := rootlessSpec(t, "/bin/sh", "-c", "id -u; touch /tmp/by-user")
		spec.User = "65100"
		out, res := run(t, spec)
		if res.ExitCode != 0 || strings.TrimSpace(out) != "65100" {
			t.Fatalf("exit %d: %s", res.ExitCode, out)
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(spec.Overlay.Upper, "tmp", "by-user"), &st); err != nil {
			t.Fatal(err)
		} else if st.Uid != sub+65100-1 {
			t.Errorf("the build user's file is owned by %d on the host, want %d", st.Uid, sub+65100-1)
		}
	})

	t.Run("exit status", func(t *testing.T) {
		out, res := run(t, rootlessSpec(t, "/bin/sh", "-c", "exit 7"))
		if res.ExitCode != 7 {
			t.Errorf("exit %d, want 7: %s", res.ExitCode, out)
		}
		out, res = run(t, rootlessSpec(t, "/bin/sh", "-c", "kill -TERM $$"))
		if res.ExitCode != 128+15 {
			t.Errorf("exit %d, want 143: %s", res.ExitCode, out)
		}
	})

	t.Run("dev and confinement", func(t *testing.T) {
		out, res := run(t, rootlessSpec(t, "/bin/sh", "-c", `set -e
echo x >/dev/null; head -c 4 /dev/urandom | wc -c; head -c 3 /dev/zero | wc -c
ls /dev | tr '\n' ' '; echo
grep -E '^(CapBnd|Seccomp):' /proc/self/status
mknod /tmp/disk b 8 0 2>/dev/null && echo MKNOD || echo no-mknod`))
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, out)
		}
		for _, want := range []string{"4\n3\n", "null", "urandom", "pts", "Seccomp:\t2", "no-mknod"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in:\n%s", want, out)
			}
		}
		if strings.Contains(out, "CapBnd:\t000001ffffffffff") {
			t.Errorf("the payload keeps every capability:\n%s", out)
		}
	})

	t.Run("no network", func(t *testing.T) {
		out, res := run(t, rootlessSpec(t, "/bin/sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1"))
		if res.ExitCode != 0 || strings.TrimSpace(out) != "lo" {
			t.Errorf("interfaces %q (exit %d), want lo only", out, res.ExitCode)
		}
	})

	t.Run("network through pasta", func(t *testing.T) {
		spec := rootlessSpec(t, "/bin/sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' '; awk '$2 == \"00000000\" {print \"default\"}' /proc/net/route")
		spec.Network = true
		if unix.Access("/dev/net/tun", unix.R_OK|unix.W_OK) != nil {
			t.Skip("/dev/net/tun is closed to users here: the network is pkgbox's HTTP proxy (next test)")
		}
		out, res := run(t, spec)
		if res.ExitCode != 0 || !strings.Contains(out, "default") || len(strings.Fields(out)) < 3 {
			t.Errorf("exit %d; interfaces and routes: %q, want lo, another and a default route", res.ExitCode, out)
		}
	})

	t.Run("network through the proxy", func(t *testing.T) {
		if unix.Access("/dev/net/tun", unix.R_OK|unix.W_OK) == nil {
			t.Skip("/dev/net/tun is open to users here: the network is pasta's (previous test)")
		}
		// A service of the host (the user's own): the proxy never
		// connects to the host, by loopback or by its own address.
		var targets []string
		for _, a := range []string{"127.0.0.1", hostAddr(t)} {
			l, err := net.Listen("tcp", net.JoinHostPort(a, "0"))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					t.Errorf("the sandbox reached the host's listener %s", l.Addr())
					c.Close()
				}
			}()
			targets = append(targets, l.Addr().String())
		}
		spec := rootlessSpec(t, "/bin/sh", "-c", `
tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' '; echo
echo "proxy=$http_proxy"
if apt-get -q update >/tmp/apt.log 2>&1; then echo APT-OK; else tail -5 /tmp/apt.log; fi
for t in $TARGETS; do
  perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:3142") or die "proxy: $!";
    print $s "GET http://$ARGV[0]/secret HTTP/1.0\r\n\r\n"; my $l = <$s>; print "host $ARGV[0]: $l";' "$t"
done`)
		spec.Network = true
		spec.Env = append(spec.Env, "TARGETS="+strings.Join(targets, " "))
		out, res := run(t, spec)
		if res.ExitCode != 0 || !strings.HasPrefix(out, "lo \n") || !strings.Contains(out, "proxy=http://127.0.0.1:3142\n") {
			t.Errorf("exit %d, want lo alone and the proxy in the environment:\n%s", res.ExitCode, out)
		}
		if !strings.Contains(out, "APT-OK") {
			t.Errorf("apt-get update through the proxy failed:\n%s", out)
		}
		for _, target := range targets {
			if !strings.Contains(out, "host "+target+": HTTP/1.1 403") {
				t.Errorf("the proxy did not refuse %s:\n%s", target, out)
			}
		}
	})

	t.Run("daemon gone", func(t *testing.T) {
		tok := token(t)
		spec := rootlessSpec(t, "/bin/sh", "-c", "setsid sh -c 'exec sleep 1000 "+tok+"' </dev/null >/dev/null 2>&1 & echo started")
		out, res := run(t, spec)
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, out)
		}
		if p := processesWith(tok); len(p) > 0 {
			t.Errorf("processes outlive the sandbox: %v", p)
		}
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(mi, []byte(spec.Overlay.Merged)) {
			t.Errorf("the overlay is mounted on the host:\n%s", mi)
		}
	})

	t.Run("hostile root", func(t *testing.T) {
		// Host paths of the user's own, which a root's links name.
		host := t.TempDir()
		hostFile := filepath.Join(t.TempDir(), "resolv.conf")
		if err := os.WriteFile(hostFile, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		link := func(spec *sandbox.Spec, name, target string) {
			p := filepath.Join(spec.Overlay.Upper, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}
		spec := rootlessSpec(t, "/bin/sh", "-c", "touch /tmp/escaped; echo x >/etc/resolv.conf; echo done")
		spec.Mounts = []sandbox.Mount{{Type: "tmpfs", Source: "tmpfs", Target: "/tmp"}}
		link(spec, "tmp", host)
		link(spec, "etc/resolv.conf", hostFile)
		if out, res := run(t, spec); res.ExitCode != 0 || !strings.Contains(out, "done") {
			t.Errorf("exit %d: %s", res.ExitCode, out)
		}
		if e, _ := os.ReadDir(host); len(e) > 0 {
			t.Errorf("the host directory behind /tmp was written: %v", e)
		}
		if data, _ := os.ReadFile(hostFile); string(data) != "nameserver 192.0.2.1\n" {
			t.Errorf("the host file behind /etc/resolv.conf changed: %q", data)
		}
		for _, name := range []string{"dev", "proc"} {
			spec := rootlessSpec(t, "true")
			link(spec, name, host)
			_, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{})
			if err == nil || !strings.Contains(err.Error(), "symlink") {
				t.Errorf("/%s as a symlink: got %v, want a refusal that names the symlink", name, err)
			}
		}
		if e, _ := os.ReadDir(host); len(e) > 0 {
			t.Errorf("the host directory behind /dev or /proc was written: %v", e)
		}
	})

	t.Run("limits asked for", func(t *testing.T) {
		spec := rootlessSpec(t, "true")
		spec.Limits.Pids = 100
		_, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{})
		var ce *sandbox.CgroupError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "rootless") {
			t.Errorf("err = %v, want a CgroupError naming rootless mode", err)
		}
	})
}

// processesWith lists the processes whose command line holds tok.
func processesWith(tok string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(tok)) {
			out = append(out, p+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}
