package sandbox_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
)

// TestDNSForwarder takes the path a host with its resolver on its own
// loopback (systemd-resolved, dnsmasq) takes: the sandbox's resolv.conf
// names 127.0.0.53, which in the sandbox's own network namespace is the
// sandbox's loopback; pkgbox must point it at pasta's forwarder instead, and
// names must still resolve.
func TestDNSForwarder(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	dir := t.TempDir()
	fake := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(fake, []byte("search example.org\nnameserver 127.0.0.53\noptions edns0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := *sandbox.HostResolvConf
	*sandbox.HostResolvConf = fake
	t.Cleanup(func() { *sandbox.HostResolvConf = old })

	spec, _ := session(t, "/bin/sh", "-c", `cat /etc/resolv.conf; host=$(sed -n 's|^deb[^h]*http://\([^/]*\)/.*|\1|p' /etc/apt/sources.list | head -1); echo "lookup $host"; getent ahostsv4 "$host" | head -1
echo "dev mounts $(awk '$5 == "/dev"' /proc/self/mountinfo | wc -l)"; test -c /dev/null && echo "dev null ok"
echo x 2>/dev/null >> /etc/resolv.conf || echo "resolv.conf read-only"`)
	spec.Network = true
	// The host's file, as the built-in profiles mount it.
	spec.Mounts = []sandbox.Mount{{Type: sandbox.TypeBind, Source: fake, Target: "/etc/resolv.conf", Flags: sandbox.ReadOnly}}
	out, res := run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	// The tmpfs the file came from was stacked on /dev for a moment: /dev
	// is the sandbox's own again, with one mount.
	for _, want := range []string{"search example.org\n", "nameserver 169.254.1.53\n", "options edns0\n",
		"dev mounts 1\n", "dev null ok\n", "resolv.conf read-only\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "nameserver 127.0.0.53") {
		t.Errorf("resolv.conf inside still names the loopback resolver:\n%s", out)
	}
	t.Logf("inside:\n%s", out)
	lookup := out[strings.Index(out, "lookup "):]
	if len(strings.Fields(lookup)) < 3 {
		t.Errorf("the mirror's name did not resolve through pasta's forwarder:\n%s", out)
	}
	// The host's file is untouched.
	if data, _ := os.ReadFile(fake); !strings.Contains(string(data), "nameserver 127.0.0.53") {
		t.Errorf("host file changed: %s", data)
	}
}
