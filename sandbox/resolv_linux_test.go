package sandbox

import (
	"os"
	"path/filepath"
	"testing"
)

func TestForwardResolvConf(t *testing.T) {
	const fwd = "169.254.1.53"
	for _, tc := range []struct {
		name, in, want string
		changed        bool
	}{
		{"remote resolver kept", "nameserver 10.0.0.1\n", "nameserver 10.0.0.1\n", false},
		{"stub resolver", "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
			"# pkgbox: pasta's DNS forwarder, for 127.0.0.53\nnameserver " + fwd + "\noptions edns0 trust-ad\nsearch .\n", true},
		{"two loopbacks, one remote", "nameserver 127.0.0.1\nnameserver ::1\nnameserver 10.0.0.1\n",
			"# pkgbox: pasta's DNS forwarder, for 127.0.0.1\nnameserver " + fwd + "\nnameserver 10.0.0.1\n", true},
		{"empty file", "", "# pkgbox: pasta's DNS forwarder\nnameserver " + fwd + "\n", true},
		{"no resolver", "search example.org\n", "search example.org\n# pkgbox: pasta's DNS forwarder\nnameserver " + fwd + "\n", true},
		{"scoped link-local kept", "nameserver fe80::1%eth0\n", "nameserver fe80::1%eth0\n", false},
	} {
		got, changed := forwardResolvConf(tc.in, fwd)
		if changed != tc.changed || changed && got != tc.want {
			t.Errorf("%s: got %v %q, want %v %q", tc.name, changed, got, tc.changed, tc.want)
		}
	}
}

func TestLoopbackResolver(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    bool
	}{
		{"nameserver 127.0.0.53\n", true},
		{"# nameserver 10.0.0.1\nnameserver 10.255.255.53\n", false},
		{"nameserver ::1\nnameserver 192.0.2.53\n", false}, // pasta forwards to the first IPv4 one
		{"search example.org\n", true},
	} {
		p := filepath.Join(dir, "resolv.conf")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := loopbackResolver(p); got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.content, got, tc.want)
		}
	}
	if !loopbackResolver(filepath.Join(dir, "missing")) {
		t.Error("a missing resolv.conf means 127.0.0.1")
	}
}
