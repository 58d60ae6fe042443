package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pkgbox/sandbox"
)

// hostile prepares a session whose root has the given entries: each line is
// "symlink PATH TARGET", "dir PATH" or "file PATH". They are made in the
// overlay's upper layer, so they shadow the shared root without changing it.
func hostile(t *testing.T, tree string, args ...string) *sandbox.Spec {
	t.Helper()
	spec, sess := session(t, args...)
	for _, line := range strings.Split(strings.TrimSpace(tree), "\n") {
		f := strings.Fields(line)
		p := filepath.Join(sess.Upper, f[1])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch f[0] {
		case "symlink":
			err = os.Symlink(f[2], p)
		case "dir":
			err = os.Mkdir(p, 0o755)
		case "file":
			err = os.WriteFile(p, nil, 0o644)
		default:
			t.Fatalf("bad tree line %q", line)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return spec
}

// hostDir makes an empty host directory outside /tmp (a root's /tmp symlink
// to a path under /tmp would be a loop inside the root, not an escape).
func hostDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "pkgbox-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// assertUntouched checks that a host directory is still empty and that
// nothing is mounted on it.
func assertUntouched(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("host directory %s: %v", dir, err)
	}
	if len(entries) > 0 {
		t.Errorf("host directory %s was written: %v", dir, entries)
	}
	if m := hostMountsWith(" " + dir + " "); len(m) > 0 {
		t.Errorf("host directory %s is mounted on: %q", dir, m)
	}
}

// A root whose /tmp is a symlink to a host directory: the profile's tmpfs
// and the payload's writes land inside the root.
func TestHostileTmpSymlink(t *testing.T) {
	host := hostDir(t)
	spec := hostile(t, "symlink tmp "+host, "/bin/sh", "-c", "touch /tmp/escaped && grep -c ' /tmp\\| "+host+" ' /proc/self/mountinfo")
	spec.Mounts = []sandbox.Mount{{Type: "tmpfs", Source: "tmpfs", Target: "/tmp"}}
	out, res := run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	assertUntouched(t, host)
}

// A root whose /proc or /dev is a symlink to a host directory is refused:
// kernel file systems go on real directories only (CVE-2023-27561).
func TestHostileProcDevSymlink(t *testing.T) {
	for _, name := range []string{"proc", "dev"} {
		host := hostDir(t)
		spec := hostile(t, "symlink "+name+" "+host, "/bin/true")
		_, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{})
		if err == nil || !strings.Contains(err.Error(), "symlink") {
			t.Errorf("/%s as a symlink: got %v, want a refusal that names the symlink", name, err)
		}
		assertUntouched(t, host)
	}
}

// Targets with "..", relative symlink chains and absolute symlinks in the
// root all resolve inside the root.
func TestHostileTargets(t *testing.T) {
	host := hostDir(t)
	hostFile := filepath.Join(hostDir(t), "resolv.conf")
	if err := os.WriteFile(hostFile, []byte("host's own\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := strings.Repeat("../", 20) + strings.TrimPrefix(host, "/")
	spec := hostile(t, `
symlink srv/abs `+host+`
symlink srv/rel `+rel+`
symlink srv/chain1 chain2
symlink srv/chain2 /srv/rel
symlink etc/resolv.conf `+hostFile,
		"/bin/sh", "-c", "ls / > /dev/null")
	src := t.TempDir()
	spec.Mounts = []sandbox.Mount{
		{Type: "tmpfs", Source: "t1", Target: "/../../../x"},
		{Type: "tmpfs", Source: "t2", Target: "/srv/abs/sub"},
		{Type: "tmpfs", Source: "t3", Target: "/srv/rel/sub"},
		{Type: "tmpfs", Source: "t4", Target: "/srv/chain1/deeper/sub"},
		{Type: sandbox.TypeBind, Source: src, Target: "/srv/../../abs2"},
		{Type: sandbox.TypeBind, Source: "/etc/hostname", Target: "/etc/resolv.conf", Flags: sandbox.ReadOnly},
	}
	out, res := run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	assertUntouched(t, host)
	for _, p := range []string{"/x", "/abs2", filepath.Join(filepath.Dir(spec.Root), "x")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s was created outside the root", p)
		}
	}
	if data, _ := os.ReadFile(hostFile); string(data) != "host's own\n" {
		t.Errorf("host file behind the root's symlink changed: %q", data)
	}
	if m := hostMountsWith(" " + hostFile + " "); len(m) > 0 {
		t.Errorf("host file mounted on: %q", m)
	}
}

// A root whose /home is a symlink to a host directory, with the default
// profile's bind of the host's /home onto it: the bind lands inside the
// root, and the host directory is neither mounted on nor written.
func TestHostileHomeSymlink(t *testing.T) {
	host := hostDir(t)
	spec := hostile(t, "symlink home "+host, "/bin/sh", "-c", "ls /home >/dev/null")
	spec.Mounts = []sandbox.Mount{{Type: sandbox.TypeBind, Source: "/home", Target: "/home", Recursive: true, Flags: sandbox.NoSuid | sandbox.NoDev}}
	out, res := run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	assertUntouched(t, host)
}

// The root changes under pkgbox while it starts: a mount target's parent is
// swapped, again and again, between a real directory and a symlink to a
// host directory. Whichever pkgbox sees, the mount lands inside the root
// (or fails); the host directory stays untouched. Repeated, since a race
// is only ever lost sometimes.
func TestHostileRace(t *testing.T) {
	host := hostDir(t)
	const rounds = 30
	for i := 0; i < rounds; i++ {
		spec, sess := session(t, "/bin/true")
		spec.Mounts = []sandbox.Mount{{Type: "tmpfs", Source: "race", Target: "/srv/flip/sub"}}
		flip := filepath.Join(sess.Upper, "srv", "flip")
		if err := os.MkdirAll(flip, 0o755); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			link := filepath.Join(sess.Upper, "srv", "flip-link")
			dir := filepath.Join(sess.Upper, "srv", "flip-dir")
			_ = os.Symlink(host, link)
			_ = os.Mkdir(dir, 0o755)
			for {
				select {
				case <-stop:
					return
				default:
				}
				// RENAME_EXCHANGE swaps the two atomically: flip is always
				// there, a directory one moment and a symlink the next.
				_ = unix.Renameat2(unix.AT_FDCWD, link, unix.AT_FDCWD, flip, unix.RENAME_EXCHANGE)
				_ = unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, flip, unix.RENAME_EXCHANGE)
			}
		}()
		_, _ = sandbox.Run(context.Background(), spec, sandbox.Stdio{})
		close(stop)
		<-done
		assertUntouched(t, host)
	}
	t.Logf("%d racing starts, host untouched", rounds)
}
