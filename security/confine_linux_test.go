package security_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
)

// confinedCapEff is the capability set of a confined root payload:
// CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
// NET_BIND_SERVICE SYS_CHROOT AUDIT_WRITE SETFCAP.
const confinedCapEff = "00000000a00405fb"

// Issue 11, finding 1: `pkgbox run` gave root inside every capability and
// no filter, so it could make a node for a host disk and read it, and
// remount /proc/sys read-write. Confined by default, it can do neither;
// --privileged gives the capabilities back (and so makes the same attack
// work: the test's own control that the attack is real).
func TestRunConfinesRoot(t *testing.T) {
	secret := fmt.Sprintf("pkgbox-secret-%d", unix.Getpid())
	majmin := loopSecret(t, secret)
	script := `grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
grep :devices: /proc/self/cgroup
` + mknodScript(majmin) + `
mount -o remount,rw,bind /proc/sys 2>/dev/null && echo remounted
umount /proc/sys 2>/dev/null && echo unmounted
grep ' /proc/sys ' /proc/self/mountinfo | cut -d' ' -f6
`
	out, stderr, code := pkgbox(t, "run", testenv.RootName, "--", "/bin/sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	status := procStatus(out)
	for k, want := range map[string]string{
		"CapEff": confinedCapEff, "CapPrm": confinedCapEff, "CapBnd": confinedCapEff,
		"CapInh": "0000000000000000", "CapAmb": "0000000000000000", "Seccomp": "2",
	} {
		if status[k] != want {
			t.Errorf("%s = %q, want %q", k, status[k], want)
		}
	}
	if strings.Contains(out, secret) {
		t.Errorf("root inside read the host's disk:\n%s", out)
	}
	if strings.Contains(out, "made ") {
		t.Errorf("root inside made a device node (CAP_MKNOD is kept):\n%s", out)
	}
	// Where the machine has the v1 devices controller, the payload runs in
	// a device cgroup of its own: the wall behind the dropped CAP_MKNOD.
	if _, err := os.Stat("/sys/fs/cgroup/devices/devices.allow"); err == nil && !strings.Contains(out, ":devices:/pkgbox-") {
		t.Errorf("the payload is not in a device cgroup of pkgbox's:\n%s", out)
	}
	for _, bad := range []string{"remounted", "unmounted"} {
		if strings.Contains(out, bad+"\n") {
			t.Errorf("/proc/sys was %s inside:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "\nro,") && !strings.Contains(out, "\nro\n") {
		t.Errorf("/proc/sys is not read-only inside:\n%s", out)
	}

	// Control: privileged, the same attack reads the disk. If it did not,
	// the confined run above would prove nothing.
	out, stderr, code = pkgbox(t, "run", testenv.RootName, "--privileged", "--", "/bin/sh", "-c",
		"grep ^CapEff: /proc/self/status\n"+mknodScript(majmin))
	if code != 0 {
		t.Fatalf("privileged: exit %d: %s%s", code, out, stderr)
	}
	if !strings.Contains(out, secret) {
		t.Errorf("privileged: root could not read the disk, so the test proves nothing:\n%s", out)
	}
	if eff := procStatus(out)["CapEff"]; eff == confinedCapEff || eff == "" {
		t.Errorf("privileged: CapEff = %q, want pkgbox's own full set", eff)
	}
	if !strings.Contains(stderr, "pkgbox: warning: --privileged") {
		t.Errorf("privileged: no warning on stderr: %q", stderr)
	}
}

// A payload run as another user gets no_new_privs and no capabilities:
// setuid programs in the root give it nothing.
func TestRunAsUserNoNewPrivs(t *testing.T) {
	out, stderr, code := pkgbox(t, "run", testenv.RootName, "--user", "nobody", "--", "/bin/sh", "-c",
		`grep -E '^(CapEff|NoNewPrivs):' /proc/self/status`)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	st := procStatus(out)
	if st["NoNewPrivs"] != "1" || st["CapEff"] != "0000000000000000" {
		t.Errorf("as nobody: %v, want NoNewPrivs 1 and no capabilities", st)
	}
}

// Issue 11, finding 2: the confined root steps (dependency install,
// update, create's) kept CAP_MKNOD on an overlay without nodev and with no
// device filter. Now the node cannot be made, and could not be opened.
func TestRootStepCannotReadHostDisk(t *testing.T) {
	secret := fmt.Sprintf("pkgbox-step-secret-%d", unix.Getpid())
	majmin := loopSecret(t, secret)
	out := rootStep(t, `grep -E '^CapBnd:' /proc/self/status
grep ' / ' /proc/self/mountinfo | cut -d' ' -f6
`+mknodScript(majmin))
	if strings.Contains(out, secret) {
		t.Errorf("a root step read the host's disk:\n%s", out)
	}
	if strings.Contains(out, "made ") {
		t.Errorf("a root step made a device node:\n%s", out)
	}
	if bnd := procStatus(out)["CapBnd"]; bnd != confinedCapEff {
		t.Errorf("CapBnd = %q, want %q (no CAP_MKNOD)", bnd, confinedCapEff)
	}
	if !strings.Contains(out, "nodev") {
		t.Errorf("the session's overlay is not nodev:\n%s", out)
	}
}

// Issue 11, finding 9: root inside could read the host root's kernel
// keyring (keyctl). The test puts a secret in this (root) process's user
// keyring, which root in a sandbox shares, and reads it from inside with
// keyctl(2) through perl (perl-base is in every root; keyutils is not):
// KEYCTL_SEARCH then KEYCTL_READ. Confined, keyctl fails with EPERM;
// privileged, the read works, which shows the attack is real.
func TestKeyringUnreachable(t *testing.T) {
	testenv.Require(t, testenv.Root)
	desc := fmt.Sprintf("pkgbox-test-%d", unix.Getpid())
	secret := "keyring-secret-" + desc
	id, err := unix.AddKey("user", desc, []byte(secret), unix.KEY_SPEC_USER_KEYRING)
	if err != nil {
		t.Skipf("cannot add a key to root's user keyring: %v", err)
	}
	t.Cleanup(func() { _, _ = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0) })
	// Readable by its user (root), not only by a possessor, so that the
	// control below depends on the sandbox, not on which session keyring
	// the test and the sandbox started in. Under sudo, pam_keyinit gives the
	// test a session keyring without root's user keyring in it: link that
	// in first, to possess the key and be allowed to change it.
	_, _ = unix.KeyctlInt(unix.KEYCTL_LINK, unix.KEY_SPEC_USER_KEYRING, unix.KEY_SPEC_SESSION_KEYRING, 0, 0)
	if err := unix.KeyctlSetperm(id, 0x3f3f0000); err != nil {
		t.Skipf("cannot make the test key readable by root in this session's keyrings: %v", err)
	}
	script := fmt.Sprintf(`my ($type, $desc) = ("user", "%s");
my $id = syscall(250, 10, -4, $type, $desc, 0);
print "search $id errno ", $!+0, "\n";
my $buf = "\0" x 256;
my $n = syscall(250, 11, $id, $buf, 256);
print "read ", ($n > 0 ? substr($buf, 0, $n) : "nothing"), "\n";
`, desc)
	out, stderr, code := pkgbox(t, "run", testenv.RootName, "--", "perl", "-e", script)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	if strings.Contains(out, secret) {
		t.Errorf("root inside read the host's keyring:\n%s", out)
	}
	if !strings.Contains(out, fmt.Sprintf("search -1 errno %d\n", unix.EPERM)) {
		t.Errorf("keyctl inside did not fail with EPERM:\n%s", out)
	}

	out, stderr, code = pkgbox(t, "run", testenv.RootName, "--privileged", "--", "perl", "-e", script)
	if code != 0 {
		t.Fatalf("privileged: exit %d: %s%s", code, out, stderr)
	}
	if !strings.Contains(out, secret) {
		t.Errorf("privileged: the key was not readable, so the test proves nothing:\n%s", out)
	}
}

// procStatus picks "Key:\tvalue" lines out of output.
func procStatus(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.Contains(k, " ") {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// The filter covers the i386 system call table too: any process on an
// x86_64 kernel can enter it through int 0x80, and i386 roots run there.
// testdata/keyctl32.c, built here without a C library, calls keyctl
// through int 0x80 and exits with the errno (0 on success).
func TestKeyringUnreachableFromI386(t *testing.T) {
	testenv.Require(t, testenv.Root)
	bin := filepath.Join(t.TempDir(), "keyctl32")
	out, err := exec.Command("gcc", "-m32", "-static", "-nostdlib", "-ffreestanding", "-fno-pie", "-no-pie", "-O2",
		"-o", bin, "testdata/keyctl32.c").CombinedOutput()
	if err != nil {
		t.Skipf("cannot build an i386 program here: %v: %s", err, out)
	}
	if err := exec.Command(bin).Run(); err != nil {
		t.Skipf("this kernel runs no i386 programs: %v", err)
	}
	mounts := []sandbox.Mount{{Type: sandbox.TypeBind, Source: bin, Target: "/usr/local/bin/keyctl32", Flags: sandbox.ReadOnly | sandbox.NoSuid}}
	if out, code := inSession(t, false, mounts, "/usr/local/bin/keyctl32"); code != int(unix.EPERM) {
		t.Errorf("confined: i386 keyctl ended with %d, want EPERM (%d): %s", code, unix.EPERM, out)
	}
	if out, code := inSession(t, true, mounts, "/usr/local/bin/keyctl32"); code != 0 {
		t.Errorf("privileged: i386 keyctl ended with %d, want 0, so the test proves nothing: %s", code, out)
	}
}
