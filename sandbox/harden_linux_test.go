package sandbox_test

import (
	"strings"
	"testing"
)

// The parts of /proc that reach the whole machine are read-only inside,
// even for root, and the kernel's memory is masked. The writes tried are
// harmless on the host should they ever get through: SysRq's help, and
// swappiness set to its own value.
func TestProcHardened(t *testing.T) {
	script := `
if [ -e /proc/sysrq-trigger ]; then
	{ echo h > /proc/sysrq-trigger; } 2>/dev/null && echo sysrq-writable || echo sysrq-refused
else
	echo sysrq-refused # this kernel has none
fi
{ cat /proc/sys/vm/swappiness > /proc/sys/vm/swappiness; } 2>/dev/null && echo sys-writable || echo sys-refused
echo kcore $(head -c 16 /proc/kcore 2>/dev/null | wc -c)
echo keys $(wc -c < /proc/keys)
grep -c . /proc/self/status >/dev/null && echo status-readable
`
	spec, _ := session(t, "/bin/sh", "-c", script)
	out, res := run(t, spec)
	want := "sysrq-refused\nsys-refused\nkcore 0\nkeys 0\nstatus-readable\n"
	if res.ExitCode != 0 || out != want {
		t.Fatalf("exit %d, output:\n%s\nwant:\n%s", res.ExitCode, out, want)
	}
}

// A root payload, confined by default, keeps what apt and dpkg need (chown,
// setuid to _apt) and loses what could undo the sandbox: it can neither
// mount nor unmount the read-only /proc/sys, nor reboot, nor load modules.
// Privileged, it can.
func TestConfined(t *testing.T) {
	script := `
mount -t tmpfs none /mnt 2>/dev/null && echo mount-allowed || echo mount-refused
umount /proc/sys 2>/dev/null && echo umount-allowed || echo umount-refused
touch /tmp/f && chown 1:1 /tmp/f && echo chown-ok
setpriv --reuid=1000 --regid=1000 --clear-groups id -u
grep ^CapBnd /proc/self/status
`
	for _, confined := range []bool{true, false} {
		spec, _ := session(t, "/bin/sh", "-c", script)
		spec.Privileged = !confined
		out, res := run(t, spec)
		if res.ExitCode != 0 {
			t.Fatalf("confined=%v: exit %d: %s", confined, res.ExitCode, out)
		}
		want := []string{"mount-refused", "umount-refused", "chown-ok", "1000"}
		if !confined {
			want = []string{"mount-allowed", "umount-allowed", "chown-ok", "1000"}
		}
		for _, w := range want {
			if !strings.Contains(out, w+"\n") {
				t.Errorf("confined=%v: output lacks %q:\n%s", confined, w, out)
			}
		}
	}
}
