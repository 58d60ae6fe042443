package reliability_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pkgbox/internal/testenv"
)

// badPackage writes a source package whose build runs script (as make
// recipe lines of override_dh_auto_build) and returns its directory.
func badPackage(t *testing.T, name, script string, extra map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	files := map[string]string{
		"debian/control": "Source: " + name + "\nMaintainer: pkgbox tests <pkgbox@example.invalid>\nBuild-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\nRules-Requires-Root: no\n\n" +
			"Package: " + name + "\nArchitecture: all\nDescription: pkgbox test: a build that misbehaves\n misbehaves\n",
		"debian/changelog":     name + " (1.0) UNRELEASED; urgency=medium\n\n  * Misbehave.\n\n -- pkgbox tests <pkgbox@example.invalid>  Sun, 29 Nov 2026 00:00:00 +0000\n",
		"debian/rules":         "#!/usr/bin/make -f\n%:\n\tdh $@\n\noverride_dh_auto_build:\n" + script,
		"debian/source/format": "3.0 (native)\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if p == "debian/rules" {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildBad builds src with args and expects the package's own failure
// (exit status 3) with want in pkgbox's output.
func buildBad(t *testing.T, dir, src string, want string, args ...string) string {
	t.Helper()
	c := pkgbox(dir, append([]string{"build", src, "--root", "test"}, args...)...)
	out, err := c.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 {
		t.Fatalf("build of %s: %v, want exit status 3\n%s", filepath.Base(src), err, out)
	}
	if !strings.Contains(string(out), want) {
		t.Errorf("build of %s says:\n%s\nwant %q in it", filepath.Base(src), out, want)
	}
	return string(out)
}

// TestMisbehavingBuilds runs builds that attack the machine they run on:
// the host is unharmed and pkgbox says what stopped them.
func TestMisbehavingBuilds(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	dir := faultStore(t)

	t.Run("fork-bomb", func(t *testing.T) {
		src := badPackage(t, "forkbomb", "\tsh -c 'b() { b | b & }; b; sleep 600'\n", nil)
		buildBad(t, dir, src, "it ran into the process limit (--pids 200)", "--pids", "200", "--timeout", "25s")
		count(&tally.limits, 1)
		checkClean(t, dir, "fork bomb")
	})

	t.Run("memory-hog", func(t *testing.T) {
		src := badPackage(t, "memoryhog", "\tperl -e '$$x = \"a\" x (1024*1024*1024); print length($$x)'\n", nil)
		buildBad(t, dir, src, "it used more than the memory limit (--memory 256M)", "--memory", "256M")
		count(&tally.limits, 1)
		checkClean(t, dir, "memory hog")
	})

	t.Run("fills-tmp", func(t *testing.T) {
		// /tmp is a tmpfs of the sandbox's, charged to its memory limit.
		src := badPackage(t, "fillstmp", "\tdd if=/dev/zero of=/tmp/fill bs=1M count=100000\n", nil)
		buildBad(t, dir, src, "build failed", "--memory", "256M")
		count(&tally.limits, 1)
		checkClean(t, dir, "fills /tmp")
	})

	t.Run("timeout", func(t *testing.T) {
		src := badPackage(t, "sleeps", "\tsleep 600\n", nil)
		start := time.Now()
		buildBad(t, dir, src, "it ran longer than the time limit (--timeout 5s)", "--timeout", "5s")
		if d := time.Since(start); d > 5*time.Minute {
			t.Errorf("a build with --timeout 5s took %s", d)
		}
		count(&tally.limits, 1)
		checkClean(t, dir, "timeout")
	})

	t.Run("kills-everything", func(t *testing.T) {
		// A host process of the build user's uid survives a build that
		// kills every process it can see.
		host := exec.Command("setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "sleep", "120")
		if err := host.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = host.Process.Kill(); _ = host.Wait() }()
		src := badPackage(t, "killall", "\tkill -9 -1; sleep 1; exit 1\n", nil)
		buildBad(t, dir, src, "build failed")
		if err := host.Process.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("the host's process of uid 1000 died: %v", err)
		}
		count(&tally.hostile, 1)
		checkClean(t, dir, "kills everything")
	})

	t.Run("proc-and-mount", func(t *testing.T) {
		// The build user writing to the kernel's knobs and mounting: all
		// refused. The SysRq command tried is 'h' (help), harmless even if
		// it got through.
		src := badPackage(t, "procwriter", "\techo h > /proc/sysrq-trigger || echo sysrq refused\n\techo 1 > /proc/sys/vm/drop_caches || echo sys refused\n\tmount -t tmpfs none /tmp || echo mount refused\n\tfalse\n", nil)
		buildBad(t, dir, src, "build failed")
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(src), "procwriter_1.0_"+hostArch(t)+".build"))
		for _, w := range []string{"sysrq refused", "sys refused", "mount refused"} {
			if !strings.Contains(string(log), w) {
				t.Errorf("the build log lacks %q", w)
			}
		}
		count(&tally.hostile, 1)
		checkClean(t, dir, "proc and mount")
	})

	t.Run("symlinks-out-of-tree", func(t *testing.T) {
		// A source tree whose files point at host files: the copy keeps
		// them as symlinks, resolved inside the sandbox, never the host's
		// file copied in.
		var b [8]byte
		_, _ = rand.Read(b[:])
		token := hex.EncodeToString(b[:])
		secret := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(secret, []byte(token+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		src := badPackage(t, "leaky", "\tcat leak leak-rel || true\n\tfalse\n", nil)
		if err := os.Symlink(secret, filepath.Join(src, "leak")); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(src, secret)
		if err := os.Symlink(rel, filepath.Join(src, "leak-rel")); err != nil {
			t.Fatal(err)
		}
		buildBad(t, dir, src, "build failed")
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(src), "leaky_1.0_"+hostArch(t)+".build"))
		if strings.Contains(string(log), token) {
			t.Errorf("the build read a host file through a symlink in its source tree")
		}
		count(&tally.hostile, 1)
		checkClean(t, dir, "symlinks out of the tree")
	})
}

func hostArch(t *testing.T) string {
	out, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
