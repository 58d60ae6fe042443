package security_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pkgbox/cmd"
	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
	"pkgbox/session"
)

// cliEnv makes this test binary act as pkgbox, so that a test runs what a
// user types, `pkgbox run`, flags and all.
const cliEnv = "PKGBOX_SECURITY_CLI"

func TestMain(m *testing.M) {
	sandbox.MaybeInit()
	if os.Getenv(cliEnv) == "1" {
		os.Exit(cmd.Main())
	}
	os.Exit(m.Run())
}

// pkgbox runs the pkgbox command line on the shared test store and
// returns its standard output, standard error and exit code. Commands run
// in overlay sessions: nothing here may ever write into the shared root.
func pkgbox(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	s, _ := testenv.SharedRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range args {
		if a == "--write" {
			t.Fatal("security tests never write into the shared root")
		}
	}
	c := exec.Command(self, args...)
	c.Env = append(os.Environ(), cliEnv+"=1", "PKGBOX_STORE="+s.Dir)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err = c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

// rootStep runs script as root in a throw-away session on the shared root
// the way build runs its root steps (dependency install, with the network
// and limits) and update runs apt: through session.Run with nothing
// lifted.
func rootStep(t *testing.T, script string) string {
	t.Helper()
	s, _ := testenv.SharedRoot(t)
	var out bytes.Buffer
	res, err := session.Run(context.Background(), &session.Options{Store: s, Root: testenv.RootName},
		&session.Command{
			Args:    []string{"/bin/sh", "-c", script},
			Network: true,
			Limits:  sandbox.Limits{Pids: 4096},
			Stdio:   sandbox.Stdio{Stdout: &out, Stderr: &out},
		})
	if err != nil {
		t.Fatalf("root step: %v\n%s", err, out.String())
	}
	if res.ExitCode != 0 {
		t.Fatalf("root step: exit %d\n%s", res.ExitCode, out.String())
	}
	return out.String()
}

// loopSecret puts secret on a loop device, a stand-in for a host disk,
// and returns the device's "MAJOR MINOR".
func loopSecret(t *testing.T, secret string) string {
	t.Helper()
	testenv.Require(t, testenv.Root)
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skip("needs losetup")
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	data := make([]byte, 64<<10)
	copy(data, secret)
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Skipf("no loop device: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "--detach", dev).Run() })
	majmin, err := exec.Command("stat", "-c", "%t %T", dev).Output()
	if err != nil {
		t.Fatal(err)
	}
	// stat prints them in hex; mknod wants decimal, or 0x-prefixed.
	f := strings.Fields(string(majmin))
	return "0x" + f[0] + " 0x" + f[1]
}

// mknodScript makes a block device node for majmin in every writable
// place a payload has, the sandbox's own /dev included, and reads it.
func mknodScript(majmin string) string {
	return `for d in /dev /dev/shm /tmp /var/tmp /root; do
	if mknod $d/pkgbox-disk b ` + majmin + ` 2>/dev/null; then
		echo "made $d/pkgbox-disk"
		head -c 64 $d/pkgbox-disk 2>&1 | tr -d '\0'; echo
	fi
done
echo mknod-done
`
}
